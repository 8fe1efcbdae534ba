package server

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
)

// The estimate follows runs (EWMA, weight 1/4), keeps the fastest per-image time as the floor, and
// decays toward it with half-life estimateHalfLife when no run refreshes it.
func TestLoadEstimatorDecays(t *testing.T) {
	var e loadEstimator
	t0 := time.Unix(1000, 0)
	if got := e.perImage(t0); got != 0 {
		t.Fatalf("no runs yet: %v", got)
	}
	e.observe(2, 20*time.Millisecond, t0) // 10 ms per image: the floor
	e.observe(1, 810*time.Millisecond, t0)
	want := 10*time.Millisecond + (810*time.Millisecond-10*time.Millisecond)/4
	if got := e.perImage(t0); got != want {
		t.Errorf("after a slow run: %v, want %v", got, want)
	}
	for _, after := range []time.Duration{estimateHalfLife, 2 * time.Second} {
		wantF := float64(10*time.Millisecond) + float64(want-10*time.Millisecond)*math.Exp2(-float64(after)/float64(estimateHalfLife))
		if got := e.perImage(t0.Add(after)); math.Abs(float64(got)-wantF) > 1 {
			t.Errorf("%v later: %v, want %v", after, got, time.Duration(wantF))
		}
	}
	// A run in progress stops the decay: the idle time before it counts, the run itself not.
	e.runStarted(t0.Add(estimateHalfLife))
	frozen := e.perImage(t0.Add(estimateHalfLife))
	if got := e.perImage(t0.Add(10 * time.Second)); got != frozen {
		t.Errorf("during a run the estimate moved from %v to %v", frozen, got)
	}
	e.observe(1, frozen, t0.Add(10*time.Second)) // the run took what was estimated
	if got := e.perImage(t0.Add(10 * time.Second)); got != frozen {
		t.Errorf("after a run as long as estimated: %v, want %v", got, frozen)
	}
	e = loadEstimator{}
	e.observe(2, 20*time.Millisecond, t0)
	e.observe(1, 810*time.Millisecond, t0)
	// Shedding: work ahead over 80% of the remaining time is refused, unless nothing is ahead.
	e.ahead.Store(0)
	if _, ok := e.admit(3, time.Millisecond, t0); !ok {
		t.Error("a request with nothing ahead was shed")
	}
	if _, ok := e.admit(1, time.Second, t0); ok {
		t.Errorf("4 images at %v each admitted within 1s", want)
	}
	if _, ok := e.admit(1, time.Second, t0.Add(3*time.Second)); !ok {
		t.Error("3s after the slow run, 4 images at about 10 ms each were shed")
	}
}

// phasedModel takes slow per image while slow is set (the cores shared with a burst of decodes), fast
// otherwise, and counts the images it ran.
type phasedModel struct {
	Model
	slow       atomic.Bool
	slowPerImg time.Duration
	fastPerImg time.Duration
	ran        atomic.Int64
}

func (p *phasedModel) ClassifyBatch(ctx context.Context, imgs []*imageio.RGB, topK int) ([]wanwu.Result, error) {
	d := p.fastPerImg
	if p.slow.Load() {
		d = p.slowPerImg
	}
	time.Sleep(d * time.Duration(len(imgs)))
	p.ran.Add(int64(len(imgs)))
	return p.Model.ClassifyBatch(ctx, imgs, topK)
}

// After a slow period (model runs slowed by contention) ends, good requests are admitted again within 2 s:
// the estimate decays to the uncontended figure instead of shedding on the slow one.
func TestSheddingRecoversAfterSlowPeriod(t *testing.T) {
	m := loadModel(t)
	pm := &phasedModel{Model: m, slowPerImg: 700 * time.Millisecond, fastPerImg: 5 * time.Millisecond}
	_, hs := newServer(t, pm, Config{Timeout: 2 * time.Second, AdmissionWait: 2 * time.Second})
	photo := readShared(t, "cat.bmp")
	// The model alone: the uncontended figure.
	for i := 0; i < 2; i++ {
		if resp, _ := post(t, hs.URL+"/v1/classify", "image/bmp", photo); resp.StatusCode != 200 {
			t.Fatalf("uncontended request: %d", resp.StatusCode)
		}
	}
	pm.slow.Store(true)
	burst := func() map[int]int {
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := post(t, hs.URL+"/v1/classify", "image/bmp", photo)
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		return codes
	}
	burst() // the first slow runs teach the estimate
	slow := burst()
	if slow[503] == 0 {
		t.Errorf("slow period: %v, want some requests shed (8 at 700 ms each against a 2 s deadline)", slow)
	}
	for c := range slow {
		// 504: a run started within the estimate and ended past the deadline (the estimate lags a change).
		if c != 200 && c != 503 && c != 504 {
			t.Errorf("slow period: status %d (%v); want 200, 503 or 504 only", c, slow)
		}
	}
	pm.slow.Store(false)
	time.Sleep(2 * time.Second)
	if fast := burst(); fast[200] != 8 {
		t.Errorf("2 s after the slow period: %v, want all 8 answered 200", fast)
	}
}

// A request that would be shed is refused from its header alone: its image is never decoded.
func TestShedBeforeDecoding(t *testing.T) {
	m := loadModel(t)
	g := newGate(m)
	s, hs := newServer(t, g, Config{Timeout: 2 * time.Second})
	first := make(chan int, 1)
	go func() {
		resp, _ := post(t, hs.URL+"/v1/classify", "image/jpeg", readShared(t, "parrot.jpg"))
		first <- resp.StatusCode
	}()
	<-g.started
	s.load.observe(1, 5*time.Second, time.Now()) // the model is now known to take 5 s per image
	_, before := get(t, hs.URL+"/metrics")
	resp, r := post(t, hs.URL+"/v1/classify", "image/png", pngOf(2000, 1500))
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(r.Error, "overloaded") {
		t.Errorf("request behind 5 s of work with a 2 s deadline: %d %q, want 503 overloaded", resp.StatusCode, r.Error)
	}
	_, after := get(t, hs.URL+"/metrics")
	if decoded := metricLine(before, "wanwu_decode_bytes_total"); decoded != metricLine(after, "wanwu_decode_bytes_total") {
		t.Errorf("the shed request was decoded: %s then %s", decoded, metricLine(after, "wanwu_decode_bytes_total"))
	}
	close(g.release)
	<-first
}

func metricLine(metrics, name string) string {
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, name+" ") {
			return l
		}
	}
	return ""
}

// Decodes run at most MaxDecodes at a time, however many requests arrive together.
func TestDecodesBounded(t *testing.T) {
	m := loadModel(t)
	s, hs := newServer(t, m, Config{MaxDecodes: 2})
	var now, peak atomic.Int64
	s.decodeImage = func(ctx context.Context, data []byte) (*imageio.RGB, error) {
		n := now.Add(1)
		defer now.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		return m.DecodeResized(ctx, data)
	}
	photo := pngOf(600, 400)
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, r := post(t, hs.URL+"/v1/classify", "image/png", photo); resp.StatusCode != 200 {
				t.Errorf("status %d %q", resp.StatusCode, r.Error)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("%d decodes at once at the peak, want 2 (the slots, all used)", p)
	}
}
