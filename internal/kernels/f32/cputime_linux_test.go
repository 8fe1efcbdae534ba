package f32

import (
	"syscall"
	"time"
)

// threadCPU is the calling OS thread's CPU time, so benchmarks on a shared machine can report
// throughput per CPU-second rather than per wall-second.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
