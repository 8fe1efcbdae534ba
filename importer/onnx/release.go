//go:build unix

package onnx

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

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
		// Whole pages covering p (the region starts on a page boundary); a shared edge page may hold
		// another tensor's bytes, which is harmless: they are re-read on demand.
		s := (lo - base) &^ (page - 1)
		e := min((hi-base+page-1)&^(page-1), uintptr(len(r)))
		_ = unix.Madvise(r[s:e], unix.MADV_DONTNEED)
		return
	}
}
