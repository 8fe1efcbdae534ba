package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
)

// constModel answers every image with the same predictions without running the network: the fuzzer
// exercises the handler (parsing, limits, admission, decoding, batching), not the kernels.
type constModel struct{ Model }

func (c constModel) ClassifyBatch(ctx context.Context, imgs []*imageio.RGB, topK int) ([]wanwu.Result, error) {
	out := make([]wanwu.Result, len(imgs))
	for i, img := range imgs {
		if img.W <= 0 || img.H <= 0 || len(img.Pix) != img.W*img.H*3 {
			panic("inconsistent image reached the model")
		}
		preds := make([]wanwu.Prediction, min(topK, 1001))
		for j := range preds {
			preds[j] = wanwu.Prediction{Index: j, Label: "x", LabelEn: "x", Score: 1 / float64(j+1)}
		}
		out[i] = wanwu.Result{Predictions: preds}
	}
	return out, nil
}

// FuzzClassifyHandler sends arbitrary Content-Types, queries and bodies to POST /v1/classify: every
// answer must be JSON with a status from the API's list, never a 5xx other than 503, never a panic, and
// the memory budget must return to the model's reservation afterwards. Seeds: the committed corpus in
// testdata/fuzz/FuzzClassifyHandler (small images, multipart bodies, pixel bombs, bad queries); they run
// as ordinary tests in `go test`. Fuzz for a bounded time with:
//
//	go test -run '^$' -fuzz FuzzClassifyHandler -fuzztime 60s -fuzzminimizetime 2s ./internal/server
func FuzzClassifyHandler(f *testing.F) {
	m := loadModel(f)
	info := infoOf(m)
	s, err := New(constModel{m}, info, Config{Budget: info.PeakBytes + 64<<20, MaxBody: 1 << 20,
		MaxPixels: 4 << 20, Timeout: 5 * time.Second, AdmissionWait: time.Second, MaxWait: 0})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	h := s.Handler()
	f.Add("image/png", "top_k=3", pngOf(4, 3))
	f.Add("image/png", "only=%E7%8C%AB&lang=en", pngOf(2, 2))
	f.Add("image/jpeg", "", []byte("\xff\xd8\xff\xe0garbage"))
	f.Add("image/png", "", hugePNG(30000, 30000))
	f.Add("multipart/form-data; boundary=B", "top_k=1",
		[]byte("--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"+string(pngOf(3, 3))+"\r\n--B--\r\n"))
	f.Add("multipart/form-data; boundary=B", "",
		[]byte("--B\r\nContent-Disposition: form-data; name=\"image\"\r\nX-Long: "+strings.Repeat("v", maxPartHead)+"\r\n\r\nx\r\n--B--\r\n"))
	f.Add("multipart/form-data; boundary=B", "", []byte(strings.Repeat("--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n", 20)+"--B--\r\n"))
	allowed := map[int]bool{200: true, 400: true, 413: true, 415: true, 503: true}
	f.Fuzz(func(t *testing.T, ctype, query string, body []byte) {
		req := httptest.NewRequest("POST", "/v1/classify", bytes.NewReader(body))
		if q, err := parseQuerySafe(query); err == nil {
			req.URL.RawQuery = q
		}
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d for Content-Type %q query %q: %s", rec.Code, ctype, query, rec.Body.Bytes())
		}
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("status %d body is not JSON: %q", rec.Code, rec.Body.Bytes())
		}
		if rec.Code == 200 {
			if _, ok := v["results"].([]any); !ok {
				t.Fatalf("200 without results: %s", rec.Body.Bytes())
			}
		}
		if got := s.Budget().InUse(); got != info.PeakBytes {
			t.Fatalf("budget holds %d bytes after the request, want the model's %d", got, info.PeakBytes)
		}
	})
}

// parseQuerySafe keeps fuzzed queries that net/http could have received (no spaces or control bytes).
func parseQuerySafe(q string) (string, error) {
	r, err := http.NewRequest("POST", "/v1/classify?"+q, nil)
	if err != nil {
		return "", err
	}
	return r.URL.RawQuery, nil
}
