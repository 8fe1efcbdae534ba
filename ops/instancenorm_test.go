package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/tensor"
)

// TestInstanceNormalizationVsReference compares with the definition computed in float64, on an
// input with a large common offset (where single-pass E[x²]-E[x]² would lose the variance).
func TestInstanceNormalizationVsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, shape := range []tensor.Shape{{2, 3, 5, 7}, {1, 4, 9}, {3, 2, 2, 3, 2}} {
		x, s, b := randF32(r, shape), randF32(r, tensor.Shape{shape[1]}), randF32(r, tensor.Shape{shape[1]})
		for i := range x.F32() {
			x.F32()[i] = x.F32()[i]*3 + 50
		}
		out, err := Eval(mkNode("InstanceNormalization", nil, x, s, b))
		if err != nil {
			t.Fatal(err)
		}
		size := shape[2:].NumElements()
		for p := 0; p < shape[0]*shape[1]; p++ {
			xs := x.F32()[p*size : (p+1)*size]
			var m, v float64
			for _, e := range xs {
				m += float64(e)
			}
			m /= float64(size)
			for _, e := range xs {
				v += (float64(e) - m) * (float64(e) - m)
			}
			v /= float64(size)
			c := p % shape[1]
			for i, e := range xs {
				want := float64(s.F32()[c])*(float64(e)-m)/math.Sqrt(v+1e-5) + float64(b.F32()[c])
				if got := float64(out[0].F32()[p*size+i]); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("%s plane %d [%d] = %g, want %g", shape, p, i, got, want)
				}
			}
		}
	}
	if _, err := Eval(mkNode("InstanceNormalization", nil, randF32(r, tensor.Shape{1, 3, 4}), randF32(r, tensor.Shape{2}), randF32(r, tensor.Shape{3}))); err == nil {
		t.Error("a scale of the wrong length must be refused")
	}
}
