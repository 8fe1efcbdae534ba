package main

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// lockedBuffer is a bytes.Buffer safe for the server's logger and the test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{args: []string{"serve", "--max-batch", "0"}},
		{args: []string{"serve", "--budget", "12XB"}},
		{args: []string{"serve", "--max-body", "-1"}},
		{args: []string{"serve", "--timeout", "0s"}},
		{args: []string{"serve", "--log-format", "xml"}},
		{args: []string{"serve", "--timeout", "5s", "--body-timeout", "6s"}},
		{args: []string{"serve", "--body-stall", "0s"}},
		{args: []string{"serve", "--drain-delay", "-1s"}},
		{args: []string{"serve", "--max-conns", "0"}},
		{args: []string{"serve", "--max-decodes", "-2"}},
		{args: []string{"serve", "extra-arg"}},
		{args: []string{"serve"}, env: map[string]string{"WANWU_MAX_BATCH": "lots"}},
		{args: []string{"serve"}, env: map[string]string{"WANWU_MAX_WAIT": "-5ms"}},
	} {
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		_, stderr, code := runCLI(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v %v: exit %d, want %d (%s)", c.args, c.env, code, exitUsage, stderr)
		}
		for k := range c.env {
			os.Unsetenv(k)
		}
	}
}

// serve runs end to end: settings from the environment, a real request, and on cancellation (what
// SIGTERM does through main's signal context) /readyz answers 503 on new connections for the drain delay,
// the request in flight finishes, then the server stops.
func TestServeEndToEndAndGracefulShutdown(t *testing.T) {
	t.Setenv("WANWU_HOME", t.TempDir())
	t.Setenv("WANWU_MIRROR", filepath.Dir(testutil.Shared(t, "models", catalog.DefaultModel+".tflite")))
	t.Setenv("WANWU_ADDR", "127.0.0.1:0")
	t.Setenv("WANWU_MODEL", "mobilenet_v1_0.25_128_quant")
	t.Setenv("WANWU_MAX_BODY", "15MiB")
	t.Setenv("WANWU_BUDGET", "256MiB")
	t.Setenv("WANWU_DRAIN_DELAY", "1s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- NewMain(&stdout, &stderr).Run(ctx, []string{"serve", "--log-format", "json"}) }()

	addrRE := regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
	}
	if addr == "" {
		t.Fatalf("server did not start: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), `"max_body":15728640`) {
		t.Errorf("WANWU_MAX_BODY not applied: %s", stderr.String())
	}

	// A request with many photos is in flight when shutdown begins.
	photo, err := os.ReadFile(testutil.Shared(t, "images", "parrot.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i := 0; i < 12; i++ {
		fw, _ := mw.CreateFormFile("image", "parrot.jpg")
		fw.Write(photo)
	}
	mw.Close()
	type answer struct {
		code int
		n    int
		err  error
	}
	inflight := make(chan answer, 1)
	go func() {
		resp, err := http.Post("http://"+addr+"/v1/classify", mw.FormDataContentType(), &body)
		if err != nil {
			inflight <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var r struct{ Results []json.RawMessage }
		json.NewDecoder(resp.Body).Decode(&r)
		inflight <- answer{code: resp.StatusCode, n: len(r.Results)}
	}()
	// Cancel once the request is being handled (its body is read before the log line is written, so
	// wait for the batch to be visible in the metrics instead).
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if regexp.MustCompile(`wanwu_queue_depth [1-9]|wanwu_batch_size_count [1-9]`).MatchString(b.String()) {
			break
		}
	}
	cancel()
	began := time.Now()
	// During the drain delay new connections are still accepted and told the server is not ready.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	sawDrain := false
	for time.Since(began) < 800*time.Millisecond {
		resp, err := fresh.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatalf("connection refused during the drain delay: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			sawDrain = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !sawDrain {
		t.Error("readyz never answered 503 during the drain delay")
	}
	a := <-inflight
	if a.err != nil || a.code != 200 || a.n != 12 {
		t.Errorf("request in flight at shutdown: %+v, want 200 with 12 results", a)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d: %s", code, stderr.String())
		}
		if d := time.Since(began); d < time.Second {
			t.Errorf("serve stopped %v after the signal, before the 1s drain delay", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
	if !bytes.Contains([]byte(stderr.String()), []byte(`"msg":"stopped"`)) {
		t.Errorf("no stop log: %s", stderr.String())
	}
}
