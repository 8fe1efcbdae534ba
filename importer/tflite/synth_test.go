package tflite

import (
	"archive/zip"
	"bytes"
	"os"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/wanwu-ai/wanwu/internal/testutil"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// synthModel builds a float model: tensor 0 (input [1,4,4,2]) -> op0 -> t1 -> op1 -> t2 ..., one
// element-wise builtin per op, so tests can choose supported or unsupported codes.
func synthModel(codes ...fb.BuiltinOperator) []byte {
	b := flatbuffers.NewBuilder(1024)
	nT := len(codes) + 1
	tensors := make([]flatbuffers.UOffsetT, nT)
	for i := 0; i < nT; i++ {
		name := b.CreateString("t" + string(rune('0'+i)))
		fb.TensorStartShapeVector(b, 4)
		for _, d := range []int32{2, 4, 4, 1} { // prepending reverses: shape [1,4,4,2]
			b.PrependInt32(d)
		}
		shape := b.EndVector(4)
		fb.TensorStart(b)
		fb.TensorAddShape(b, shape)
		fb.TensorAddType(b, fb.TensorTypeFLOAT32)
		fb.TensorAddName(b, name)
		tensors[i] = fb.TensorEnd(b)
	}
	vec := func(start func(*flatbuffers.Builder, int) flatbuffers.UOffsetT, offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		start(b, len(offs))
		for i := len(offs) - 1; i >= 0; i-- {
			b.PrependUOffsetT(offs[i])
		}
		return b.EndVector(len(offs))
	}
	ints := func(start func(*flatbuffers.Builder, int) flatbuffers.UOffsetT, v ...int32) flatbuffers.UOffsetT {
		start(b, len(v))
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependInt32(v[i])
		}
		return b.EndVector(len(v))
	}
	tv := vec(fb.SubGraphStartTensorsVector, tensors)
	opsOff := make([]flatbuffers.UOffsetT, len(codes))
	for i := range codes {
		in := ints(fb.OperatorStartInputsVector, int32(i))
		out := ints(fb.OperatorStartOutputsVector, int32(i+1))
		fb.OperatorStart(b)
		fb.OperatorAddOpcodeIndex(b, uint32(i))
		fb.OperatorAddInputs(b, in)
		fb.OperatorAddOutputs(b, out)
		opsOff[i] = fb.OperatorEnd(b)
	}
	ov := vec(fb.SubGraphStartOperatorsVector, opsOff)
	sin := ints(fb.SubGraphStartInputsVector, 0)
	sout := ints(fb.SubGraphStartOutputsVector, int32(nT-1))
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tv)
	fb.SubGraphAddInputs(b, sin)
	fb.SubGraphAddOutputs(b, sout)
	fb.SubGraphAddOperators(b, ov)
	sg := fb.SubGraphEnd(b)
	codeOffs := make([]flatbuffers.UOffsetT, len(codes))
	for i, c := range codes {
		fb.OperatorCodeStart(b)
		fb.OperatorCodeAddBuiltinCode(b, c)
		fb.OperatorCodeAddDeprecatedBuiltinCode(b, int8(min(int(c), 127)))
		fb.OperatorCodeAddVersion(b, 1)
		codeOffs[i] = fb.OperatorCodeEnd(b)
	}
	cv := vec(fb.ModelStartOperatorCodesVector, codeOffs)
	sgv := vec(fb.ModelStartSubgraphsVector, []flatbuffers.UOffsetT{sg})
	fb.BufferStart(b)
	empty := fb.BufferEnd(b)
	bv := vec(fb.ModelStartBuffersVector, []flatbuffers.UOffsetT{empty})
	fb.ModelStart(b)
	fb.ModelAddVersion(b, 3)
	fb.ModelAddOperatorCodes(b, cv)
	fb.ModelAddSubgraphs(b, sgv)
	fb.ModelAddBuffers(b, bv)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte("TFL3"))
	return b.FinishedBytes()
}

func TestSynthFloatModel(t *testing.T) {
	g, err := Decode(synthModel(fb.BuiltinOperatorRELU, fb.BuiltinOperatorLOGISTIC, fb.BuiltinOperatorHARD_SWISH, fb.BuiltinOperatorRELU6))
	if err != nil {
		t.Fatal(err)
	}
	want := "input t0 f32[1,4,4,2]\n" +
		"t0_nchw = Transpose(t0) {perm=[0 3 1 2]} -> f32[1,2,4,4]\n" +
		"t1 = Relu(t0_nchw) -> f32[1,2,4,4]\n" +
		"t2 = Sigmoid(t1) -> f32[1,2,4,4]\n" +
		"t3 = HardSwish(t2) -> f32[1,2,4,4]\n" +
		"t4_ir = Clip(t3, c:const f32[], c_1:const f32[]) -> f32[1,2,4,4]\n" +
		"t4 = Transpose(t4_ir) {perm=[0 2 3 1]} -> f32[1,4,4,2]\n" +
		"output t4\n"
	if got := g.Dump(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUnsupportedOpsListed(t *testing.T) {
	_, err := Decode(synthModel(fb.BuiltinOperatorRELU, fb.BuiltinOperatorTOPK_V2, fb.BuiltinOperatorLOG_SOFTMAX))
	if err == nil {
		t.Fatal("no error for unsupported ops")
	}
	for _, s := range []string{"TOPK_V2 (operator 1, subgraph 0)", "LOG_SOFTMAX (operator 2, subgraph 0)", "2 unsupported"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
}

func TestLabelsFromAppendedZip(t *testing.T) {
	model := synthModel(fb.BuiltinOperatorRELU)
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	for name, body := range map[string]string{"readme.txt": "not labels", "labels.txt": "background\ncat\ndog\n"} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	g, err := Decode(append(model, z.Bytes()...))
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Meta["labels"]; got != "background\ncat\ndog\n" {
		t.Fatalf("labels %q", got)
	}
	// The Coral models append imagenet_labels.txt (1001 lines, background first).
	for _, f := range []string{"mobilenet_v1_0.25_128_quant.tflite", "tf2_mobilenet_v2_1.0_224_ptq.tflite"} {
		g, err := Load(testutil.Shared(t, "models", f))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(g.Meta["labels"], "\n"), "\n")
		if len(lines) != 1001 || lines[0] != "background" || !strings.HasPrefix(lines[1], "tench") {
			t.Errorf("%s: %d label lines, first %q", f, len(lines), lines[:min(2, len(lines))])
		}
	}
}

func TestCorruptInputs(t *testing.T) {
	good := synthModel(fb.BuiltinOperatorRELU)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"short":     good[:6],
		"no ident":  append([]byte{0, 0, 0, 0}, []byte("XXXXxxxxxxxx")...),
		"truncated": good[:len(good)/2],
	} {
		if _, err := Decode(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(synthModel(fb.BuiltinOperatorRELU, fb.BuiltinOperatorLOGISTIC))
	f.Add(synthModel(fb.BuiltinOperatorTANH))
	for _, s := range genSeeds() {
		f.Add(s)
	}
	if data, err := os.ReadFile(testutil.RepoRoot(f) + "/../shared/models/mobilenet_v1_0.25_128_quant.tflite"); err == nil {
		f.Add(data[:4096])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Decode(data)
		if err == nil && g.Validate() != nil {
			t.Fatal("Decode returned an invalid graph without error")
		}
	})
}
