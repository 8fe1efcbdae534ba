package ops

import (
	"syscall"
	"time"
)

// cpuTime is this process's CPU time (user + system), so benchmarks on a shared machine can take the
// minimum CPU time per run rather than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
