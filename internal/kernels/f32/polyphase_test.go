package f32

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSubsampleRows checks SubsampleRows against the definition on row widths around the kernel's
// 32-float step (whole passes, tails under masks, one-column rows) and strides 1-3, with guard cells
// after every destination row that must stay untouched.
func TestSubsampleRows(t *testing.T) {
	for _, c := range []struct{ rows, w, sw int }{
		{1, 1, 2}, {3, 2, 2}, {4, 7, 2}, {5, 14, 2}, {28, 56, 2}, {2, 31, 2}, {2, 32, 2}, {3, 33, 2},
		{2, 63, 2}, {2, 64, 2}, {3, 65, 2}, {7, 112, 2}, {4, 9, 3}, {3, 10, 1},
	} {
		t.Run(fmt.Sprintf("r%d_w%d_s%d", c.rows, c.w, c.sw), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(c.w), uint64(c.rows)))
			ow := (c.w-1)/c.sw + 1
			ldSrc, ldDst := c.sw*c.w, ow+3 // every other source row, as a stride-2 layer reads them
			src := make([]float32, (c.rows-1)*ldSrc+c.w)
			for i := range src {
				src[i] = r.Float32()
			}
			const guard = -7
			dst := make([]float32, c.rows*ldDst)
			for i := range dst {
				dst[i] = guard
			}
			// The source ends at the last row's last column, as a plane's last row does.
			SubsampleRows(dst, src[:len(src):len(src)], c.rows, ow, c.sw, ldSrc, ldDst)
			for y := 0; y < c.rows; y++ {
				for i := 0; i < ldDst; i++ {
					got := dst[y*ldDst+i]
					want := float32(guard)
					if i < ow {
						want = src[y*ldSrc+c.sw*i]
					}
					if got != want {
						t.Fatalf("row %d column %d = %v, want %v", y, i, got, want)
					}
				}
			}
		})
	}
}
