//go:build darwin

package memory

import "golang.org/x/sys/unix"

// osMemory is the physical memory from sysctl hw.memsize: macOS has no cgroups and no MemAvailable, and
// what it reports free excludes the file cache it would give back, so the budget starts from the total.
func osMemory() (int64, string, bool) {
	n, err := unix.SysctlUint64("hw.memsize")
	if err != nil || n == 0 {
		return 0, "", false
	}
	return int64(n), "hw.memsize", true
}
