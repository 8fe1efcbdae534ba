package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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
	// release is called once the batcher no longer holds the images (which may be after the handler has
	// answered 504): it lets go of the batcher's hold on the request's reservation and of its count in the
	// load estimate.
	release func()
	// started is set when the job's images enter a model run: a request whose deadline passes before
	// that was shed (503), one whose deadline passes during the run timed out (504).
	started atomic.Bool
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

	queued atomic.Int64 // images submitted and not yet finished
	// coming counts requests admitted and being read or decoded, not yet submitted: a batch waits for
	// more images only while some are on their way (waiting with none coming only adds latency).
	coming atomic.Int64
	// load measures each model run's own time (from the call to its return, not the time jobs queued).
	load *loadEstimator
}

func newBatcher(model Classifier, maxBatch int, maxWait time.Duration, queueLen int, m *metrics, load *loadEstimator) *batcher {
	b := &batcher{model: model, maxBatch: maxBatch, maxWait: maxWait, queue: make(chan *job, queueLen), m: m, load: load}
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
	b.queued.Add(int64(n))
	select {
	case b.queue <- j:
		return nil
	default:
		b.m.queueDepth.Sub(n)
		b.queued.Add(-int64(n))
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
		if n < b.maxBatch && b.maxWait > 0 && (len(b.queue) > 0 || b.coming.Load() > 0) {
			timer := time.NewTimer(b.maxWait)
		collect:
			for n < b.maxBatch && (len(b.queue) > 0 || b.coming.Load() > 0) {
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

// run classifies the batch's jobs together, chunk by chunk (max-batch images per model run), and hands
// each job its results. Jobs whose deadline passed are dropped before each chunk: the model never spends
// time on an answer nobody waits for.
func (b *batcher) run(batch []*job) {
	topK := 1
	for _, j := range batch {
		b.m.queueDepth.Sub(float64(len(j.imgs)))
		topK = max(topK, j.topK)
	}
	finish := func(j *job, r jobResult) {
		b.queued.Add(-int64(len(j.imgs)))
		j.imgs = nil
		// The decoded images are dropped: their memory goes back to the budget before the handler answers,
		// so a client that has its response sees the budget free again.
		j.release()
		j.done <- r
	}
	pending := batch
	for len(pending) > 0 {
		// Take whole jobs up to max-batch images (a job larger than that runs in chunks of its own).
		var chunk []*job
		n := 0
		for len(pending) > 0 && (n == 0 || n+len(pending[0].imgs) <= b.maxBatch) {
			j := pending[0]
			pending = pending[1:]
			if err := j.ctx.Err(); err != nil {
				finish(j, jobResult{err: err})
				continue
			}
			// A job that the run (at the measured time per image, with half of it again for the estimate's
			// error) would finish after its deadline is dropped unstarted (503), instead of costing the
			// model a run whose answer comes too late (504).
			if dl, ok := j.ctx.Deadline(); ok && time.Until(dl) < time.Duration(n+len(j.imgs))*b.load.perImage(time.Now())*3/2 {
				finish(j, jobResult{err: context.DeadlineExceeded})
				continue
			}
			chunk = append(chunk, j)
			n += len(j.imgs)
		}
		if len(chunk) == 0 {
			continue
		}
		var imgs []*imageio.RGB
		for _, j := range chunk {
			j.started.Store(true)
			imgs = append(imgs, j.imgs...)
		}
		var results []wanwu.Result
		var err error
		for start := 0; start < len(imgs) && err == nil; start += b.maxBatch {
			part := imgs[start:min(start+b.maxBatch, len(imgs))]
			b.m.batchSize.Observe(float64(len(part)))
			t0 := time.Now()
			b.load.runStarted(t0)
			var r []wanwu.Result
			// The run is not tied to one request's context: it serves several. Each is short (bounded by
			// max-batch), and a handler whose deadline passes answers 504 without waiting for it.
			r, err = b.model.ClassifyBatch(context.Background(), part, topK)
			b.load.observe(len(part), time.Since(t0), time.Now())
			results = append(results, r...)
		}
		i := 0
		for _, j := range chunk {
			k := len(j.imgs)
			if err != nil {
				finish(j, jobResult{err: err})
			} else {
				finish(j, jobResult{results: ownTopK(results[i:i+k], j.topK)})
			}
			i += k
		}
	}
}

// ownTopK cuts results run at a batch's largest top-K down to one job's, copying the kept predictions:
// the batch-wide slices would otherwise stay alive with the job, beyond what the job reserved for.
func ownTopK(rs []wanwu.Result, k int) []wanwu.Result {
	for i := range rs {
		if p := rs[i].Predictions; len(p) > k {
			rs[i].Predictions = append([]wanwu.Prediction(nil), p[:k]...)
		}
	}
	return rs
}
