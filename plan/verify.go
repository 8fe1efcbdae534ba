package plan

import (
	"fmt"
	"slices"
)

// Verify proves a plan safe for its buffers: every offset is Align-aligned, every buffer fits in the
// arena, and no two buffers whose lifetimes overlap share a byte. It sweeps buffers by First, keeping the
// set still alive, so it costs O(n · live) rather than O(n²).
func Verify(bufs []Buffer, p Plan) error {
	if len(p.Offsets) != len(bufs) {
		return fmt.Errorf("plan: %d offsets for %d buffers", len(p.Offsets), len(bufs))
	}
	if p.ArenaSize < 0 || p.ArenaSize%Align != 0 {
		return fmt.Errorf("plan: arena size %d is not a non-negative multiple of %d", p.ArenaSize, Align)
	}
	for i, b := range bufs {
		if b.Size < 0 || b.First < 0 || b.Last < b.First {
			return fmt.Errorf("plan: buffer %d is malformed: %+v", i, b)
		}
		off := p.Offsets[i]
		if off < 0 || off%Align != 0 {
			return fmt.Errorf("plan: buffer %d offset %d is not a non-negative multiple of %d", i, off, Align)
		}
		if off+b.Size > p.ArenaSize {
			return fmt.Errorf("plan: buffer %d [%d,%d) ends past the arena (%d bytes)", i, off, off+b.Size, p.ArenaSize)
		}
	}
	order := make([]int, 0, len(bufs))
	for i, b := range bufs {
		if b.Size > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return bufs[a].First - bufs[b].First })
	var live []int
	for _, i := range order {
		b := bufs[i]
		// Drop buffers that died before b starts.
		k := 0
		for _, j := range live {
			if bufs[j].Last >= b.First {
				live[k] = j
				k++
			}
		}
		live = live[:k]
		lo, hi := p.Offsets[i], p.Offsets[i]+b.Size
		for _, j := range live {
			jlo, jhi := p.Offsets[j], p.Offsets[j]+bufs[j].Size
			if lo < jhi && jlo < hi {
				return fmt.Errorf("plan: buffers %d (steps %d-%d, bytes [%d,%d)) and %d (steps %d-%d, bytes [%d,%d)) are live together and overlap",
					j, bufs[j].First, bufs[j].Last, jlo, jhi, i, b.First, b.Last, lo, hi)
			}
		}
		live = append(live, i)
	}
	return nil
}
