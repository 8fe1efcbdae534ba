//go:build !linux

package q8

import "time"

// bestRate is the wall-clock form of cputime_test.go's (no thread CPU clock here).
func bestRate(chunks, reps int, ops float64, f func()) float64 {
	best := time.Duration(1 << 62)
	for c := 0; c < chunks; c++ {
		t0 := time.Now()
		for i := 0; i < reps; i++ {
			f()
		}
		best = min(best, time.Since(t0))
	}
	return ops * float64(reps) / best.Seconds()
}
