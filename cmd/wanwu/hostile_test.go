//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
	"github.com/wanwu-ai/wanwu/tools/hostile"
)

// The hostile-input corpus (tools/hostile) under the promises of issue 9: each case, in a fresh process
// under classify --budget 64MiB (and run/plan/inspect for models), either works or fails alone with an
// error naming the file and the reason; the process's VmHWM stays within the budget and its CPU time
// within 2 s; the exit status is 0 or 1 (2 is for usage errors only); nothing hangs.
const (
	hostileBudget = 64 << 20
	hostileCPU    = 2 * time.Second
	// Wall-clock limits, generous for a shared machine: past them a case counts as hung.
	hostileTimeout       = 30 * time.Second
	hostileFolderTimeout = 120 * time.Second
)

// procResult is one command run in a fresh process.
type procResult struct {
	args           []string
	code           int // -1: killed (timeout or signal)
	stdout, stderr string
	hwm            int64 // VmHWM in bytes, 0 when the process could not report it
	cpu, wall      time.Duration
	timedOut       bool
}

func (r procResult) summary() string {
	if r.timedOut {
		return fmt.Sprintf("KILLED after %s wall (hung or too slow)", r.wall.Round(time.Second))
	}
	return fmt.Sprintf("exit %d", r.code)
}

// runFresh runs the wanwu command (this test binary acting as main) in a new process.
func runFresh(t *testing.T, env []string, args ...string) procResult {
	t.Helper()
	return runFreshWithin(t, hostileTimeout, env, args...)
}

func runFreshWithin(t *testing.T, timeout time.Duration, env []string, args ...string) procResult {
	t.Helper()
	hwmFile := filepath.Join(t.TempDir(), "hwm")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), env...), envAsMain+"=1", envHWMFile+"="+hwmFile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := procResult{args: args, stdout: out.String(), stderr: errb.String(), wall: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	r.timedOut = ctx.Err() != nil
	if cmd.ProcessState != nil {
		r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if b, err := os.ReadFile(hwmFile); err == nil {
		r.hwm, _ = strconv.ParseInt(string(b), 10, 64)
	}
	return r
}

// checkBounds asserts the promises every run keeps, whatever its outcome.
func checkBounds(t *testing.T, r procResult) {
	t.Helper()
	if r.timedOut {
		t.Errorf("%v: killed after %s of wall time (hung, or far over the CPU bound): %.2f s CPU", r.args, r.wall, r.cpu.Seconds())
		return
	}
	if r.code != exitOK && r.code != exitFailure {
		t.Errorf("%v: exit status %d, want 0 or 1 (stderr %.3000s)", r.args, r.code, r.stderr)
	}
	if r.hwm == 0 {
		t.Errorf("%v: the process did not report its VmHWM (crashed?)", r.args)
	} else if r.hwm > hostileBudget {
		t.Errorf("%v: VmHWM %.1f MiB over the %d MiB budget", r.args, mib(r.hwm), hostileBudget>>20)
	}
	if r.cpu > hostileCPU {
		t.Errorf("%v: CPU %.2f s, over %s", r.args, r.cpu.Seconds(), hostileCPU)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
		t.Errorf("%v: stderr looks like a crash: %.3000s", r.args, r.stderr)
	}
}

// checkError asserts a failure names the file and gives one of the reasons.
func checkError(t *testing.T, what, msg, path string, reasons []string) {
	t.Helper()
	if !strings.Contains(msg, path) {
		t.Errorf("%s: error %q does not name %s", what, msg, path)
	}
	low := strings.ToLower(msg)
	for _, r := range reasons {
		if strings.Contains(low, r) {
			return
		}
	}
	t.Errorf("%s: error %q gives none of the reasons %q", what, msg, reasons)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// hostileRow is a line of the report table.
type hostileRow struct{ name, command, outcome, hwm, cpu string }

func rowOf(name string, r procResult, outcome string) hostileRow {
	hwm := "-"
	if r.hwm > 0 {
		hwm = fmt.Sprintf("%.1f", mib(r.hwm))
	}
	return hostileRow{name, r.args[0], r.summary() + ": " + outcome, hwm, fmt.Sprintf("%.2f", r.cpu.Seconds())}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

func TestHostileCorpus(t *testing.T) {
	if raceEnabled {
		t.Skip("memory and CPU bounds do not hold under the race detector")
	}
	corpus := filepath.Join(t.TempDir(), "corpus")
	if err := os.Mkdir(corpus, 0o755); err != nil {
		t.Fatal(err)
	}
	cases, err := hostile.Write(corpus)
	if err != nil {
		t.Fatal(err)
	}
	parrot := testutil.Shared(t, "images", "parrot.jpg")
	env := []string{"WANWU_HOME=" + t.TempDir(), "WANWU_MIRROR=" + filepath.Dir(testutil.Shared(t, "models", catalog.DefaultModel+".tflite"))}
	if r := runFresh(t, env, "fetch", catalog.DefaultModel); r.code != 0 {
		t.Fatalf("fetch: %s", r.stderr)
	}
	budget := fmt.Sprintf("%dMiB", hostileBudget>>20)
	var outputsModel string
	for _, c := range cases {
		if c.Kind == hostile.Outputs {
			outputsModel = c.Path
		}
	}
	goodInput := func(shape []int) string {
		p := filepath.Join(t.TempDir(), "x.npy")
		x := tensor.New(tensor.F32, tensor.Shape(shape))
		for i := range x.F32() {
			x.F32()[i] = float32(i + 1)
		}
		if err := tensorio.WriteNPY(p, x); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var rows []hostileRow
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			switch c.Kind {
			case hostile.Photo:
				r := runFresh(t, env, "classify", "--budget", budget, "--format", "jsonl", c.Path)
				rows = append(rows, rowOf(c.Name, r, checkPhoto(t, c, r)))
			case hostile.Model:
				rows = append(rows, checkModel(t, c, env, budget, parrot, goodInput(c.InputShape))...)
			case hostile.Outputs:
				rows = append(rows, checkOutputs(t, c, env, goodInput(c.InputShape)))
			case hostile.Labels, hostile.Only, hostile.Tensor:
				args := map[hostile.Kind][]string{
					hostile.Labels: {"classify", "--budget", budget, "--labels", c.Path, parrot},
					hostile.Only:   {"classify", "--budget", budget, "--only-file", c.Path, parrot},
					hostile.Tensor: {"run", "--model", outputsModel, "--input", "x=" + c.Path, "--output-dir", t.TempDir()},
				}[c.Kind]
				r := runFresh(t, env, args...)
				checkBounds(t, r)
				if r.code != exitFailure {
					t.Errorf("%v: exit %d, want 1", args, r.code)
				}
				checkError(t, c.Name, r.stderr, c.Path, c.Reasons)
				rows = append(rows, rowOf(c.Name, r, firstLine(r.stderr)))
			}
		})
	}
	t.Run("folder", func(t *testing.T) { rows = append(rows, checkHostileFolder(t, cases, corpus, env, budget)) })
	var table strings.Builder
	fmt.Fprintf(&table, "| case | command | outcome | VmHWM MiB | CPU s |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&table, "| %s | %s | %s | %s | %s |\n", r.name, r.command, strings.ReplaceAll(r.outcome, "|", `\|`), r.hwm, r.cpu)
	}
	t.Logf("hostile corpus under --budget %s:\n%s", budget, table.String())
	if p := os.Getenv("WANWU_HOSTILE_REPORT"); p != "" {
		os.WriteFile(p, []byte(table.String()), 0o644)
	}
}

// checkPhoto: one record for the file, classified or failed with its reason; returns the outcome.
func checkPhoto(t *testing.T, c hostile.Case, r procResult) string {
	t.Helper()
	checkBounds(t, r)
	if r.timedOut {
		return "no result"
	}
	var rec record
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &rec); err != nil || rec.File != c.Path {
		t.Errorf("want one record for %s, got %q (%v); stderr %.2000s", c.Path, r.stdout, err, r.stderr)
		return "no record"
	}
	switch {
	case rec.Error == "" && len(rec.Predictions) > 0 && r.code == exitOK:
		if c.MustFail {
			t.Errorf("%s was classified (%+v), but it holds no image that could be", c.Name, rec.Predictions[0])
		}
		return fmt.Sprintf("classified (top-1 %s %.2f)", rec.Predictions[0].LabelEn, rec.Predictions[0].Score)
	case rec.Error != "" && r.code == exitFailure:
		checkError(t, c.Name, rec.Error, c.Path, c.Reasons)
		return strings.TrimPrefix(firstLine(rec.Error), c.Path+": ")
	}
	t.Errorf("%s: exit %d with record %+v", c.Name, r.code, rec)
	return "inconsistent"
}
