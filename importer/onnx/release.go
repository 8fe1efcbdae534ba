//go:build unix

package onnx

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// faultAround is Linux's default fault_around_bytes: a read fault on a file mapping maps the cached
// pages of the aligned window around it.
const faultAround = 64 << 10

// ReleaseRange implements graph.RangeReleaser: it drops the resident pages of b (which must view one of
// the mapped regions) with madvise(MADV_DONTNEED). The mappings are read-only and file-backed, so the
// data is unchanged: touching it again reads the pages back from the page cache or the file.
func (b *backing) ReleaseRange(p []byte) {
	if len(p) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	page := uintptr(os.Getpagesize())
	lo := uintptr(unsafe.Pointer(&p[0]))
	hi := lo + uintptr(len(p))
	for _, r := range b.regions {
		if len(r) == 0 {
			continue
		}
		base := uintptr(unsafe.Pointer(&r[0]))
		if lo < base || hi > base+uintptr(len(r)) {
			continue
		}
		// Whole fault-around windows covering p (the region starts on a page boundary): reading a few
		// bytes maps up to faultAround bytes around them, so releasing only p's own pages would leave
		// the neighbours resident (tens of KiB per small constant read, 10 MiB over ResNeSt-101's). A
		// window may hold other tensors' bytes, which is harmless: they are re-read on demand.
		win := max(page, faultAround)
		s := (lo - base) &^ (win - 1)
		e := min((hi-base+win-1)&^(win-1), uintptr(len(r)))
		_ = unix.Madvise(r[s:e], unix.MADV_DONTNEED)
		return
	}
}
