package plan

import (
	"slices"
)

// Greedy places buffers by decreasing size, each at the best-fitting gap among the buffers already
// placed whose lifetimes overlap it (tflite-micro's GreedyMemoryPlanner):
//
//	order buffers by size descending (ties: earlier First, then input order)
//	for each buffer b in that order:
//	    live := already-placed buffers whose [First, Last] intersects b's, sorted by offset
//	    walk the gaps between consecutive live buffers (from offset 0 up);
//	    choose the smallest gap that holds AlignUp(b.Size); if none, place b after the highest live end
//	arena size = max(offset + AlignUp(size))
//
// Placing big buffers first keeps them low and lets small ones fill the holes between them; best fit
// (rather than first fit) leaves larger holes for later buffers. Cost is O(n² log n), fine for the few
// thousand buffers of a CNN. Zero-size buffers get offset 0 and occupy nothing.
func Greedy(bufs []Buffer) Plan {
	check(bufs)
	order := make([]int, len(bufs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if bufs[a].Size != bufs[b].Size {
			return bufs[b].Size - bufs[a].Size
		}
		return bufs[a].First - bufs[b].First
	})

	offsets := make([]int, len(bufs))
	placed := make([]int, 0, len(bufs))
	live := make([]int, 0, len(bufs))
	arena := 0
	for _, i := range order {
		b := bufs[i]
		size := AlignUp(b.Size)
		if size == 0 {
			continue
		}
		live = live[:0]
		for _, j := range placed {
			if bufs[j].overlaps(b) {
				live = append(live, j)
			}
		}
		slices.SortFunc(live, func(x, y int) int { return offsets[x] - offsets[y] })

		best, bestGap := -1, 0
		end := 0 // highest end among live buffers seen so far
		for _, j := range live {
			if gap := offsets[j] - end; gap >= size && (best < 0 || gap < bestGap) {
				best, bestGap = end, gap
			}
			end = max(end, offsets[j]+AlignUp(bufs[j].Size))
		}
		if best < 0 {
			best = end
		}
		offsets[i] = best
		placed = append(placed, i)
		arena = max(arena, best+size)
	}
	return Plan{Offsets: offsets, ArenaSize: arena}
}
