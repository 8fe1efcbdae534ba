package tflite

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// TestOpsDocListsBuiltins: the builtin list in docs/ops.md (written by ops' TestOpsDoc) is exactly
// the builtins this importer converts, and names every custom op it knows.
func TestOpsDocListsBuiltins(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "docs", "ops.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)Builtins:\s*(.*?); custom: ([^.(]*)`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/ops.md has no TFLite builtin list")
	}
	var listed []string
	for _, f := range strings.Split(string(m[1]), ",") {
		listed = append(listed, strings.TrimSpace(f))
	}
	var want []string
	for code := range converters {
		if code != fb.BuiltinOperatorCUSTOM {
			want = append(want, fb.EnumNamesBuiltinOperator[code])
		}
	}
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("docs/ops.md lists\n%v\nthe importer converts\n%v\n(edit importersSection in ops/docs_test.go, then go test ./ops -run TestOpsDoc -update)", listed, want)
	}
	for name := range customOps {
		if !strings.Contains(string(m[2]), name) {
			t.Errorf("docs/ops.md does not name the custom op %s", name)
		}
	}
}
