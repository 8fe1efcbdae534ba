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
