package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/labels"
)

// A word of --only that matches no class is a warning on stderr and the run goes on with the others;
// when no word matches, nothing runs. serve takes the same flags.
func TestOnlyUnmatchedWordWarns(t *testing.T) {
	parrot := testutil.Shared(t, "images", "parrot.jpg")
	for _, c := range []struct {
		name     string
		args     []string
		wantCode int
		stderr   string
	}{
		{"classify one unmatched", []string{"classify", "--format", "jsonl", "--only", "鹦鹉,nosuchword", parrot}, 0, `warning: --only: no class matches "nosuchword"`},
		{"classify all unmatched", []string{"classify", "--only", "nosuchword,northisone", parrot}, exitFailure, `no class matches "nosuchword", "northisone"`},
		{"plan one unmatched", []string{"plan", "--format", "json", "--only", "鹦鹉,nosuchword"}, 0, `warning: --only: no class matches "nosuchword"`},
		{"serve all unmatched", []string{"serve", "--addr", "127.0.0.1:0", "--only", "nosuchword"}, exitFailure, `no class matches "nosuchword"`},
		{"serve bad mode", []string{"serve", "--only", "猫", "--only-mode", "fuzzy"}, exitUsage, "--only-mode must be"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, c.args...)
			if code != c.wantCode || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, c.wantCode, stderr, c.stderr)
			}
			if c.wantCode == 0 && c.args[0] == "classify" {
				var r record
				if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Predictions) == 0 || !strings.Contains(r.Predictions[0].Label, "鹦鹉") {
					t.Errorf("classify output %q (%v), want a parrot", out, err)
				}
			}
		})
	}
}

// A top-K list holds no background class and, after the first, no class under wanwu.MinScore (printed
// 0.0 %): fewer than --top-k when fewer are meaningful.
func TestTopKNotPadded(t *testing.T) {
	for _, photo := range []string{"parrot.jpg", "cat.bmp", "sunflower.bmp"} {
		out, stderr, code := runCLI(t, "classify", "--format", "jsonl", "--top-k", "20", testutil.Shared(t, "images", photo))
		var r record
		if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil || len(r.Predictions) == 0 {
			t.Fatalf("%s: exit %d, %v: %s %s", photo, code, err, out, stderr)
		}
		for i, p := range r.Predictions {
			if p.Index == 0 || (i > 0 && p.Score < wanwu.MinScore) {
				t.Errorf("%s: rank %d is %d %q at %.6f: padding", photo, i+1, p.Index, p.Label, p.Score)
			}
		}
		text, _, _ := runCLI(t, "classify", "--top-k", "20", testutil.Shared(t, "images", photo))
		if strings.Contains(text, " 0.0%") {
			t.Errorf("%s: text output lists 0.0%%: %s", photo, text)
		}
	}
}

// csv-bom is CSV after a UTF-8 byte-order mark; a label file without English leaves label_en empty (in
// JSON and CSV), and --lang en keeps the file's names.
func TestCSVBOMAndLabelFileEnglish(t *testing.T) {
	parrot := testutil.Shared(t, "images", "parrot.jpg")
	out, stderr, code := runCLI(t, "classify", "--format", "csv-bom", parrot)
	if code != 0 || !strings.HasPrefix(out, "\uFEFFfile,rank,") || strings.Count(out, "\uFEFF") != 1 {
		t.Fatalf("csv-bom: exit %d, %q %s", code, out, stderr)
	}
	plain, _, _ := runCLI(t, "classify", "--format", "csv", parrot)
	if strings.HasPrefix(plain, "\uFEFF") || !strings.Contains(out, "金刚鹦鹉") {
		t.Errorf("csv starts with a BOM or lacks the Chinese label: %q / %q", plain, out)
	}

	// A label file with the model's 1001 classes, the Chinese names only.
	var names []string
	ls := labels.ImageNetWithBackground()
	for i := 0; i < ls.Len(); i++ {
		names = append(names, ls.Chinese(i))
	}
	file := filepath.Join(t.TempDir(), "zh.txt")
	if err := os.WriteFile(file, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"zh", "en"} {
		out, stderr, code = runCLI(t, "classify", "--format", "jsonl", "--labels", file, "--lang", lang, parrot)
		var r record
		if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil || len(r.Predictions) == 0 {
			t.Fatalf("exit %d, %v: %s %s", code, err, out, stderr)
		}
		if p := r.Predictions[0]; p.Label != "金刚鹦鹉" || p.LabelEn != "" {
			t.Errorf("--lang %s: label %q, label_en %q; want 金刚鹦鹉 and empty", lang, p.Label, p.LabelEn)
		}
	}
	out, _, _ = runCLI(t, "classify", "--format", "csv", "--labels", file, parrot)
	if !strings.Contains(out, ",金刚鹦鹉,,") {
		t.Errorf("csv with a Chinese-only label file: label_en not empty: %q", out)
	}
}

// A user label table with a categories column, and a categories file: --only selects a category of
// either, and `wanwu labels --categories` lists them with their sizes.
func TestUserCategories(t *testing.T) {
	ls := labels.ImageNetWithBackground()
	pets, err := ls.Match([]string{"猫", "狗"}, labels.MatchExact)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	table.WriteString("label\tcategories\n")
	for i := 0; i < ls.Len(); i++ {
		cat := ""
		if _, ok := slices.BinarySearch(pets, i); ok {
			cat = "宠物"
		}
		table.WriteString(ls.Chinese(i) + "\t" + cat + "\n")
	}
	dir := t.TempDir()
	file, cats := filepath.Join(dir, "labels.tsv"), filepath.Join(dir, "cats.txt")
	os.WriteFile(file, []byte(table.String()), 0o644)
	os.WriteFile(cats, []byte("零食: 热狗, 椒盐卷饼\n"), 0o644)

	out, stderr, code := runCLI(t, "labels", "--labels", file, "--categories-file", cats, "--categories")
	if code != 0 || !strings.Contains(out, "宠物\t"+strconv.Itoa(len(pets))+"\t") || !strings.Contains(out, "零食\t2\t椒盐卷饼,热狗") {
		t.Fatalf("labels --categories: exit %d: %q %s", code, out, stderr)
	}
	for _, c := range []struct{ photo, only string }{{"cat.bmp", "宠物"}, {"hot_dog.jpg", "零食"}} {
		out, stderr, code = runCLI(t, "classify", "--format", "jsonl", "--labels", file, "--categories-file", cats,
			"--only", c.only, testutil.Shared(t, "images", c.photo))
		var r record
		if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil || len(r.Predictions) == 0 {
			t.Fatalf("%s --only %s: exit %d, %v: %s %s", c.photo, c.only, code, err, out, stderr)
		}
		want, _, _ := runCLI(t, "labels", "--labels", file, "--categories-file", cats, "--only", c.only)
		for _, p := range r.Predictions {
			if !strings.Contains(want, "\n"+strconv.Itoa(p.Index)+"\t") && !strings.HasPrefix(want, strconv.Itoa(p.Index)+"\t") {
				t.Errorf("%s --only %s: %d %s is not in the category", c.photo, c.only, p.Index, p.Label)
			}
		}
	}
	if _, stderr, code := runCLI(t, "labels", "--categories", "--labels", filepath.Join(dir, "labels.tsv"), "--categories-file", filepath.Join(dir, "none.txt")); code == 0 || !strings.Contains(stderr, "none.txt") {
		t.Errorf("missing categories file: exit %d, %s", code, stderr)
	}
}

// --resize N --size M is Resize(N)/CenterCrop(M) in classify, plan, serve and bench alike: plan reports
// it, classify's scores follow it, and each command refuses a resize smaller than the crop it feeds from
// the model it loads.
func TestResizeHonoured(t *testing.T) {
	model := filepath.Join(testutil.RepoRoot(t), "testdata/models/resnest_tiny/model.onnx")
	photo := testutil.Shared(t, "images", "cat_720p.jpg")
	out, stderr, code := runCLI(t, "plan", "--model", model, "--format", "json", "--budget", "1GiB", "--resize", "160", "--size", "128")
	var p struct{ Chosen struct{ Size, Resize int } }
	if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil || p.Chosen.Size != 128 || p.Chosen.Resize != 160 {
		t.Fatalf("plan --resize 160 --size 128: exit %d, %v, chosen %+v: %s", code, err, p.Chosen, stderr)
	}
	scores := map[string]float64{}
	for _, resize := range []string{"160", "256", "0"} {
		out, stderr, code := runCLI(t, "classify", "--model", model, "--format", "jsonl", "--size", "128", "--resize", resize, photo)
		var r record
		if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil || len(r.Predictions) == 0 || r.InputSize[0] != 128 {
			t.Fatalf("classify --resize %s: exit %d, %v: %s %s", resize, code, err, out, stderr)
		}
		scores[resize] = r.Predictions[0].Score
	}
	// 0 is the default ratio: 128 x 256/224 = 146, neither 160 nor 256.
	if scores["160"] == scores["256"] || scores["160"] == scores["0"] {
		t.Errorf("top scores %v: --resize changed nothing", scores)
	}
	tflite := "mobilenet_v1_0.25_128_quant"
	for _, args := range [][]string{
		{"classify", "--model", model, "--resize", "100", "--size", "128", photo},
		{"plan", "--model", model, "--resize", "100", "--size", "128"},
		{"serve", "--model", model, "--resize", "100", "--size", "128"},
		{"bench", "--model", model, "--resize", "100", "--size", "128", "--budget", "1GiB"},
		{"classify", "--model", model, "--resize", "100", photo}, // the crop chosen under the budget
		{"serve", "--model", tflite, "--addr", "127.0.0.1:0", "--resize", "160"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code == 0 || !strings.Contains(stderr, "--resize") {
			t.Errorf("%v: exit %d, stderr %q; want an error about --resize", args, code, stderr)
		}
	}
}

// `make demo` fetches into the binary's own cache: afterwards `wanwu models` lists the default model as
// cached (with HOME and the XDG cache in a temp folder, and no WANWU_HOME).
func TestMakeDemoFillsTheModelsCache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs make demo")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	root := testutil.RepoRoot(t)
	testutil.Shared(t, "models", "mobilenet_v2_1.0_224_quant.tflite") // the Makefile's mirror
	home := t.TempDir()
	bin := filepath.Join(t.TempDir(), "wanwu")
	// The Go build and module caches stay where they are (they default to HOME's); WANWU_* are unset.
	gocache, _ := exec.Command("go", "env", "GOCACHE").Output()
	modcache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "WANWU_") })
	env = append(env, "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"GOCACHE="+strings.TrimSpace(string(gocache)), "GOMODCACHE="+strings.TrimSpace(string(modcache)))
	cmd := exec.Command("make", "--no-print-directory", "demo", "BIN="+bin, "SHARED="+filepath.Dir(filepath.Dir(testutil.Shared(t, "models", "mobilenet_v2_1.0_224_quant.tflite"))))
	cmd.Dir, cmd.Env = root, env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "金刚鹦鹉") {
		t.Fatalf("make demo: %v\n%s", err, out)
	}
	models := exec.Command(bin, "models")
	models.Env = env
	list, err := models.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(list), "\n") {
		if strings.HasPrefix(line, "mobilenet_v2_1.0_224_quant (default)") && !strings.Contains(line, " yes ") {
			t.Errorf("after make demo the default model is not cached:\n%s", list)
		}
	}
}

// plan marks what classify runs: for a budget at each candidate's predicted peak (and just under it),
// the configuration plan chooses is the one classify loads (one function, wanwu's choose, behind both).
func TestPlanChoosesWhatClassifyRuns(t *testing.T) {
	model := filepath.Join(testutil.RepoRoot(t), "testdata/models/resnest_tiny/model.onnx")
	photo := testutil.Shared(t, "images", "cat_720p.jpg")
	type plan struct {
		Chosen *struct {
			Precision          string
			Size               int
			PredictedPeakBytes int64 `json:"predicted_peak_bytes"`
		}
		Candidates []struct {
			PredictedPeakBytes int64 `json:"predicted_peak_bytes"`
		}
	}
	planAt := func(budget int64) plan {
		out, stderr, code := runCLI(t, "plan", "--model", model, "--format", "json", "--photo", photo, "--budget", strconv.FormatInt(budget, 10))
		var p plan
		if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil {
			t.Fatalf("plan --budget %d: exit %d, %v: %s", budget, code, err, stderr)
		}
		return p
	}
	all := planAt(1 << 40)
	if len(all.Candidates) < 6 {
		t.Fatalf("%d candidates; want several precisions and sizes", len(all.Candidates))
	}
	budgets := []int64{1 << 40}
	for _, c := range all.Candidates {
		budgets = append(budgets, c.PredictedPeakBytes, c.PredictedPeakBytes-1)
	}
	slices.Sort(budgets)
	budgets = slices.Compact(budgets)
	chosen := map[string]bool{}
	for _, b := range budgets {
		p := planAt(b)
		out, stderr, code := runCLI(t, "classify", "--model", model, "--format", "jsonl", "--budget", strconv.FormatInt(b, 10), photo)
		if p.Chosen == nil {
			if code == 0 {
				t.Errorf("budget %d: plan chose nothing, classify ran: %s", b, out)
			}
			continue
		}
		var r record
		if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
			t.Fatalf("budget %d: classify exit %d, %v: %s", b, code, err, stderr)
		}
		if r.Precision != p.Chosen.Precision || r.InputSize[0] != p.Chosen.Size {
			t.Errorf("budget %d: plan chose %s at %d, classify ran %s at %d", b, p.Chosen.Precision, p.Chosen.Size, r.Precision, r.InputSize[0])
		}
		chosen[p.Chosen.Precision+strconv.Itoa(p.Chosen.Size)] = true
	}
	if len(chosen) < 3 {
		t.Errorf("the budgets led to %d configurations; the test needs several", len(chosen))
	}
}

// plan --batch N predicts what serve --max-batch N holds (more than batch 1), and the default plan the
// Winograd weights (more packed memory than --winograd=false); a fixed-batch model cannot plan batches.
func TestPlanBatchAndWinograd(t *testing.T) {
	model := filepath.Join(testutil.RepoRoot(t), "testdata/models/resnet50_tiny/model.onnx")
	peak := func(args ...string) (int64, int64) {
		out, stderr, code := runCLI(t, append([]string{"plan", "--model", model, "--format", "json", "--budget", "1GiB", "--precision", "fp32", "--size", "128"}, args...)...)
		var p struct {
			Chosen struct {
				Batch int
				Peak  int64 `json:"predicted_peak_bytes"`
			}
		}
		if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil {
			t.Fatalf("plan %v: exit %d, %v: %s", args, code, err, stderr)
		}
		return p.Chosen.Peak, int64(p.Chosen.Batch)
	}
	one, b1 := peak()
	four, b4 := peak("--batch", "4")
	lean, _ := peak("--winograd=false")
	if b1 != 1 || b4 != 4 || four <= one {
		t.Errorf("batch 1: %d bytes (batch %d); batch 4: %d bytes (batch %d); want more for 4", one, b1, four, b4)
	}
	if one <= lean {
		t.Errorf("the default (Winograd) predicts %d bytes, no more than %d with --winograd=false", one, lean)
	}
	if _, stderr, code := runCLI(t, "plan", "--batch", "2"); code == 0 || !strings.Contains(stderr, "fixed at 1") {
		t.Errorf("plan --batch 2 on a fixed-batch model: exit %d, %s", code, stderr)
	}
}

// Every memory figure quoted in a command's help (long text and flags) is one docs/memory.md states, so
// the help cannot drift from the measurements (the --winograd cost once read +25 MiB, measured +11).
func TestHelpFiguresAreInMemoryDoc(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "docs/memory.md"))
	if err != nil {
		t.Fatal(err)
	}
	figure := regexp.MustCompile(`\+?\d+(\.\d+)? [KMG]iB`)
	root := NewMain(io.Discard, io.Discard).rootCommand()
	found := 0
	for _, c := range root.Commands() {
		texts := []string{c.Long}
		c.Flags().VisitAll(func(f *pflag.Flag) { texts = append(texts, f.Usage) })
		for _, text := range texts {
			for _, fig := range figure.FindAllString(text, -1) {
				found++
				if !strings.Contains(string(doc), fig) {
					t.Errorf("wanwu %s --help quotes %q, which docs/memory.md does not state: %q", c.Name(), fig, text)
				}
			}
		}
	}
	if found == 0 {
		t.Error("no figures found in the help: the pattern is broken")
	}
}
