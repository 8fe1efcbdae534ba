package memory

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Budget is how much memory the process may use, and where that figure came from.
type Budget struct {
	Bytes  int64
	Source string // "--budget", "cgroup v2 memory.max", "cgroup v1 memory.limit_in_bytes", "MemAvailable"
}

// SafetyMargin is held back from a detected budget: the page cache, other processes and the kernel need
// some headroom, and the prediction is only good to about 10%. A cgroup limit keeps 1/16 of the limit
// (at least 8 MiB); MemAvailable keeps 1/8 (at least 64 MiB), since other processes share it.
func SafetyMargin(bytes int64, fromCgroup bool) int64 {
	if fromCgroup {
		return max(bytes/16, 8<<20)
	}
	return max(bytes/8, 64<<20)
}

// DetectBudget reads the memory available to this process: the cgroup v2 memory.max of its cgroup, else
// the cgroup v1 memory.limit_in_bytes, else /proc/meminfo MemAvailable — whichever is smaller when
// both a limit and MemAvailable are known — minus SafetyMargin. Where none exists (macOS, Windows) the
// OS tells: the physical memory (sysctl hw.memsize) on macOS, the available physical memory
// (GlobalMemoryStatusEx) on Windows, less the MemAvailable margin.
func DetectBudget() (Budget, error) { return detect("/", osMemory) }

// detect is DetectBudget with the file-system root and the OS's figure (osMemory) as parameters, for tests.
func detect(root string, system func() (int64, string, bool)) (Budget, error) {
	var best Budget
	if lim, src, ok := cgroupLimit(root); ok {
		best = Budget{Bytes: lim - SafetyMargin(lim, true), Source: src}
	}
	if avail, ok := memAvailable(root); ok {
		b := avail - SafetyMargin(avail, false)
		if best.Source == "" || b < best.Bytes {
			best = Budget{Bytes: b, Source: "MemAvailable"}
		}
	}
	if best.Source == "" {
		if n, src, ok := system(); ok {
			best = Budget{Bytes: n - SafetyMargin(n, false), Source: src}
		}
	}
	if best.Source == "" {
		return Budget{}, fmt.Errorf("memory: cannot read a memory budget (no cgroup limit, no /proc/meminfo, no OS figure); give one with --budget")
	}
	if best.Bytes <= 0 {
		best.Bytes = 0
	}
	return best, nil
}

// cgroupLimit finds the limit of the cgroup this process is in (from /proc/self/cgroup), looking at the
// cgroup's own directory and, where the namespace hides the path, at the mount root.
func cgroupLimit(root string) (int64, string, bool) {
	rel := map[string]string{} // controller list -> path
	if f, err := os.Open(filepath.Join(root, "proc/self/cgroup")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.SplitN(sc.Text(), ":", 3)
			if len(parts) == 3 {
				rel[parts[1]] = parts[2]
			}
		}
		f.Close()
	}
	// v2: the unified hierarchy ("0::/path").
	for _, dir := range candidates(root, "sys/fs/cgroup", rel[""]) {
		if b, err := os.ReadFile(filepath.Join(dir, "memory.max")); err == nil {
			s := strings.TrimSpace(string(b))
			if s == "max" {
				return 0, "", false
			}
			if v, err := strconv.ParseInt(s, 10, 64); err == nil && v > 0 {
				return v, "cgroup v2 memory.max", true
			}
		}
	}
	// v1: the memory controller's hierarchy.
	var p string
	for k, v := range rel {
		for _, c := range strings.Split(k, ",") {
			if c == "memory" {
				p = v
			}
		}
	}
	for _, dir := range candidates(root, "sys/fs/cgroup/memory", p) {
		if b, err := os.ReadFile(filepath.Join(dir, "memory.limit_in_bytes")); err == nil {
			v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			// "No limit" is a huge page-aligned number (0x7FFFFFFFFFFFF000).
			if err == nil && v > 0 && v < 1<<60 {
				return v, "cgroup v1 memory.limit_in_bytes", true
			}
		}
	}
	return 0, "", false
}

func candidates(root, mount, rel string) []string {
	base := filepath.Join(root, mount)
	if rel == "" || rel == "/" {
		return []string{base}
	}
	return []string{filepath.Join(base, rel), base}
}

func memAvailable(root string) (int64, bool) {
	f, err := os.Open(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			v, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, false
			}
			return v << 10, true // kB
		}
	}
	return 0, false
}
