package conformance

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
	wrt "github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

var runFilter = flag.String("onnx.case", "", "run only ONNX node cases whose name contains this")

// summary is filled by TestONNXNode and printed by TestMain after all tests, so the line shows in
// plain `go test` output (CI logs) whether the test passed or failed. Subtests run one at a time.
var summary struct {
	ran                          bool
	passed, failed, skipped      int
	excluded, unsupported        int
	frozen                       int            // passed with shape inputs bound as constants
	missing                      map[string]int // op -> cases skipped for it
	excludedPassing, failedNames []string
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if summary.ran {
		fmt.Println(summaryLine())
		fmt.Println(summaryDetail())
	}
	os.Exit(code)
}

func summaryLine() string {
	return fmt.Sprintf("conformance: %d passed, %d failed, %d skipped",
		summary.passed, summary.failed, summary.skipped)
}

func summaryDetail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "conformance: skipped = %d excluded (exclude.txt) + %d with unsupported ops; "+
		"%d passed with shape inputs bound as constants", summary.excluded, summary.unsupported, summary.frozen)
	type kv struct {
		op string
		n  int
	}
	var miss []kv
	for op, n := range summary.missing {
		miss = append(miss, kv{op, n})
	}
	sort.Slice(miss, func(i, j int) bool {
		if miss[i].n != miss[j].n {
			return miss[i].n > miss[j].n
		}
		return miss[i].op < miss[j].op
	})
	if len(miss) > 0 {
		b.WriteString("\nonnx conformance: missing ops (cases):")
		for _, m := range miss {
			fmt.Fprintf(&b, " %s(%d)", m.op, m.n)
		}
	}
	if len(summary.excludedPassing) > 0 {
		fmt.Fprintf(&b, "\nonnx conformance: excluded but passing now (remove from exclude.txt): %s",
			strings.Join(summary.excludedPassing, " "))
	}
	if len(summary.failedNames) > 0 {
		fmt.Fprintf(&b, "\nonnx conformance: failed: %s", strings.Join(summary.failedNames, " "))
	}
	return b.String()
}

// loadExcludes parses exclude.txt: "case_name  reason" per line, '#' comments, blank lines.
func loadExcludes(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ex := map[string]string{}
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, " ")
		reason = strings.TrimSpace(reason)
		if reason == "" {
			return nil, fmt.Errorf("%s:%d: exclusion of %s has no reason", path, ln, name)
		}
		if _, dup := ex[name]; dup {
			return nil, fmt.Errorf("%s:%d: %s excluded twice", path, ln, name)
		}
		ex[name] = reason
	}
	return ex, sc.Err()
}

// suiteDirs lists the ONNX backend test suites with one folder per case: the node tests, and beside
// them (where installed) the whole-model suites ONNX keeps from its first releases, exported by
// PyTorch at opset 6 (pytorch-converted, pytorch-operator) or hand-written at opsets 9 to 12
// (simple). The old-opset ones are the outside reference for the legacy forms of legacy.go.
func suiteDirs(node string) []string {
	dirs := []string{node}
	for _, s := range []string{"pytorch-converted", "pytorch-operator", "simple"} {
		d := filepath.Join(filepath.Dir(node), s)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// TestONNXNode runs every ONNX backend node test (and the whole-model suites of suiteDirs): cases using ops wanwu lacks are skipped, cases in
// exclude.txt are run but not held against us, and every other case must match the reference
// outputs with ONNX's own tolerance.
func TestONNXNode(t *testing.T) {
	root := testutil.ONNXNodeTests(t)
	excludes, err := loadExcludes("exclude.txt")
	if err != nil {
		t.Fatal(err)
	}
	caseDir := map[string]string{}
	var cases []string
	for _, dir := range suiteDirs(root) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "test_") {
				continue
			}
			if prev, dup := caseDir[e.Name()]; dup {
				t.Fatalf("case %s is in both %s and %s", e.Name(), prev, dir)
			}
			caseDir[e.Name()] = filepath.Join(dir, e.Name())
			cases = append(cases, e.Name())
		}
	}
	for name := range excludes {
		if caseDir[name] == "" {
			t.Errorf("exclude.txt names %s, which is not a case under %s", name, filepath.Dir(root))
		}
	}
	summary.ran = true
	summary.missing = map[string]int{}
	check := func(_ string, _ int, got, want *tensor.Tensor) error { return compare(got, want, ONNXTolerance) }
	for _, name := range cases {
		if *runFilter != "" && !strings.Contains(name, *runFilter) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			st, err := runConfigs(caseDir[name], check)
			if st.frozen > 0 && err == nil {
				summary.frozen++
			}
			reason, excluded := excludes[name]
			var u *unsupportedError
			switch {
			case errors.As(err, &u):
				summary.skipped++
				summary.unsupported++
				for _, op := range u.ops {
					summary.missing[op]++
				}
				t.Skip(err)
			case excluded:
				summary.skipped++
				summary.excluded++
				if err == nil {
					summary.excludedPassing = append(summary.excludedPassing, name)
					t.Skipf("excluded (%s), but passes now", reason)
				}
				t.Skipf("excluded (%s): %v", reason, err)
			case err != nil:
				summary.failed++
				summary.failedNames = append(summary.failedNames, name)
				t.Error(err)
			default:
				summary.passed++
			}
		})
	}
	t.Log(summaryLine())
}

// nodeConfigs are the runtime options every case runs under: one thread with Winograd allowed checks
// the kernels as planned alone (Winograd where it applies); two threads on the default im2col path
// add what the worker pool and the other Conv path can break (ops split across workers).
var nodeConfigs = []struct {
	name string
	opts wrt.Options
}{
	{"threads=1 winograd", wrt.Options{Threads: 1, Winograd: true}},
	{"threads=2", wrt.Options{Threads: 2}},
}

// runConfigs runs the case in dir under each of nodeConfigs and returns the first error, naming the
// configuration; the stats are the first configuration's (the frozen inputs do not depend on it).
func runConfigs(dir string, check checkFunc) (runStats, error) {
	var first runStats
	for i, c := range nodeConfigs {
		st, err := runModelDir(dir, c.opts, check)
		if i == 0 {
			first = st
		}
		var u *unsupportedError
		if errors.As(err, &u) {
			return first, err // the same under every configuration
		}
		if err != nil {
			return first, fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return first, nil
}
