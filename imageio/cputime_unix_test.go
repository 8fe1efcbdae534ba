//go:build unix

package imageio

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time (wall time means little on a shared machine).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
