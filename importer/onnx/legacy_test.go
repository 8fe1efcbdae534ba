package onnx

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
)

// TestLegacyBroadcastComputedOperand: a non-constant B under opset-6 broadcast=1, axis=1 gets an
// Unsqueeze that appends the trailing 1-dims numpy broadcasting needs ([3] -> [3,1,1] against
// [2,3,4,5]); without an axis (suffix alignment) nothing is inserted.
func TestLegacyBroadcastComputedOperand(t *testing.T) {
	in := []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3, 4, 5), valueInfo("b", onnxpb.TensorProto_FLOAT, 3)}
	out := []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}
	cases := []struct {
		name  string
		attrs []*onnxpb.AttributeProto
		dump  string
	}{
		{"axis 1", []*onnxpb.AttributeProto{attrInt("broadcast", 1), attrInt("axis", 1)},
			"input x f32[2,3,4,5]\ninput b f32[3]\nm/broadcast = Unsqueeze(b) {axes=[1 2]}\ny = Mul(x, m/broadcast)\noutput y\n"},
		{"axis -3", []*onnxpb.AttributeProto{attrInt("broadcast", 1), attrInt("axis", -3)},
			"input x f32[2,3,4,5]\ninput b f32[3]\nm/broadcast = Unsqueeze(b) {axes=[1 2]}\ny = Mul(x, m/broadcast)\noutput y\n"},
		{"no broadcast attribute", nil, "input x f32[2,3,4,5]\ninput b f32[3]\ny = Mul(x, b)\noutput y\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := modelSpec{opset: 6, nodes: []*onnxpb.NodeProto{node("Mul", "m", []string{"x", "b"}, []string{"y"}, c.attrs...)},
				inputs: in, outputs: out}
			g, err := Decode(s.bytes(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Dump(); got != c.dump {
				t.Errorf("Dump:\n%s\nwant:\n%s", got, c.dump)
			}
		})
	}
	bad := modelSpec{opset: 6, nodes: []*onnxpb.NodeProto{node("Mul", "m", []string{"x", "b"}, []string{"y"}, attrInt("broadcast", 1), attrInt("axis", 4))},
		inputs: in, outputs: out}
	if _, err := Decode(bad.bytes(t)); err == nil {
		t.Error("axis 4 leaves no room for B's dim; want an error")
	}
}

// TestFormsCoverEveryOldVersion: every version before opset 10 of every operator wanwu runs (ONNX's
// schema history, testdata/versions_before_10.txt) is classified in forms, as the latest form or with
// its rewrite, and forms names no version ONNX never had.
func TestFormsCoverEveryOldVersion(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "versions_before_10.txt"))
	if err != nil {
		t.Fatal(err)
	}
	onnxVersions := map[string][]int{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(line, "#") {
			continue
		}
		for _, v := range f[1:] {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			onnxVersions[f[0]] = append(onnxVersions[f[0]], n)
		}
	}
	for op, vs := range onnxVersions {
		fs, listed := forms[op]
		if !listed {
			if supported(op) {
				t.Errorf("%s: wanwu runs it, but forms does not classify its versions %v", op, vs)
			}
			continue
		}
		var got []int
		for _, f := range fs {
			got = append(got, f.since)
		}
		if !slices.Equal(got, vs) {
			t.Errorf("%s: forms lists versions %v, ONNX has %v before opset 10", op, got, vs)
		}
	}
	for op := range forms {
		if _, ok := onnxVersions[op]; !ok {
			t.Errorf("forms lists %s, which has no version before opset 10", op)
		}
	}
}
