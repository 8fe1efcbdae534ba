package tflite

import (
	"math/rand"
	"testing"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tools/tflitegen"
)

func randF32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func shp(s ...int32) []int32 { return s }

// floatOpCases are small hand-built float models, one TFLite feature each; every case gets input
// tensor 0 from the harness and returns the model.
var floatOpCases = []struct {
	name  string
	build func(m *tflitegen.Model, r *rand.Rand)
}{
	{"conv SAME s2 dil1 relu6 odd", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 7, 9, 3)
		w := m.ConstF32("w", shp(5, 3, 3, 3), randF32(r, 5*27))
		b := m.ConstF32("b", shp(5), randF32(r, 5))
		y := m.Act("y", 1, 4, 5, 5)
		m.AddOp(fb.BuiltinOperatorCONV_2D, tflitegen.Conv2D{Padding: fb.PaddingSAME, StrideH: 2, StrideW: 2, Act: fb.ActivationFunctionTypeRELU6}, shp(x, w, b), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"conv SAME dilation 2 no bias", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 8, 7, 2)
		w := m.ConstF32("w", shp(4, 3, 2, 2), randF32(r, 4*12))
		y := m.Act("y", 1, 8, 7, 4)
		m.AddOp(fb.BuiltinOperatorCONV_2D, tflitegen.Conv2D{Padding: fb.PaddingSAME, StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 2}, shp(x, w, -1), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"conv VALID s1x2 relu", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 6, 7, 3)
		w := m.ConstF32("w", shp(2, 3, 1, 3), randF32(r, 2*9))
		b := m.ConstF32("b", shp(2), randF32(r, 2))
		y := m.Act("y", 1, 4, 4, 2)
		m.AddOp(fb.BuiltinOperatorCONV_2D, tflitegen.Conv2D{Padding: fb.PaddingVALID, StrideH: 1, StrideW: 2, Act: fb.ActivationFunctionTypeRELU}, shp(x, w, b), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"grouped conv (filter in-channels < input channels)", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 5, 5, 4)
		w := m.ConstF32("w", shp(6, 3, 3, 2), randF32(r, 6*18))
		b := m.ConstF32("b", shp(6), randF32(r, 6))
		y := m.Act("y", 1, 5, 5, 6)
		m.AddOp(fb.BuiltinOperatorCONV_2D, tflitegen.Conv2D{Padding: fb.PaddingSAME, StrideH: 1, StrideW: 1}, shp(x, w, b), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"depthwise multiplier 2 SAME s2", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 6, 5, 3)
		w := m.ConstF32("w", shp(1, 3, 3, 6), randF32(r, 54))
		b := m.ConstF32("b", shp(6), randF32(r, 6))
		y := m.Act("y", 1, 3, 3, 6)
		m.AddOp(fb.BuiltinOperatorDEPTHWISE_CONV_2D, tflitegen.DepthwiseConv2D{Padding: fb.PaddingSAME, StrideH: 2, StrideW: 2, DepthMultiplier: 2, Act: fb.ActivationFunctionTypeRELU}, shp(x, w, b), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"depthwise dilation 2 VALID", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 7, 7, 4)
		w := m.ConstF32("w", shp(1, 3, 3, 4), randF32(r, 36))
		b := m.ConstF32("b", shp(4), randF32(r, 4))
		y := m.Act("y", 1, 3, 3, 4)
		m.AddOp(fb.BuiltinOperatorDEPTHWISE_CONV_2D, tflitegen.DepthwiseConv2D{Padding: fb.PaddingVALID, StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 2}, shp(x, w, b), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"fully connected from spatial map", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 2, 4)
		w := m.ConstF32("w", shp(5, 24), randF32(r, 120))
		b := m.ConstF32("b", shp(5), randF32(r, 5))
		y := m.Act("y", 1, 5)
		m.AddOp(fb.BuiltinOperatorFULLY_CONNECTED, tflitegen.FullyConnected{Act: fb.ActivationFunctionTypeRELU}, shp(x, w, b), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"fully connected keep_num_dims 4-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 2, 3, 4)
		w := m.ConstF32("w", shp(5, 4), randF32(r, 20))
		y := m.Act("y", 1, 2, 3, 5)
		m.AddOp(fb.BuiltinOperatorFULLY_CONNECTED, tflitegen.FullyConnected{KeepNumDims: true}, shp(x, w, -1), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"fully connected 2-D batch 3", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 3, 6)
		w := m.ConstF32("w", shp(4, 6), randF32(r, 24))
		b := m.ConstF32("b", shp(4), randF32(r, 4))
		y := m.Act("y", 3, 4)
		m.AddOp(fb.BuiltinOperatorFULLY_CONNECTED, tflitegen.FullyConnected{Act: fb.ActivationFunctionTypeRELU6}, shp(x, w, b), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"average pool SAME excludes padding", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 7, 6, 3)
		y := m.Act("y", 1, 4, 3, 3)
		m.AddOp(fb.BuiltinOperatorAVERAGE_POOL_2D, tflitegen.Pool2D{Padding: fb.PaddingSAME, StrideH: 2, StrideW: 2, FilterHeight: 3, FilterWidth: 3, Act: fb.ActivationFunctionTypeRELU}, shp(x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"max pool SAME odd relu6", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 5, 5, 2)
		y := m.Act("y", 1, 3, 3, 2)
		m.AddOp(fb.BuiltinOperatorMAX_POOL_2D, tflitegen.Pool2D{Padding: fb.PaddingSAME, StrideH: 2, StrideW: 2, FilterHeight: 2, FilterWidth: 2, Act: fb.ActivationFunctionTypeRELU6}, shp(x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"max pool VALID 3x3 s1", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 5, 6, 3)
		y := m.Act("y", 1, 3, 4, 3)
		m.AddOp(fb.BuiltinOperatorMAX_POOL_2D, tflitegen.Pool2D{Padding: fb.PaddingVALID, StrideH: 1, StrideW: 1, FilterHeight: 3, FilterWidth: 3}, shp(x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"mean HW keep_dims", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		y := m.Act("y", 1, 1, 1, 5)
		m.AddOp(fb.BuiltinOperatorMEAN, tflitegen.Reducer{KeepDims: true}, shp(x, m.ConstI32("axes", shp(2), shp(1, 2))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"mean HW to 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		y := m.Act("y", 1, 5)
		m.AddOp(fb.BuiltinOperatorMEAN, tflitegen.Reducer{}, shp(x, m.ConstI32("axes", shp(2), shp(-3, 2))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"mean H keep_dims", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		y := m.Act("y", 1, 1, 4, 5)
		m.AddOp(fb.BuiltinOperatorMEAN, tflitegen.Reducer{KeepDims: true}, shp(x, m.ConstI32("axes", shp(1), shp(1))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"mean C to 3-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		y := m.Act("y", 1, 3, 4)
		m.AddOp(fb.BuiltinOperatorMEAN, tflitegen.Reducer{}, shp(x, m.ConstI32("axes", shp(1), shp(3))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"mean W to 3-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		y := m.Act("y", 1, 3, 5)
		m.AddOp(fb.BuiltinOperatorMEAN, tflitegen.Reducer{}, shp(x, m.ConstI32("axes", shp(1), shp(2))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"mean of 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 3, 4)
		y := m.Act("y", 3)
		m.AddOp(fb.BuiltinOperatorMEAN, tflitegen.Reducer{}, shp(x, m.ConstI32("axes", shp(1), shp(1))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"add activations relu", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		h := m.Act("h", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorLOGISTIC, nil, shp(x), h)
		y := m.Act("y", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorADD, tflitegen.Add{Act: fb.ActivationFunctionTypeRELU}, shp(x, h), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"add rank-1 channel constant", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		c := m.ConstF32("c", shp(5), randF32(r, 5))
		y := m.Act("y", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorADD, tflitegen.Add{}, shp(x, c), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"mul 4-D channel constant first", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		c := m.ConstF32("c", shp(1, 1, 1, 5), randF32(r, 5))
		y := m.Act("y", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorMUL, tflitegen.Mul{Act: fb.ActivationFunctionTypeRELU6}, shp(c, x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"mul scalar constant", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		c := m.ConstF32("c", shp(), []float32{0.5})
		y := m.Act("y", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorMUL, tflitegen.Mul{}, shp(x, c), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"mul by squeeze-excite vector [1,1,1,C]", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		s := m.Act("s", 1, 1, 1, 5)
		m.AddOp(fb.BuiltinOperatorMEAN, tflitegen.Reducer{KeepDims: true}, shp(x, m.ConstI32("axes", shp(2), shp(1, 2))), s)
		g := m.Act("g", 1, 1, 1, 5)
		m.AddOp(fb.BuiltinOperatorLOGISTIC, nil, shp(s), g)
		y := m.Act("y", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorMUL, tflitegen.Mul{}, shp(x, g), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"add 2-D bias row", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 2, 5)
		c := m.ConstF32("c", shp(5), randF32(r, 5))
		y := m.Act("y", 2, 5)
		m.AddOp(fb.BuiltinOperatorADD, tflitegen.Add{}, shp(x, c), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"pad asymmetric 4-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 2)
		y := m.Act("y", 1, 6, 5, 3)
		m.AddOp(fb.BuiltinOperatorPAD, tflitegen.Pad{}, shp(x, m.ConstI32("p", shp(4, 2), shp(0, 0, 1, 2, 0, 1, 0, 1))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"pad 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 2, 3)
		y := m.Act("y", 3, 7)
		m.AddOp(fb.BuiltinOperatorPAD, tflitegen.Pad{}, shp(x, m.ConstI32("p", shp(2, 2), shp(1, 0, 2, 2))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"reshape spatial map to 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 4, 3, 2)
		y := m.Act("y", 1, 24)
		m.AddOp(fb.BuiltinOperatorRESHAPE, tflitegen.Reshape{NewShape: shp(1, 24)}, shp(x, m.ConstI32("s", shp(2), shp(1, 24))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"reshape 4-D to 4-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 4, 3, 2)
		y := m.Act("y", 1, 2, 6, 2)
		m.AddOp(fb.BuiltinOperatorRESHAPE, tflitegen.Reshape{NewShape: shp(1, 2, 6, 2)}, shp(x, m.ConstI32("s", shp(4), shp(1, 2, 6, 2))), y)
		h := m.Act("h", 1, 2, 6, 2)
		m.AddOp(fb.BuiltinOperatorRELU, nil, shp(y), h)
		m.Inputs, m.Outputs = shp(x), shp(h)
	}},
	{"reshape 2-D to 4-D then conv", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 24)
		y := m.Act("y", 1, 4, 3, 2)
		m.AddOp(fb.BuiltinOperatorRESHAPE, tflitegen.Reshape{NewShape: shp(1, 4, 3, 2)}, shp(x), y)
		w := m.ConstF32("w", shp(3, 1, 1, 2), randF32(r, 6))
		z := m.Act("z", 1, 4, 3, 3)
		m.AddOp(fb.BuiltinOperatorCONV_2D, tflitegen.Conv2D{Padding: fb.PaddingVALID, StrideH: 1, StrideW: 1}, shp(y, w, -1), z)
		m.Inputs, m.Outputs = shp(x), shp(z)
	}},
	{"reshape to 3-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 4, 3, 2)
		y := m.Act("y", 1, 12, 2)
		m.AddOp(fb.BuiltinOperatorRESHAPE, tflitegen.Reshape{NewShape: shp(1, 12, 2)}, shp(x, m.ConstI32("s", shp(3), shp(1, -1, 2))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"squeeze [1,1,1,C]", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 1, 1, 7)
		y := m.Act("y", 1, 7)
		m.AddOp(fb.BuiltinOperatorSQUEEZE, tflitegen.Squeeze{Dims: shp(1, 2)}, shp(x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"squeeze [1,H,1,C]", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 1, 4)
		y := m.Act("y", 1, 3, 4)
		m.AddOp(fb.BuiltinOperatorSQUEEZE, tflitegen.Squeeze{Dims: shp(2)}, shp(x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"concat channels with constant", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 2, 2)
		h := m.Act("h", 1, 3, 2, 2)
		m.AddOp(fb.BuiltinOperatorHARD_SWISH, nil, shp(x), h)
		y := m.Act("y", 1, 3, 2, 4)
		m.AddOp(fb.BuiltinOperatorCONCATENATION, tflitegen.Concatenation{Axis: 3, Act: fb.ActivationFunctionTypeRELU}, shp(x, h), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"concat height axis -3", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 2, 2)
		h := m.Act("h", 1, 3, 2, 2)
		m.AddOp(fb.BuiltinOperatorLOGISTIC, nil, shp(x), h)
		y := m.Act("y", 1, 6, 2, 2)
		m.AddOp(fb.BuiltinOperatorCONCATENATION, tflitegen.Concatenation{Axis: -3}, shp(h, x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"concat 2-D last axis", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 2, 3)
		c := m.ConstF32("c", shp(2, 2), randF32(r, 4))
		y := m.Act("y", 2, 5)
		m.AddOp(fb.BuiltinOperatorCONCATENATION, tflitegen.Concatenation{Axis: -1}, shp(x, c), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"softmax 2-D beta 0.5", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 2, 7)
		y := m.Act("y", 2, 7)
		m.AddOp(fb.BuiltinOperatorSOFTMAX, tflitegen.Softmax{Beta: 0.5}, shp(x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"softmax 4-D over channels", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 2, 3, 4)
		y := m.Act("y", 1, 2, 3, 4)
		m.AddOp(fb.BuiltinOperatorSOFTMAX, tflitegen.Softmax{Beta: 1}, shp(x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"softmax 3-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4)
		y := m.Act("y", 1, 3, 4)
		m.AddOp(fb.BuiltinOperatorSOFTMAX, tflitegen.Softmax{Beta: 2}, shp(x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"unary chain 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 2, 9)
		a, b, c, d := m.Act("a", 2, 9), m.Act("b", 2, 9), m.Act("c", 2, 9), m.Act("d", 2, 9)
		m.AddOp(fb.BuiltinOperatorHARD_SWISH, nil, shp(x), a)
		m.AddOp(fb.BuiltinOperatorRELU6, nil, shp(a), b)
		m.AddOp(fb.BuiltinOperatorLOGISTIC, nil, shp(x), c)
		m.AddOp(fb.BuiltinOperatorRELU, nil, shp(x), d)
		m.Inputs, m.Outputs = shp(x), shp(b, c, d)
	}},
	{"two inputs", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 2, 3, 4)
		x2 := m.Act("x2", 1, 2, 3, 4)
		y := m.Act("y", 1, 2, 3, 4)
		m.AddOp(fb.BuiltinOperatorMUL, tflitegen.Mul{}, shp(x, x2), y)
		m.Inputs, m.Outputs = shp(x, x2), shp(y)
	}},
}

// TestFloatOps imports each hand-built model, runs it through runtime.Compile and compares every
// output with tflitegen's naive NHWC interpreter.
func TestFloatOps(t *testing.T) {
	for i, c := range floatOpCases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(i + 1)))
			m := &tflitegen.Model{}
			c.build(m, r)
			var ins []*tensor.Tensor
			var raw [][]float32
			for _, ti := range m.Inputs {
				s := m.Tensors[ti].Shape
				shape := make(tensor.Shape, len(s))
				for j, d := range s {
					shape[j] = int(d)
				}
				v := randF32(r, shape.NumElements())
				raw = append(raw, v)
				ins = append(ins, tensor.FromF32(shape, v))
			}
			want, err := tflitegen.Eval(m, raw)
			if err != nil {
				t.Fatal(err)
			}
			got := compileRun(t, m.Bytes(), ins...)
			for k := range want {
				ws := m.Tensors[m.Outputs[k]].Shape
				if len(got[k].Shape) != len(ws) {
					t.Fatalf("output %d shape %s, want %v", k, got[k].Shape, ws)
				}
				for j, d := range ws {
					if got[k].Shape[j] != int(d) {
						t.Fatalf("output %d shape %s, want %v", k, got[k].Shape, ws)
					}
				}
				if e := maxRelErr(got[k].F32(), want[k]); e > 1e-5 {
					t.Fatalf("output %d: rel err %.3g\ngot  %v\nwant %v", k, e, got[k].F32(), want[k])
				}
			}
		})
	}
}
