package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A large reservation waiting for memory does not hold up smaller ones that fit; it gets the memory once
// enough is released, or ErrBudgetFull at the end of its wait. One larger than what the lifetime
// reservation leaves is refused at once.
func TestBudgetNoHeadOfLineBlocking(t *testing.T) {
	b := NewBudget(100)
	if !b.reserveForLife(30) {
		t.Fatal("lifetime reservation refused")
	}
	ctx := context.Background()
	start := time.Now()
	if err := b.Acquire(ctx, 71, time.Hour); !errors.Is(err, ErrExceedsBudget) || time.Since(start) > time.Second {
		t.Errorf("71 of the 70 left for requests: %v after %v, want ErrExceedsBudget at once", err, time.Since(start))
	}
	if err := b.Acquire(ctx, 40, time.Second); err != nil {
		t.Fatal(err)
	}
	big := make(chan error, 1)
	go func() { big <- b.Acquire(ctx, 60, 5*time.Second) }()
	time.Sleep(20 * time.Millisecond) // the large one is waiting now
	start = time.Now()
	if err := b.Acquire(ctx, 20, 10*time.Millisecond); err != nil || time.Since(start) > 5*time.Millisecond+10*time.Millisecond {
		t.Errorf("small reservation behind a waiting large one: %v after %v, want granted at once", err, time.Since(start))
	}
	b.Release(20)
	b.Release(40)
	if err := <-big; err != nil {
		t.Errorf("large reservation after the memory was released: %v", err)
	}
	if got := b.InUse(); got != 90 {
		t.Errorf("in use %d, want 90", got)
	}
	start = time.Now()
	if err := b.Acquire(ctx, 20, 50*time.Millisecond); !errors.Is(err, ErrBudgetFull) || time.Since(start) < 50*time.Millisecond {
		t.Errorf("20 with 10 free: %v after %v, want ErrBudgetFull after the 50ms wait", err, time.Since(start))
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Acquire(cctx, 20, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
