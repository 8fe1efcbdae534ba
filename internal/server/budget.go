package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wanwu-ai/wanwu/memory"
)

// Errors from Budget.Acquire.
var (
	// ErrBudgetFull: the bytes did not become free within the wait bound (answered with 503 + Retry-After).
	ErrBudgetFull = errors.New("memory budget is full")
	// ErrExceedsBudget: the request alone needs more than the budget can ever give it, the model's
	// lifetime reservation aside (answered with 400 or 413).
	ErrExceedsBudget = errors.New("request needs more memory than the server's budget leaves for requests")
)

// Budget is a byte budget that requests reserve from before they allocate, so the process stays within
// it: what cannot be reserved within a bounded wait is refused, never allocated.
//
// It is not first-come first-served: a reservation that fits is granted at once, even while a larger one
// waits. A strict queue would let one large request (a pixel bomb that fits the budget on paper) stall
// every small request behind it for the whole wait, which an attacker can repeat at will; here the large
// request alone waits, and gets 503 if memory does not free up in time.
type Budget struct {
	total int64
	fixed atomic.Int64 // held for the process's lifetime (the model): no request can have it

	mu    sync.Mutex
	used  int64
	freed chan struct{} // closed and replaced at each Release: wakes the waiters to try again
	inUse atomic.Int64
	// granted sums every reservation ever made: tests compare it with the bytes a request allocated.
	granted atomic.Int64
}

// NewBudget returns a budget of total bytes.
func NewBudget(total int64) *Budget {
	if total <= 0 {
		panic(fmt.Sprintf("server: NewBudget(%d)", total))
	}
	return &Budget{total: total, freed: make(chan struct{})}
}

// Total is the budget's size.
func (b *Budget) Total() int64 { return b.total }

// InUse is the number of bytes reserved now.
func (b *Budget) InUse() int64 { return b.inUse.Load() }

// Acquire reserves n bytes, waiting at most wait (and no longer than ctx allows) for them to be free.
func (b *Budget) Acquire(ctx context.Context, n int64, wait time.Duration) error {
	if n <= 0 {
		return nil
	}
	if avail := b.total - b.fixed.Load(); n > avail {
		return fmt.Errorf("%w: %s needed, %s of the %s budget is left for requests", ErrExceedsBudget,
			memory.FormatSize(n), memory.FormatSize(avail), memory.FormatSize(b.total))
	}
	var timer *time.Timer
	for {
		freed, ok := b.take(n)
		if ok {
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return fmt.Errorf("%w: %s needed, %s of %s reserved", ErrBudgetFull, memory.FormatSize(n),
				memory.FormatSize(b.inUse.Load()), memory.FormatSize(b.total))
		}
	}
}

// take reserves n bytes if they are free now; otherwise it returns the channel the next Release closes.
func (b *Budget) take(n int64) (<-chan struct{}, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.total {
		return b.freed, false
	}
	b.used += n
	b.inUse.Add(n)
	b.granted.Add(n)
	return nil, true
}

// TryAcquire reserves n bytes if they are free now.
func (b *Budget) TryAcquire(n int64) bool {
	if n <= 0 {
		return true
	}
	_, ok := b.take(n)
	return ok
}

// reserveForLife takes n bytes for the process's lifetime (the model's memory): requests are measured
// against what is left.
func (b *Budget) reserveForLife(n int64) bool {
	if !b.TryAcquire(n) {
		return false
	}
	b.fixed.Add(n)
	return true
}

// Release returns n bytes reserved earlier.
func (b *Budget) Release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.inUse.Add(-n)
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// reservation is what one request holds from the budget. It has holders (the handler, and the batcher once
// the request's images are queued), and its bytes go back to the budget when the last holder lets go: a
// handler may answer 504 while the model still holds the images, and memory still in use must never be
// counted free.
type reservation struct {
	budget  *Budget
	bytes   atomic.Int64
	holders atomic.Int32
}

// newReservation starts an empty reservation held by its caller.
func (b *Budget) newReservation() *reservation {
	r := &reservation{budget: b}
	r.holders.Store(1)
	return r
}

// acquire reserves n more bytes, waiting as Budget.Acquire does.
func (r *reservation) acquire(ctx context.Context, n int64, wait time.Duration) error {
	if err := r.budget.Acquire(ctx, n, wait); err != nil {
		return err
	}
	r.bytes.Add(max(n, 0))
	return nil
}

// shrink returns n of the reserved bytes early: memory the request no longer holds (a body's chunks once
// copied out, the scratch of a finished step).
func (r *reservation) shrink(n int64) {
	n = min(n, r.bytes.Load())
	if n <= 0 {
		return
	}
	r.bytes.Add(-n)
	r.budget.Release(n)
}

// held is the number of bytes reserved now.
func (r *reservation) held() int64 { return r.bytes.Load() }

// hold adds a holder.
func (r *reservation) hold() { r.holders.Add(1) }

// done lets go of the caller's hold; the last holder returns every byte.
func (r *reservation) done() {
	if r.holders.Add(-1) == 0 {
		r.budget.Release(r.bytes.Swap(0))
	}
}
