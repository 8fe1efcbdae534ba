//go:build unix

package onnx

import "github.com/wanwu-ai/wanwu/internal/mmap"

// faultAround is Linux's default fault_around_bytes: a read fault on a file mapping maps the cached
// pages of the aligned window around it.
const faultAround = 64 << 10

// ReleaseRange implements graph.RangeReleaser: it drops the resident pages of p (which must view one of
// the mapped regions) in whole fault-around windows: reading a few bytes maps up to faultAround bytes
// around them, so releasing only p's own pages would leave the neighbours resident (tens of KiB per
// small constant read, 10 MiB over ResNeSt-101's). A window may hold other tensors' bytes, which is
// harmless: they are re-read on demand. (Without mapping, on other systems, there is nothing to
// release, and backing does not implement graph.RangeReleaser.)
func (b *backing) ReleaseRange(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.regions {
		mmap.Release(r, p, faultAround) // a region p does not lie in is left alone
	}
}
