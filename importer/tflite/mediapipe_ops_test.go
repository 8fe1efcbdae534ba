package tflite

import (
	"math"
	"math/rand"
	"testing"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tools/tflitegen"
)

// Hand-built float models for the operators MediaPipe-style models use beyond the classifier set
// (fp16 weights, sparse weights, PRELU, resizes, STRIDED_SLICE, transposed convolutions incl.
// MediaPipe's custom one ...), each run through runtime.Compile and compared with tflitegen's NHWC
// reference interpreter (tools/tflitegen/ref_mediapipe.go, written from TFLite's reference kernels).

// sparseRand draws n values with about half of them zero (and whole 1×4 blocks zero at times).
func sparseRand(r *rand.Rand, n int) []float32 {
	v := randF32(r, n)
	for i := range v {
		if r.Intn(2) == 0 || (i/4)%3 == 1 {
			v[i] = 0
		}
	}
	return v
}

// roundF16 rounds values to half precision (what a float16 constant holds).
func roundF16(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = tensor.F16ToF32(tensor.F32ToF16(x))
	}
	return out
}

func sparseConst(m *tflitegen.Model, name string, typ fb.TensorType, shape []int32, dense []float32, block int, seg, idx fb.SparseIndexVector) int32 {
	data, sp := tflitegen.Sparsify(shape, dense, block, seg, idx)
	raw := tflitegen.F32Bytes(data)
	if typ == fb.TensorTypeFLOAT16 {
		raw = make([]byte, 2*len(data))
		for i, x := range data {
			h := tensor.F32ToF16(x)
			raw[2*i], raw[2*i+1] = byte(h), byte(h>>8)
		}
	}
	return m.AddTensor(tflitegen.Tensor{Name: name, Type: typ, Shape: shape, Data: raw, Sparsity: sp, Dense: dense})
}

var mediapipeOpCases = []struct {
	name  string
	build func(m *tflitegen.Model, r *rand.Rand)
}{
	{"sub [C] relu6, div by [1,1,1,C]", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		a := m.Act("a", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorSUB, tflitegen.Sub{Act: fb.ActivationFunctionTypeRELU6}, shp(x, m.ConstF32("c", shp(5), randF32(r, 5))), a)
		y := m.Act("y", 1, 3, 4, 5)
		d := make([]float32, 5)
		for i := range d {
			d[i] = 0.5 + float32(i)
		}
		m.AddOp(fb.BuiltinOperatorDIV, tflitegen.Div{}, shp(a, m.ConstF32("d", shp(1, 1, 1, 5), d)), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"sub of two activations 2-D, div scalar", func(m *tflitegen.Model, r *rand.Rand) {
		x, x2 := m.Act("x", 3, 7), m.Act("x2", 3, 7)
		a, y := m.Act("a", 3, 7), m.Act("y", 3, 7)
		m.AddOp(fb.BuiltinOperatorSUB, tflitegen.Sub{}, shp(x, x2), a)
		m.AddOp(fb.BuiltinOperatorDIV, tflitegen.Div{Act: fb.ActivationFunctionTypeRELU}, shp(a, m.ConstF32("s", shp(), []float32{3})), y)
		m.Inputs, m.Outputs = shp(x, x2), shp(y)
	}},
	{"prelu alpha [1,1,C] and [H,W,C]", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		a, y := m.Act("a", 1, 3, 4, 5), m.Act("y", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorPRELU, nil, shp(x, m.ConstF32("alpha", shp(1, 1, 5), randF32(r, 5))), a)
		m.AddOp(fb.BuiltinOperatorPRELU, nil, shp(a, m.ConstF32("alpha2", shp(3, 4, 5), randF32(r, 60))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"neg abs exp tanh leaky_relu", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 2, 3, 4)
		a, b, c, d, y := m.Act("a", 1, 2, 3, 4), m.Act("b", 1, 2, 3, 4), m.Act("c", 1, 2, 3, 4), m.Act("d", 1, 2, 3, 4), m.Act("y", 1, 2, 3, 4)
		m.AddOp(fb.BuiltinOperatorNEG, nil, shp(x), a)
		m.AddOp(fb.BuiltinOperatorABS, nil, shp(a), b)
		m.AddOp(fb.BuiltinOperatorEXP, nil, shp(x), c)
		m.AddOp(fb.BuiltinOperatorTANH, nil, shp(x), d)
		m.AddOp(fb.BuiltinOperatorLEAKY_RELU, tflitegen.LeakyRelu{Alpha: 0.2}, shp(x), y)
		m.Inputs, m.Outputs = shp(x), shp(b, c, d, y)
	}},
	{"greater_equal mask cast to float, times x", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		ge := m.ActT("ge", fb.TensorTypeBOOL, 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorGREATER_EQUAL, nil, shp(x, m.ConstF32("t", shp(5), randF32(r, 5))), ge)
		f := m.Act("f", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorCAST, tflitegen.Cast{In: fb.TensorTypeBOOL, Out: fb.TensorTypeFLOAT32}, shp(ge), f)
		y := m.Act("y", 1, 3, 4, 5)
		m.AddOp(fb.BuiltinOperatorMUL, tflitegen.Mul{}, shp(x, f), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"less 2-D bool output, cast to int32 truncates", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 2, 6)
		l := m.ActT("l", fb.TensorTypeBOOL, 2, 6)
		m.AddOp(fb.BuiltinOperatorLESS, nil, shp(x, m.ConstF32("t", shp(6), randF32(r, 6))), l)
		s := m.Act("s", 2, 6)
		m.AddOp(fb.BuiltinOperatorMUL, tflitegen.Mul{}, shp(x, m.ConstF32("k", shp(), []float32{3.7})), s)
		i := m.ActT("i", fb.TensorTypeINT32, 2, 6)
		m.AddOp(fb.BuiltinOperatorCAST, nil, shp(s), i)
		m.Inputs, m.Outputs = shp(x), shp(l, i)
	}},
	{"sum HW keep, sum C to 3-D, reduce_max C keep, reduce_max HW to 2-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		a, b, c, d := m.Act("a", 1, 1, 1, 5), m.Act("b", 1, 3, 4), m.Act("c", 1, 3, 4, 1), m.Act("d", 1, 5)
		m.AddOp(fb.BuiltinOperatorSUM, tflitegen.Reducer{KeepDims: true}, shp(x, m.ConstI32("ax1", shp(2), shp(1, 2))), a)
		m.AddOp(fb.BuiltinOperatorSUM, tflitegen.Reducer{}, shp(x, m.ConstI32("ax2", shp(1), shp(-1))), b)
		m.AddOp(fb.BuiltinOperatorREDUCE_MAX, tflitegen.Reducer{KeepDims: true}, shp(x, m.ConstI32("ax3", shp(1), shp(3))), c)
		m.AddOp(fb.BuiltinOperatorREDUCE_MAX, tflitegen.Reducer{}, shp(x, m.ConstI32("ax4", shp(2), shp(1, 2))), d)
		m.Inputs, m.Outputs = shp(x), shp(a, b, c, d)
	}},
	{"strided_slice 4-D: stride 2 on H, masks, negative stride on W", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 7, 6, 5)
		y := m.Act("y", 1, 3, 3, 4)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{BeginMask: 1, EndMask: 1 | 8},
			shp(x, m.ConstI32("b", shp(4), shp(9, 1, -1, 1)), m.ConstI32("e", shp(4), shp(0, 6, -7, 0)), m.ConstI32("s", shp(4), shp(1, 2, -2, 1))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"strided_slice shrink C to 3-D, and H of 2 dims", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 4, 6, 5)
		y := m.Act("y", 1, 4, 3)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{ShrinkAxisMask: 8},
			shp(x, m.ConstI32("b", shp(4), shp(0, 0, 1, -2)), m.ConstI32("e", shp(4), shp(1, 4, 6, 0)), m.ConstI32("s", shp(4), shp(1, 1, 2, 1))), y)
		z := m.Act("z", 1, 6, 5)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{ShrinkAxisMask: 2},
			shp(x, m.ConstI32("b2", shp(2), shp(0, 2)), m.ConstI32("e2", shp(2), shp(1, 3)), m.ConstI32("s2", shp(2), shp(1, 1))), z)
		m.Inputs, m.Outputs = shp(x), shp(y, z)
	}},
	{"strided_slice 2-D offset", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 5, 8)
		y := m.Act("y", 2, 3)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{Offset: true},
			shp(x, m.ConstI32("b", shp(2), shp(1, 2)), m.ConstI32("e", shp(2), shp(3, 5)), m.ConstI32("s", shp(2), shp(2, 2))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"strided_slice ellipsis: x[..., 1:3] and x[0:1, ..., ::2] of 4-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 4, 5, 6)
		y := m.Act("y", 1, 4, 5, 2)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{EllipsisMask: 1},
			shp(x, m.ConstI32("b", shp(2), shp(0, 1)), m.ConstI32("e", shp(2), shp(0, 3)), m.ConstI32("s", shp(2), shp(1, 1))), y)
		z := m.Act("z", 1, 4, 5, 3)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{EllipsisMask: 2, EndMask: 4},
			shp(x, m.ConstI32("b2", shp(3), shp(0, 0, 0)), m.ConstI32("e2", shp(3), shp(1, 0, 0)), m.ConstI32("s2", shp(3), shp(1, 1, 2))), z)
		m.Inputs, m.Outputs = shp(x), shp(y, z)
	}},
	{"strided_slice new axes: x[1, ..., None, 2] of 3-D, x[None, :, 1:] of 2-D, x[:, None] of 3-D to 4-D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 3, 4, 5)
		y := m.Act("y", 4, 1)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{ShrinkAxisMask: 1 | 8, EllipsisMask: 2, NewAxisMask: 4},
			shp(x, m.ConstI32("b", shp(4), shp(1, 0, 0, 2)), m.ConstI32("e", shp(4), shp(2, 0, 0, 3)), m.ConstI32("s", shp(4), shp(1, 1, 1, 1))), y)
		x2 := m.Act("x2", 3, 4)
		z := m.Act("z", 1, 3, 3)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{NewAxisMask: 1, BeginMask: 2, EndMask: 2 | 4},
			shp(x2, m.ConstI32("b2", shp(3), shp(0, 0, 1)), m.ConstI32("e2", shp(3), shp(0, 0, 0)), m.ConstI32("s2", shp(3), shp(1, 1, 1))), z)
		w := m.Act("w", 3, 1, 4, 5)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{NewAxisMask: 2, BeginMask: 1, EndMask: 1},
			shp(x, m.ConstI32("b3", shp(2), shp(0, 0)), m.ConstI32("e3", shp(2), shp(0, 0)), m.ConstI32("s3", shp(2), shp(1, 1))), w)
		m.Inputs, m.Outputs = shp(x, x2), shp(y, z, w)
	}},
	{"depth_to_space 2 then space_to_depth 3", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 2, 8)
		a := m.Act("a", 1, 6, 4, 2)
		m.AddOp(fb.BuiltinOperatorDEPTH_TO_SPACE, tflitegen.DepthToSpace{BlockSize: 2}, shp(x), a)
		y := m.Act("y", 1, 2, 1, 18)
		s := m.Act("s", 1, 6, 3, 2)
		m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, tflitegen.StridedSlice{},
			shp(a, m.ConstI32("b", shp(4), shp(0, 0, 0, 0)), m.ConstI32("e", shp(4), shp(1, 6, 3, 2)), m.ConstI32("s", shp(4), shp(1, 1, 1, 1))), s)
		m.AddOp(fb.BuiltinOperatorSPACE_TO_DEPTH, tflitegen.SpaceToDepth{BlockSize: 3}, shp(s), y)
		m.Inputs, m.Outputs = shp(x), shp(a, y)
	}},
	{"transpose_conv SAME s2 k3 bias relu", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 4, 5)
		y := m.Act("y", 1, 6, 8, 4)
		m.AddOp(fb.BuiltinOperatorTRANSPOSE_CONV, tflitegen.TransposeConv{Padding: fb.PaddingSAME, StrideH: 2, StrideW: 2, Act: fb.ActivationFunctionTypeRELU},
			shp(m.ConstI32("os", shp(4), shp(1, 6, 8, 4)), m.ConstF32("w", shp(4, 3, 3, 5), randF32(r, 180)), x, m.ConstF32("b", shp(4), randF32(r, 4))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"transpose_conv SAME s2 k4 no bias, odd output", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 3, 2)
		y := m.Act("y", 1, 5, 6, 3)
		m.AddOp(fb.BuiltinOperatorTRANSPOSE_CONV, tflitegen.TransposeConv{Padding: fb.PaddingSAME, StrideH: 2, StrideW: 2},
			shp(m.ConstI32("os", shp(4), shp(1, 5, 6, 3)), m.ConstF32("w", shp(3, 4, 4, 2), randF32(r, 96)), x), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"transpose_conv VALID s2 k1 (output past the natural size)", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 3, 3, 2)
		y := m.Act("y", 1, 6, 6, 2)
		m.AddOp(fb.BuiltinOperatorTRANSPOSE_CONV, tflitegen.TransposeConv{Padding: fb.PaddingVALID, StrideH: 2, StrideW: 2},
			shp(m.ConstI32("os", shp(4), shp(1, 6, 6, 2)), m.ConstF32("w", shp(2, 1, 1, 2), randF32(r, 4)), x, m.ConstF32("b", shp(2), randF32(r, 2))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"Convolution2DTransposeBias SAME s2 k4 and VALID s2 k3", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 4, 5, 3)
		a := m.Act("a", 1, 8, 9, 6) // SAME: total pad max(0, k-(in-1)%s-1): 2 on H, 3 on W
		m.Ops = append(m.Ops, tflitegen.Op{Code: fb.BuiltinOperatorCUSTOM, CustomCode: "Convolution2DTransposeBias",
			CustomOptions: tflitegen.TransposeConvBiasOptions(fb.PaddingSAME, 2, 2),
			Inputs:        shp(x, m.ConstF32("w", shp(6, 4, 4, 3), randF32(r, 288)), m.ConstF32("b", shp(6), randF32(r, 6))), Outputs: shp(a)})
		y := m.Act("y", 1, 17, 19, 2)
		m.Ops = append(m.Ops, tflitegen.Op{Code: fb.BuiltinOperatorCUSTOM, CustomCode: "Convolution2DTransposeBias",
			CustomOptions: tflitegen.TransposeConvBiasOptions(fb.PaddingVALID, 2, 2),
			Inputs:        shp(a, m.ConstF32("w2", shp(2, 3, 3, 6), randF32(r, 108)), m.ConstF32("b2", shp(2), randF32(r, 2))), Outputs: shp(y)})
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"float16 weights: DEQUANTIZE into CONV_2D, DEPTHWISE and FULLY_CONNECTED", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 5, 5, 3)
		deq := func(name string, shape []int32, n int) int32 {
			h := m.ConstF16(name+"_f16", shape, randF32(r, n))
			f := m.Act(name, shape...)
			m.AddOp(fb.BuiltinOperatorDEQUANTIZE, nil, shp(h), f)
			return f
		}
		a := m.Act("a", 1, 3, 3, 4)
		m.AddOp(fb.BuiltinOperatorCONV_2D, tflitegen.Conv2D{Padding: fb.PaddingSAME, StrideH: 2, StrideW: 2, Act: fb.ActivationFunctionTypeRELU},
			shp(x, deq("w", shp(4, 3, 3, 3), 108), deq("b", shp(4), 4)), a)
		c := m.Act("c", 1, 3, 3, 4)
		m.AddOp(fb.BuiltinOperatorDEPTHWISE_CONV_2D, tflitegen.DepthwiseConv2D{Padding: fb.PaddingSAME, StrideH: 1, StrideW: 1},
			shp(a, deq("dw", shp(1, 3, 3, 4), 36), deq("db", shp(4), 4)), c)
		y := m.Act("y", 1, 6)
		m.AddOp(fb.BuiltinOperatorFULLY_CONNECTED, tflitegen.FullyConnected{}, shp(c, deq("fw", shp(6, 36), 216), deq("fb", shp(6), 6)), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"int8 per-channel weights: DEQUANTIZE into CONV_2D", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 1, 4, 4, 3)
		q := make([]byte, 5*2*2*3)
		for i := range q {
			q[i] = byte(r.Intn(256))
		}
		wq := m.AddTensor(tflitegen.Tensor{Name: "wq", Type: fb.TensorTypeINT8, Shape: shp(5, 2, 2, 3), Data: q,
			Scale: []float32{0.01, 0.02, 0.005, 0.03, 0.011}, ZeroPoint: []int64{0, 0, 0, 0, 0}})
		w := m.Act("w", 5, 2, 2, 3)
		m.AddOp(fb.BuiltinOperatorDEQUANTIZE, nil, shp(wq), w)
		y := m.Act("y", 1, 3, 3, 5)
		m.AddOp(fb.BuiltinOperatorCONV_2D, tflitegen.Conv2D{Padding: fb.PaddingVALID, StrideH: 1, StrideW: 1}, shp(x, w, m.ConstF32("b", shp(5), randF32(r, 5))), y)
		m.Inputs, m.Outputs = shp(x), shp(y)
	}},
	{"sparse weights: DENSIFY of CSR (uint8 indices) and 1x4 blocks (uint16), float16 through DEQUANTIZE", func(m *tflitegen.Model, r *rand.Rand) {
		x := m.Act("x", 2, 8)
		fw := m.Act("fw", 5, 8)
		m.AddOp(fb.BuiltinOperatorDENSIFY, nil, shp(sparseConst(m, "fw_sparse", fb.TensorTypeFLOAT32, shp(5, 8), sparseRand(r, 40), 1,
			fb.SparseIndexVectorInt32Vector, fb.SparseIndexVectorUint8Vector)), fw)
		a := m.Act("a", 2, 5)
		m.AddOp(fb.BuiltinOperatorFULLY_CONNECTED, tflitegen.FullyConnected{Act: fb.ActivationFunctionTypeRELU}, shp(x, fw, -1), a)
		gw := m.Act("gw", 3, 8)
		m.AddOp(fb.BuiltinOperatorDENSIFY, nil, shp(sparseConst(m, "gw_sparse", fb.TensorTypeFLOAT32, shp(3, 8), sparseRand(r, 24), 4,
			fb.SparseIndexVectorUint16Vector, fb.SparseIndexVectorUint16Vector)), gw)
		b := m.Act("b", 2, 3)
		m.AddOp(fb.BuiltinOperatorFULLY_CONNECTED, tflitegen.FullyConnected{}, shp(x, gw, -1), b)
		// A 1x1 conv whose OHWI float16 weights are sparse: DENSIFY then DEQUANTIZE.
		img := m.Act("img", 1, 3, 3, 8)
		h := m.ActT("cw_f16", fb.TensorTypeFLOAT16, 4, 1, 1, 8)
		m.AddOp(fb.BuiltinOperatorDENSIFY, nil, shp(sparseConst(m, "cw_sparse", fb.TensorTypeFLOAT16, shp(4, 1, 1, 8), roundF16(sparseRand(r, 32)), 1,
			fb.SparseIndexVectorUint8Vector, fb.SparseIndexVectorUint8Vector)), h)
		cw := m.Act("cw", 4, 1, 1, 8)
		m.AddOp(fb.BuiltinOperatorDEQUANTIZE, nil, shp(h), cw)
		c := m.Act("c", 1, 3, 3, 4)
		m.AddOp(fb.BuiltinOperatorCONV_2D, tflitegen.Conv2D{Padding: fb.PaddingVALID, StrideH: 1, StrideW: 1}, shp(img, cw, -1), c)
		m.Inputs, m.Outputs = shp(x, img), shp(a, b, c)
	}},
}

// resizeCases: every option combination, up and down, odd sizes.
func resizeCases() []struct {
	name  string
	build func(m *tflitegen.Model, r *rand.Rand)
} {
	var out []struct {
		name  string
		build func(m *tflitegen.Model, r *rand.Rand)
	}
	for _, nearest := range []bool{false, true} {
		for _, opt := range [][2]bool{{false, false}, {true, false}, {false, true}} {
			for _, size := range [][2]int32{{7, 11}, {3, 2}, {5, 5}} {
				nearest, opt, size := nearest, opt, size
				name := "resize_bilinear"
				if nearest {
					name = "resize_nearest"
				}
				out = append(out, struct {
					name  string
					build func(m *tflitegen.Model, r *rand.Rand)
				}{name: name + map[[2]bool]string{{}: "", {true, false}: " align_corners", {false, true}: " half_pixel_centers"}[opt] +
					map[int32]string{7: " up", 3: " down", 5: " to 5x5"}[size[0]],
					build: func(m *tflitegen.Model, r *rand.Rand) {
						x := m.Act("x", 1, 4, 5, 3)
						y := m.Act("y", 1, size[0], size[1], 3)
						sz := m.ConstI32("size", shp(2), shp(size[0], size[1]))
						if nearest {
							m.AddOp(fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR, tflitegen.ResizeNearest{AlignCorners: opt[0], HalfPixelCenters: opt[1]}, shp(x, sz), y)
						} else {
							m.AddOp(fb.BuiltinOperatorRESIZE_BILINEAR, tflitegen.ResizeBilinear{AlignCorners: opt[0], HalfPixelCenters: opt[1]}, shp(x, sz), y)
						}
						m.Inputs, m.Outputs = shp(x), shp(y)
					}})
			}
		}
	}
	return out
}

// floatsOf reads any output as float64s (booleans 0/1).
func floatsOf(t *tensor.Tensor) []float64 {
	out := make([]float64, t.NumElements())
	for i := range out {
		switch t.DType {
		case tensor.F32:
			out[i] = float64(t.F32()[i])
		case tensor.I32:
			out[i] = float64(t.I32()[i])
		case tensor.I64:
			out[i] = float64(t.I64()[i])
		case tensor.Bool, tensor.U8:
			out[i] = float64(t.Data[i])
		}
	}
	return out
}

// runAgainstReference imports m, runs it on random inputs and compares every output with Eval.
func runAgainstReference(t *testing.T, m *tflitegen.Model, r *rand.Rand, tol float64) {
	t.Helper()
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
		g := floatsOf(got[k])
		var worst, scale float64
		for j, w := range want[k] {
			worst = math.Max(worst, math.Abs(g[j]-float64(w)))
			scale = math.Max(scale, math.Abs(float64(w)))
		}
		if worst > tol*math.Max(scale, 1e-6) {
			t.Fatalf("output %d: max|err| %.3g of max|y| %.3g\ngot  %v\nwant %v", k, worst, scale, g, want[k])
		}
	}
}

func TestMediaPipeOps(t *testing.T) {
	cases := append(mediapipeOpCases[:len(mediapipeOpCases):len(mediapipeOpCases)], resizeCases()...)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(100 + i)))
			m := &tflitegen.Model{}
			c.build(m, r)
			runAgainstReference(t, m, r, 1e-5)
		})
	}
}
