package parallel

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"
)

type countTask struct{ hits []atomic.Int32 }

func (c *countTask) Do(lo, hi int) {
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

func TestForCoversEachIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 2, 7, 100, 1001} {
			for _, grain := range []int{0, 1, 5, 64} {
				c := &countTask{hits: make([]atomic.Int32, n)}
				p.For(n, grain, c)
				for i := range c.hits {
					if got := c.hits[i].Load(); got != 1 {
						t.Fatalf("threads=%d n=%d grain=%d: index %d ran %d times", threads, n, grain, i, got)
					}
				}
			}
		}
		p.Close()
	}
}

func TestForDoesNotAllocate(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	c := &countTask{hits: make([]atomic.Int32, 1000)}
	allocs := testing.AllocsPerRun(100, func() { p.For(1000, 1, c) })
	if allocs > 0 {
		t.Fatalf("For allocated %.1f times per call", allocs)
	}
}

func TestNilPoolRunsSerially(t *testing.T) {
	var p *Pool
	c := &countTask{hits: make([]atomic.Int32, 10)}
	p.For(10, 1, c)
	if c.hits[9].Load() != 1 || p.Threads() != 1 {
		t.Fatal("nil pool did not run the task")
	}
}

// Workers and the caller spin between jobs; with fewer Ps than threads the spinners must still
// yield, or a worker sharing the caller's P would never run its range and For would never return.
func TestForWithFewerProcsThanThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := NewPool(4)
	defer p.Close()
	for r := 0; r < 200; r++ {
		c := &countTask{hits: make([]atomic.Int32, 64)}
		p.For(64, 1, c)
		for i := range c.hits {
			if got := c.hits[i].Load(); got != 1 {
				t.Fatalf("round %d: index %d ran %d times", r, i, got)
			}
		}
	}
}

type nopTask struct{}

func (nopTask) Do(lo, hi int) {}

// BenchmarkForSmall is the per-call overhead a model pays ~100 times a run.
func BenchmarkForSmall(b *testing.B) {
	p := NewPool(runtime.GOMAXPROCS(0))
	defer p.Close()
	var t nopTask
	for b.Loop() {
		p.For(8, 1, t)
	}
}

// TestPanicReachesCaller: a task panicking on a worker thread is raised again in For's goroutine, after
// every thread has stopped, so a recover there catches it and the pool stays usable.
func TestPanicReachesCaller(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	for round := 0; round < 20; round++ {
		boom := round % 64 // the range holding this index panics, whichever thread runs it
		var caught any
		func() {
			defer func() { caught = recover() }()
			p.For(64, 1, TaskFunc(func(lo, hi int) {
				if lo <= boom && boom < hi {
					panic(fmt.Sprintf("bad index %d", boom))
				}
			}))
		}()
		f, ok := caught.(*Panic)
		if !ok || f.Value != fmt.Sprintf("bad index %d", boom) || len(f.Stack) == 0 {
			t.Fatalf("round %d: recovered %#v, want *Panic with the task's value and stack", round, caught)
		}
		var sum atomic.Int64
		p.For(1000, 1, TaskFunc(func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sum.Add(int64(i))
			}
		}))
		if sum.Load() != 999*1000/2 {
			t.Fatalf("round %d: after a panic the pool summed %d", round, sum.Load())
		}
	}
}

// TestForThreadsPinsIndices: ForThreads runs each index once, index 0 on the caller's goroutine and
// index i on the same worker in every call (the point of it: data stays with a thread from call to
// call); more indices than threads fall back to For, and a panic reaches the caller.
func TestForThreadsPinsIndices(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 4} {
		p := NewPool(threads)
		var owner [4]atomic.Pointer[string] // per index: which goroutine ran it first
		for call := 0; call < 50; call++ {
			for _, n := range []int{0, 1, threads, threads + 3} {
				c := &countTask{hits: make([]atomic.Int32, n)}
				p.ForThreads(n, c)
				for i := range c.hits {
					if got := c.hits[i].Load(); got != 1 {
						t.Fatalf("threads=%d n=%d: index %d ran %d times", threads, n, i, got)
					}
				}
			}
			caller := goroutineID()
			p.ForThreads(threads, TaskFunc(func(lo, hi int) {
				if hi != lo+1 {
					t.Errorf("threads=%d: range [%d, %d), want single indices", threads, lo, hi)
					return
				}
				id := goroutineID()
				if lo == 0 && id != caller {
					t.Errorf("threads=%d: index 0 ran on goroutine %s, not the caller's %s", threads, id, caller)
				}
				owner[lo].CompareAndSwap(nil, &id)
				if first := *owner[lo].Load(); first != id {
					t.Errorf("threads=%d call %d: index %d moved from goroutine %s to %s", threads, call, lo, first, id)
				}
			}))
		}
		var caught any
		func() {
			defer func() { caught = recover() }()
			p.ForThreads(threads, TaskFunc(func(lo, hi int) {
				if lo == threads-1 {
					panic("last index")
				}
			}))
		}()
		if f, ok := caught.(*Panic); threads > 1 && (!ok || f.Value != "last index") || threads == 1 && caught != "last index" {
			// One thread runs the task in place, as For does: its panic is the task's own.
			t.Fatalf("threads=%d: recovered %#v, want the task's panic", threads, caught)
		}
		p.Close()
	}
}

// goroutineID is the running goroutine's id, from its stack header ("goroutine 18 [running]:").
func goroutineID() string {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	var id string
	fmt.Sscanf(s, "goroutine %s", &id)
	return id
}

// BenchmarkForThreadsSmall is the per-call overhead of ForThreads over every thread (each thread one
// empty index): what a layer split by threads pays on top of its work.
func BenchmarkForThreadsSmall(b *testing.B) {
	p := NewPool(runtime.GOMAXPROCS(0))
	defer p.Close()
	var t nopTask
	for b.Loop() {
		p.ForThreads(p.Threads(), t)
	}
}

// TestWorkerLayout: a worker's seq, parked flag and job fit the first cache line of a 128-byte object.
func TestWorkerLayout(t *testing.T) {
	var w worker
	if end := unsafe.Offsetof(w.j) + unsafe.Sizeof(w.j); end > 64 {
		t.Errorf("seq, parked and the job end at byte %d, past the first cache line", end)
	}
	if size := unsafe.Sizeof(w); size != 128 {
		t.Errorf("worker is %d bytes, want 128 (its own size class, 128-byte aligned)", size)
	}
}
