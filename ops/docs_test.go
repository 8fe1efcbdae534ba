package ops

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/ops.md from the registry")

// TestOpsDoc keeps docs/ops.md equal to the registry: which op types the engine runs, and where.
func TestOpsDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Supported operators\n\n")
	b.WriteString("<!-- Generated from the ops registry by `go test ./ops -run TestOpsDoc -update`; do not edit. -->\n\n")
	b.WriteString("Op names follow ONNX (latest-opset semantics; importers normalise older opsets and map TFLite\n")
	b.WriteString("builtins onto them). Quantized models run as QLinear*/QuantizeLinear ops; `--precision int8` turns\n")
	b.WriteString("float layers into DynQConv/DynQGemm (extension ops, below). Each op lives in the file named in the table.\n\n")
	b.WriteString(importersSection)
	b.WriteString("## Operators\n\n| op | file | notes |\n|---|---|---|\n")
	for _, name := range Supported() {
		d := Lookup(name)
		file := fileOf(d)
		var notes []string
		if d.Alias {
			notes = append(notes, "view, no copy")
		}
		if d.InPlace {
			notes = append(notes, "in place")
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, file, strings.Join(notes, ", "))
	}
	fmt.Fprintf(&b, "\n## Extension ops (domain %s)\n\n", graph.ExtDomain)
	b.WriteString(extIntro)
	b.WriteString("| op | file | created by | attributes |\n|---|---|---|---|\n")
	ext := SupportedIn(graph.ExtDomain)
	if !reflect.DeepEqual(ext, sortedCopy(graph.ExtOps)) {
		t.Errorf("ops registered in %s: %v; graph.ExtOps: %v", graph.ExtDomain, ext, graph.ExtOps)
	}
	for _, name := range ext {
		doc, ok := extDocs[name]
		if !ok {
			t.Errorf("extension op %s has no entry in extDocs", name)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, fileOf(LookupIn(graph.ExtDomain, name)), doc.by, strings.Join(doc.attrs, ", "))
	}
	b.WriteString(privateAttrs)
	want := b.String()
	path := filepath.Join("..", "docs", "ops.md")
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/ops.md is out of date: go test ./ops -run TestOpsDoc -update")
	}
}

// importersSection says what each importer maps onto these ops. The TFLite list is checked
// against importer/tflite's converters by TestOpsDocListsBuiltins (importer/tflite).
const importersSection = `## Importers

**ONNX** (importer/onnx): default-domain opsets 1 to 21 and the com.microsoft QLinear ops. Every
operator version before opset 10 is mapped onto the latest form (importer/onnx/legacy.go, checked
against ONNX's schema history); later changes by normalize.go. Float16 models (weights and
activations) are widened to float32 at import, inputs and outputs included (importer/onnx/fp16.go).

**TFLite** (importer/tflite), subgraph 0; NHWC becomes NCHW at import. Builtins:
ABS, ADD, ARG_MAX, ARG_MIN, AVERAGE_POOL_2D, CAST, CEIL, CONCATENATION, CONV_2D, COS, DENSIFY,
DEPTHWISE_CONV_2D, DEPTH_TO_SPACE, DEQUANTIZE, DIV, ELU, EQUAL, EXP, EXPAND_DIMS, FLOOR,
FULLY_CONNECTED, GELU, GREATER, GREATER_EQUAL, HARD_SWISH, LEAKY_RELU, LESS, LESS_EQUAL,
LOCAL_RESPONSE_NORMALIZATION, LOG, LOGISTIC, MAXIMUM, MAX_POOL_2D, MEAN, MINIMUM, MIRROR_PAD, MUL, NEG, PAD, PADV2, POW, PRELU, QUANTIZE,
REDUCE_MAX, RELU, RELU6, RELU_0_TO_1, RELU_N1_TO_1, RESHAPE, RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR,
RSQRT, SIN, SLICE, SOFTMAX, SPACE_TO_DEPTH, SPLIT, SPLIT_V, SQRT, SQUARE, SQUARED_DIFFERENCE, SQUEEZE, STRIDED_SLICE, SUB, SUM,
TANH, TRANSPOSE, TRANSPOSE_CONV; custom: Convolution2DTransposeBias (MediaPipe). DENSIFY (sparse
weights) and DEQUANTIZE of constants (float16 or int8 weights) are computed at import. Quantized
(uint8/int8) forms: ADD, AVERAGE_POOL_2D, CONCATENATION, CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
MAX_POOL_2D, MEAN (over H and W), MUL, SOFTMAX, LOGISTIC, and through float ARG_MAX/ARG_MIN, the other activations,
unary math and the resizes; the layout ops (PAD, PADV2, MIRROR_PAD, RESHAPE, EXPAND_DIMS, SQUEEZE, TRANSPOSE,
STRIDED_SLICE, SLICE, SPLIT, SPLIT_V, DEPTH_TO_SPACE, SPACE_TO_DEPTH) move quantized bytes as they are. The float forms are
checked against TensorFlow Lite itself by an opt-in test (tools/tflitegen/interp).

`

func funcPC(f any) uintptr { return reflect.ValueOf(f).Pointer() }

// fileOf names the file holding d's Compile.
func fileOf(d *Def) string {
	if d.Compile != nil {
		if f := runtime.FuncForPC(funcPC(d.Compile)); f != nil {
			path, _ := f.FileLine(f.Entry())
			return "ops/" + filepath.Base(path)
		}
	}
	return "?"
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

const extIntro = `The engine's own ops, which only the lowering passes (package lower) create. They live in their
own domain, so an ONNX model naming one (in any domain) gets "unsupported" instead of a kernel that
trusts engine-private attributes. Names and attributes are declared once, in graph/ext.go.

`

// extDoc says where an extension op comes from and which private attributes it carries.
type extDoc struct {
	by    string
	attrs []string
}

var extDocs = map[string]extDoc{
	graph.OpF16Conv:             {"lower.ConvertFP16 (`--precision fp16`), from Conv", []string{graph.AttrWeightShape, graph.AttrPackedMR, "Conv's", graph.AttrActivation + "*"}},
	graph.OpDynQConv:            {"lower.QuantizeWeights (`--precision int8`), from Conv", []string{graph.AttrWeightShape, "Conv's", graph.AttrActivation + "*"}},
	graph.OpDynQGemm:            {"lower.QuantizeWeights, from Gemm/MatMul", []string{graph.AttrN, graph.AttrK, graph.AttrActivation + "*"}},
	graph.OpQ8Quantize:          {"lower.QuantizeStatic (calibrated int8), region entry", []string{graph.AttrScale, graph.AttrZP}},
	graph.OpQ8Dequantize:        {"lower.QuantizeStatic, region exit", []string{graph.AttrScale, graph.AttrZP, graph.AttrChannels}},
	graph.OpQ8Conv:              {"lower.QuantizeStatic, from Conv (+ residual Add)", []string{graph.AttrOutChannels, graph.AttrXZP, graph.AttrYZP, graph.AttrYLo, graph.AttrYHi, graph.AttrRScale, graph.AttrRZP, "kernel_shape", "strides", "dilations", "pads"}},
	graph.OpQ8Add:               {"lower.QuantizeStatic, from Add", []string{graph.AttrAScale, graph.AttrAZP, graph.AttrBScale, graph.AttrBZP, graph.AttrYZP, graph.AttrYLo, graph.AttrYHi}},
	graph.OpQ8MaxPool:           {"lower.QuantizeStatic, from MaxPool", []string{"kernel_shape", "strides", "dilations", "pads"}},
	graph.OpQ8GlobalAveragePool: {"lower.QuantizeStatic, from GlobalAveragePool", []string{graph.AttrScale, graph.AttrZP, graph.AttrChannels}},
}

const privateAttrs = `
Private attributes on default-domain ops: ` + "`" + graph.AttrActivation + "`" + ` (with ` + "`" + graph.AttrActivationMin + "`" + `,
` + "`" + graph.AttrActivationMax + "`" + `, ` + "`" + graph.AttrActivationAlpha + "`" + `, ` + "`" + graph.AttrActivationBeta + "`" + `) names an activation fused into its
producer (Conv, Gemm, MatMul, Add, QLinear*), written by graph/passes' fusion and the TFLite importer;
` + "`" + graph.AttrRounding + "=" + graph.RoundingTFLite + "`" + ` on quantized ops asks for TFLite's integer rounding (TFLite importer);
` + "`" + graph.AttrMaxPool3x3S2 + "=1`" + ` on Conv or F16Conv makes the output the 3×3, stride-2 max pool (padded by one)
of the convolution, written by ` + "`passes.FuseConvMaxPool`" + ` where the direct schedule runs the
convolution (` + "`ops.ConvMaxPoolFusable`" + `: ResNet's stem).
`
