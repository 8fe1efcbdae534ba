package memory

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/runtime"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"512MiB", 512 << 20, false},
		{"1GiB", 1 << 30, false},
		{"300M", 300 << 20, false},
		{"300MB", 300_000_000, false},
		{"1.5g", 3 << 29, false},
		{" 64 kib ", 64 << 10, false},
		{"123456", 123456, false},
		{"10B", 10, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"12 parsecs", 0, true},
		{"1e99G", 0, true},
		{"1.2.3M", 0, true},
	} {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	root := t.TempDir()
	for p, s := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDetectBudget(t *testing.T) {
	meminfo := "MemTotal:       24683428 kB\nMemFree:        1000000 kB\nMemAvailable:    8388608 kB\n"
	avail := int64(8388608) << 10
	for _, tc := range []struct {
		name   string
		files  map[string]string
		want   int64
		source string
	}{
		{"v2", map[string]string{"proc/self/cgroup": "0::/user.slice/app\n",
			"sys/fs/cgroup/user.slice/app/memory.max": "536870912\n", "proc/meminfo": meminfo},
			512<<20 - 32<<20, "cgroup v2 memory.max"},
		{"v2_unlimited", map[string]string{"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.max": "max\n",
			"proc/meminfo": meminfo}, avail - avail/8, "MemAvailable"},
		{"v2_namespaced", map[string]string{"proc/self/cgroup": "0::/hidden\n", "sys/fs/cgroup/memory.max": "268435456\n",
			"proc/meminfo": meminfo}, 256<<20 - 16<<20, "cgroup v2 memory.max"},
		{"v1", map[string]string{"proc/self/cgroup": "4:memory:/docker/abc\n0::/\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "134217728\n", "proc/meminfo": meminfo},
			128<<20 - 8<<20, "cgroup v1 memory.limit_in_bytes"},
		{"v1_unlimited", map[string]string{"proc/self/cgroup": "4:memory:/\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n", "proc/meminfo": meminfo},
			avail - avail/8, "MemAvailable"},
		{"limit_above_available", map[string]string{"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.max": "68719476736\n",
			"proc/meminfo": meminfo}, avail - avail/8, "MemAvailable"},
		{"small_meminfo", map[string]string{"proc/meminfo": "MemAvailable: 102400 kB\n"}, 100<<20 - 64<<20, "MemAvailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := detect(writeFiles(t, tc.files), noOSMemory)
			if err != nil {
				t.Fatal(err)
			}
			if b.Bytes != tc.want || b.Source != tc.source {
				t.Errorf("got %d from %s, want %d from %s", b.Bytes, b.Source, tc.want, tc.source)
			}
		})
	}
	if _, err := detect(t.TempDir(), noOSMemory); err == nil || !strings.Contains(err.Error(), "--budget") {
		t.Errorf("no sources: error %v, want one suggesting --budget", err)
	}
	// On this machine something must be readable.
	if b, err := DetectBudget(); err != nil || b.Bytes <= 0 {
		t.Errorf("DetectBudget() = %+v, %v", b, err)
	}
}

func TestPredictSumsParts(t *testing.T) {
	fp := runtime.Footprint{ConstBytes: 60 << 20, MappedBytes: 50 << 20, PackedBytes: 40 << 20, ArenaBytes: 10 << 20, Programs: 1, Steps: 50, Threads: 2}
	b := Predict(fp, DecodeBytes(1000, 1000, 300_000))
	if b.Weights != 60<<20 || b.Packed != 40<<20 || b.Arena != 10<<20 || b.Decode != 7_300_000 || b.Mapped != 50<<20 || b.OffHeap() != 60<<20+BinaryBytes {
		t.Fatalf("breakdown %+v", b)
	}
	held := b.Weights + b.Packed + b.Arena + b.Decode
	if b.Runtime != RuntimeBaseBytes+50*StepBytes+held*HeapSlackPercent/100 || b.Total() != held+b.Runtime {
		t.Fatalf("breakdown %+v", b)
	}
}

// The process part grows with the worker pool past the calibrated thread count and with every
// program beyond the first, by the per-step cost of one program.
func TestRuntimeBytes(t *testing.T) {
	for _, tc := range []struct {
		fp   runtime.Footprint
		want int64
	}{
		{runtime.Footprint{Programs: 1, Steps: 100, Threads: 1}, RuntimeBaseBytes + 100*StepBytes},
		{runtime.Footprint{Programs: 1, Steps: 100, Threads: BaseThreads}, RuntimeBaseBytes + 100*StepBytes},
		{runtime.Footprint{Programs: 1, Steps: 100, Threads: 8}, RuntimeBaseBytes + 100*StepBytes + 6*WorkerBytes},
		{runtime.Footprint{Programs: 4, Steps: 400, Threads: 2}, RuntimeBaseBytes + 100*StepBytes + 300*ProgramBytesPerStep},
		{runtime.Footprint{Programs: 8, Steps: 800, Threads: 16}, RuntimeBaseBytes + 100*StepBytes + 14*WorkerBytes + 700*ProgramBytesPerStep},
	} {
		if got := RuntimeBytes(tc.fp); got != tc.want {
			t.Errorf("RuntimeBytes(%+v) = %d, want %d", tc.fp, got, tc.want)
		}
	}
}

func TestChoose(t *testing.T) {
	mk := func(p string, size int, peak int64) Config {
		return Config{Precision: p, Size: size, Batch: 1, Threads: 2, Labels: 1000, PredictedPeakBytes: peak}
	}
	cands := []Config{mk("int8", 224, 60), mk("fp32", 160, 180), mk("fp16", 224, 110), mk("fp32", 224, 200), mk("int8", 128, 50)}
	for _, tc := range []struct {
		budget int64
		want   string // precision/size of the choice, "" for none
	}{
		{1000, "fp32/224"}, {199, "fp32/160"}, {150, "fp16/224"}, {100, "int8/224"}, {55, "int8/128"}, {49, ""},
	} {
		p := Choose("m", append([]Config(nil), cands...), tc.budget)
		got := ""
		if p.Chosen != nil {
			got = p.Chosen.Precision + "/" + itoa(p.Chosen.Size)
		}
		if got != tc.want {
			t.Errorf("budget %d: chose %q, want %q", tc.budget, got, tc.want)
		}
		order := []string{}
		for _, c := range p.Candidates {
			order = append(order, c.Precision+"/"+itoa(c.Size))
			if c.Fits != (c.PredictedPeakBytes <= tc.budget) {
				t.Errorf("budget %d: %v fits=%v", tc.budget, c, c.Fits)
			}
		}
		if s := strings.Join(order, " "); s != "fp32/224 fp32/160 fp16/224 int8/224 int8/128" {
			t.Errorf("quality order %s", s)
		}
		if tc.want == "" {
			err := &NoFitError{Model: "m", Budget: Budget{Bytes: tc.budget, Source: "--budget"}, Smallest: p.Smallest()}
			if !strings.Contains(err.Error(), "int8 128x128") {
				t.Errorf("no-fit error %q does not name the smallest configuration", err)
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// HeapLimit leaves the prediction's headroom above everything the program holds on the Go heap, so the
// collector is never asked to keep the heap under its live size.
func TestHeapLimit(t *testing.T) {
	for _, b := range []Breakdown{
		{Weights: 150 << 20, Arena: 10 << 20, Decode: 1 << 20, Runtime: RuntimeBaseBytes}, // int8: weights on the heap
		{Weights: 8 << 20, Packed: 91 << 20, Arena: 7 << 20, Decode: 1 << 20},
		{},
	} {
		held := b.Weights + b.Packed + b.Decode // the arena is mapped apart from the Go heap
		lim := HeapLimit(b)
		if lim < held+held/10+HeapMarginBytes || lim > held+held/4+HeapMarginBytes {
			t.Errorf("HeapLimit(%s) = %s; holds %s", b, FormatSize(lim), FormatSize(held))
		}
	}
}
