// Package plan assigns arena offsets to buffers with known lifetimes: a pure memory planner.
//
// Input is a list of buffers, each with a byte size and a lifetime [First, Last] in step indices
// (inclusive). Output is a Plan: one 64-byte-aligned offset per buffer and the arena size. Two buffers
// whose lifetimes intersect must not share bytes; Verify checks exactly that. Greedy (best-fit by
// decreasing size, after tflite-micro's GreedyMemoryPlanner) is the planner the runtime uses;
// Linear (no reuse) is the baseline it is measured against.
package plan

import (
	"fmt"
	"slices"
)

// Align is the alignment of every offset and of the arena size, in bytes (one cache line,
// and enough for any SIMD load the kernels issue).
const Align = 64

// Buffer is one block of memory that must stay intact from step First through step Last.
type Buffer struct {
	Size        int
	First, Last int
}

// Plan places buffers in an arena.
type Plan struct {
	// Offsets[i] is the byte offset of buffer i; always a multiple of Align.
	Offsets []int
	// ArenaSize is the number of bytes the arena needs; a multiple of Align.
	ArenaSize int
}

// AlignUp rounds n up to a multiple of Align.
func AlignUp(n int) int { return (n + Align - 1) &^ (Align - 1) }

// overlaps reports whether the lifetimes of a and b share at least one step.
func (a Buffer) overlaps(b Buffer) bool { return a.First <= b.Last && b.First <= a.Last }

// check panics on malformed input: the caller (the runtime) computes lifetimes, so a bad one is a bug.
func check(bufs []Buffer) {
	for i, b := range bufs {
		if b.Size < 0 || b.First < 0 || b.Last < b.First {
			panic(fmt.Sprintf("plan: buffer %d is malformed: %+v", i, b))
		}
	}
}

// LowerBound is the largest total aligned size of buffers live at one step: no plan can use a smaller
// arena, so ArenaSize/LowerBound measures how much a plan wastes to fragmentation.
func LowerBound(bufs []Buffer) int {
	check(bufs)
	// Sweep step boundaries: +size at First, -size after Last.
	type ev struct{ step, delta int }
	evs := make([]ev, 0, 2*len(bufs))
	for _, b := range bufs {
		if s := AlignUp(b.Size); s > 0 {
			evs = append(evs, ev{b.First, s}, ev{b.Last + 1, -s})
		}
	}
	slices.SortFunc(evs, func(a, b ev) int {
		if a.step != b.step {
			return a.step - b.step
		}
		return a.delta - b.delta // frees before allocations at the same step
	})
	best, cur := 0, 0
	for _, e := range evs {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}
