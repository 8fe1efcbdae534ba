// Package testutil holds helpers shared by tests: the repository root, the shared test data
// (../shared), ONNX's backend test data, and small numeric references (softmax, argmax).
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod, searching upward from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testutil: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Shared returns the path of a file under the shared data folder (../shared next to the repo, or
// $WANWU_SHARED). Where it is missing the test is skipped, except under CI (CI=true), where the
// shared folder is always laid out and its absence is a failure.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	base := os.Getenv("WANWU_SHARED")
	if base == "" {
		base = filepath.Join(RepoRoot(t), "..", "shared")
	}
	p := filepath.Join(append([]string{base}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("testutil: shared test data missing: %v", err)
		}
		t.Skipf("shared test data not found (%v); run from a checkout with ../shared or set WANWU_SHARED", err)
	}
	return p
}

// onnxDataDirs are where Debian's libonnx-testdata (and a pip-installed onnx's copy, as laid out by
// some distributions) put ONNX's backend test data.
var onnxDataDirs = []string{"/usr/share/libonnx-testdata/data", "/usr/share/onnx/backend/test/data"}

// ONNXTestdata returns a path under ONNX's backend test data ($ONNX_TESTDATA, else where
// libonnx-testdata installs it), e.g. ONNXTestdata(t, "node", "test_relu", "model.onnx"). Where it
// is missing the test is skipped, except under CI, where it fails.
func ONNXTestdata(t testing.TB, elem ...string) string {
	t.Helper()
	bases := onnxDataDirs
	if b := os.Getenv("ONNX_TESTDATA"); b != "" {
		bases = []string{b}
	}
	var err error
	for _, base := range bases {
		p := filepath.Join(append([]string{base}, elem...)...)
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("testutil: ONNX test data missing: %v", err)
	}
	t.Skipf("ONNX test data not installed (%v); apt-get install libonnx-testdata or set ONNX_TESTDATA", err)
	return ""
}

// ONNXNodeTests returns the folder of ONNX's backend node tests (one folder per case):
// $WANWU_ONNX_NODE_TESTS, else ONNXTestdata(t, "node"). Missing, the test is skipped (failed under CI).
func ONNXNodeTests(t testing.TB) string {
	t.Helper()
	d := os.Getenv("WANWU_ONNX_NODE_TESTS")
	if d == "" {
		return ONNXTestdata(t, "node")
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		if os.Getenv("CI") != "" {
			t.Fatalf("testutil: WANWU_ONNX_NODE_TESTS=%s is not a folder", d)
		}
		t.Skipf("WANWU_ONNX_NODE_TESTS=%s is not a folder", d)
	}
	return d
}

// ExportedModel returns the folder models/<name> of a full-size reference model written by
// `make models` (model.onnx and test_data_set_*), skipping the test where it has not been exported:
// the models are large and git-ignored, so their tests are opt-in.
func ExportedModel(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "models", name)
	if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
		t.Skipf("%s not exported (make models)", dir)
	}
	return dir
}
