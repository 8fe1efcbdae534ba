//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/memory"
	"github.com/wanwu-ai/wanwu/tensorio"
	"github.com/wanwu-ai/wanwu/tools/hostile"
)

// checkModel runs classify, plan, inspect and run on a hostile model: each works or fails alone with its
// reason, and none of them claims a configuration or an arena the model's input cannot have.
func checkModel(t *testing.T, c hostile.Case, env []string, budget, photo, input string) []hostileRow {
	t.Helper()
	var rows []hostileRow
	for _, args := range [][]string{
		{"classify", "--budget", budget, "--model", c.Path, photo},
		{"plan", "--budget", budget, "--model", c.Path, "--format", "json"},
		{"inspect", "--format", "json", c.Path},
		{"run", "--model", c.Path, "--input", "x=" + input, "--output-dir", t.TempDir()},
	} {
		r := runFresh(t, env, args...)
		checkBounds(t, r)
		outcome := firstLine(r.stderr)
		switch {
		case r.timedOut:
		case r.code == exitFailure:
			reasons := c.Reasons
			if args[0] == "run" {
				// run feeds a small input, which a fixed-size input refuses.
				reasons = append(slices.Clip(reasons), "is fixed at")
			}
			checkModelError(t, c.Name+" "+args[0], r.stderr, c.Path, reasons)
		case args[0] == "classify" && c.MustFail:
			t.Errorf("classify with %s: exit %d, want 1: %s", c.Name, r.code, r.stdout)
		case args[0] == "plan":
			var p memory.Plan
			outcome = "nothing fits"
			if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
				t.Errorf("plan %s: %v in %q", c.Name, err, r.stdout)
			} else if p.Chosen != nil {
				outcome = fmt.Sprintf("chose %s, predicted %s", *p.Chosen, memory.FormatSize(p.Chosen.PredictedPeakBytes))
				t.Errorf("plan %s %s, for a model whose input alone is %.3g bytes", c.Name, outcome, c.InputBytes)
			}
		case args[0] == "inspect":
			var rep inspectReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Errorf("inspect %s: %v in %q", c.Name, err, r.stdout)
			} else if float64(rep.ArenaBytes) < c.InputBytes {
				t.Errorf("inspect %s reports an arena of %d bytes for an input of %.3g bytes", c.Name, rep.ArenaBytes, c.InputBytes)
			}
			outcome = fmt.Sprintf("arena %d bytes", rep.ArenaBytes)
		case args[0] == "run":
			outcome = "ran on a [1,3,2,2] input"
		}
		rows = append(rows, rowOf(c.Name, r, outcome))
	}
	return rows
}

// checkModelError is checkError for a model, which an error may also name by its name (the file's base
// name without extension, as the facade does: "model_input_65536 does not fit in a budget of ...").
func checkModelError(t *testing.T, what, msg, path string, reasons []string) {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if !strings.Contains(msg, path) && strings.Contains(msg, name+" ") {
		path = name
	}
	checkError(t, what, msg, path, reasons)
}

// checkOutputs runs a model whose outputs have hostile names: every output gets its own file inside
// --output-dir, holding that output's values, and nothing is written anywhere else.
func checkOutputs(t *testing.T, c hostile.Case, env []string, input string) hostileRow {
	t.Helper()
	root := t.TempDir()
	outDir := filepath.Join(root, "a", "b", "out")
	r := runFresh(t, env, "run", "--model", c.Path, "--input", "x="+input, "--output-dir", outDir)
	checkBounds(t, r)
	if r.code != exitOK {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != len(c.OutputNames) {
		t.Fatalf("run printed %d lines for %d outputs:\n%s", len(lines), len(c.OutputNames), r.stdout)
	}
	x, _, err := tensorio.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for i, name := range c.OutputNames {
		_, target, ok := strings.Cut(lines[i], " -> ")
		base, found := strings.CutSuffix(target, ".{pb,npy}")
		if !ok || !found || filepath.Dir(base) != outDir {
			t.Errorf("output %d (%q): mapping line %q does not name a file in %s", i, name, lines[i], outDir)
			continue
		}
		if len(filepath.Base(base))+len(".npy") > maxFileNameBytes {
			t.Errorf("output %q: file name %q is %d bytes", name, filepath.Base(base), len(filepath.Base(base)))
		}
		got, _, err := tensorio.ReadFile(base + ".npy")
		if err != nil {
			t.Errorf("output %q: %v", name, err)
			continue
		}
		for j, v := range got.F32() {
			if want := x.F32()[j] + float32(i); v != want {
				t.Errorf("output %q: %s holds %v at %d, want %v (output %d is x+%d)", name, base+".npy", v, j, want, i, i)
				break
			}
		}
		if _, pbName, err := tensorio.ReadFile(base + ".pb"); err != nil || pbName != name {
			t.Errorf("output %q: %s.pb names %q (%v)", name, base, pbName, err)
		}
		files = append(files, filepath.Base(base)+".pb", filepath.Base(base)+".npy")
	}
	entries, _ := os.ReadDir(outDir)
	var written []string
	for _, e := range entries {
		written = append(written, e.Name())
	}
	slices.Sort(files)
	if !slices.Equal(written, files) || len(slices.Compact(slices.Clone(files))) != 2*len(c.OutputNames) {
		t.Errorf("%s holds %q, want one .pb and one .npy per output: %q", outDir, written, files)
	}
	// Nothing outside --output-dir: the folders above it hold only the path down to it.
	for dir, only := range map[string]string{root: "a", filepath.Join(root, "a"): "b", filepath.Join(root, "a", "b"): "out"} {
		if es, _ := os.ReadDir(dir); len(es) != 1 || es[0].Name() != only {
			t.Errorf("run wrote outside --output-dir: %s holds %v", dir, es)
		}
	}
	return rowOf(c.Name, r, fmt.Sprintf("%d outputs in %d distinct files inside --output-dir", len(c.OutputNames), len(written)))
}

// checkHostileFolder classifies every image case and the shared photos in one run: the photos are
// classified, each bad file has its own error, the exit status is 1, and the json array is whole.
func checkHostileFolder(t *testing.T, cases []hostile.Case, corpus string, env []string, budget string) hostileRow {
	t.Helper()
	good := filepath.Join(corpus, "good")
	if err := os.Mkdir(good, 0o755); err != nil {
		t.Fatal(err)
	}
	all, _ := filepath.Glob(filepath.Join(filepath.Dir(testutil.Shared(t, "images", "parrot.jpg")), "*"))
	var photos []string
	for _, p := range all {
		if imageExts[strings.ToLower(filepath.Ext(p))] {
			photos = append(photos, p)
		}
	}
	for _, p := range photos {
		if err := os.Symlink(p, filepath.Join(good, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	r := runFreshWithin(t, hostileFolderTimeout, env, "classify", "--budget", budget, "--format", "json", corpus)
	recs, err := decodeRecords(r.stdout)
	switch {
	case r.timedOut:
		// The records printed before the kill are there (results stream): the next file is the one that hung.
		t.Errorf("folder run hung after %d records; the files printed are kept", len(recs))
	case err != nil:
		t.Errorf("folder run: the json output is not one array: %v\n%.2000s", err, r.stdout)
	}
	byFile := map[string]record{}
	for _, rec := range recs {
		if _, dup := byFile[rec.File]; dup {
			t.Errorf("folder run: two records for %s", rec.File)
		}
		byFile[rec.File] = rec
	}
	n := 0
	for _, p := range photos {
		n++
		path := filepath.Join(good, filepath.Base(p))
		if rec, ok := byFile[path]; !ok || rec.Error != "" || len(rec.Predictions) == 0 {
			t.Errorf("folder run: good photo %s: %+v", path, rec)
		}
	}
	failed := 0
	for _, c := range cases {
		if c.Kind != hostile.Photo {
			continue
		}
		n++
		rec, ok := byFile[c.Path]
		switch {
		case !ok && r.timedOut:
			t.Logf("folder run: no record for %s (killed before or while it ran)", c.Name)
		case !ok:
			t.Errorf("folder run: no record for %s", c.Name)
		case rec.Error != "":
			failed++
			checkError(t, "folder run: "+c.Name, rec.Error, c.Path, c.Reasons)
		case c.MustFail:
			t.Errorf("folder run: %s was classified", c.Name)
		}
	}
	if len(recs) != n && !r.timedOut {
		t.Errorf("folder run: %d records for %d files", len(recs), n)
	}
	if r.code != exitFailure {
		t.Errorf("folder run: exit %d, want 1", r.code)
	}
	checkBoundsFolder(t, r, n)
	return rowOf(fmt.Sprintf("folder: %d hostile + %d good photos", n-len(photos), len(photos)), r,
		fmt.Sprintf("%d classified, %d failed alone", len(recs)-failed, failed))
}

// checkBoundsFolder is checkBounds for a run over n files: 2 s of CPU per file.
func checkBoundsFolder(t *testing.T, r procResult, n int) {
	t.Helper()
	cpu := r.cpu
	r.cpu = 0
	checkBounds(t, r)
	if cpu > hostileCPU*time.Duration(n) {
		t.Errorf("folder run: CPU %.2f s for %d files, over %s each", cpu.Seconds(), n, hostileCPU)
	}
}

// decodeRecords reads a json array of records, and as many records as a truncated one holds (a run
// killed mid-way); err reports an array that is not whole.
func decodeRecords(out string) ([]record, error) {
	dec := json.NewDecoder(strings.NewReader(out))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("no json array (%v)", err)
	}
	var recs []record
	for dec.More() {
		var rec record
		if err := dec.Decode(&rec); err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
	if _, err := dec.Token(); err != nil {
		return recs, err
	}
	return recs, nil
}
