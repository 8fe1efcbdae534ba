package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// LRN against its definition, written out per element, for odd and even sizes and a window wider
// than the channels.
func TestLRNVsDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	x := randF32(r, tensor.Shape{2, 7, 3, 5})
	for _, c := range []struct {
		size              int64
		alpha, beta, bias float32
	}{{5, 1e-4, 0.75, 1}, {4, 0.02, 0.5, 2}, {1, 0.1, 1, 0.5}, {11, 0.3, 0.9, 1}} {
		attrs := map[string]graph.Attr{"size": {Kind: graph.AttrInt, Int: c.size}, "alpha": {Kind: graph.AttrFloat, Float: c.alpha},
			"beta": {Kind: graph.AttrFloat, Float: c.beta}, "bias": {Kind: graph.AttrFloat, Float: c.bias}}
		out, err := Eval(mkNode("LRN", attrs, x))
		if err != nil {
			t.Fatal(err)
		}
		s := x.Shape
		at := func(n, ch, i int) float64 { return float64(x.F32()[(n*s[1]+ch)*15+i]) }
		for n := 0; n < s[0]; n++ {
			for ch := 0; ch < s[1]; ch++ {
				for i := 0; i < 15; i++ {
					var sq float64
					for cc := ch - int(c.size-1)/2; cc <= ch+int(math.Ceil(float64(c.size-1)/2)); cc++ {
						if cc >= 0 && cc < s[1] {
							sq += at(n, cc, i) * at(n, cc, i)
						}
					}
					want := at(n, ch, i) / math.Pow(float64(c.bias)+float64(c.alpha)/float64(c.size)*sq, float64(c.beta))
					got := float64(out[0].F32()[(n*s[1]+ch)*15+i])
					if !(math.Abs(got-want) <= 1e-6*(1+math.Abs(want))) {
						t.Fatalf("size %d: y[%d,%d,%d] = %g, want %g", c.size, n, ch, i, got, want)
					}
				}
			}
		}
	}
}
