//go:build !darwin && !windows

package memory

// osMemory has nothing to add where the budget comes from cgroups and /proc/meminfo (Linux), or where
// the OS offers no figure wanwu reads: --budget is then required.
func osMemory() (int64, string, bool) { return 0, "", false }
