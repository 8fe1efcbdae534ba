package runtime

import (
	"path/filepath"
	goruntime "runtime"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Estimate must predict exactly what Compile builds (same plan, scratch, weight and packed bytes)
// while allocating none of the packed weight copies.
func TestEstimateMatchesCompile(t *testing.T) {
	for _, name := range []string{"mobilenet_v2_tiny", "resnet50_tiny", "resnest_tiny"} {
		for _, size := range []int{64, 96} {
			t.Run(name, func(t *testing.T) {
				g, err := onnx.Load(filepath.Join(testutil.RepoRoot(t), "testdata", "models", name, "model.onnx"))
				if err != nil {
					t.Fatal(err)
				}
				defer g.Close()
				opts := Options{Threads: 1, InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {1, 3, size, size}}}
				est, err := Estimate(g, opts)
				if err != nil {
					t.Fatal(err)
				}
				var m0, m1 goruntime.MemStats
				goruntime.GC()
				goruntime.ReadMemStats(&m0)
				p, err := Compile(g, opts)
				if err != nil {
					t.Fatal(err)
				}
				goruntime.ReadMemStats(&m1)
				defer p.Close()
				got := p.Stats()
				if est.ArenaBytes != got.ArenaBytes || est.ScratchBytes != got.ScratchBytes ||
					est.WeightBytes != got.WeightBytes || est.PackedBytes != got.PackedBytes || est.Threads != got.Threads || Union(est) != Union(got) {
					t.Errorf("size %d: Estimate arena %d scratch %d weights %d packed %d; Compile arena %d scratch %d weights %d packed %d",
						size, est.ArenaBytes, est.ScratchBytes, est.WeightBytes, est.PackedBytes,
						got.ArenaBytes, got.ScratchBytes, got.WeightBytes, got.PackedBytes)
				}
				if got.PackedBytes == 0 {
					t.Fatalf("no packed weights counted for %s", name)
				}
				// Compile's heap growth is the arena, the packed copies and small headers: the packed
				// count must be neither missing nor inflated.
				alloc := int(m1.TotalAlloc - m0.TotalAlloc)
				if alloc < got.PackedBytes+got.ArenaBytes || alloc > got.PackedBytes+got.ArenaBytes+got.WeightBytes/2+(4<<20) {
					t.Errorf("size %d: Compile allocated %d bytes; packed %d + arena %d", size, alloc, got.PackedBytes, got.ArenaBytes)
				}
			})
		}
	}
}

// At int8 and fp16, Estimate rewrites with virtual weights (lower.QuantizeWeightsVirtual,
// ConvertFP16Virtual) instead of converting them: its plan must still equal Compile's exactly.
func TestEstimateMatchesCompileConverted(t *testing.T) {
	for _, name := range []string{"mobilenet_v2_tiny", "resnet50_tiny", "resnest_tiny", "resnest_tiny_bn"} {
		for _, c := range []struct {
			size      int
			precision string
		}{{64, "int8"}, {96, "int8"}, {64, "fp16"}, {96, "fp16"}} {
			size := c.size
			t.Run(name+"/"+c.precision, func(t *testing.T) {
				g, err := onnx.Load(filepath.Join(testutil.RepoRoot(t), "testdata", "models", name, "model.onnx"))
				if err != nil {
					t.Fatal(err)
				}
				defer g.Close()
				opts := Options{Threads: 1, Precision: c.precision, InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {1, 3, size, size}}}
				est, err := Estimate(g, opts)
				if err != nil {
					t.Fatal(err)
				}
				p, err := Compile(g, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				got := p.Stats()
				if est.ArenaBytes != got.ArenaBytes || est.ScratchBytes != got.ScratchBytes || est.WeightBytes != got.WeightBytes ||
					est.PackedBytes != got.PackedBytes || est.NumSteps != got.NumSteps || est.MACs != got.MACs {
					t.Errorf("size %d: Estimate arena %d scratch %d weights %d packed %d steps %d MACs %d; Compile arena %d scratch %d weights %d packed %d steps %d MACs %d",
						size, est.ArenaBytes, est.ScratchBytes, est.WeightBytes, est.PackedBytes, est.NumSteps, est.MACs,
						got.ArenaBytes, got.ScratchBytes, got.WeightBytes, got.PackedBytes, got.NumSteps, got.MACs)
				}
				dynq := 0
				for i, s := range got.Steps {
					if e := est.Steps[i]; e.Op != s.Op || e.ScratchBytes != s.ScratchBytes || !e.Shape.Equal(s.Shape) {
						t.Errorf("step %d: Estimate %s %s scratch %d; Compile %s %s scratch %d", i, e.Op, e.Shape, e.ScratchBytes, s.Op, s.Shape, s.ScratchBytes)
					}
					if s.Op == graph.OpDynQConv || s.Op == graph.OpDynQGemm {
						dynq++
					}
				}
				if c.precision == "int8" && dynq == 0 {
					t.Fatalf("%s: no layer was converted to int8", name)
				}
			})
		}
	}
}

// Estimate at int8 does not convert weights: on an FC stack with 20 MiB of float weights (both Gemm
// layouts and a MatMul), Estimate allocates under 1 MiB where a real conversion allocates the 5 MiB
// int8 packing, and both plan the same. (fp16 Estimate still runs the real conversion pass.)
func TestEstimateConvertsNoWeights(t *testing.T) {
	for _, precision := range []string{"int8"} {
		t.Run(precision, func(t *testing.T) { estimateConvertsNoWeights(t, precision) })
	}
}

func estimateConvertsNoWeights(t *testing.T, precision string) {
	b := newGB()
	b.input("x", tensor.Shape{1, 1024})
	big := func(name string, shape tensor.Shape) {
		v := b.v(name)
		v.DType, v.Shape = tensor.F32, shape
		v.Const = tensor.New(tensor.F32, shape)
	}
	big("w1", tensor.Shape{2048, 1024}) // transB: n×k
	big("w2", tensor.Shape{2048, 1024}) // k×n
	big("w3", tensor.Shape{1024, 1024}) // MatMul k×n
	b.node("Gemm", "h1", "x", "w1").SetInt("transB", 1)
	b.node("Gemm", "h2", "h1", "w2")
	b.node("MatMul", "y", "h2", "w3")
	b.output("y")
	opts := Options{Threads: 1, Precision: precision}
	est, err := Estimate(b.g, opts)
	if err != nil {
		t.Fatal(err)
	}
	var m0, m1, m2 goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&m0)
	if _, err := Estimate(b.g, opts); err != nil {
		t.Fatal(err)
	}
	goruntime.ReadMemStats(&m1)
	p, err := Compile(b.g, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	goruntime.ReadMemStats(&m2)
	got := p.Stats()
	if est.WeightBytes != got.WeightBytes || est.ArenaBytes != got.ArenaBytes || est.ScratchBytes != got.ScratchBytes {
		t.Errorf("Estimate weights %d arena %d scratch %d; Compile weights %d arena %d scratch %d",
			est.WeightBytes, est.ArenaBytes, est.ScratchBytes, got.WeightBytes, got.ArenaBytes, got.ScratchBytes)
	}
	if got.WeightBytes < 5<<20 {
		t.Fatalf("Compile keeps %d weight bytes; want the 5 MiB int8 packing or the 10 MiB of halves", got.WeightBytes)
	}
	estAlloc, compAlloc := m1.TotalAlloc-m0.TotalAlloc, m2.TotalAlloc-m1.TotalAlloc
	t.Logf("Estimate allocated %d bytes, Compile %d; converted weights %d", estAlloc, compAlloc, got.WeightBytes)
	if estAlloc > 1<<20 || compAlloc < uint64(got.WeightBytes) {
		t.Errorf("Estimate allocated %d bytes, Compile %d; converted weights %d", estAlloc, compAlloc, got.WeightBytes)
	}
}
