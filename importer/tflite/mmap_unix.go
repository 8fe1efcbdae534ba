//go:build unix

package tflite

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mapped is a read-only mapping of a model file: Graph.Backing of a loaded model.
type mapped struct{ data []byte }

// mapFile maps path read-only instead of reading it onto the Go heap: the flatbuffer walk touches only
// the tables, weights are copied out where the layout changes (OHWI -> OIHW) and viewed elsewhere, so
// the file's pages need not all be resident, let alone twice.
func mapFile(path string) (*mapped, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size == 0 || size != int64(int(size)) {
		return nil, fmt.Errorf("%s: cannot map a file of %d bytes", path, size)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	return &mapped{data: data}, nil
}

// Close unmaps the file; constants viewing it must not be used afterwards.
func (m *mapped) Close() error {
	if m.data == nil {
		return nil
	}
	err := unix.Munmap(m.data)
	m.data = nil
	return err
}

// ReleaseRange implements graph.RangeReleaser: madvise(MADV_DONTNEED) on the pages of p (a view of
// the mapping). The data stays valid and is read back from the page cache if touched again.
func (m *mapped) ReleaseRange(p []byte) {
	if len(p) == 0 || m.data == nil {
		return
	}
	base, lo := uintptrOf(m.data), uintptrOf(p)
	hi := lo + uintptr(len(p))
	if lo < base || hi > base+uintptr(len(m.data)) {
		return
	}
	page := uintptr(os.Getpagesize())
	s := (lo - base) &^ (page - 1)
	e := min((hi-base+page-1)&^(page-1), uintptr(len(m.data)))
	_ = unix.Madvise(m.data[s:e], unix.MADV_DONTNEED)
}
