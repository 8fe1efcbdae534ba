//go:build unix

package runtime

import "golang.org/x/sys/unix"

// virtualBytes returns n bytes of read-only anonymous memory that is never written: reading it maps
// the kernel's shared zero page, which is not resident memory of the process. Estimate views it as the
// packed weights it does not compute. free unmaps it.
func virtualBytes(n int) ([]byte, func()) {
	if n == 0 {
		return nil, func() {}
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return make([]byte, n), func() {} // address space exhausted: fall back to (untouched) heap
	}
	return b, func() { unix.Munmap(b) }
}

// arenaBytes maps n zeroed bytes for a Shared's arena outside the Go heap, so that when the arena
// grows the old one is returned to the system at once (free unmaps it) instead of staying resident
// until the collector and the scavenger get to it.
func arenaBytes(n int) ([]byte, func()) {
	if n == 0 {
		return nil, func() {}
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return alignedBytes(n), func() {}
	}
	return b, func() { unix.Munmap(b) }
}
