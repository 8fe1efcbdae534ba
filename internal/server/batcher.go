package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
)

// Classifier is the model as the server uses it (a *wanwu.Model; tests substitute slow or failing ones).
type Classifier interface {
	ClassifyBatch(ctx context.Context, imgs []*imageio.RGB, topK int) ([]wanwu.Result, error)
}

// job is one request's images, run together in one batch (split in max-batch chunks if it has more).
type job struct {
	imgs []*imageio.RGB
	topK int
	ctx  context.Context
	// done receives the results (buffered: the handler may have given up on a timeout).
	done chan jobResult
	// release returns the request's memory reservation; the batcher calls it once it no longer holds the
	// images, which may be after the handler has answered 504, so the budget never counts memory freed
	// that is still in use.
	release func()
}

type jobResult struct {
	results []wanwu.Result
	err     error
}

// ErrQueueClosed is returned for jobs submitted after shutdown began.
var ErrQueueClosed = errors.New("server is shutting down")

// batcher gathers images from concurrent requests into batches: the first waiting job opens a batch, which
// then takes more jobs for up to maxWait or until maxBatch images, and runs on one goroutine (the model runs
// one batch at a time anyway; its kernels use every core).
type batcher struct {
	model    Classifier
	maxBatch int
	maxWait  time.Duration
	queue    chan *job
	m        *metrics

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newBatcher(model Classifier, maxBatch int, maxWait time.Duration, queueLen int, m *metrics) *batcher {
	b := &batcher{model: model, maxBatch: maxBatch, maxWait: maxWait, queue: make(chan *job, queueLen), m: m}
	b.wg.Add(1)
	go b.loop()
	return b
}

// submit queues j; it fails when the queue is full (the memory budget normally refuses first) or closed.
func (b *batcher) submit(j *job) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrQueueClosed
	}
	n := float64(len(j.imgs)) // read before the send: the batcher owns j afterwards
	b.m.queueDepth.Add(n)
	select {
	case b.queue <- j:
		return nil
	default:
		b.m.queueDepth.Sub(n)
		return ErrBudgetFull
	}
}

// close stops taking jobs, lets the queued ones run, and waits for them.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *batcher) loop() {
	defer b.wg.Done()
	var pending *job // a job taken that did not fit the previous batch
	for {
		first := pending
		pending = nil
		if first == nil {
			var ok bool
			if first, ok = <-b.queue; !ok {
				return
			}
		}
		batch := []*job{first}
		n := len(first.imgs)
		if n < b.maxBatch && b.maxWait > 0 {
			timer := time.NewTimer(b.maxWait)
		collect:
			for n < b.maxBatch {
				select {
				case j, ok := <-b.queue:
					if !ok {
						break collect
					}
					if n+len(j.imgs) > b.maxBatch {
						pending = j
						break collect
					}
					batch = append(batch, j)
					n += len(j.imgs)
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
		}
		b.run(batch)
	}
}

// run classifies the batch's live jobs together and hands each its results.
func (b *batcher) run(batch []*job) {
	var imgs []*imageio.RGB
	var live []*job
	topK := 1
	for _, j := range batch {
		b.m.queueDepth.Sub(float64(len(j.imgs)))
		if err := j.ctx.Err(); err != nil {
			j.done <- jobResult{err: err} // its handler has answered already; don't spend the model on it
			j.release()
			continue
		}
		live = append(live, j)
		imgs = append(imgs, j.imgs...)
		topK = max(topK, j.topK)
	}
	var results []wanwu.Result
	var err error
	for start := 0; start < len(imgs) && err == nil; start += b.maxBatch {
		chunk := imgs[start:min(start+b.maxBatch, len(imgs))]
		b.m.batchSize.Observe(float64(len(chunk)))
		var r []wanwu.Result
		// The run is not tied to one request's context: it serves several. Each is short (bounded by
		// max-batch), and a handler whose deadline passes answers 504 without waiting for it.
		r, err = b.model.ClassifyBatch(context.Background(), chunk, topK)
		results = append(results, r...)
	}
	i := 0
	for _, j := range live {
		if err != nil {
			j.done <- jobResult{err: err}
		} else {
			j.done <- jobResult{results: results[i : i+len(j.imgs)]}
		}
		i += len(j.imgs)
		j.imgs = nil
		j.release()
	}
}
