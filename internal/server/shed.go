package server

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// estimateHalfLife is how fast the per-image cost estimate falls back to the model's uncontended figure
// while the model is idle: a slow period (runs sharing the cores with many decodes) is forgotten within
// a few seconds of its end, so it cannot keep shedding requests after the load is gone. While runs go on
// back to back, each refreshes the estimate and nothing decays.
const estimateHalfLife = 500 * time.Millisecond

// shedFraction is the share of a request's remaining deadline the work ahead of it may take before the
// request is refused up front: the rest is for its own decoding, batching delays and the estimate's error.
const shedFraction = 0.8

// loadEstimator predicts how long the model needs for the images admitted ahead of a request, from the
// measured time of the model runs themselves (not the time jobs wait in the queue), so that a request
// that could not be served within its deadline is refused before its image is decoded.
type loadEstimator struct {
	// ahead counts images admitted (past shedding) and not yet finished: being decoded, queued or running.
	ahead atomic.Int64

	mu      sync.Mutex
	recent  float64   // per-image run time, nanoseconds: an EWMA of the recent runs (0: none measured)
	floor   float64   // the fastest per-image time measured: the model's cost when it has the cores alone
	at      time.Time // when recent was last updated (the end of the last run)
	running bool      // a run is in progress: the model is not idle, so the estimate does not decay
}

// perImage is the current per-image estimate: the recent figure, decayed toward the floor with the time
// since the last run (half-life estimateHalfLife).
func (e *loadEstimator) perImage(now time.Time) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Duration(e.decayedLocked(now))
}

func (e *loadEstimator) decayedLocked(now time.Time) float64 {
	if e.recent == 0 {
		return 0
	}
	age := max(now.Sub(e.at), 0)
	if e.running {
		age = 0
	}
	return e.floor + (e.recent-e.floor)*math.Exp2(-float64(age)/float64(estimateHalfLife))
}

// runStarted marks a model run in progress (observe ends it).
func (e *loadEstimator) runStarted(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.recent != 0 {
		// Freeze the estimate as it has decayed so far: the idle time before this run counts, the run not.
		e.recent, e.at = e.decayedLocked(now), now
	}
	e.running = true
}

// observe records a model run of images images that took d, and ends the run.
func (e *loadEstimator) observe(images int, d time.Duration, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.decayedLocked(now) // not decayed over the run itself
	e.running = false
	if images <= 0 || d <= 0 {
		return
	}
	v := float64(d) / float64(images)
	if e.recent == 0 {
		e.recent, e.floor = v, v
	} else {
		e.recent = cur + (v-cur)/4 // EWMA, weight 1/4: follows a change of load within a few runs
		e.floor = min(e.floor, v)
	}
	e.at = now
}

// admit decides whether n more images can be classified within remaining, counting the images admitted
// ahead of them. Admitted images are counted ahead of later requests until finished(n) is called. A
// request with nothing ahead of it is always admitted: shedding it would not make it faster, and the
// runs it causes keep the estimate current.
func (e *loadEstimator) admit(n int, remaining time.Duration, now time.Time) (wait time.Duration, ok bool) {
	if wait, ok = e.wouldAdmit(n, remaining, now); ok {
		e.ahead.Add(int64(n))
	}
	return wait, ok
}

// wouldAdmit is admit without counting: whether n more images would be admitted now.
func (e *loadEstimator) wouldAdmit(n int, remaining time.Duration, now time.Time) (wait time.Duration, ok bool) {
	ahead := e.ahead.Load()
	wait = time.Duration(ahead+int64(n)) * e.perImage(now)
	return wait, ahead == 0 || float64(wait) <= shedFraction*float64(remaining)
}

// finished removes n admitted images from the count ahead (classified, dropped, or failed to decode).
func (e *loadEstimator) finished(n int) { e.ahead.Add(-int64(n)) }
