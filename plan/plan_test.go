package plan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveOverlap is an independent O(n²) check of Verify's sweep.
func naiveOverlap(bufs []Buffer, p Plan) bool {
	for i := range bufs {
		for j := i + 1; j < len(bufs); j++ {
			a, b := bufs[i], bufs[j]
			if a.Size == 0 || b.Size == 0 || a.Last < b.First || b.Last < a.First {
				continue
			}
			if p.Offsets[i] < p.Offsets[j]+b.Size && p.Offsets[j] < p.Offsets[i]+a.Size {
				return true
			}
		}
	}
	return false
}

// lowerBound is the largest total aligned size live at any one step: no plan can beat it.
func lowerBound(bufs []Buffer) int {
	last := 0
	for _, b := range bufs {
		last = max(last, b.Last)
	}
	best := 0
	for s := 0; s <= last; s++ {
		sum := 0
		for _, b := range bufs {
			if b.First <= s && s <= b.Last {
				sum += AlignUp(b.Size)
			}
		}
		best = max(best, sum)
	}
	return best
}

func TestGreedyTable(t *testing.T) {
	tests := []struct {
		name  string
		bufs  []Buffer
		arena int
	}{
		{"empty", nil, 0},
		{"one", []Buffer{{100, 0, 0}}, 128},
		// A chain a->b->c: c reuses a's bytes because they never live together.
		{"chain", []Buffer{{1000, 0, 1}, {2000, 1, 2}, {1000, 2, 3}}, AlignUp(1000) + AlignUp(2000)},
		// Disjoint lifetimes share everything.
		{"disjoint", []Buffer{{640, 0, 0}, {640, 1, 1}, {640, 2, 2}}, 640},
		// All alive together: no reuse possible.
		{"together", []Buffer{{64, 0, 2}, {128, 0, 2}, {192, 0, 2}}, 384},
		{"zero size", []Buffer{{0, 0, 5}, {64, 0, 5}}, 64},
		// The dead 256-byte buffer's bytes are reused by the two later small ones; a 64-byte buffer
		// that lives alongside it must go above it instead.
		{"hole reuse", []Buffer{
			{512, 0, 3}, // at 0
			{256, 0, 0}, // at 1024, dies at step 0
			{512, 0, 3}, // at 512
			{64, 1, 1},  // reuses 1024
			{256, 2, 3}, // reuses 1024
		}, 1280},
		{"hole blocked", []Buffer{{512, 0, 3}, {256, 0, 0}, {512, 0, 3}, {64, 0, 1}}, 1344},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Greedy(tt.bufs)
			if err := Verify(tt.bufs, p); err != nil {
				t.Fatal(err)
			}
			if p.ArenaSize != tt.arena {
				t.Errorf("arena = %d, want %d\n%s", p.ArenaSize, tt.arena, Dump(tt.bufs, p, nil))
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	bufs := []Buffer{{100, 0, 2}, {100, 1, 3}}
	tests := []struct {
		name string
		p    Plan
		want string
	}{
		{"overlap", Plan{Offsets: []int{0, 64}, ArenaSize: 192}, "overlap"},
		{"misaligned", Plan{Offsets: []int{0, 130}, ArenaSize: 320}, "multiple"},
		{"past arena", Plan{Offsets: []int{0, 128}, ArenaSize: 192}, "past the arena"},
		{"count", Plan{Offsets: []int{0}, ArenaSize: 128}, "offsets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(bufs, tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want error containing %q", err, tt.want)
			}
		})
	}
	// Same bytes, disjoint lifetimes: fine.
	if err := Verify([]Buffer{{100, 0, 1}, {100, 2, 3}}, Plan{Offsets: []int{0, 0}, ArenaSize: 128}); err != nil {
		t.Fatal(err)
	}
}

func randomBuffers(r *rand.Rand) []Buffer {
	n := r.IntN(60)
	steps := 1 + r.IntN(40)
	bufs := make([]Buffer, n)
	for i := range bufs {
		first := r.IntN(steps)
		last := first + r.IntN(1+r.IntN(steps-first))
		size := r.IntN(5000)
		if r.IntN(10) == 0 {
			size = 0
		}
		bufs[i] = Buffer{Size: size, First: first, Last: last}
	}
	return bufs
}

func TestPropertiesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 2000; iter++ {
		bufs := randomBuffers(r)
		g, l := Greedy(bufs), Linear(bufs)
		for name, p := range map[string]Plan{"greedy": g, "linear": l} {
			if err := Verify(bufs, p); err != nil {
				t.Fatalf("iter %d %s: %v\n%s", iter, name, err, Dump(bufs, p, nil))
			}
			if naiveOverlap(bufs, p) {
				t.Fatalf("iter %d %s: Verify missed an overlap", iter, name)
			}
		}
		if g.ArenaSize > l.ArenaSize {
			t.Fatalf("iter %d: greedy %d > linear %d", iter, g.ArenaSize, l.ArenaSize)
		}
		lb := lowerBound(bufs)
		if got := LowerBound(bufs); got != lb {
			t.Fatalf("iter %d: LowerBound %d, naive %d", iter, got, lb)
		}
		if g.ArenaSize < lb {
			t.Fatalf("iter %d: greedy %d below the live-set lower bound %d", iter, g.ArenaSize, lb)
		}
	}
}

// TestVerifyCatchesRandomCorruption moves one buffer onto another live one and expects Verify to object.
func TestVerifyCatchesRandomCorruption(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	caught := 0
	for iter := 0; iter < 500; iter++ {
		bufs := randomBuffers(r)
		p := Greedy(bufs)
		for i := range bufs {
			for j := range bufs {
				if i != j && bufs[i].Size > 0 && bufs[j].Size > 0 && bufs[i].overlaps(bufs[j]) && p.Offsets[i] != p.Offsets[j] {
					bad := Plan{Offsets: append([]int(nil), p.Offsets...), ArenaSize: p.ArenaSize}
					bad.Offsets[i] = p.Offsets[j]
					bad.ArenaSize = max(bad.ArenaSize, AlignUp(bad.Offsets[i]+bufs[i].Size))
					if Verify(bufs, bad) == nil {
						t.Fatalf("iter %d: buffers %d and %d at one offset while both live, Verify accepted", iter, i, j)
					}
					caught++
					goto next
				}
			}
		}
	next:
	}
	if caught < 100 {
		t.Fatalf("only %d corruptions exercised", caught)
	}
}

func TestDump(t *testing.T) {
	bufs := []Buffer{{100, 0, 1}, {64, 1, 2}}
	got := Dump(bufs, Greedy(bufs), []string{"x", ""})
	want := "x    offset          0  size        100  steps 0-1\n" +
		"#1   offset        128  size         64  steps 1-2\n" +
		"arena 192 bytes\n"
	if got != want {
		t.Errorf("Dump =\n%s\nwant\n%s", got, want)
	}
}

func TestMalformedPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for Last < First")
		}
	}()
	Greedy([]Buffer{{10, 3, 2}})
}

func BenchmarkGreedy1000(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	bufs := make([]Buffer, 1000)
	for i := range bufs {
		bufs[i] = Buffer{Size: r.IntN(1 << 20), First: i, Last: i + r.IntN(5)}
	}
	for b.Loop() {
		Greedy(bufs)
	}
}
