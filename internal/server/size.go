package server

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// ParseSize reads a byte count: a plain number, or a number with a unit. KiB/MiB/GiB/TiB and the short
// forms K/M/G/T (as systemd and Docker read them) are powers of 1024; KB/MB/GB/TB are powers of 1000.
// Units are case-insensitive; fractions are allowed ("1.5GiB").
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KiB, MiB, GiB, K, M, G, KB, MB, GB)", s, t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("size %q: not a number followed by a unit", s)
	}
	b := v * mult
	if v < 0 || b >= math.MaxInt64 || math.IsNaN(b) {
		return 0, fmt.Errorf("size %q: out of range", s)
	}
	return int64(b), nil
}

// FormatSize prints n in the largest binary unit that keeps it at least 1 (for logs and errors).
func FormatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	u := 0
	for u < len(units)-1 && math.Abs(f) >= 1024 {
		f /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[u])
}

// DefaultBudget is the memory the server may use when --budget is not given: the smaller of the cgroup
// limit (v2 memory.max, v1 memory.limit_in_bytes) and MemAvailable, less a 10% safety margin, so that the
// kernel, page cache and Go's heap slack have room. The second result says where the figure came from.
func DefaultBudget() (int64, string) {
	limit, src := int64(0), ""
	readInt := func(path string) int64 {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || v <= 0 || v > 1<<50 { // "max" or v1's 'unlimited' (~2^63)
			return 0
		}
		return v
	}
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if v := readInt(p); v > 0 {
			limit, src = v, p
			break
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "MemAvailable:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && (limit == 0 || kb*1024 < limit) {
					limit, src = kb*1024, "/proc/meminfo MemAvailable"
				}
			}
		}
	}
	if limit == 0 {
		return 1 << 30, "fallback (no cgroup limit or /proc/meminfo)"
	}
	return limit - limit/10, src + " less 10%"
}
