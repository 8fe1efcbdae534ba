package runtime

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"

	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/internal/procstat"
)

// MaxThreads is the most threads a program may run on: four per CPU. More only adds worker goroutines
// (each with a stack) that wait for a core, so a larger count is refused (Compile, NewShared) rather
// than silently trimmed: `--threads 1000000` once cost 2.8 GB of stacks.
func MaxThreads() int { return 4 * goruntime.NumCPU() }

// CheckThreads reports whether n is a thread count Options accepts: 0 (GOMAXPROCS) to MaxThreads.
func CheckThreads(n int) error {
	if n < 0 || n > MaxThreads() {
		return fmt.Errorf("threads must be from 0 (one per core) to %d (4 per CPU, %d CPUs), got %d", MaxThreads(), goruntime.NumCPU(), n)
	}
	return nil
}

// Shared is what the programs compiled from one graph at one precision share (Options.Shared): the
// weights compiling derives — converted fp16/int8 weights, the kernels' repacked copies, constants
// copied out of the mapped file, folded constants — built once and read by every program; one arena,
// as large as the largest program's; and one worker pool. A model's programs for several batch sizes
// thus cost their weights once and their largest arena once (Union predicts it).
//
// Programs sharing one Shared must not run concurrently, nor be compiled while one runs (they use one
// arena and one pool); the wanwu facade serialises them. Close it after the last of its programs.
type Shared struct {
	store   *weightStore
	threads int
	pool    *parallel.Pool

	mu        sync.Mutex
	arena     []byte
	freeArena func()
	progs     map[*Program]bool
	closed    bool
}

// NewShared makes an empty Shared whose pool has threads threads (0: GOMAXPROCS; at most MaxThreads).
func NewShared(threads int) (*Shared, error) {
	if err := CheckThreads(threads); err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	if threads == 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	return &Shared{store: newWeightStore(), threads: threads, pool: parallel.NewPool(threads), progs: map[*Program]bool{}}, nil
}

// Threads is the size of the shared worker pool.
func (s *Shared) Threads() int { return s.threads }

// ArenaBytes is the size of the shared arena now.
func (s *Shared) ArenaBytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arena)
}

// WeightBytes is what the derived weights the Shared holds take (conversions, packings, copies).
func (s *Shared) WeightBytes() int64 {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.bytes
}

var errSharedClosed = errors.New("runtime: the Shared is closed")

// attach gives p an arena of at least size bytes, growing the shared one (and moving every program
// onto the new one, so the old one is garbage at once) when p needs more.
func (s *Shared) attach(p *Program, size int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errSharedClosed
	}
	if size > len(s.arena) {
		arena, free := arenaBytes(size)
		for q := range s.progs {
			q.bind(arena)
		}
		s.dropArena()
		s.arena, s.freeArena = arena, free
	}
	s.progs[p] = true
	p.bind(s.arena)
	return nil
}

// detach forgets p (closed); the arena goes with the last program.
func (s *Shared) detach(p *Program) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.progs, p)
	if len(s.progs) == 0 {
		s.dropArena()
	}
}

// dropArena returns the arena to the system; no program may view it any more.
func (s *Shared) dropArena() {
	if s.freeArena != nil {
		s.freeArena()
	}
	s.arena, s.freeArena = nil, nil
}

// Close stops the pool and drops the arena and the derived weights. Programs still attached are
// closed too.
func (s *Shared) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	progs := s.progs
	s.progs = map[*Program]bool{}
	s.mu.Unlock()
	for p := range progs {
		p.Close()
	}
	s.pool.Close()
	s.mu.Lock()
	s.dropArena()
	s.mu.Unlock()
	s.store.release()
}

// checkAllocatable refuses an arena larger than the machine's memory before it is allocated: Go
// cannot recover from a failed allocation ("fatal error: runtime: out of memory"), so a model whose
// activations cannot fit gets an error instead. Where the total is unknown, nothing is checked.
func checkAllocatable(arena int) error {
	total, err := procstat.MemTotal()
	if err != nil || int64(arena) <= total {
		return nil
	}
	return fmt.Errorf("runtime: the arena needs %d MiB, more than this machine's %d MiB of memory", arena>>20, total>>20)
}
