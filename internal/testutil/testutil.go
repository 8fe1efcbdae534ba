// Package testutil finds the repository root and the shared test data (../shared) for tests.
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
