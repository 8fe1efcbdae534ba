package main

import (
	"fmt"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
)

// --threads is capped at runtime.MaxThreads (4 per CPU) in every subcommand that has it: a usage error
// that says the limit, before any model is loaded.
func TestThreadsCap(t *testing.T) {
	photo := testutil.Shared(t, "images", "parrot.jpg")
	model := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "mobilenet_v2_tiny", "model.onnx")
	for _, n := range []string{"1000000", fmt.Sprint(runtime.MaxThreads() + 1)} {
		for _, args := range [][]string{
			{"classify", "--threads", n, photo},
			{"plan", "--model", model, "--threads", n},
			{"bench", "--model", model, "--threads", n},
			{"serve", "--model", model, "--threads", n, "--addr", "127.0.0.1:0"},
			{"run", "--model", model, "--threads", n, "--input", "x.pb", "--output-dir", t.TempDir()},
		} {
			_, stderr, code := runCLI(t, args...)
			want := fmt.Sprintf("--threads must be from 0 (one per core) to %d (4 per CPU, %d CPUs), got %s", runtime.MaxThreads(), goruntime.NumCPU(), n)
			if code != exitUsage || !strings.Contains(stderr, want) {
				t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", args, code, stderr, want)
			}
		}
	}
	// The limit itself is accepted.
	out, stderr, code := runCLI(t, "bench", "--model", model, "--size", "64", "--iters", "1", "--warmup", "0",
		"--threads", fmt.Sprint(runtime.MaxThreads()), "--format", "json")
	if code != exitOK || !strings.Contains(out, fmt.Sprintf(`"threads":%d`, runtime.MaxThreads())) {
		t.Errorf("bench --threads %d: exit %d, %s %s", runtime.MaxThreads(), code, out, stderr)
	}
}

// A model whose input is 2^31×2^31 gets the same clear error from every subcommand — naming the model,
// the input and its shape — and exit status 1, not a wrong figure or a crash.
func TestHugeInputModel(t *testing.T) {
	model := testutil.ImageModel(t, "N", 3, 1<<31, 1<<31)
	photo := testutil.Shared(t, "images", "parrot.jpg")
	want := `input "x": shape [?,3,2147483648,2147483648] of f32 needs more than 256 TiB`
	for _, args := range [][]string{
		{"inspect", model},
		{"plan", "--model", model, "--budget", "1GiB"},
		{"classify", "--model", model, "--budget", "1GiB", photo},
		{"classify", "--model", model, photo},
		{"bench", "--model", model, "--iters", "1"},
		{"serve", "--model", model, "--budget", "1GiB", "--addr", "127.0.0.1:0"},
	} {
		out, stderr, code := runCLI(t, args...)
		if code != exitFailure || !strings.Contains(stderr, want) || !strings.Contains(stderr, model) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q naming the model", args[0], code, out, stderr, want)
		}
	}
}
