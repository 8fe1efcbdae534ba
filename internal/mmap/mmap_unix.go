//go:build unix

package mmap

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Map maps path read-only. Pages are loaded lazily by the kernel and shared with the page cache, so
// bytes that are never touched cost no resident memory. An empty file gives an empty slice.
func Map(path string) ([]byte, error) {
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
	if size == 0 {
		return []byte{}, nil
	}
	if size != int64(int(size)) || int(size) < 0 {
		return nil, fmt.Errorf("%s: file too large to map (%d bytes)", path, size)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	return data, nil
}

// Unmap releases a mapping made by Map; data viewing it must not be used afterwards.
func Unmap(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	return unix.Munmap(data)
}

// Release drops the resident pages of p, which must lie inside region, a mapping made by Map (other
// slices are ignored), with madvise(MADV_DONTNEED). It releases whole windows of window bytes (a
// power of two; at least a page) aligned from region's start: on Linux a read fault maps the cached
// pages of the 64 KiB window around it (fault_around_bytes), so releasing only p's own pages can leave
// its neighbours resident. The mapping is read-only and file-backed, so the data is unchanged: touching
// it again reads the pages back from the page cache or the file.
func Release(region, p []byte, window int) {
	win := uintptr(max(window, os.Getpagesize()))
	if s, e, ok := span(region, p, win); ok {
		_ = unix.Madvise(region[s:e], unix.MADV_DONTNEED)
	}
}

// Zeros maps n bytes of read-only anonymous memory: reading it maps the kernel's shared zero page,
// which is not resident memory of the process. Unmap releases it.
func Zeros(n int) ([]byte, error) {
	if n <= 0 {
		return []byte{}, nil
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mmap %d zero bytes: %w", n, err)
	}
	return b, nil
}
