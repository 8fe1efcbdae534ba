package graph

// The engine's own vocabulary, declared once here (graph is the one package every importer, pass,
// lowering and operator imports): op types the lowering passes invent, which live in ExtDomain so a
// model naming one cannot run it by accident, and attributes private to the engine, which importers
// and passes write on nodes (standard ones included) and kernels read. docs/ops.md lists them.

// ExtDomain is the operator domain of the ops wanwu invents; no importer produces nodes in it.
const ExtDomain = "ai.wanwu"

// Op types in ExtDomain.
const (
	// OpF16Conv is a Conv whose weight is half precision in the micro-kernel's packed layout
	// (lower.ConvertFP16); AttrWeightShape and AttrPackedMR describe it.
	OpF16Conv = "F16Conv"
	// OpDynQConv is a Conv with int8 per-output-channel weights whose activations are quantized per
	// call (lower.QuantizeWeights); AttrWeightShape gives the f32 weight's shape.
	OpDynQConv = "DynQConv"
	// OpDynQGemm is DynQConv's Gemm/MatMul counterpart; AttrN and AttrK give the weight's dims.
	OpDynQGemm = "DynQGemm"
	// The Q8 ops run a statically quantized region in NHWC uint8 (lower.QuantizeStatic).
	OpQ8Quantize          = "Q8Quantize"
	OpQ8Dequantize        = "Q8Dequantize"
	OpQ8Conv              = "Q8Conv"
	OpQ8Add               = "Q8Add"
	OpQ8MaxPool           = "Q8MaxPool"
	OpQ8GlobalAveragePool = "Q8GlobalAveragePool"
)

// ExtOps lists the op types of ExtDomain.
var ExtOps = []string{OpF16Conv, OpDynQConv, OpDynQGemm, OpQ8Quantize, OpQ8Dequantize, OpQ8Conv, OpQ8Add,
	OpQ8MaxPool, OpQ8GlobalAveragePool}

// IsExtOp reports whether op names one of ExtOps.
func IsExtOp(op string) bool {
	for _, o := range ExtOps {
		if o == op {
			return true
		}
	}
	return false
}

// Private attribute names.
const (
	// AttrActivation names an activation fused into its producer (see Activation); the others
	// carry its parameters.
	AttrActivation      = "activation"
	AttrActivationMin   = "activation_min"
	AttrActivationMax   = "activation_max"
	AttrActivationAlpha = "activation_alpha"
	AttrActivationBeta  = "activation_beta"

	// AttrRounding set to RoundingTFLite on a quantized op asks for TFLite's integer rounding
	// instead of ONNX's half-to-even (TFLite importer).
	AttrRounding = "rounding"

	// AttrWeightShape is the f32 weight shape [M, C/group, kh, kw] of an F16Conv or DynQConv, whose
	// weight input no longer has it.
	AttrWeightShape = "weight_shape"
	// AttrMaxPool3x3S2 set to 1 on a Conv (or F16Conv) makes its output the 3×3, stride-2 max pool
	// padded by one of the convolution (after its activation): passes.FuseConvMaxPool folds ResNet's
	// stem MaxPool into the convolution before it.
	AttrMaxPool3x3S2 = "max_pool_3x3_s2"
	// AttrPackedMR is the micro-kernel row count an F16Conv weight was packed for.
	AttrPackedMR = "packed_mr"
	// AttrN and AttrK are a DynQGemm weight's output and reduction sizes.
	AttrN = "n"
	AttrK = "k"

	// Q8 ops' quantization parameters: AttrScale/AttrZP of a Q8Quantize's output; AttrChannels the
	// real channel count of an NHWC tensor padded to a vector multiple; Q8Conv's AttrOutChannels,
	// input/output zero points, clamp range (AttrYLo..AttrYHi) and residual rescale (AttrRScale,
	// AttrRZP); Q8Add's input rescales (AttrAScale, AttrBScale) and zero points.
	AttrScale       = "scale"
	AttrZP          = "zp"
	AttrChannels    = "channels"
	AttrOutChannels = "out_channels"
	AttrXZP         = "x_zp"
	AttrYZP         = "y_zp"
	AttrYLo         = "y_lo"
	AttrYHi         = "y_hi"
	AttrRScale      = "r_scale"
	AttrRZP         = "r_zp"
	AttrAScale      = "a_scale"
	AttrAZP         = "a_zp"
	AttrBScale      = "b_scale"
	AttrBZP         = "b_zp"
)

// RoundingTFLite is the AttrRounding value that selects TFLite's arithmetic.
const RoundingTFLite = "tflite"
