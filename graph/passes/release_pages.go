//go:build linux

package passes

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// releaseFilePages drops the resident pages of b from this process when b lies inside a file-backed
// mapping (a memory-mapped model file): PruneHead reads scattered rows of a large classifier, and the
// kernel maps up to 64 KiB around every faulting page, so without this a 54k-class head would stay
// mostly resident even though only a few rows are kept. The page cache keeps the data, a later read
// faults it back in, and anonymous memory (the Go heap) is never touched: /proc/self/maps decides.
func releaseFilePages(b []byte) {
	if len(b) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	end := start + uintptr(len(b))
	if !fileBacked(start, end) {
		return
	}
	page := uintptr(os.Getpagesize())
	lo, hi := (start+page-1)&^(page-1), end&^(page-1)
	if hi <= lo {
		return
	}
	unix.Madvise(b[lo-start:hi-start], unix.MADV_DONTNEED)
}

// fileBacked reports whether [start,end) lies inside one mapping of a file (inode != 0).
func fileBacked(start, end uintptr) bool {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		r := strings.SplitN(fields[0], "-", 2)
		lo, err1 := strconv.ParseUint(r[0], 16, 64)
		hi, err2 := strconv.ParseUint(r[1], 16, 64)
		if err1 != nil || err2 != nil || uintptr(lo) > start || uintptr(hi) < end {
			continue
		}
		return fields[4] != "0" && strings.HasPrefix(fields[5], "/")
	}
	return false
}
