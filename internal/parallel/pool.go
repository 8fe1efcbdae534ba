// Package parallel runs intra-op work on a persistent worker pool without per-call allocation.
package parallel

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long a worker keeps polling for the next job before it parks, and roughly how
// long For's caller polls for the workers to finish. A model runs ~50-100 parallel steps back to
// back, a few to a few hundred µs each; parking between them costs a futex wake-up plus the Go
// scheduler handing the woken goroutine to an idle P (tens of µs, often more on a busy host), which
// ate the whole gain of a second thread on MobileNetV2. Idle pools stop burning CPU after this.
const spinFor = 200 * time.Microsecond

// Task is work over an index range. Kernels implement it on a pointer they already own, so
// handing it to the pool allocates nothing (a closure would escape to the heap on every call).
type Task interface {
	Do(lo, hi int)
}

// TaskFunc adapts a function; convenient in tests and cold paths (it may allocate).
type TaskFunc func(lo, hi int)

// Do calls f.
func (f TaskFunc) Do(lo, hi int) { f(lo, hi) }

// Pool is a fixed set of worker goroutines plus the calling goroutine. A nil *Pool runs serially.
// For may be called from one goroutine at a time per Pool.
type Pool struct {
	threads int
	mu      sync.Mutex
	workers []*worker
	closed  bool
	// next and pending live here, not on For's stack, so sending a job does not move them to the heap.
	next    atomic.Int64
	pending atomic.Int32 // workers that have not finished the current job
	failed  atomic.Pointer[Panic]
}

// Panic is a panic raised by a task on one of the pool's threads, re-raised by For in its caller's
// goroutine (where a recover can catch it: a panic on a worker goroutine would end the process).
type Panic struct {
	Value any
	Stack []byte // the panicking goroutine's stack
}

func (p *Panic) Error() string {
	return fmt.Sprintf("panic in a parallel task: %v\n%s", p.Value, p.Stack)
}

// job is one call's work for a thread; it and its worker's seq share a cache line (see worker).
type job struct {
	t        Task
	n, chunk int
	fixed    int   // >= 0: run only Do(fixed, fixed+1) (ForThreads)
	p        *Pool // its next, pending and failed
}

// worker is one worker goroutine's mailbox: the caller writes the job into j, then bumps seq; the
// worker, polling seq, runs the job. A job is handed over in a few cache-line transfers, where a
// buffered channel's send and receive (a lock each, the job copied through the buffer) cost about 1.2
// µs a call on the 2-core EPYC (BenchmarkForThreadsSmall), some 60 times per MobileNetV2 run.
//
// seq, parked and j fill the first 64 bytes of the struct, whose 128-byte size class starts every
// allocation on a 128-byte boundary: the hand-over moves one cache line, and the padding keeps the
// next worker's line apart.
type worker struct {
	seq    atomic.Uint64
	parked atomic.Int32 // 1 while the worker blocks on wake (it stopped polling after spinFor)
	j      job          // written before seq is bumped, read after it is seen
	wake   chan struct{}
	_      [56]byte
}

// NewPool starts threads-1 workers (the caller of For is the last thread). threads <= 0 means GOMAXPROCS.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads}
	for i := 1; i < threads; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go w.loop()
	}
	return p
}

// send hands j to w: the job first, then the sequence number the worker polls; a worker that has
// parked is woken. (Either the worker's check of seq after it set parked sees the new number, or this
// check of parked sees it set: sync/atomic is sequentially consistent. A wake-up it did not need
// leaves a token that only makes its next park return at once.)
func (w *worker) send(j job) {
	w.j = j
	w.seq.Add(1)
	if w.parked.Load() != 0 {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// loop runs jobs until it gets the empty one Close sends.
func (w *worker) loop() {
	var last uint64
	for {
		last = w.await(last)
		j := w.j
		if j.t == nil {
			return
		}
		if f := j.safeRun(); f != nil {
			j.p.failed.CompareAndSwap(nil, f)
		}
		j.p.pending.Add(-1)
	}
}

// await polls seq until it moves past last and returns it; after spinFor without a job it parks
// until woken.
func (w *worker) await(last uint64) uint64 {
	start := time.Now()
	for i := 1; ; i++ {
		if s := w.seq.Load(); s != last {
			return s
		}
		if i%64 != 0 {
			continue
		}
		if time.Since(start) > spinFor {
			w.parked.Store(1)
			if s := w.seq.Load(); s != last {
				w.parked.Store(0)
				return s
			}
			<-w.wake
			w.parked.Store(0)
			start = time.Now()
			continue
		}
		// Let other goroutines have this P (GOMAXPROCS may be below the pool's thread count).
		runtime.Gosched()
	}
}

// safeRun runs j's ranges and returns the panic one of them raised, if any.
func (j job) safeRun() (failure *Panic) {
	defer func() {
		if r := recover(); r != nil {
			failure = &Panic{Value: r, Stack: debug.Stack()}
		}
	}()
	j.run()
	return nil
}

func (j job) run() {
	if j.fixed >= 0 {
		j.t.Do(j.fixed, j.fixed+1)
		return
	}
	for {
		lo := int(j.p.next.Add(int64(j.chunk))) - j.chunk
		if lo >= j.n {
			return
		}
		hi := lo + j.chunk
		if hi > j.n {
			hi = j.n
		}
		j.t.Do(lo, hi)
	}
}

// Threads is the number of threads For uses.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// For calls t.Do over disjoint ranges covering [0, n), each at least grain long (grain <= 0 means 1),
// on all threads, and returns when every range is done.
func (p *Pool) For(n, grain int, t Task) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	if p == nil || p.threads == 1 || n <= grain {
		t.Do(0, n)
		return
	}
	// About 4 chunks per thread balances uneven tiles without much scheduling overhead.
	chunk := (n + 4*p.threads - 1) / (4 * p.threads)
	if chunk < grain {
		chunk = grain
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next.Store(0)
	workers := (n+chunk-1)/chunk - 1
	if workers > len(p.workers) {
		workers = len(p.workers)
	}
	p.pending.Store(int32(workers))
	j := job{t: t, n: n, chunk: chunk, fixed: -1, p: p}
	for i := 0; i < workers; i++ {
		p.workers[i].send(j)
	}
	p.finish(j)
}

// ForThreads calls t.Do(i, i+1) for each i < n, index i on thread i (the caller is thread 0, worker w
// thread w+1), and returns when all are done. Work cut the same way in consecutive calls then runs on
// the same threads, so each finds what it wrote last time in its own core's cache: a line another
// core wrote reads at about a third of the speed of a local one (24-30 against 80-100 GB/s on the
// 2-core EPYC this was tuned on). n above Threads() runs as For(n, 1, t).
func (p *Pool) ForThreads(n int, t Task) {
	if n <= 0 {
		return
	}
	if p == nil || n == 1 {
		t.Do(0, n)
		return
	}
	if n > p.threads {
		p.For(n, 1, t)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending.Store(int32(n - 1))
	j := job{t: t, n: n, chunk: 1, p: p}
	for i := 0; i < n-1; i++ {
		w := j
		w.fixed = i + 1
		p.workers[i].send(w)
	}
	j.fixed = 0
	p.finish(j)
}

// finish runs the caller's share of j, waits for the workers, and re-raises the first panic.
func (p *Pool) finish(j job) {
	// A panic here waits for the workers like a return does (they must not run on into the next job), then
	// the first panic of any thread is raised again in this goroutine.
	failure := j.safeRun()
	// The workers' ranges are usually done when ours is; poll rather than park so the hand-back costs
	// no wake-up. Gosched keeps a worker that shares this P (GOMAXPROCS < threads) able to finish.
	start := time.Now()
	for i := 1; p.pending.Load() != 0; i++ {
		if i%64 == 0 {
			runtime.Gosched()
			if i%4096 == 0 && time.Since(start) > spinFor {
				// A worker lost its core (a loaded host): stop spinning on this one.
				time.Sleep(20 * time.Microsecond)
			}
		}
	}
	if f := p.failed.Swap(nil); failure == nil {
		failure = f
	}
	if failure != nil {
		panic(failure)
	}
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, w := range p.workers {
		w.send(job{}) // the empty job: the worker returns
	}
}
