package runtime

import (
	"path/filepath"
	goruntime "runtime"
	"testing"

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
					est.WeightBytes != got.WeightBytes || est.PackedBytes != got.PackedBytes || est.PeakBytes != got.PeakBytes {
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
