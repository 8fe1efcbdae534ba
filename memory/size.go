// Package memory predicts a classifier process's peak resident memory for a configuration (precision,
// input size, batch, threads, label subset), reads the memory budget of the machine or container, and
// picks the most accurate configuration that fits.
package memory

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// ParseSize reads a byte count: a plain number of bytes, or a number with a unit. Binary units
// (KiB, MiB, GiB, TiB) and the single letters K, M, G, T (as in GOMEMLIMIT and docker --memory) are
// powers of 1024; KB, MB, GB, TB are powers of 1000. Units are case-insensitive; "B" is allowed.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(unicode.IsDigit(r) || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	if num == "" {
		return 0, fmt.Errorf("memory size %q: no number", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("memory size %q: %w", s, err)
	}
	mult, ok := units[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("memory size %q: unknown unit %q (use B, KiB, MiB, GiB, TiB, K, M, G, T, KB, MB, GB, TB)", s, unit)
	}
	b := v * float64(mult)
	if b > math.MaxInt64/2 || math.IsInf(b, 0) {
		return 0, fmt.Errorf("memory size %q: too large", s)
	}
	return int64(math.Round(b)), nil
}

var units = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// FormatSize renders bytes in MiB (GiB from 10 GiB up) with one decimal: "97.4 MiB".
func FormatSize(n int64) string {
	switch {
	case n >= 10<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20 || n <= -1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
}
