package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// TestCalibrateFlag: `--calibrate DIR` with --precision int8 makes bench and classify run static int8
// (bench's arena shrinks: activations are u8 between layers), needs int8, and names a bad path.
func TestCalibrateFlag(t *testing.T) {
	model := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "resnet50_tiny", "model.onnx")
	photos := filepath.Dir(testutil.Shared(t, "images", "cat.bmp"))
	arena := func(args ...string) int64 {
		t.Helper()
		out, stderr, code := runCLI(t, append([]string{"bench", "--model", model, "--size", "64", "--precision", "int8",
			"--iters", "2", "--warmup", "0", "--format", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var r benchResult
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r.ArenaBytes
	}
	dyn, st := arena(), arena("--calibrate", photos)
	if st >= dyn {
		t.Errorf("arena with --calibrate %d, without %d: want smaller (u8 activations)", st, dyn)
	}
	out, stderr, code := runCLI(t, "classify", "--model", model, "--size", "64", "--precision", "int8", "--calibrate", photos,
		"--budget", "4GiB", "--top-k", "1", testutil.Shared(t, "images", "cat.bmp"))
	if code != 0 || !strings.Contains(out, "cat.bmp") {
		t.Errorf("classify --calibrate: exit %d, %q %q", code, out, stderr)
	}
	for _, args := range [][]string{
		{"bench", "--model", model, "--calibrate", photos},
		{"bench", "--model", model, "--precision", "fp16", "--calibrate", photos},
		{"classify", "--model", model, "--calibrate", photos, testutil.Shared(t, "images", "cat.bmp")},
	} {
		if _, stderr, code := runCLI(t, args...); code != exitUsage || !strings.Contains(stderr, "--calibrate needs --precision int8") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	empty := t.TempDir()
	missing := filepath.Join(empty, "nope")
	notPhoto := filepath.Join(empty, "a.jpg")
	if err := os.WriteFile(notPhoto, []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{missing, notPhoto, t.TempDir()} {
		_, stderr, code := runCLI(t, "bench", "--model", model, "--size", "64", "--precision", "int8", "--calibrate", bad, "--iters", "1")
		if code != exitFailure || !strings.Contains(stderr, filepath.Base(bad)) {
			t.Errorf("--calibrate %s: exit %d, stderr %q", bad, code, stderr)
		}
	}
}
