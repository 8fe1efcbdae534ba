package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	onnximport "github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	wrt "github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// pytorchRelTol bounds max|wanwu - PyTorch| / max|PyTorch| over a model's logits. The references
// are float64 PyTorch results; PyTorch's own float32 run is ~1e-6 away (tools/export_models prints it).
const pytorchRelTol = 1e-4

// fixtureRelTol replaces pytorchRelTol for fixtures whose reference cannot be that close. (The
// dynamic int8 fixture needs none: its reference runs the same integer arithmetic, and wanwu
// matches it to 1e-7.)
var fixtureRelTol = map[string]float64{
	// The float16 model's outputs are float16 (the reference is rounded to them; wanwu computes in
	// float32 and its outputs are float32): half a float16 ulp is 2.4e-4 to 4.9e-4 of a value.
	"mobilenet_v2_tiny_fp16": 1e-3,
}

// TestPyTorchFixtures runs every reduced reference model in testdata/models (exported by
// tools/export_models) on each of its data sets and compares the logits with PyTorch's.
func TestPyTorchFixtures(t *testing.T) {
	root := filepath.Join(testutil.RepoRoot(t), "testdata", "models")
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		n++
		name, dir := e.Name(), filepath.Join(root, e.Name())
		t.Run(name, func(t *testing.T) {
			// Two threads also take the Winograd path for the 3×3 convolutions that qualify.
			for _, threads := range []int{1, 2} {
				opts := wrt.Options{Threads: threads, Winograd: threads == 2}
				tol := pytorchRelTol
				if v, ok := fixtureRelTol[name]; ok {
					tol = v
				}
				if _, err := runModelDir(dir, opts, logitsCheck(t, fmt.Sprintf("%s threads=%d", name, threads), tol)); err != nil {
					t.Fatalf("threads=%d: %v", threads, err)
				}
			}
		})
	}
	if n < 3 {
		t.Fatalf("found %d fixtures in %s, want the committed ones (make fixtures)", n, root)
	}
}

// logitsCheck is runModelDir's check of a model's outputs against the reference: max|err| within tol
// of max|y| (logged under label with the data set's name) and the same argmax.
func logitsCheck(t *testing.T, label string, tol float64) func(set string, i int, got, want *tensor.Tensor) error {
	return func(set string, i int, got, want *tensor.Tensor) error {
		diff, scale, err := maxAbsDiff(got, want)
		if err != nil {
			return err
		}
		t.Logf("%s %s: max|err| %.3g, max|y| %.3g, rel %.2e", label, set, diff, scale, diff/scale)
		if diff > tol*scale {
			return fmt.Errorf("max|err| %.3g > %g * max|y| (%.3g)", diff, tol, scale)
		}
		return argmaxAgree(got, want)
	}
}

// argmaxAgree checks each row of [batch, classes] logits picks the same class as the reference
// (redundant with the tolerance unless two logits tie within it, which the fixtures avoid).
func argmaxAgree(got, want *tensor.Tensor) error {
	if len(want.Shape) != 2 {
		return nil
	}
	if want.DType == tensor.F16 {
		want = widenF16(want)
	}
	g, w := got.F32(), want.F32()
	c := want.Shape[1]
	for b := 0; b < want.Shape[0]; b++ {
		if ga, wa := testutil.Argmax(g[b*c:(b+1)*c]), testutil.Argmax(w[b*c:(b+1)*c]); ga != wa {
			return fmt.Errorf("row %d: argmax %d, PyTorch %d", b, ga, wa)
		}
	}
	return nil
}

// TestFixturesKeepBatchNorm guards the fixtures' purpose: some must reach the engine with unfolded
// BatchNormalization (so its Conv+BN fusion is tested on real data), some with BN already folded.
func TestFixturesKeepBatchNorm(t *testing.T) {
	root := filepath.Join(testutil.RepoRoot(t), "testdata", "models")
	withBN, withoutBN := 0, 0
	for _, name := range []string{"mobilenet_v2_tiny", "resnet50_tiny", "resnest_tiny", "resnest_tiny_bn"} {
		g, err := onnximport.Load(filepath.Join(root, name, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		bn := 0
		for _, n := range g.Nodes {
			if n.Op == "BatchNormalization" {
				bn++
			}
		}
		g.Close()
		if bn > 0 {
			withBN++
		} else {
			withoutBN++
		}
	}
	if withBN == 0 || withoutBN == 0 {
		t.Errorf("fixtures with BatchNormalization nodes: %d, without: %d; want both", withBN, withoutBN)
	}
}

// TestPyTorchFullModels runs the full-size models of `make models` (models/<name>, git-ignored)
// against their PyTorch references, where they have been exported, with Winograd (what the wanwu
// command and package run) and without; skipped under -short.
func TestPyTorchFullModels(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size models under -short")
	}
	for _, name := range []string{"mobilenet_v2", "resnet50", "resnest101_54k"} {
		t.Run(name, func(t *testing.T) {
			dir := testutil.ExportedModel(t, name)
			for _, wino := range []bool{true, false} {
				check := logitsCheck(t, fmt.Sprintf("%s winograd=%v", name, wino), pytorchRelTol)
				if _, err := runModelDir(dir, wrt.Options{Winograd: wino}, check); err != nil {
					t.Fatalf("winograd=%v: %v", wino, err)
				}
			}
		})
	}
}
