// Package modelscope_test runs tools/modelscope/export.py on a random-weight stand-in of the ModelScope
// checkpoint (ResNeSt-101's layout at reduced width and depth) and loads the result with wanwu.
package modelscope_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

const python = "/usr/bin/python3" // Debian's, with torch and onnx

// reduced is the stand-in's size: ResNeSt-101's layout, width 8 and one block per stage (seconds to export).
var reduced = []string{"--width", "8", "--depth", "1", "1", "1", "1"}

func export(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(python, append([]string{"export.py"}, append(args, reduced...)...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestExportRandomCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch")
	}
	if err := exec.Command(python, "-c", "import torch, onnx").Run(); err != nil {
		t.Skipf("%s has no torch/onnx: %v", python, err)
	}
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	if out, err := export(t, "--model-dir", ckpt, "--random-checkpoint", "37"); err != nil {
		t.Fatalf("random checkpoint: %v\n%s", err, out)
	}
	for _, where := range []string{"sidecar", "metadata"} {
		t.Run("labels in "+where, func(t *testing.T) {
			out := filepath.Join(dir, where)
			if log, err := export(t, "--model-dir", ckpt, "--out", out, "--size", "96", "--labels-in", where); err != nil {
				t.Fatalf("export: %v\n%s", err, log)
			}
			model := filepath.Join(out, "model.onnx")
			m, err := wanwu.Load(context.Background(), model)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if ls := m.Labels(); ls == nil || ls.Len() != 37 || ls.Chinese(5) != "类别5号" || ls.HasEnglish() {
				t.Fatalf("labels from the %s: %v", where, ls)
			}
			if h, w := m.InputSize(); h != 96 || w != 96 || m.Config().Resize != 109 {
				t.Errorf("sidecar preprocess: input %dx%d, resize %d; want 96x96 after 109", h, w, m.Config().Resize)
			}
			compareReference(t, model, filepath.Join(out, "test_data_set_0"))
		})
	}
	// A checkpoint that does not fit the layout stops the export, naming the tensor.
	os.WriteFile(filepath.Join(ckpt, "meta_info.txt"), []byte(strings.Repeat("0\t猫\n", 40)), 0o644)
	if log, err := export(t, "--model-dir", ckpt, "--out", filepath.Join(dir, "bad")); err == nil || !strings.Contains(log, "has shape (37,") {
		t.Errorf("40 labels for a 37-class checkpoint: %v\n%s", err, log)
	}
}

// compareReference runs the exported graph on the script's input and compares with PyTorch's logits.
func compareReference(t *testing.T, model, ref string) {
	t.Helper()
	x, _, err := tensorio.ReadFile(filepath.Join(ref, "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := tensorio.ReadFile(filepath.Join(ref, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := wanwu.ImportGraph(model)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	prog, err := runtime.Compile(g, runtime.Options{InputShapes: map[string]tensor.Shape{"input": x.Shape}})
	if err != nil {
		t.Fatal(err)
	}
	in := prog.Input(0)
	copy(in.Data, x.Data)
	outs, err := prog.Run(context.Background(), []*tensor.Tensor{in})
	if err != nil {
		t.Fatal(err)
	}
	got, exp := outs[0].F32(), want.F32()
	var diff, scale float64
	for i := range exp {
		diff = max(diff, math.Abs(float64(got[i]-exp[i])))
		scale = max(scale, math.Abs(float64(exp[i])))
	}
	if len(got) != len(exp) || diff > 1e-3*scale {
		t.Errorf("logits differ from PyTorch's: max|err| %.3g, max|y| %.3g (%d vs %d values)", diff, scale, len(got), len(exp))
	}
}
