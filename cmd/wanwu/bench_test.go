package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	fbtflite "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tools/tflitegen"
)

const tinyMobileNet = "../../testdata/models/mobilenet_v2_tiny/model.onnx"

func benchCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = NewMain(&out, &errb).Run(context.Background(), append([]string{"bench"}, args...))
	return out.String(), errb.String(), code
}

func TestBenchJSONContract(t *testing.T) {
	procs := goruntime.GOMAXPROCS(0)
	out, stderr, code := benchCLI(t, "--model", tinyMobileNet, "--size", "72", "--batch", "2", "--threads", "1",
		"--iters", "3", "--warmup", "1", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := goruntime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS is %d after `bench --threads 1`, was %d: not restored", got, procs)
	}
	// Exactly the contract's keys, each with its JSON type.
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("bad json %q: %v", out, err)
	}
	want := map[string]string{"model": "string", "size": "int", "batch": "int", "threads": "int",
		"precision": "string", "min_ms": "float", "median_ms": "float", "p90_ms": "float", "max_ms": "float",
		"images_per_s": "float", "peak_rss_bytes": "int", "arena_bytes": "int", "weight_bytes": "int",
		"predicted_peak_bytes": "int"}
	for k, typ := range want {
		v, ok := raw[k]
		if !ok {
			t.Errorf("missing key %q in %s", k, out)
			continue
		}
		switch typ {
		case "string":
			if _, ok := v.(string); !ok {
				t.Errorf("%s = %v, want a string", k, v)
			}
		case "int", "float":
			n, ok := v.(float64)
			if !ok || (typ == "int" && n != math.Trunc(n)) {
				t.Errorf("%s = %v, want %s", k, v, typ)
			}
		}
	}
	for k := range raw {
		if _, ok := want[k]; !ok {
			t.Errorf("key %q is not in the contract", k)
		}
	}

	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Model != "mobilenet_v2_tiny" || r.Size != 72 || r.Batch != 2 || r.Threads != 1 || r.Precision != "fp32" {
		t.Errorf("config fields: %+v", r)
	}
	if !(0 < r.MinMS && r.MinMS <= r.MedianMS && r.MedianMS <= r.P90MS && r.P90MS <= r.MaxMS) {
		t.Errorf("latencies out of order: min %v median %v p90 %v max %v", r.MinMS, r.MedianMS, r.P90MS, r.MaxMS)
	}
	if want := 2 * 1000 / r.MedianMS; math.Abs(r.ImagesPerS-want) > 1e-9*want {
		t.Errorf("images_per_s = %v, want batch*1000/median = %v", r.ImagesPerS, want)
	}

	// Arena and weights must be what the planner says for the same input shape, independently planned.
	g, _, err := wanwu.ImportGraph(tinyMobileNet)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	st, err := runtime.Estimate(g, runtime.Options{Threads: 1,
		InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {2, 3, 72, 72}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.ArenaBytes != int64(st.ArenaBytes) || r.WeightBytes != int64(st.WeightBytes) {
		t.Errorf("arena %d weights %d, planner says %d and %d", r.ArenaBytes, r.WeightBytes, st.ArenaBytes, st.WeightBytes)
	}
	// The arena is allocated and written by every run, so the process's peak RSS holds it.
	if r.PeakRSSBytes < r.ArenaBytes || r.ArenaBytes <= 0 {
		t.Errorf("peak RSS %d < arena %d", r.PeakRSSBytes, r.ArenaBytes)
	}
}

func TestBenchTextLine(t *testing.T) {
	out, stderr, code := benchCLI(t, "--model", tinyMobileNet, "--size", "64", "--iters", "2", "--warmup", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "model") || !strings.Contains(lines[0], "median") {
		t.Fatalf("want a header and one row, got %q", out)
	}
	f := strings.Fields(lines[1])
	if len(f) != 12 || f[0] != "mobilenet_v2_tiny" || f[1] != "64" || f[2] != "1" || f[4] != "fp32" {
		t.Fatalf("row %q: want name size batch threads precision min median p90 max img/s rss arena", lines[1])
	}

	out, _, code = benchCLI(t, "--model", tinyMobileNet, "--size", "64", "--iters", "1", "--warmup", "0", "--no-header")
	if code != 0 || strings.Count(out, "\n") != 1 || strings.HasPrefix(out, "model") {
		t.Fatalf("--no-header: exit %d, %q", code, out)
	}
}

func TestBenchQuantizedTFLite(t *testing.T) {
	model := testutil.Shared(t, "models", "mobilenet_v1_0.25_128_quant.tflite")
	out, stderr, code := benchCLI(t, "--model", model, "--iters", "1", "--warmup", "0", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	// A fixed 128x128 NHWC uint8 input: the size comes from the model, not the 224 default.
	if r.Model != "mobilenet_v1_0.25_128_quant" || r.Size != 128 || r.Precision != "uint8" {
		t.Errorf("%+v", r)
	}

	// The size is fixed, so another size or a batch is the model's refusal (exit 1), naming the input.
	for _, args := range [][]string{{"--size", "160"}, {"--batch", "2"}} {
		_, stderr, code := benchCLI(t, append([]string{"--model", model, "--iters", "1"}, args...)...)
		if code != exitFailure || !strings.Contains(stderr, "not possible") || !strings.Contains(stderr, filepath.Base(model)) {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func TestBenchUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--model", tinyMobileNet, "--format", "xml"},
		{"--model", tinyMobileNet, "--batch", "0"},
		{"--model", tinyMobileNet, "--iters", "0"},
		{"--model", tinyMobileNet, "--warmup", "-1"},
		{"--model", tinyMobileNet, "--threads", "-1"},
		{"--model", tinyMobileNet, "--size", "-5"},
		{"--model", tinyMobileNet, "--size", "big"},
		{"--model", tinyMobileNet, "--min-time", "-1s"},
		{"--model", tinyMobileNet, "--no-such-flag"},
		{"--model", tinyMobileNet, "extra-arg"},
	} {
		_, stderr, code := benchCLI(t, args...)
		if code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
	}
	_, stderr, code := benchCLI(t, "--model", filepath.Join(t.TempDir(), "nope.onnx"))
	if code != exitFailure || !strings.Contains(stderr, "nope.onnx") {
		t.Errorf("missing model: exit %d, stderr %q", code, stderr)
	}
}

// naivePercentile is the textbook nearest-rank definition: the smallest sample x such that at least
// p % of the samples are <= x.
func naivePercentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	for _, x := range s {
		n := 0
		for _, y := range s {
			if y <= x {
				n++
			}
		}
		if float64(n) >= p/100*float64(len(s)) {
			return x
		}
	}
	return s[len(s)-1]
}

func TestLatencyStats(t *testing.T) {
	for _, xs := range [][]float64{
		{5},
		{3, 1},
		{9, 2, 7},
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		{10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 11},
		{4, 4, 4, 1, 100, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 50},
	} {
		lo, med, p90, hi := latencyStats(xs)
		s := slices.Clone(xs)
		slices.Sort(s)
		wantMed := s[len(s)/2]
		if len(s)%2 == 0 {
			wantMed = (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
		if lo != slices.Min(xs) || hi != slices.Max(xs) || med != wantMed || p90 != naivePercentile(xs, 90) {
			t.Errorf("%v: got %v %v %v %v, want %v %v %v %v", xs, lo, med, p90, hi,
				slices.Min(xs), wantMed, naivePercentile(xs, 90), slices.Max(xs))
		}
	}
}

func TestBenchShape(t *testing.T) {
	for _, tc := range []struct {
		in                  tensor.Shape
		explicit, size, bat int
		want                tensor.Shape
		err                 bool
		nhwc                bool
	}{
		{tensor.Shape{-1, 3, -1, -1}, 0, 224, 1, tensor.Shape{1, 3, 224, 224}, false, false},
		{tensor.Shape{-1, 3, -1, -1}, 160, 160, 8, tensor.Shape{8, 3, 160, 160}, false, false},
		{tensor.Shape{1, 3, 224, 224}, 0, 224, 1, tensor.Shape{1, 3, 224, 224}, false, false},
		{tensor.Shape{1, 224, 224, 3}, 224, 224, 1, tensor.Shape{1, 224, 224, 3}, false, false},
		{tensor.Shape{1, 224, 224, 3}, 160, 160, 1, nil, true, false},
		{tensor.Shape{1, 3, 224, 224}, 0, 224, 2, nil, true, false},
		{tensor.Shape{-1, 3, 224, 224}, 0, 224, 4, tensor.Shape{4, 3, 224, 224}, false, false},
		{tensor.Shape{-1, 10}, 0, 224, 3, tensor.Shape{3, 10}, false, false},
		// NHWC with 4 channels (RGBA, MediaPipe's segmenters), fixed or dynamic; 1 channel.
		{tensor.Shape{1, 256, 256, 4}, 256, 256, 1, tensor.Shape{1, 256, 256, 4}, false, false},
		{tensor.Shape{1, 256, 256, 4}, 160, 160, 1, nil, true, false},
		{tensor.Shape{-1, -1, -1, 4}, 160, 160, 2, tensor.Shape{2, 160, 160, 4}, false, true},
		{tensor.Shape{1, 96, 96, 1}, 96, 96, 1, tensor.Shape{1, 96, 96, 1}, false, true},
		{tensor.Shape{-1, 4, -1, -1}, 64, 64, 1, tensor.Shape{1, 4, 64, 64}, false, false},
		// A TFLite model says NHWC even where the shape alone would not (4 rows of 4 pixels).
		{tensor.Shape{1, 4, 8, 4}, 4, 4, 1, nil, true, true},
		{tensor.Shape{1, 4, 4, 4}, 4, 4, 1, tensor.Shape{1, 4, 4, 4}, false, true},
	} {
		got, err := benchShape(&graph.Value{Name: "x", Shape: tc.in}, tc.explicit, tc.size, tc.bat, tc.nhwc)
		if (err != nil) != tc.err || !tc.err && !got.Equal(tc.want) {
			t.Errorf("%v size %d/%d batch %d: got %v, %v; want %v (error %v)", tc.in, tc.explicit, tc.size, tc.bat,
				got, err, tc.want, tc.err)
		}
	}
}

func TestBenchMaxTimeStopsEarly(t *testing.T) {
	// A million runs of even the tiny model would take minutes; --max-time must cut them short.
	start := time.Now()
	out, stderr, code := benchCLI(t, "--model", tinyMobileNet, "--size", "32", "--warmup", "0", "--iters", "1000000",
		"--max-time", "100ms", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("--max-time 100ms took %v", d)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.MedianMS <= 0 {
		t.Fatalf("%q: %v", out, err)
	}
}

// --budget benches what classify would run under it: the planner's precision and size; --precision
// converts a float model's weights.
func TestBenchBudgetAndPrecision(t *testing.T) {
	model := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "resnet50_tiny", "model.onnx")
	out, stderr, code := runCLI(t, "bench", "--model", model, "--precision", "int8", "--iters", "1", "--warmup", "0", "--format", "json")
	if code != 0 || !strings.Contains(out, `"precision":"int8"`) {
		t.Fatalf("--precision int8: exit %d, %s %s", code, out, stderr)
	}
	plan, err := wanwu.PlanConfigs(context.Background(), model, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	// A budget just below every fp32 and fp16 candidate leaves only int8 ones.
	budget := int64(math.MaxInt64)
	for _, c := range plan.Candidates {
		if c.Precision != "int8" {
			budget = min(budget, c.PredictedPeakBytes-1)
		}
	}
	fits := false
	for _, c := range plan.Candidates {
		fits = fits || c.Precision == "int8" && c.PredictedPeakBytes <= budget
	}
	if !fits {
		t.Fatalf("no int8 candidate is smaller than every fp32/fp16 one: %+v", plan.Candidates)
	}
	out, stderr, code = runCLI(t, "bench", "--model", model, "--budget", fmt.Sprint(budget), "--iters", "1", "--warmup", "0", "--format", "json")
	if code != 0 || !strings.Contains(out, `"precision":"int8"`) {
		t.Fatalf("--budget %d: exit %d, %s %s", budget, code, out, stderr)
	}
	if _, _, code = runCLI(t, "bench", "--model", model, "--budget", "1KiB", "--iters", "1"); code != exitFailure {
		t.Fatalf("a budget nothing fits: exit %d, want 1", code)
	}
	if _, _, code = runCLI(t, "bench", "--model", model, "--precision", "auto"); code != exitUsage {
		t.Fatalf("--precision auto without --budget: exit %d, want 2", code)
	}
}

// TestBenchNHWCFourChannels: `bench --size` on a TFLite model with an NHWC RGBA input (MediaPipe's
// segmenters take [1,256,256,4]) runs at the model's own size and refuses another one.
func TestBenchNHWCFourChannels(t *testing.T) {
	m := &tflitegen.Model{}
	x := m.Act("rgba", 1, 32, 32, 4)
	r := rand.New(rand.NewPCG(3, 4))
	w := make([]float32, 2*3*3*4)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	y := m.Act("mask", 1, 32, 32, 2)
	m.AddOp(fbtflite.BuiltinOperatorCONV_2D, tflitegen.Conv2D{Padding: fbtflite.PaddingSAME, StrideH: 1, StrideW: 1},
		[]int32{x, m.ConstF32("w", []int32{2, 3, 3, 4}, w), -1}, y)
	m.Inputs, m.Outputs = []int32{x}, []int32{y}
	path := filepath.Join(t.TempDir(), "rgba.tflite")
	if err := os.WriteFile(path, m.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := benchCLI(t, "--model", path, "--size", "32", "--iters", "2", "--warmup", "0", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct{ Size int }
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Size != 32 {
		t.Fatalf("size %d (%v) in %s, want 32", res.Size, err, out)
	}
	if _, stderr, code := benchCLI(t, "--model", path, "--size", "48", "--iters", "1", "--warmup", "0"); code == 0 || !strings.Contains(stderr, "--size 48 is not possible") {
		t.Errorf("--size 48 on a fixed 32x32 RGBA model: exit %d, %s", code, stderr)
	}
}
