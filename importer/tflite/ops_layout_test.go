package tflite

import (
	"fmt"
	"strings"
	"testing"
)

// denseSlice against hand-expanded specs (TensorFlow's BuildDenseSpec semantics): where each
// spec entry lands among the input dims, which dims an ellipsis takes whole, and the refusals.
func TestDenseSlice(t *testing.T) {
	cases := []struct {
		name             string
		rank             int
		begin, end, strd []int
		m                sliceMasks
		want, wantErr    string
	}{
		{"short spec: implicit ellipsis at the end", 4, []int{1}, []int{3}, []int{1}, sliceMasks{},
			"begin [1 0 0 0] end [3 0 0 0] strides [1 1 1 1] bm 0111 em 0111 shrink 0000 new false", ""},
		{"x[..., 1:3]", 4, []int{0, 1}, []int{0, 3}, []int{1, 1}, sliceMasks{ellipsis: 1},
			"begin [0 0 0 1] end [0 0 0 3] strides [1 1 1 1] bm 1110 em 1110 shrink 0000 new false", ""},
		{"x[1, ..., None, 2] of 3-D", 3, []int{1, 0, 0, 2}, []int{2, 0, 0, 3}, []int{1, 1, 1, 1}, sliceMasks{shrink: 1 | 8, ellipsis: 2, newAxis: 4},
			"begin [1 0 2] end [2 0 3] strides [1 1 1] bm 010 em 010 shrink 101 new true", ""},
		{"new axis wins over shrink on one position", 2, []int{0, 1, 0}, []int{0, 2, 0}, []int{1, 1, 1}, sliceMasks{newAxis: 1, shrink: 1 | 2, end: 4},
			"begin [1 0] end [2 0] strides [1 1] bm 00 em 01 shrink 10 new true", ""},
		{"ellipsis wins over new axis and takes nothing when all dims are indexed", 2, []int{0, 1, 2}, []int{0, 2, 3}, []int{1, 1, 1}, sliceMasks{ellipsis: 1, newAxis: 1},
			"begin [1 2] end [2 3] strides [1 1] bm 00 em 00 shrink 00 new false", ""},
		{"two ellipses", 3, []int{0, 0}, []int{0, 0}, []int{1, 1}, sliceMasks{ellipsis: 3}, "", "more than one ellipsis"},
		{"more entries than dims", 2, []int{0, 0, 0}, []int{1, 1, 1}, []int{1, 1, 1}, sliceMasks{}, "", "indexes 3 dims of a rank-2 input"},
	}
	// Masks print one digit per input dim, dim 0 first.
	bits := func(v int32, n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte('0' + byte(v>>i&1))
		}
		return b.String()
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, err := denseSlice(c.rank, c.begin, c.end, c.strd, c.m)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("begin %v end %v strides %v bm %s em %s shrink %s new %v", sp.begin, sp.end, sp.strides,
				bits(sp.beginMask, c.rank), bits(sp.endMask, c.rank), bits(sp.shrink, c.rank), sp.newAxes)
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}
