package tflite

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tools/tflitegen"
)

// Hand-built float models for the operators TF2-converted models use beyond MediaPipe's
// (element-wise math, TRANSPOSE, EXPAND_DIMS, ARG_MAX/ARG_MIN, PADV2, MIRROR_PAD), each compared
// with tflitegen's reference interpreter (tools/tflitegen/ref_wild.go).
var wildOpCases = []struct {
	name  string
	build func(m *tflitegen.Model, r *rand.Rand)
}{
	{"maximum/minimum with [C] constants, squared_difference of activations, pow by 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x, x2 := m.Act("x", 1, 3, 4, 5), m.Act("x2", 1, 3, 4, 5)
		a, b := m.Act("a", 1, 3, 4, 5), m.Act("b", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorMAXIMUM, nil, shp(x, m.ConstF32("lo", shp(5), randF32(r, 5))), a)
		m.AddOp(fb.BuiltinOperatorMINIMUM, nil, shp(a, m.ConstF32("hi", shp(1, 1, 1, 5), randF32(r, 5))), b)
		d := m.Act("d", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorSQUARED_DIFFERENCE, nil, shp(b, x2), d)
		p := m.Act("p", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorPOW, nil, shp(d, m.ConstF32("e", shp(4, 5), randF32(r, 20))), p)
		m.Inputs, m.Outputs = shp(x, x2), shp(b, d, p)
	}},
	{"greater, less_equal, equal into bool outputs", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 2, 3, 4)
		g := m.ActT("g", fb.TensorTypeBOOL, 1, 2, 3, 4)
		m.AddOp(fb.BuiltinOperatorGREATER, nil, shp(x, m.ConstF32("t", shp(4), randF32(r, 4))), g)
		l := m.ActT("l", fb.TensorTypeBOOL, 1, 2, 3, 4)
		m.AddOp(fb.BuiltinOperatorLESS_EQUAL, nil, shp(x, m.ConstF32("z", shp(), []float32{0})), l)
		f := m.Act("f", 1, 2, 3, 4)
		m.AddOp(fb.BuiltinOperatorFLOOR, nil, shp(x), f)
		e := m.ActT("e", fb.TensorTypeBOOL, 1, 2, 3, 4)
		m.AddOp(fb.BuiltinOperatorEQUAL, nil, shp(f, m.ConstF32("zero", shp(), []float32{0})), e)
		m.Inputs, m.Outputs = shp(x), shp(g, l, e)
	}},
	{"unary: relu_n1_to_1 relu_0_to_1 square sqrt rsqrt log ceil elu gelu (both) sin cos", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 3, 4)
		var outs []int32
		chain := func(code fb.BuiltinOperator, o tflitegen.Options, in int32) int32 {
			y := m.Act(fb.EnumNamesBuiltinOperator[code], 1, 3, 3, 4)
			m.AddOp(code, o, shp(in), y)
			outs = append(outs, y)
			return y
		}
		chain(fb.BuiltinOperatorRELU_N1_TO_1, nil, x)
		chain(fb.BuiltinOperatorRELU_0_TO_1, nil, x)
		sq := chain(fb.BuiltinOperatorSQUARE, nil, x)
		chain(fb.BuiltinOperatorSQRT, nil, sq)
		chain(fb.BuiltinOperatorRSQRT, nil, sq)
		chain(fb.BuiltinOperatorLOG, nil, sq)
		chain(fb.BuiltinOperatorCEIL, nil, x)
		chain(fb.BuiltinOperatorELU, nil, x)
		chain(fb.BuiltinOperatorGELU, nil, x)
		chain(fb.BuiltinOperatorGELU, tflitegen.Gelu{Approximate: true}, x)
		chain(fb.BuiltinOperatorSIN, nil, x)
		chain(fb.BuiltinOperatorCOS, nil, x)
		m.Inputs, m.Outputs = shp(x), outs
	}},
	{"transpose 4-D [0,2,1,3] and [0,3,1,2], 3-D [2,0,1], expand_dims 3-D to 4-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		a := m.Act("a", 1, 4, 3, 5)
		m.AddOp(fb.BuiltinOperatorTRANSPOSE, nil, shp(x, m.ConstI32("p", shp(4), shp(0, 2, 1, 3))), a)
		c := m.Act("c", 1, 5, 3, 4)
		m.AddOp(fb.BuiltinOperatorTRANSPOSE, nil, shp(x, m.ConstI32("p2", shp(4), shp(0, 3, 1, 2))), c)
		x3 := m.Act("x3", 2, 3, 4)
		t := m.Act("t", 4, 2, 3)
		m.AddOp(fb.BuiltinOperatorTRANSPOSE, nil, shp(x3, m.ConstI32("p3", shp(3), shp(2, 0, 1))), t)
		e := m.Act("e", 4, 2, 1, 3)
		m.AddOp(fb.BuiltinOperatorEXPAND_DIMS, nil, shp(t, m.ConstI32("ax", shp(1), shp(2))), e)
		m.Inputs, m.Outputs = shp(x, x3), shp(a, c, t, e)
	}},
	{"arg_max over channels (int32) and over H (int64), arg_min of 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		a := m.ActT("a", fb.TensorTypeINT32, 1, 3, 4)
		m.AddOp(fb.BuiltinOperatorARG_MAX, tflitegen.ArgMax{OutputType: fb.TensorTypeINT32}, shp(x, m.ConstI32("c", shp(1), shp(3))), a)
		h := m.ActT("h", fb.TensorTypeINT64, 1, 4, 5)
		m.AddOp(fb.BuiltinOperatorARG_MAX, tflitegen.ArgMax{OutputType: fb.TensorTypeINT64}, shp(x, m.ConstI32("hx", shp(1), shp(1))), h)
		x2 := m.Act("x2", 3, 7)
		n := m.ActT("n", fb.TensorTypeINT32, 7)
		m.AddOp(fb.BuiltinOperatorARG_MIN, tflitegen.ArgMin{OutputType: fb.TensorTypeINT32}, shp(x2, m.ConstI32("z", shp(1), shp(0))), n)
		m.Inputs, m.Outputs = shp(x, x2), shp(a, h, n)
	}},
	{"local_response_normalization radius 2, and radius 7 (wider than the depth)", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 6)
		a := m.Act("a", 1, 3, 4, 6)
		m.AddOp(fb.BuiltinOperatorLOCAL_RESPONSE_NORMALIZATION, tflitegen.LocalResponseNormalization{Radius: 2, Bias: 1, Alpha: 1e-2, Beta: 0.75}, shp(x), a)
		b := m.Act("b", 1, 3, 4, 6)
		m.AddOp(fb.BuiltinOperatorLOCAL_RESPONSE_NORMALIZATION, tflitegen.LocalResponseNormalization{Radius: 7, Bias: 2, Alpha: 0.3, Beta: 0.5}, shp(x), b)
		m.Inputs, m.Outputs = shp(x), shp(a, b)
	}},
	{"slice 4-D with a size of -1, slice 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 5, 6, 4)
		a := m.Act("a", 1, 3, 4, 2)
		m.AddOp(fb.BuiltinOperatorSLICE, nil, shp(x, m.ConstI32("b", shp(4), shp(0, 1, 2, 1)), m.ConstI32("s", shp(4), shp(1, 3, -1, 2))), a)
		x2 := m.Act("x2", 4, 7)
		c := m.Act("c", 2, 3)
		m.AddOp(fb.BuiltinOperatorSLICE, nil, shp(x2, m.ConstI32("b2", shp(2), shp(2, 4)), m.ConstI32("s2", shp(2), shp(-1, 3))), c)
		m.Inputs, m.Outputs = shp(x, x2), shp(a, c)
	}},
	{"split channels in 3, split_v H as 1/-1/2, split 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 5, 4, 6)
		c0, c1, c2 := m.Act("c0", 1, 5, 4, 2), m.Act("c1", 1, 5, 4, 2), m.Act("c2", 1, 5, 4, 2)
		m.AddOp(fb.BuiltinOperatorSPLIT, tflitegen.Split{NumSplits: 3}, shp(m.ConstI32("ax", shp(), shp(3)), x), c0, c1, c2)
		h0, h1, h2 := m.Act("h0", 1, 1, 4, 6), m.Act("h1", 1, 2, 4, 6), m.Act("h2", 1, 2, 4, 6)
		m.AddOp(fb.BuiltinOperatorSPLIT_V, tflitegen.SplitV{NumSplits: 3}, shp(x, m.ConstI32("sz", shp(3), shp(1, -1, 2)), m.ConstI32("ax2", shp(), shp(-3))), h0, h1, h2)
		x2 := m.Act("x2", 3, 8)
		a, b := m.Act("a", 3, 4), m.Act("b", 3, 4)
		m.AddOp(fb.BuiltinOperatorSPLIT, tflitegen.Split{NumSplits: 2}, shp(m.ConstI32("ax3", shp(), shp(1)), x2), a, b)
		m.Inputs, m.Outputs = shp(x, x2), shp(c0, c1, c2, h0, h1, h2, a, b)
	}},
	{"padv2 with a constant, mirror_pad reflect 4-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 2)
		a := m.Act("a", 1, 4, 7, 3)
		m.AddOp(fb.BuiltinOperatorPADV2, nil, shp(x, m.ConstI32("p", shp(4, 2), shp(0, 0, 1, 0, 2, 1, 0, 1)), m.ConstF32("v", shp(), []float32{-2.5})), a)
		b := m.Act("b", 1, 5, 7, 2)
		m.AddOp(fb.BuiltinOperatorMIRROR_PAD, tflitegen.MirrorPad{Mode: fb.MirrorPadModeREFLECT}, shp(x, m.ConstI32("p2", shp(4, 2), shp(0, 0, 1, 1, 2, 1, 0, 0))), b)
		m.Inputs, m.Outputs = shp(x), shp(a, b)
	}},
}

func TestWildOps(t *testing.T) {
	for i, c := range wildOpCases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(500 + i)))
			m := &tflitegen.Model{}
			c.build(m, r)
			runAgainstReference(t, m, r, 1e-5)
		})
	}
}

// quantResizeModel resizes x [1,4,5,3] to [1,7,11,3]; with quant, through QUANTIZE -> the resize on
// typ (scale 0.02, zero point zp) -> DEQUANTIZE.
func quantResizeModel(typ fb.TensorType, zp int64, nearest bool, opt [2]bool, quant bool) *tflitegen.Model {
	m := &tflitegen.Model{}
	x := m.Act("x", 1, 4, 5, 3)
	y := m.Act("y", 1, 7, 11, 3)
	size := m.ConstI32("size", shp(2), shp(7, 11))
	in, out := x, y
	if quant {
		in = m.AddTensor(tflitegen.Tensor{Name: "xq", Type: typ, Shape: shp(1, 4, 5, 3), Scale: []float32{0.02}, ZeroPoint: []int64{zp}})
		m.AddOp(fb.BuiltinOperatorQUANTIZE, nil, shp(x), in)
		out = m.AddTensor(tflitegen.Tensor{Name: "yq", Type: typ, Shape: shp(1, 7, 11, 3), Scale: []float32{0.02}, ZeroPoint: []int64{zp}})
	}
	if nearest {
		m.AddOp(fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR, tflitegen.ResizeNearest{AlignCorners: opt[0], HalfPixelCenters: opt[1]}, shp(in, size), out)
	} else {
		m.AddOp(fb.BuiltinOperatorRESIZE_BILINEAR, tflitegen.ResizeBilinear{AlignCorners: opt[0], HalfPixelCenters: opt[1]}, shp(in, size), out)
	}
	if quant {
		m.AddOp(fb.BuiltinOperatorDEQUANTIZE, nil, shp(out), y)
	}
	m.Inputs, m.Outputs = shp(x), shp(y)
	return m
}

// quantResizeCases: uint8 and int8, nearest and bilinear, each option set.
func quantResizeCases(f func(name string, typ fb.TensorType, zp int64, lo, hi float64, nearest bool, opt [2]bool)) {
	for _, typ := range []fb.TensorType{fb.TensorTypeUINT8, fb.TensorTypeINT8} {
		zp, lo, hi := int64(128), 0.0, 255.0
		if typ == fb.TensorTypeINT8 {
			zp, lo, hi = 3, -128, 127
		}
		for _, nearest := range []bool{false, true} {
			for _, opt := range [][2]bool{{false, false}, {true, false}, {false, true}} {
				f(fmt.Sprintf("%s nearest=%v align_corners=%v half_pixel=%v", fb.EnumNamesTensorType[typ], nearest, opt[0], opt[1]), typ, zp, lo, hi, nearest, opt)
			}
		}
	}
}

// Quantized RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR (uint8 and int8, as in quantized
// segmentation models) against the float resize of the quantized input. Nearest moves values, so
// it is exact; bilinear rounds back to the grid: within half a step.
func TestQuantizedResize(t *testing.T) {
	const scale = 0.02
	quantResizeCases(func(name string, typ fb.TensorType, zp int64, lo, hi float64, nearest bool, opt [2]bool) {
		t.Run(name, func(t *testing.T) {
			x := randF32(rand.New(rand.NewSource(7)), 60)
			for i := range x {
				x[i] *= 2 // past the int8 range too, so clamping is exercised
			}
			xdq := make([]float32, len(x))
			for i, v := range x { // TFLite's QUANTIZE: round half away from zero, clamp
				q := math.Max(lo, math.Min(hi, math.Round(float64(v)/scale)+float64(zp)))
				xdq[i] = float32((q - float64(zp)) * scale)
			}
			want, err := tflitegen.Eval(quantResizeModel(typ, zp, nearest, opt, false), [][]float32{xdq})
			if err != nil {
				t.Fatal(err)
			}
			got := compileRun(t, quantResizeModel(typ, zp, nearest, opt, true).Bytes(), tensor.FromF32(tensor.Shape{1, 4, 5, 3}, x))[0].F32()
			tol := 1e-6
			if !nearest {
				tol += scale / 2
			}
			for i, w := range want[0] {
				if d := math.Abs(float64(got[i] - w)); d > tol {
					t.Fatalf("element %d: %g, want %g (|d| %.3g > %.3g)", i, got[i], w, d, tol)
				}
			}
		})
	})
}

// ARG_MAX of a uint8 and an int8 tensor (a quantized segmentation head) is the ARG_MAX of their
// real values: compared with the float model on the dequantized input.
func TestQuantizedArgMax(t *testing.T) {
	for _, typ := range []fb.TensorType{fb.TensorTypeUINT8, fb.TensorTypeINT8} {
		t.Run(fb.EnumNamesTensorType[typ], func(t *testing.T) {
			build := func(quant bool) *tflitegen.Model {
				m := &tflitegen.Model{}
				x := m.Act("x", 1, 3, 4, 6)
				in := x
				if quant {
					in = m.AddTensor(tflitegen.Tensor{Name: "xq", Type: typ, Shape: shp(1, 3, 4, 6), Scale: []float32{0.05}, ZeroPoint: []int64{map[fb.TensorType]int64{fb.TensorTypeUINT8: 121, fb.TensorTypeINT8: -7}[typ]}})
					m.AddOp(fb.BuiltinOperatorQUANTIZE, nil, shp(x), in)
				}
				y := m.ActT("y", fb.TensorTypeINT32, 1, 3, 4)
				m.AddOp(fb.BuiltinOperatorARG_MAX, tflitegen.ArgMax{OutputType: fb.TensorTypeINT32}, shp(in, m.ConstI32("c", shp(1), shp(3))), y)
				m.Inputs, m.Outputs = shp(x), shp(y)
				return m
			}
			// Values on the quantization grid, far enough apart that no two round together.
			r := rand.New(rand.NewSource(9))
			x := make([]float32, 72)
			for i := range x {
				x[i] = float32(r.Intn(40)-20) * 0.05
			}
			want, err := tflitegen.Eval(build(false), [][]float32{x})
			if err != nil {
				t.Fatal(err)
			}
			got := compileRun(t, build(true).Bytes(), tensor.FromF32(tensor.Shape{1, 3, 4, 6}, x))[0]
			for i, w := range want[0] {
				if float32(got.I32()[i]) != w {
					t.Fatalf("[%d]: %d, want %g", i, got.I32()[i], w)
				}
			}
		})
	}
}
