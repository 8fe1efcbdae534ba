//go:build !linux

package ops

import "time"

// cpuTime is unavailable here; benchmarks then report 0 for CPU-time figures.
func cpuTime() time.Duration { return 0 }
