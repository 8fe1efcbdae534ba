package compiled_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/compiled"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/importer/tflite"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// randomInput is a deterministic input of the graph's input type at shape.
func randomInput(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	t := tensor.New(dt, shape)
	r := rand.New(rand.NewPCG(1, 2))
	if dt == tensor.F32 {
		for i, f := range t.F32() {
			_ = f
			t.F32()[i] = r.Float32()*2 - 1
		}
	} else {
		for i := range t.Data {
			t.Data[i] = byte(r.IntN(256))
		}
	}
	return t
}

func run(t *testing.T, p *runtime.Program, in *tensor.Tensor) [][]byte {
	t.Helper()
	outs, err := p.Run(context.Background(), []*tensor.Tensor{in})
	if err != nil {
		t.Fatal(err)
	}
	var b [][]byte
	for _, o := range outs {
		b = append(b, append([]byte(nil), o.Data...))
	}
	return b
}

// roundTrip compiles g, writes it, opens it again and compiles that with the file's packings; it
// checks the outputs are bit-identical and that the loaded program's weights and packings are the
// file's bytes, not copies.
func roundTrip(t *testing.T, g *graph.Graph, opts runtime.Options) {
	in := g.Inputs[0]
	shape := in.Shape.Clone()
	for i, d := range shape {
		if d < 0 {
			shape[i] = map[bool]int{true: 1, false: 32}[i == 0]
		}
	}
	opts.InputShapes = map[string]tensor.Shape{in.Name: shape}
	p, err := runtime.Compile(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := randomInput(in.DType, shape)
	want := run(t, p, x)

	path := filepath.Join(t.TempDir(), "m"+compiled.Ext)
	if err := compiled.Write(path, p, compiled.Info{Name: "m", Precision: opts.Precision}); err != nil {
		t.Fatal(err)
	}
	f, err := compiled.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Graph.Close()
	if len(f.Prepacked) != len(p.Packings()) {
		t.Errorf("the file holds %d packings, the program %d", len(f.Prepacked), len(p.Packings()))
	}
	lopts := opts
	lopts.Precision = "" // the graph is converted already
	lopts.Prepacked = f.Prepacked
	q, err := runtime.Compile(f.Graph, lopts)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	got := run(t, q, x)
	for i := range want {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("output %d differs after the round trip", i)
		}
	}

	for _, pk := range q.Packings() {
		if !f.InFile(pk.Data) {
			t.Errorf("packing %q of node %d was made anew, not taken from the file", pk.Layout, pk.Node)
		}
	}
	for _, n := range q.Graph().Nodes {
		for _, v := range n.Inputs {
			if v.IsConst() && len(v.Const.Data) > 0 && !f.InFile(v.Const.Data) {
				t.Errorf("node %q reads constant %q (%d bytes) from outside the file's mapping", n.Name, v.Name, len(v.Const.Data))
			}
		}
	}
}

func TestRoundTripBitIdentical(t *testing.T) {
	cases := []struct {
		model     string
		precision string
		winograd  bool
	}{
		{"resnet50_tiny", "fp32", false},
		{"resnet50_tiny", "fp32", true},
		{"resnet50_tiny", "fp16", false},
		{"resnet50_tiny", "int8", false},
		{"mobilenet_v2_tiny", "fp32", false},
		{"mobilenet_v2_tiny", "int8", false},
		{"resnest_tiny_bn", "fp16", false},
		{"resnest_tiny_bn", "int8", false},
	}
	for _, c := range cases {
		name := c.model + "/" + c.precision
		if c.winograd {
			name += "/winograd"
		}
		t.Run(name, func(t *testing.T) {
			g, err := onnx.Load(filepath.Join(testutil.RepoRoot(t), "testdata", "models", c.model, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			roundTrip(t, g, runtime.Options{Threads: 2, Precision: c.precision, Winograd: c.winograd, Exportable: true})
		})
	}
}

func TestRoundTripCoralTFLite(t *testing.T) {
	g, err := tflite.Load(testutil.Shared(t, "models", "mobilenet_v2_1.0_224_quant.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	roundTrip(t, g, runtime.Options{Threads: 2, Exportable: true})
}

// writeTiny writes the fp32 tiny ResNet-50 as a compiled file and returns its path and bytes.
func writeTiny(t *testing.T, dir string, info compiled.Info) (string, []byte) {
	t.Helper()
	g, err := onnx.Load(filepath.Join(testutil.RepoRoot(t), "testdata", "models", "resnet50_tiny", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	p, err := runtime.Compile(g, runtime.Options{Threads: 1, InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {1, 3, 32, 32}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	path := filepath.Join(dir, "tiny"+compiled.Ext)
	if err := compiled.Write(path, p, info); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

func TestStaleSourceRefused(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "source.onnx")
	if err := os.WriteFile(src, []byte("the source model"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := compiled.SourceOf(src)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := writeTiny(t, dir, compiled.Info{Name: "tiny", Source: s})
	if f, err := compiled.Open(path); err != nil {
		t.Fatalf("fresh file refused: %v", err)
	} else {
		f.Graph.Close()
	}
	// Same size, new content (the modification time changes with it): hashed and refused.
	if err := os.WriteFile(src, []byte("a changed model"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = compiled.Open(path)
	if !errors.Is(err, compiled.ErrStale) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), src) {
		t.Fatalf("changed source: got %v, want a stale error naming %s and %s", err, path, src)
	}
	// Touched but unchanged: hashed and accepted.
	if err := os.WriteFile(src, []byte("the source model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := compiled.Open(path); err != nil {
		t.Fatalf("rewritten identical source refused: %v", err)
	} else {
		f.Graph.Close()
	}
	// Absent source: the file stands alone.
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	if f, err := compiled.Open(path); err != nil {
		t.Fatalf("file without its source refused: %v", err)
	} else {
		f.Graph.Close()
	}
}

func TestCorruptFilesGiveErrors(t *testing.T) {
	dir := t.TempDir()
	path, data := writeTiny(t, dir, compiled.Info{Name: "tiny"})
	otherVersion := append([]byte(nil), data...)
	otherVersion[8]++
	corruptMeta := append([]byte(nil), data...)
	corruptMeta[len(corruptMeta)-2] ^= 0x20
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a compiled model file"},
		{"onnx", []byte("\x08\x07\x12\x04onnx"), "not a compiled model file"},
		{"header only", data[:100], "truncated"},
		{"truncated", data[:len(data)/2], "truncated"},
		{"extra bytes", append(append([]byte(nil), data...), 0), "the header says"},
		{"other version", otherVersion, "format version"},
		{"corrupt description", corruptMeta, "checksum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+compiled.Ext)
			if err := os.WriteFile(p, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := compiled.Open(p)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, p, c.want)
			}
		})
	}
	_ = path
}
