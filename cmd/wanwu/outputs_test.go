package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
	"github.com/wanwu-ai/wanwu/tools/hostile"
)

func TestOutputFileNames(t *testing.T) {
	long := strings.Repeat("长", 100) // 300 bytes
	for _, c := range []struct {
		names []string
		want  []string // "" = only check the invariants
	}{
		{[]string{"logits", "probs"}, []string{"logits", "probs"}},
		{[]string{"..", ".", "", "..."}, []string{"__", "_", "output2", "___"}},
		{[]string{"a/b", `a\b`, "../../x", "/abs", "nul\x00", "tab\tx", `q"<>|?*:`}, []string{"a_b", "", ".._.._x", "_abs", "nul_", "tab_x", "q_______"}},
		{[]string{"a/b", "a:b", "a_b"}, []string{"a_b", "", ""}},
		{[]string{"A", "a"}, []string{"A", ""}},
		{[]string{"CON", "nul.txt", "com1", "console"}, []string{"_CON", "_nul.txt", "_com1", "console"}},
		{[]string{"bad\xffutf8"}, []string{"bad_utf8"}},
		{[]string{long, long + "x", long}, nil},
	} {
		got := outputFileNames(c.names)
		seen := map[string]bool{}
		for i, g := range got {
			if c.want != nil && c.want[i] != "" && g != c.want[i] {
				t.Errorf("%q: file name %q, want %q", c.names[i], g, c.want[i])
			}
			if g == "" || g == "." || g == ".." || strings.ContainsAny(g, "/\\\x00") || !utf8.ValidString(g) {
				t.Errorf("%q: unsafe file name %q", c.names[i], g)
			}
			if len(g)+len(".npy") > maxFileNameBytes {
				t.Errorf("%q: file name of %d bytes", c.names[i], len(g))
			}
			if seen[strings.ToLower(g)] {
				t.Errorf("%q: file name %q taken twice in %q", c.names[i], g, got)
			}
			seen[strings.ToLower(g)] = true
		}
		// The same names give the same files on every run.
		if again := outputFileNames(c.names); strings.Join(again, "|") != strings.Join(got, "|") {
			t.Errorf("%q: %q then %q", c.names, got, again)
		}
	}
}

// TestRunOutputsStayInside: `wanwu run` on a model whose outputs are named "..", "a/b", "a:b" and a
// 300-byte name writes each output, with its own values, inside --output-dir, and says which file holds
// which output.
func TestRunOutputsStayInside(t *testing.T) {
	names := []string{"..", "a/b", "a:b", strings.Repeat("y", 300)}
	dir := t.TempDir()
	model := filepath.Join(dir, "m.onnx")
	if err := hostile.WriteOutputNamesModel(model, names); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "x.npy")
	x := tensor.New(tensor.F32, tensor.Shape{1, 4})
	copy(x.F32(), []float32{1, 2, 3, 4})
	if err := tensorio.WriteNPY(in, x); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "deep", "out")
	stdout, stderr, code := runCLI(t, "run", "--model", model, "--input", "x="+in, "--output-dir", outDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	for i, name := range names {
		prefix := name + " f32[1,4] -> "
		base, ok := strings.CutSuffix(strings.TrimPrefix(lines[i], prefix), ".{pb,npy}")
		if !strings.HasPrefix(lines[i], prefix) || !ok || filepath.Dir(base) != outDir {
			t.Errorf("mapping line %q for output %q", lines[i], name)
			continue
		}
		got, _, err := tensorio.ReadFile(base + ".npy")
		if err != nil || got.F32()[0] != float32(1+i) {
			t.Errorf("output %q: %s.npy holds %v (%v), want x+%d", name, base, got, err, i)
		}
	}
	if es, _ := os.ReadDir(filepath.Join(dir, "deep")); len(es) != 1 {
		t.Errorf("run wrote beside --output-dir: %v", es)
	}
	if es, _ := os.ReadDir(outDir); len(es) != 2*len(names) {
		t.Errorf("%d files for %d outputs: %v", len(es), len(names), es)
	}
}
