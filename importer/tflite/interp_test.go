package tflite

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tools/tflitegen"
)

// TestAgainstTFLiteInterpreter runs every hand-built float model of this package's op tests through
// TensorFlow Lite itself (tools/tflitegen/interp: the WebAssembly interpreter of
// @tensorflow/tfjs-tflite under Node) and demands that both wanwu and tflitegen's reference
// interpreter match it, so the oracle the other tests trust is itself checked against TFLite.
// Opt-in, as it needs Node and an npm package: set WANWU_TFLITE_INTERP to interp.js (README there).
func TestAgainstTFLiteInterpreter(t *testing.T) {
	script := os.Getenv("WANWU_TFLITE_INTERP")
	if script == "" {
		t.Skip("WANWU_TFLITE_INTERP not set (tools/tflitegen/interp/README.md)")
	}
	type opCase = struct {
		name  string
		build func(m *tflitegen.Model, r *rand.Rand)
	}
	cases := append([]opCase{}, mediapipeOpCases...)
	cases = append(cases, resizeCases()...)
	cases = append(cases, wildOpCases...)
	for _, c := range floatOpCases {
		cases = append(cases, opCase{c.name, c.build})
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(300 + i)))
			m := &tflitegen.Model{}
			c.build(m, r)
			var raw [][]float32
			var ins []*tensor.Tensor
			for _, ti := range m.Inputs {
				tt := m.Tensors[ti]
				if tt.Type != fb.TensorTypeFLOAT32 {
					t.Fatalf("input %q is %s; only float32 inputs are fed", tt.Name, fb.EnumNamesTensorType[tt.Type])
				}
				shape := make(tensor.Shape, len(tt.Shape))
				for j, d := range tt.Shape {
					shape[j] = int(d)
				}
				v := randF32(r, shape.NumElements())
				raw, ins = append(raw, v), append(ins, tensor.FromF32(shape, v))
			}
			im, err := forInterpreter(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := runInterpreter(script, im.Bytes(), raw, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			ref, err := tflitegen.Eval(m, raw)
			if err != nil {
				t.Fatal(err)
			}
			got := compileRun(t, m.Bytes(), ins...)
			if len(want) != len(got) || len(want) != len(ref) {
				t.Fatalf("%d outputs from TFLite, %d from wanwu, %d from the reference", len(want), len(got), len(ref))
			}
			for k := range want {
				w64 := make([]float64, len(ref[k]))
				for j, v := range ref[k] {
					w64[j] = float64(v)
				}
				if err := closeTo(floatsOf(got[k]), want[k], 1e-5); err != nil {
					t.Errorf("output %d: wanwu vs TFLite: %v", k, err)
				}
				if err := closeTo(w64, want[k], 1e-5); err != nil {
					t.Errorf("output %d: tflitegen.Eval vs TFLite: %v", k, err)
				}
			}
		})
	}
}

// TestQuantizedResizeAgainstTFLite: the quantized resizes of TestQuantizedResize through TFLite
// itself. Nearest must agree exactly; TFLite's integer bilinear interpolates in fixed point, wanwu
// in float, so they may differ by one quantization step (on a few elements).
func TestQuantizedResizeAgainstTFLite(t *testing.T) {
	script := os.Getenv("WANWU_TFLITE_INTERP")
	if script == "" {
		t.Skip("WANWU_TFLITE_INTERP not set (tools/tflitegen/interp/README.md)")
	}
	quantResizeCases(func(name string, typ fb.TensorType, zp int64, lo, hi float64, nearest bool, opt [2]bool) {
		t.Run(name, func(t *testing.T) {
			x := randF32(rand.New(rand.NewSource(7)), 60)
			for i := range x {
				x[i] *= 2
			}
			m := quantResizeModel(typ, zp, nearest, opt, true)
			want, err := runInterpreter(script, m.Bytes(), [][]float32{x}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			got := compileRun(t, m.Bytes(), tensor.FromF32(tensor.Shape{1, 4, 5, 3}, x))[0].F32()
			tol := 1e-6
			if !nearest {
				tol += 0.02
			}
			for i, w := range want[0] {
				if d := math.Abs(float64(got[i]) - w); d > tol {
					t.Fatalf("element %d: %g, TFLite %g", i, got[i], w)
				}
			}
		})
	})
}

// closeTo compares got with want within tol of want's largest magnitude.
func closeTo(got, want []float64, tol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d values, want %d", len(got), len(want))
	}
	var worst, scale float64
	for j, w := range want {
		worst = math.Max(worst, math.Abs(got[j]-w))
		scale = math.Max(scale, math.Abs(w))
	}
	if worst > tol*math.Max(scale, 1e-6) {
		return fmt.Errorf("max|err| %.3g of max|y| %.3g", worst, scale)
	}
	return nil
}

// forInterpreter rewrites m into the vocabulary of the interpreter build (TFLite of early 2023),
// keeping its semantics: MediaPipe's Convolution2DTransposeBias becomes TRANSPOSE_CONV with its bias
// (which XNNPACK runs; the custom op itself is not registered there); a CONV_2D or DEPTHWISE_CONV_2D
// without bias gets a zero bias (that build demands one); a fused activation on TRANSPOSE_CONV or
// CONCATENATION becomes an activation op after it (that build ignores or refuses it); a STRIDED_SLICE
// with offset gets begin+end as its end (offset is newer than that build); an ARG_MAX/ARG_MIN
// answers in int32 instead of int64 (the web API returns no int64 data; the values are the same).
func forInterpreter(src *tflitegen.Model) (*tflitegen.Model, error) {
	m := &tflitegen.Model{Tensors: append([]tflitegen.Tensor{}, src.Tensors...), Inputs: src.Inputs, Outputs: src.Outputs}
	shape := func(ti int32) []int32 { return m.Tensors[ti].Shape }
	actAfter := func(op *tflitegen.Op, act fb.ActivationFunctionType) []tflitegen.Op {
		code := map[fb.ActivationFunctionType]fb.BuiltinOperator{fb.ActivationFunctionTypeRELU: fb.BuiltinOperatorRELU,
			fb.ActivationFunctionTypeRELU6: fb.BuiltinOperatorRELU6, fb.ActivationFunctionTypeRELU_N1_TO_1: fb.BuiltinOperatorRELU_N1_TO_1}[act]
		y := op.Outputs[0]
		pre := m.Act(m.Tensors[y].Name+"_preact", shape(y)...)
		op.Outputs = []int32{pre}
		return []tflitegen.Op{*op, {Code: code, Inputs: []int32{pre}, Outputs: []int32{y}}}
	}
	for _, op := range src.Ops {
		op.Inputs = append([]int32{}, op.Inputs...)
		switch {
		case op.Code == fb.BuiltinOperatorCUSTOM && op.CustomCode == "Convolution2DTransposeBias":
			c := op.CustomOptions
			pad := fb.PaddingSAME
			if binary.LittleEndian.Uint32(c) == 2 {
				pad = fb.PaddingVALID
			}
			sw, sh := int32(binary.LittleEndian.Uint32(c[4:])), int32(binary.LittleEndian.Uint32(c[8:]))
			x, w, b := op.Inputs[0], op.Inputs[1], op.Inputs[2]
			os := m.ConstI32(m.Tensors[op.Outputs[0]].Name+"_shape", []int32{4}, shape(op.Outputs[0]))
			op = tflitegen.Op{Code: fb.BuiltinOperatorTRANSPOSE_CONV, Options: tflitegen.TransposeConv{Padding: pad, StrideH: sh, StrideW: sw},
				Inputs: []int32{os, w, x, b}, Outputs: op.Outputs}
		case op.Code == fb.BuiltinOperatorCUSTOM:
			return nil, fmt.Errorf("custom op %s has no builtin form", op.CustomCode)
		case (op.Code == fb.BuiltinOperatorCONV_2D || op.Code == fb.BuiltinOperatorDEPTHWISE_CONV_2D) && (len(op.Inputs) < 3 || op.Inputs[2] < 0):
			oc := shape(op.Outputs[0])[3]
			op.Inputs = append(op.Inputs[:2], m.ConstF32(m.Tensors[op.Outputs[0]].Name+"_zero_bias", []int32{oc}, make([]float32, oc)))
		case (op.Code == fb.BuiltinOperatorARG_MAX || op.Code == fb.BuiltinOperatorARG_MIN) && m.Tensors[op.Outputs[0]].Type == fb.TensorTypeINT64:
			m.Tensors[op.Outputs[0]].Type = fb.TensorTypeINT32
			if op.Code == fb.BuiltinOperatorARG_MAX {
				op.Options = tflitegen.ArgMax{OutputType: fb.TensorTypeINT32}
			} else {
				op.Options = tflitegen.ArgMin{OutputType: fb.TensorTypeINT32}
			}
		case op.Code == fb.BuiltinOperatorSTRIDED_SLICE:
			if o := op.Options.(tflitegen.StridedSlice); o.Offset {
				begin, end := i32s(m.Tensors[op.Inputs[1]].Data), i32s(m.Tensors[op.Inputs[2]].Data)
				for j := range end {
					end[j] += begin[j]
				}
				op.Inputs[2] = m.ConstI32(m.Tensors[op.Inputs[2]].Name+"_abs", []int32{int32(len(end))}, end)
				o.Offset = false
				op.Options = o
			}
		}
		switch o := op.Options.(type) {
		case tflitegen.TransposeConv:
			if o.Act != fb.ActivationFunctionTypeNONE {
				act := o.Act
				o.Act = fb.ActivationFunctionTypeNONE
				op.Options = o
				m.Ops = append(m.Ops, actAfter(&op, act)...)
				continue
			}
		case tflitegen.Concatenation:
			if o.Act != fb.ActivationFunctionTypeNONE {
				act := o.Act
				o.Act = fb.ActivationFunctionTypeNONE
				op.Options = o
				m.Ops = append(m.Ops, actAfter(&op, act)...)
				continue
			}
		}
		m.Ops = append(m.Ops, op)
	}
	return m, nil
}

func i32s(d []byte) []int32 {
	out := make([]int32, len(d)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(d[4*i:]))
	}
	return out
}

// runInterpreter runs model with TFLite (interp.js) in dir and returns its outputs as float64s.
func runInterpreter(script string, model []byte, inputs [][]float32, dir string) ([][]float64, error) {
	if err := os.WriteFile(filepath.Join(dir, "model.tflite"), model, 0o644); err != nil {
		return nil, err
	}
	args := []string{script, "model.tflite"}
	for i, v := range inputs {
		b := make([]byte, 4*len(v))
		for j, x := range v {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
		}
		name := fmt.Sprintf("in%d.bin", i)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, err
		}
		args = append(args, name)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("interpreter: %v\n%s", err, stderr.String())
	}
	var outs [][]float64
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 || f[0] != fmt.Sprint(len(outs)) {
			continue
		}
		d, err := os.ReadFile(filepath.Join(dir, "out"+f[0]+".bin"))
		if err != nil {
			return nil, err
		}
		var v []float64
		switch f[2] {
		case "float32":
			for j := 0; j+4 <= len(d); j += 4 {
				v = append(v, float64(math.Float32frombits(binary.LittleEndian.Uint32(d[j:]))))
			}
		case "int32":
			for j := 0; j+4 <= len(d); j += 4 {
				v = append(v, float64(int32(binary.LittleEndian.Uint32(d[j:]))))
			}
		case "bool", "uint8":
			for _, x := range d {
				v = append(v, float64(x))
			}
		default:
			return nil, fmt.Errorf("output %s: dtype %s not read", f[1], f[2])
		}
		outs = append(outs, v)
	}
	return outs, nil
}
