package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/labels"
)

// serving is a Server run by Serve on a real loopback listener.
type serving struct {
	s      *Server
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func startServe(t testing.TB, model Model, info Info, cfg Config) *serving {
	t.Helper()
	if cfg.Budget == 0 {
		cfg.Budget = 256 << 20
	}
	s, err := New(model, info, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sv := &serving{s: s, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { sv.done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		s.EndDrainDelay()
		cancel()
		select {
		case <-sv.done:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return sv
}

// rawRequest writes head and then body on a fresh connection, each body piece after pause, and returns
// the response (status, and how long after the head was written it came).
func rawRequest(t testing.TB, addr, head string, pieces []string, pause time.Duration) (*http.Response, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	start := time.Now()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	go func() {
		for _, p := range pieces {
			time.Sleep(pause)
			if _, err := io.WriteString(c, p); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, time.Since(start)
}

// A body that stops coming (shorter than its Content-Length), or trickles in forever, gets 408 at its
// deadline, not 504 at the request's; a body over --max-body gets 413 as soon as the limit is passed.
func TestBodyDeadlines(t *testing.T) {
	m := loadModel(t)
	sv := startServe(t, m, infoOf(m), Config{Timeout: 10 * time.Second, BodyTimeout: 2 * time.Second,
		BodyStall: 500 * time.Millisecond, MaxBody: 1 << 20})
	head := func(extra string) string {
		return "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n" + extra + "\r\n"
	}
	chunk := func(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }
	trickle := make([]string, 100)
	for i := range trickle {
		trickle[i] = chunk("0123456789")
	}
	big := make([]string, 40)
	for i := range big {
		big[i] = chunk(strings.Repeat("x", 64<<10))
	}
	cases := []struct {
		name    string
		head    string
		pieces  []string
		pause   time.Duration
		code    int
		byAfter time.Duration // answered within this long
	}{
		{"short body stalls", head("Content-Length: 100000\r\n"), []string{strings.Repeat("x", 1000)}, 0, 408, 2 * time.Second},
		{"endless slow chunked body", head("Transfer-Encoding: chunked\r\n"), trickle, 200 * time.Millisecond, 408, 3 * time.Second},
		{"stall in a chunked body", head("Transfer-Encoding: chunked\r\n"), []string{chunk("abc")}, 0, 408, 2 * time.Second},
		{"chunked body over max-body", head("Transfer-Encoding: chunked\r\n"), big, 0, 413, 3 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, took := rawRequest(t, sv.addr, c.head, c.pieces, c.pause)
			if resp.StatusCode != c.code || took > c.byAfter {
				t.Errorf("status %d after %v; want %d within %v", resp.StatusCode, took, c.code, c.byAfter)
			}
			if !resp.Close {
				t.Errorf("status %d without Connection: close (the unread body leaves the connection unusable)", resp.StatusCode)
			}
		})
	}
	// The budget holds only the model again once the connections are gone.
	waitInUse(t, sv.s, infoOf(m).PeakBytes, 0)
}

// waitInUse waits until the budget holds want bytes (plus conns open connections' share).
func waitInUse(t testing.TB, s *Server, want int64, conns int) {
	t.Helper()
	want += int64(conns) * connBytes
	deadline := time.Now().Add(5 * time.Second)
	for s.Budget().InUse() != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := s.Budget().InUse(); got != want {
		t.Errorf("budget holds %d bytes, want %d", got, want)
	}
}

// Slow uploads hold the memory of the bytes they have sent, not of the body they announce: many of them
// at once (each announcing 8 MiB, in a budget with room for one such body) leave room for a good request.
func TestSlowUploadsReserveWhatArrived(t *testing.T) {
	m := loadModel(t)
	info := infoOf(m)
	budget := info.PeakBytes + 12<<20
	sv := startServe(t, m, info, Config{Budget: budget, MaxBody: 10 << 20, Timeout: 10 * time.Second,
		BodyTimeout: 8 * time.Second, BodyStall: 5 * time.Second, AdmissionWait: 200 * time.Millisecond})
	const slow = 13
	var conns []net.Conn
	for i := 0; i < slow; i++ {
		c, err := net.Dial("tcp", sv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s",
			8<<20, strings.Repeat("x", 10_000))
		conns = append(conns, c)
	}
	// Wait until every slow request has reserved its first chunk.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		held := sv.s.Budget().InUse() - info.PeakBytes
		if held >= slow*(firstChunk+requestBaseBytes) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	held := sv.s.Budget().InUse() - info.PeakBytes
	perSlow := held / slow
	if perSlow > connBytes+requestBaseBytes+firstChunk {
		t.Errorf("each slow upload holds %d bytes of budget after sending 10 kB of 8 MiB; want at most a connection, the request base and one %d-byte chunk", perSlow, firstChunk)
	}
	resp, r := post(t, "http://"+sv.addr+"/v1/classify", "image/jpeg", readShared(t, "parrot.jpg"))
	if resp.StatusCode != 200 {
		t.Errorf("good request next to %d slow uploads: %d %q", slow, resp.StatusCode, r.Error)
	}
}

// During the drain delay the server still accepts connections: /readyz and new classify requests get 503
// (with Retry-After and Connection: close), the request in flight finishes; then the listener closes and
// Serve returns.
func TestDrainKeepsAccepting(t *testing.T) {
	m := loadModel(t)
	g := newGate(m)
	sv := startServe(t, g, infoOf(m), Config{DrainDelay: 1500 * time.Millisecond, Drain: 10 * time.Second})
	base := "http://" + sv.addr
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz before the drain: %d", code)
	}
	inflight := make(chan int, 1)
	go func() {
		resp, _ := post(t, base+"/v1/classify", "image/jpeg", readShared(t, "parrot.jpg"))
		inflight <- resp.StatusCode
	}()
	<-g.started
	began := time.Now()
	sv.cancel()
	for sv.s.ready.Load() {
		time.Sleep(time.Millisecond)
	}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for time.Since(began) < time.Second {
		resp, err := fresh.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("connection during the drain delay: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Errorf("readyz during the drain: %d", resp.StatusCode)
		}
		resp, err = fresh.Post(base+"/v1/classify", "image/jpeg", bytes.NewReader(readShared(t, "cat.bmp")))
		if err != nil {
			t.Fatalf("classify during the drain delay: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !resp.Close {
			t.Errorf("classify during the drain: %d Retry-After %q close %v; want 503, Retry-After, Connection: close",
				resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close)
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(g.release)
	if code := <-inflight; code != 200 {
		t.Errorf("request in flight at the drain: %d", code)
	}
	select {
	case err := <-sv.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		if d := time.Since(began); d < 1400*time.Millisecond {
			t.Errorf("Serve returned %v after the drain began, before the 1.5s delay", d)
		}
		sv.done <- nil // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
	if _, err := net.DialTimeout("tcp", sv.addr, time.Second); err == nil {
		t.Error("listener still open after the drain")
	}
}

// A head over MaxHeaderBytes is refused by net/http (431) before the handler; open connections are
// bounded, and one over the bound waits to be accepted rather than being refused.
func TestHeadersAndConnectionLimit(t *testing.T) {
	m := loadModel(t)
	sv := startServe(t, m, infoOf(m), Config{MaxConns: 8})
	resp, _ := rawRequest(t, sv.addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 2*MaxHeaderBytes)+"\r\n\r\n", nil, 0)
	if resp.StatusCode != 431 {
		t.Errorf("head of %d bytes: status %d, want 431", 2*MaxHeaderBytes, resp.StatusCode)
	}
	// Eight idle connections take every slot.
	var idle []net.Conn
	for i := 0; i < 8; i++ {
		c, err := net.Dial("tcp", sv.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	waitInUse(t, sv.s, infoOf(m).PeakBytes, 8)
	answered := make(chan int, 1)
	go func() {
		c, err := net.Dial("tcp", sv.addr) // completes: the kernel queues it
		if err != nil {
			answered <- -1
			return
		}
		defer c.Close()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			answered <- -2
			return
		}
		answered <- resp.StatusCode
	}()
	select {
	case code := <-answered:
		t.Fatalf("a ninth connection was served (%d) while eight held every slot", code)
	case <-time.After(300 * time.Millisecond):
	}
	idle[0].Close()
	select {
	case code := <-answered:
		if code != 200 {
			t.Errorf("queued connection: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("queued connection not served after a slot freed")
	}
	for _, c := range idle[1:] {
		c.Close()
	}
}

// Each open connection with a head just under MaxHeaderBytes holds less than the connBytes it reserves
// (heap and stack of the process, per connection).
func TestConnectionMemory(t *testing.T) {
	m := loadModel(t)
	info := infoOf(m)
	sv := startServe(t, m, info, Config{Budget: info.PeakBytes + 64<<20, MaxConns: 200})
	measure := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapInuse + ms.StackInuse)
	}
	before := measure()
	const n = 100
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", sv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A head that stops just before its end: the server holds all of it, parsed so far.
		fmt.Fprintf(c, "POST /v1/classify HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n", strings.Repeat("a", MaxHeaderBytes-1024))
	}
	waitInUse(t, sv.s, info.PeakBytes, n)
	time.Sleep(200 * time.Millisecond) // let the server read the heads
	per := (measure() - before) / n
	t.Logf("%d bytes of heap and stack per connection with a %d-byte head", per, MaxHeaderBytes-1024)
	if per > connBytes {
		t.Errorf("a connection holds %d bytes, more than the %d it reserves", per, connBytes)
	}
}

// Multipart bodies with many fields are refused; part headers are parsed within the allowance reserved.
func TestMultipartLimits(t *testing.T) {
	m := loadModel(t)
	_, hs := newServer(t, m, Config{MaxFiles: 4})
	png := pngOf(8, 8)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i <= maxOtherParts; i++ {
		mw.WriteField(fmt.Sprint("f", i), "v")
	}
	mw.Close()
	resp, r := post(t, hs.URL+"/v1/classify", mw.FormDataContentType(), buf.Bytes())
	if resp.StatusCode != 400 || !strings.Contains(r.Error, "fields") {
		t.Errorf("%d fields: %d %q, want 400", maxOtherParts+1, resp.StatusCode, r.Error)
	}
	files := map[string][]byte{}
	var order []string
	for i := 0; i < 5; i++ {
		name := fmt.Sprint(i, ".png")
		files[name] = png
		order = append(order, name)
	}
	body, ct := multipartBody(t, files, order)
	resp, r = post(t, hs.URL+"/v1/classify", ct, body)
	if resp.StatusCode != 400 || !strings.Contains(r.Error, "more than 4 images") {
		t.Errorf("5 images with max 4: %d %q", resp.StatusCode, r.Error)
	}
}

// TestMultipartParseAllocations checks multipartParseBytes with the costliest part heads within
// maxPartHead: many tiny header lines (net/textproto makes strings and a map entry of each) and one long
// value (copied as it grows); a head over maxPartHead is refused before parsing.
func TestMultipartParseAllocations(t *testing.T) {
	m := loadModel(t)
	s, hs := newServer(t, m, Config{})
	part := func(head string) []byte {
		return []byte("--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n" + head +
			"\r\n" + string(pngOf(4, 4)) + "\r\n--B--\r\n")
	}
	lines := func(n int, format string) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	room := maxPartHead - 100
	for name, head := range map[string]string{
		"no extra header":  "",
		"tiny lines":       lines(room/6, "%04d:\r\n")[:room],
		"long value":       "X-Long: " + strings.Repeat("v", room-10) + "\r\n",
		"many short lines": lines(room/12, "X-%04d: ab\r\n"),
	} {
		body := part(head)
		if err := checkPartHeads(bytes.NewReader(body), "B"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res := s.budget.newReservation()
		var err error
		alloc := allocatedBy(func() { _, err = s.readMultipart(context.Background(), bytes.NewReader(body), "B", res) })
		// Part data is reserved by readMultipart itself; the parse allowance covers the rest.
		allowance := multipartParseBytes + res.held()
		res.done()
		t.Logf("%s: head %d bytes, %d allocated, %d allowed (%v)", name, len(head), alloc, allowance, err)
		if alloc > allowance {
			t.Errorf("%s: parsing allocated %d bytes, more than the %d reserved", name, alloc, allowance)
		}
	}
	for name, head := range map[string]string{
		"long value": "X-Long: " + strings.Repeat("v", maxPartHead) + "\r\n",
		"many lines": lines(maxPartHead/4, "%d:\r\n"),
	} {
		resp, r := post(t, hs.URL+"/v1/classify", "multipart/form-data; boundary=B", part(head))
		if resp.StatusCode != 400 || !strings.Contains(r.Error, "head") {
			t.Errorf("part head over %d bytes (%s): %d %q, want 400", maxPartHead, name, resp.StatusCode, r.Error)
		}
	}
}

// wideModel scores classes classes the way wanwu.Model does (a probability and a sort index per class,
// then the top-K named): a stand-in for a model with a label set of tens of thousands of classes.
type wideModel struct {
	Model
	ls *labels.Set
}

func (w wideModel) Labels() *labels.Set { return w.ls }

func (w wideModel) ClassifyBatch(ctx context.Context, imgs []*imageio.RGB, topK int) ([]wanwu.Result, error) {
	n := w.ls.Len()
	out := make([]wanwu.Result, len(imgs))
	for i := range imgs {
		scores := make([]float64, n)
		idx := make([]int, n)
		for c := range scores {
			scores[c] = 1 / float64(c+1+i)
			idx[c] = c
		}
		preds := make([]wanwu.Prediction, min(topK, n))
		for p := range preds {
			preds[p] = wanwu.Prediction{Index: idx[p], Label: w.ls.Name(idx[p], "zh"), LabelEn: w.ls.Name(idx[p], "en"), Score: scores[p]}
		}
		out[i] = wanwu.Result{Predictions: preds}
	}
	return out, nil
}

// Every byte a request allocates (in the handler, the decoder, the batcher and the model's scoring) was
// reserved from the budget first: the bytes allocated while serving it are at most the bytes reserved for
// it, for a raw photo, a multipart request, only= on ImageNet and only= on a label set of 54,000 classes.
func TestRequestAllocationsAreReserved(t *testing.T) {
	m := loadModel(t)
	var names bytes.Buffer
	for i := 0; i < 54000; i++ {
		fmt.Fprintf(&names, "class %05d\n", i)
	}
	wide, err := labels.Parse("wide.txt", names.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	photos := map[string][]byte{"parrot.jpg": readShared(t, "parrot.jpg"), "cat.bmp": readShared(t, "cat.bmp"), "p.png": pngOf(300, 200)}
	mp, mpType := multipartBody(t, photos, []string{"parrot.jpg", "cat.bmp", "p.png"})
	wideInfo := infoOf(m)
	wideInfo.Labels = wide.Len()
	cases := []struct {
		name  string
		model Model
		info  Info
		query string
		ctype string
		body  []byte
	}{
		{"raw jpeg", m, infoOf(m), "?top_k=5", "image/jpeg", photos["parrot.jpg"]},
		{"multipart", m, infoOf(m), "?top_k=1000", mpType, mp},
		{"only on imagenet", m, infoOf(m), "?only=狗,猫,鸟", "image/bmp", photos["cat.bmp"]},
		{"only on 54k classes", wideModel{Model: m, ls: wide}, wideInfo, "?only=class&top_k=1000", mpType, mp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(c.model, c.info, Config{Budget: 512 << 20, MaxWait: 0})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			h := s.Handler()
			serve := func() int {
				req := httptest.NewRequest("POST", "/v1/classify"+c.query, bytes.NewReader(c.body))
				req.Header.Set("Content-Type", c.ctype)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec.Code
			}
			if code := serve(); code != 200 { // warm: label indexes, the batch program, pools
				t.Fatalf("status %d", code)
			}
			before := s.budget.granted.Load()
			var code int
			alloc := allocatedBy(func() { code = serve() })
			granted := s.budget.granted.Load() - before
			t.Logf("allocated %d bytes, reserved %d", alloc, granted)
			if code != 200 {
				t.Fatalf("status %d", code)
			}
			if alloc > granted {
				t.Errorf("the request allocated %d bytes, more than the %d it reserved", alloc, granted)
			}
		})
	}
}

// Concurrent slow clients hold connection slots and their chunks, never the budget of what they announce;
// a burst of them ends with the budget back at the model's share.
func TestManySlowClientsReleaseEverything(t *testing.T) {
	m := loadModel(t)
	info := infoOf(m)
	sv := startServe(t, m, info, Config{Budget: info.PeakBytes + 32<<20, MaxBody: 20 << 20,
		BodyTimeout: time.Second, BodyStall: 300 * time.Millisecond})
	var wg sync.WaitGroup
	codes := make(chan int, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, _ := rawRequest(t, sv.addr, fmt.Sprintf("POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n", 20<<20),
				[]string{strings.Repeat("z", 1000*(i+1))}, 10*time.Millisecond)
			codes <- resp.StatusCode
		}(i)
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 408 {
			t.Errorf("slow client: %d, want 408", c)
		}
	}
	waitInUse(t, sv.s, info.PeakBytes, 0)
}
