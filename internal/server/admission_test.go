package server

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/imagegen"
)

// gate is a Classifier that blocks each batch until released, recording batch sizes.
type gate struct {
	Model
	mu      sync.Mutex
	sizes   []int
	started chan int
	release chan struct{}
}

func newGate(m Model) *gate {
	return &gate{Model: m, started: make(chan int, 64), release: make(chan struct{})}
}

func (g *gate) ClassifyBatch(ctx context.Context, imgs []*imageio.RGB, topK int) ([]wanwu.Result, error) {
	g.mu.Lock()
	g.sizes = append(g.sizes, len(imgs))
	g.mu.Unlock()
	g.started <- len(imgs)
	<-g.release
	return g.Model.ClassifyBatch(ctx, imgs, topK)
}

// When the budget cannot hold another request, it waits up to the admission bound and then gets 503 with
// Retry-After; once memory is released, requests are admitted again.
func TestAdmissionRejectsWhenBudgetFull(t *testing.T) {
	m := loadModel(t)
	g := newGate(m)
	// An Adam7 PNG holds its whole image while decoding (it cannot stream into the resize): about 9 MiB.
	photo := imagegen.PNG(imagegen.PNGOptions{W: 1500, H: 1000, ColorType: imagegen.RGBA, Depth: 8, Interlaced: true, Pixel: imagegen.Noise(3)})
	h, err := imageio.ParseHeader(photo)
	if err != nil {
		t.Fatal(err)
	}
	need := int64(len(photo)) + decodeReservation(m, h)
	// The budget holds the model and one such request, not two.
	info := infoOf(m)
	budget := info.PeakBytes + need + need/2
	s, hs := newServer(t, g, Config{Budget: budget, AdmissionWait: 50 * time.Millisecond, MaxWait: time.Millisecond})
	first := make(chan int, 1)
	go func() {
		resp, _ := post(t, hs.URL+"/v1/classify", "image/png", photo)
		first <- resp.StatusCode
	}()
	<-g.started // the first request holds its reservation inside the model
	held := s.Budget().InUse() - info.PeakBytes
	if held < need {
		t.Errorf("request holds %d bytes of budget, less than its body", held)
	}
	resp, r := post(t, hs.URL+"/v1/classify", "image/png", photo)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(r.Error, "budget") {
		t.Errorf("second request: status %d Retry-After %q error %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), r.Error)
	}
	close(g.release)
	if code := <-first; code != 200 {
		t.Errorf("first request: %d", code)
	}
	if got := s.Budget().InUse(); got != info.PeakBytes {
		t.Errorf("after the requests %d bytes reserved, want the model's %d", got, info.PeakBytes)
	}
	resp, _ = post(t, hs.URL+"/v1/classify", "image/png", photo)
	if resp.StatusCode != 200 {
		t.Errorf("after release: %d", resp.StatusCode)
	}
	// A request larger than the whole budget is refused outright.
	_, hs2 := newServer(t, m, Config{Budget: info.PeakBytes + 5<<20, MaxBody: 64 << 20, MaxPixels: 1e9})
	resp, r = post(t, hs2.URL+"/v1/classify", "image/png", hugePNGValid(t))
	if resp.StatusCode != 400 || !strings.Contains(r.Error, "budget") {
		t.Errorf("image over the whole budget: %d %q, want 400 naming the budget", resp.StatusCode, r.Error)
	}
}

// hugePNGValid is a real 3000x3000 Adam7 PNG (small when compressed): interlaced, it cannot stream into
// the resize, so decoding it holds the whole image, more than a 5 MiB budget.
func hugePNGValid(t testing.TB) []byte {
	return imagegen.PNG(imagegen.PNGOptions{W: 3000, H: 3000, ColorType: imagegen.RGB, Depth: 8, Interlaced: true, Pixel: imagegen.Flat})
}

// A request whose result does not come within the timeout gets 504; its memory stays reserved until the
// model is done with its image, then returns to the budget.
func TestTimeout504(t *testing.T) {
	m := loadModel(t)
	g := newGate(m)
	s, hs := newServer(t, g, Config{Timeout: time.Second})
	done := make(chan response, 1)
	go func() {
		resp, r := post(t, hs.URL+"/v1/classify", "image/jpeg", readShared(t, "parrot.jpg"))
		r.Status = resp.StatusCode
		done <- r
	}()
	<-g.started // the model holds the image now, and keeps it past the deadline
	if r := <-done; r.Status != 504 {
		t.Errorf("status %d %q, want 504", r.Status, r.Error)
	}
	base := infoOf(m).PeakBytes
	if s.Budget().InUse() <= base {
		t.Errorf("reservation released while the model still holds the image")
	}
	close(g.release)
	deadline := time.Now().Add(5 * time.Second)
	for s.Budget().InUse() != base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := s.Budget().InUse(); got != base {
		t.Errorf("after the batch finished %d bytes reserved, want %d", got, base)
	}
}

// Requests that queue while the model is busy run together as one batch.
func TestMicroBatchingCoalesces(t *testing.T) {
	m := loadModel(t)
	g := newGate(m)
	s, hs := newServerInfo(t, g, dynamic(infoOf(m)), Config{MaxBatch: 4, MaxWait: 2 * time.Second})
	photo := readShared(t, "cat.bmp")
	var wg sync.WaitGroup
	codes := make(chan int, 4)
	send := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := post(t, hs.URL+"/v1/classify", "image/bmp", photo)
			codes <- resp.StatusCode
		}()
	}
	send()
	if n := <-g.started; n != 1 { // alone: nothing else was on its way, so no waiting for company
		t.Errorf("first batch has %d images, want 1", n)
	}
	for i := 0; i < 3; i++ {
		send()
	}
	for deadline := time.Now().Add(10 * time.Second); s.batcher.queued.Load() < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("requests did not queue")
		}
	}
	g.release <- struct{}{} // finish the first batch
	select {
	case n := <-g.started:
		if n != 3 {
			t.Errorf("second batch has %d images, want the 3 that queued", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no second batch")
	}
	close(g.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("status %d", c)
		}
	}
	// With max-batch 1 every image runs alone.
	g1 := newGate(m)
	close(g1.release)
	_, hs1 := newServerInfo(t, g1, dynamic(infoOf(m)), Config{MaxBatch: 1, MaxWait: time.Second})
	var wg1 sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg1.Add(1)
		go func() { defer wg1.Done(); post(t, hs1.URL+"/v1/classify", "image/bmp", photo) }()
	}
	wg1.Wait()
	for _, n := range g1.sizes {
		if n != 1 {
			t.Errorf("max-batch 1 ran a batch of %d", n)
		}
	}
}
