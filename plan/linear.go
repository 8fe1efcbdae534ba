package plan

// Linear gives every buffer its own bytes, one after another in input order: no reuse at all.
// It is the baseline that shows what Greedy saves, and a fallback that is trivially correct.
func Linear(bufs []Buffer) Plan {
	check(bufs)
	offsets := make([]int, len(bufs))
	off := 0
	for i, b := range bufs {
		offsets[i] = off
		off += AlignUp(b.Size)
	}
	return Plan{Offsets: offsets, ArenaSize: off}
}
