package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/internal/procstat"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// testModelName is the smallest catalog model (128x128, 0.25 width): fast enough for handler tests.
const testModelName = "mobilenet_v1_0.25_128_quant"

var (
	loadOnce  sync.Once
	testModel *wanwu.Model
	loadErr   error
)

// loadModel loads the test model once per test binary (it is safe for concurrent use).
func loadModel(t testing.TB) *wanwu.Model {
	t.Helper()
	mirror := filepath.Dir(testutil.Shared(t, "models", testModelName+".tflite"))
	loadOnce.Do(func() {
		home, err := os.MkdirTemp("", "wanwu-server-test")
		if err != nil {
			loadErr = err
			return
		}
		testModel, loadErr = wanwu.Load(context.Background(), testModelName,
			wanwu.WithFetcher(&catalog.Fetcher{Home: home, Mirror: mirror}))
		os.RemoveAll(home) // the model is loaded (mapped); the cache copy is not needed any more
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return testModel
}

func infoOf(m *wanwu.Model) Info {
	h, w := m.InputSize()
	st := m.Stats()
	b, err := m.PredictBatches([]int{1})
	if err != nil {
		panic(err)
	}
	return Info{Name: m.Name, Format: m.Format, InputSize: []int{h, w}, Precision: m.Precision(),
		Labels: m.Labels().Len(), PlanBytes: int64(st.ArenaBytes), WeightBytes: int64(st.WeightBytes),
		PeakBytes: b.Total()}
}

// newServer starts s on an httptest server on loopback.
func newServer(t testing.TB, model Model, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	return newServerInfo(t, model, infoOf(loadModel(t)), cfg)
}

// dynamic pretends the model batches dynamically (the test models behind a gate only count batches).
func dynamic(i Info) Info {
	i.BatchDynamic = true
	return i
}

func newServerInfo(t testing.TB, model Model, info Info, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Budget == 0 {
		cfg.Budget = 256 << 20
	}
	s, err := New(model, info, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Close() })
	return s, hs
}

type response struct {
	Results []struct {
		File        string             `json:"file"`
		Model       string             `json:"model"`
		InputSize   []int              `json:"input_size"`
		Precision   string             `json:"precision"`
		Predictions []wanwu.Prediction `json:"predictions"`
		ElapsedMS   *float64           `json:"elapsed_ms"`
		Error       string             `json:"error"`
	} `json:"results"`
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func post(t testing.TB, url, contentType string, body []byte) (*http.Response, response) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r response
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("POST %s: status %d, body not JSON: %q", url, resp.StatusCode, b)
	}
	return resp, r
}

func multipartBody(t testing.TB, files map[string][]byte, order []string) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("note", "ignored field")
	for _, name := range order {
		fw, err := mw.CreateFormFile("image", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(files[name])
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func readShared(t testing.TB, name string) []byte {
	b, err := os.ReadFile(testutil.Shared(t, "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The API must answer what the library answers for the same photo, in the CLI's record format.
func TestClassifyMatchesLibrary(t *testing.T) {
	m := loadModel(t)
	_, hs := newServer(t, m, Config{})
	photos := []string{"parrot.jpg", "cat.bmp", "hot_dog.jpg"}
	want := map[string]wanwu.Result{}
	for _, p := range photos {
		res, err := m.ClassifyFile(context.Background(), testutil.Shared(t, "images", p), 3)
		if err != nil {
			t.Fatal(err)
		}
		want[p] = res
	}
	check := func(name string, got []wanwu.Prediction, lang string) {
		t.Helper()
		w := want[name].Predictions
		if len(got) != len(w) {
			t.Fatalf("%s: %d predictions, want %d", name, len(got), len(w))
		}
		for i := range w {
			label := w[i].Label
			if lang == "en" {
				label = w[i].LabelEn
			}
			if got[i].Index != w[i].Index || got[i].Label != label || got[i].LabelEn != w[i].LabelEn || got[i].Score != w[i].Score {
				t.Errorf("%s rank %d: %+v, library says %+v", name, i, got[i], w[i])
			}
		}
	}

	// Raw body.
	resp, r := post(t, hs.URL+"/v1/classify?top_k=3", "image/jpeg", readShared(t, "parrot.jpg"))
	if resp.StatusCode != 200 || len(r.Results) != 1 {
		t.Fatalf("raw: status %d %+v", resp.StatusCode, r)
	}
	rec := r.Results[0]
	if rec.Model != testModelName || len(rec.InputSize) != 2 || rec.InputSize[0] != 128 || rec.Precision != m.Precision() || rec.ElapsedMS == nil {
		t.Errorf("raw: record fields %+v", rec)
	}
	check("parrot.jpg", rec.Predictions, "zh")
	if !strings.Contains(rec.Predictions[0].Label, "鹦鹉") {
		t.Errorf("parrot top-1 %q", rec.Predictions[0].Label)
	}

	// Multipart, several files in one request, English labels.
	files := map[string][]byte{}
	for _, p := range photos {
		files[p] = readShared(t, p)
	}
	body, ct := multipartBody(t, files, photos)
	resp, r = post(t, hs.URL+"/v1/classify?top_k=3&lang=en", ct, body)
	if resp.StatusCode != 200 || len(r.Results) != len(photos) {
		t.Fatalf("multipart: status %d %+v", resp.StatusCode, r)
	}
	for i, p := range photos {
		if r.Results[i].File != p {
			t.Errorf("result %d is %q, want %q", i, r.Results[i].File, p)
		}
		check(p, r.Results[i].Predictions, "en")
	}
}

// One bad file among good ones is reported in its record; the others are still classified.
func TestMultipartPartialFailure(t *testing.T) {
	_, hs := newServer(t, loadModel(t), Config{})
	files := map[string][]byte{"parrot.jpg": readShared(t, "parrot.jpg"), "bad.jpg": []byte("\xff\xd8\xffgarbage")}
	body, ct := multipartBody(t, files, []string{"bad.jpg", "parrot.jpg"})
	resp, r := post(t, hs.URL+"/v1/classify", ct, body)
	if resp.StatusCode != 200 || len(r.Results) != 2 {
		t.Fatalf("status %d %+v", resp.StatusCode, r)
	}
	if r.Results[0].Error == "" || r.Results[0].Predictions != nil {
		t.Errorf("bad file: %+v", r.Results[0])
	}
	if r.Results[1].Error != "" || len(r.Results[1].Predictions) != 5 {
		t.Errorf("good file: %+v", r.Results[1])
	}
}

func pngOf(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// hugePNG is a valid PNG signature and IHDR declaring w×h, with no pixel data: it must be refused from
// its header alone.
func hugePNG(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	b = append(b, byte(w>>24), byte(w>>16), byte(w>>8), byte(w), byte(h>>24), byte(h>>16), byte(h>>8), byte(h), 8, 2, 0, 0, 0)
	crc := crc32.ChecksumIEEE(b[12:])
	return append(b, byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc))
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthReadyModelsMetricsPage(t *testing.T) {
	m := loadModel(t)
	s, hs := newServer(t, m, Config{})
	if code, _ := get(t, hs.URL+"/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, _ := get(t, hs.URL+"/readyz"); code != 200 {
		t.Errorf("readyz %d", code)
	}
	code, body := get(t, hs.URL+"/v1/models")
	var models struct{ Models []Info }
	if err := json.Unmarshal([]byte(body), &models); code != 200 || err != nil || len(models.Models) != 1 {
		t.Fatalf("models: %d %q", code, body)
	}
	if got := models.Models[0]; got.Name != testModelName || got.Labels != 1001 || got.PlanBytes != int64(m.Stats().ArenaBytes) || got.InputSize[0] != 128 {
		t.Errorf("models: %+v", got)
	}
	// Beside the model's reservation, what the process really holds (Linux: /proc), which is more.
	if rss, err := procstat.RSS(); err == nil {
		got := models.Models[0]
		if got.RSSBytes < rss/2 || got.RSSBytes > 2*rss || got.PeakRSSBytes < got.RSSBytes || got.RSSBytes <= got.PeakBytes {
			t.Errorf("models: rss_bytes %d, peak_rss_bytes %d, peak_bytes %d; the process holds %d", got.RSSBytes, got.PeakRSSBytes, got.PeakBytes, rss)
		}
	}
	code, page := get(t, hs.URL+"/")
	if code != 200 || !strings.Contains(page, "v1/classify") || !strings.Contains(page, "万物") {
		t.Errorf("page: %d", code)
	}
	post(t, hs.URL+"/v1/classify", "image/jpeg", readShared(t, "parrot.jpg"))
	post(t, hs.URL+"/v1/classify?top_k=0", "image/jpeg", nil)
	_, metrics := get(t, hs.URL+"/metrics")
	for _, want := range []string{
		`wanwu_http_requests_total{code="200",handler="classify"} 1`,
		`wanwu_http_requests_total{code="400",handler="classify"} 1`,
		`wanwu_rejections_total{reason="bad_query"} 1`,
		`wanwu_batch_size_count 1`,
		`wanwu_http_request_duration_seconds_count{handler="classify"} 2`,
		`wanwu_queue_depth 0`,
		fmt.Sprintf("wanwu_decode_bytes_total %d", len(readShared(t, "parrot.jpg"))),
		"wanwu_rss_bytes ", "wanwu_arena_bytes ", "wanwu_budget_reserved_bytes ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Draining: not ready, classify refused, health still fine.
	s.Drain()
	if code, _ := get(t, hs.URL+"/readyz"); code != 503 {
		t.Errorf("readyz while draining: %d", code)
	}
	if code, _ := get(t, hs.URL+"/healthz"); code != 200 {
		t.Errorf("healthz while draining: %d", code)
	}
	if resp, _ := post(t, hs.URL+"/v1/classify", "image/jpeg", readShared(t, "parrot.jpg")); resp.StatusCode != 503 {
		t.Errorf("classify while draining: %d", resp.StatusCode)
	}
}

func TestNewRefusesTooSmallBudget(t *testing.T) {
	m := loadModel(t)
	_, err := New(m, infoOf(m), Config{Budget: infoOf(m).PeakBytes})
	if err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("New with a budget the size of the model: %v", err)
	}
}

// A result scored for every class (a batch shared with another request's only=) is trimmed as the
// model's own top-K is: no background class, nothing under wanwu.MinScore after the first.
func TestMeaningfulTrimsFullResults(t *testing.T) {
	s, _ := newServer(t, loadModel(t), Config{})
	got := s.meaningful([]wanwu.Prediction{{Index: 90, Score: 0.9}, {Index: 0, Score: 0.05}, {Index: 12, Score: 0.04},
		{Index: 13, Score: wanwu.MinScore / 2}, {Index: 14, Score: 0}})
	if len(got) != 2 || got[0].Index != 90 || got[1].Index != 12 {
		t.Errorf("trimmed to %+v; want classes 90 and 12", got)
	}
}
