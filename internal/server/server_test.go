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
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/imagegen"
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

// loadPruned loads the test model again with opts (a class subset), closed when the test ends.
func loadPruned(t testing.TB, opts ...wanwu.Option) *wanwu.Model {
	t.Helper()
	mirror := filepath.Dir(testutil.Shared(t, "models", testModelName+".tflite"))
	m, err := wanwu.Load(context.Background(), testModelName,
		append(opts, wanwu.WithFetcher(&catalog.Fetcher{Home: t.TempDir(), Mirror: mirror}))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
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

// only= keeps the matching classes, rescaled so they sum to one over the subset (softmax over the subset).
func TestOnlySubset(t *testing.T) {
	m := loadModel(t)
	_, hs := newServer(t, m, Config{})
	body := readShared(t, "cat.bmp")
	resp, r := post(t, hs.URL+"/v1/classify?only=猫&top_k=1000", "image/bmp", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %+v", resp.StatusCode, r)
	}
	idx, err := m.Labels().Match([]string{"猫"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	preds := r.Results[0].Predictions
	if len(preds) == 0 || len(preds) > len(idx) {
		t.Fatalf("%d predictions, want at most the %d cat classes", len(preds), len(idx))
	}
	sum := 0.0
	in := map[int]bool{}
	for _, i := range idx {
		in[i] = true
	}
	for _, p := range preds {
		if !in[p.Index] {
			t.Errorf("class %d %q is not a cat", p.Index, p.Label)
		}
		sum += p.Score
	}
	// Classes under wanwu.MinScore are left out: the rest sum to 1 less at most those.
	if left := float64(len(idx)-len(preds)) * wanwu.MinScore; sum < 0.999-left || sum > 1.001 {
		t.Errorf("subset scores sum to %v, want 1 (less at most %v left out)", sum, left)
	}
	// The subset keeps the library's order among cats.
	all, _ := m.ClassifyFile(context.Background(), testutil.Shared(t, "images", "cat.bmp"), 1001)
	var wantFirst int
	for _, p := range all.Predictions {
		if in[p.Index] {
			wantFirst = p.Index
			break
		}
	}
	if preds[0].Index != wantFirst {
		t.Errorf("top cat %d, library's best cat %d", preds[0].Index, wantFirst)
	}
}

// only= on a quantized model scores the subset as a head pruned to it does (wanwu.WithOnly): even where
// the subset is far from the photo's best classes (a parrot's cats, whose probabilities a u8 softmax
// rounds to 0), the scores are the softmax over the subset, sum to 1 and are not padded with zeros.
func TestOnlySubsetMatchesPrunedHead(t *testing.T) {
	m := loadModel(t)
	_, hs := newServer(t, m, Config{})
	for _, c := range []struct{ photo, ctype, only string }{
		{"cat.bmp", "image/bmp", "猫"},
		{"parrot.jpg", "image/jpeg", "猫"},
		{"parrot.jpg", "image/jpeg", "狗,猫"},
	} {
		t.Run(c.photo+"/"+c.only, func(t *testing.T) {
			resp, r := post(t, hs.URL+"/v1/classify?top_k=1000&only="+c.only, c.ctype, readShared(t, c.photo))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d %+v", resp.StatusCode, r)
			}
			pruned := loadPruned(t, wanwu.WithOnly(strings.Split(c.only, ","), 0))
			want, err := pruned.ClassifyFile(context.Background(), testutil.Shared(t, "images", c.photo), 5)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Results[0].Predictions
			if len(got) == 0 || len(got) < len(want.Predictions) {
				t.Fatalf("got %d predictions, the pruned head lists %d: %+v", len(got), len(want.Predictions), got)
			}
			for i, w := range want.Predictions {
				if got[i].Index != w.Index || math.Abs(got[i].Score-w.Score) > 1e-6 {
					t.Errorf("rank %d: server %d %.6f, pruned head %d %.6f", i+1, got[i].Index, got[i].Score, w.Index, w.Score)
				}
			}
			for _, p := range got[1:] {
				if p.Score < wanwu.MinScore {
					t.Errorf("padded with %q at %.6f", p.Label, p.Score)
				}
			}
		})
	}
}

// A word of only= that matches no class is a warning in the response while others match; when none
// matches it is an error; a server pruned at load (serve --only) answers within its classes.
func TestOnlyUnmatchedWordsAndServerSubset(t *testing.T) {
	m := loadModel(t)
	_, hs := newServer(t, m, Config{})
	body := readShared(t, "cat.bmp")
	resp, err := http.Post(hs.URL+"/v1/classify?only=猫,nosuchword", "image/bmp", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Results  []json.RawMessage `json:"results"`
		Warnings []string          `json:"warnings"`
	}
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(r.Results) != 1 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "nosuchword") {
		t.Errorf("only=猫,nosuchword: status %d, %d results, warnings %q; want 200 with a warning naming the word", resp.StatusCode, len(r.Results), r.Warnings)
	}
	if resp, r := post(t, hs.URL+"/v1/classify?only=nosuchword,northisone", "image/bmp", body); resp.StatusCode != 400 {
		t.Errorf("every word unmatched: status %d %+v, want 400", resp.StatusCode, r)
	}

	cats, err := m.Labels().Match([]string{"猫"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	pruned := loadPruned(t, wanwu.WithClasses(cats))
	_, ps := newServerInfo(t, pruned, infoOf(pruned), Config{Classes: pruned.Classes()})
	if resp, r := post(t, ps.URL+"/v1/classify?only=狗", "image/bmp", body); resp.StatusCode != 400 {
		t.Errorf("only=狗 on a server of cats: status %d %+v, want 400", resp.StatusCode, r)
	}
	resp2, r2 := post(t, ps.URL+"/v1/classify?only=虎斑猫,狗", "image/bmp", body)
	if resp2.StatusCode != 200 || len(r2.Results[0].Predictions) != 1 || r2.Results[0].Predictions[0].Label != "虎斑猫" ||
		math.Abs(r2.Results[0].Predictions[0].Score-1) > 1e-9 {
		t.Errorf("only=虎斑猫,狗 on a server of cats: status %d %+v, want 虎斑猫 alone at 1", resp2.StatusCode, r2)
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

func TestErrorStatuses(t *testing.T) {
	_, hs := newServer(t, loadModel(t), Config{MaxBody: 1 << 20, MaxPixels: 4_000_000})
	parrot := readShared(t, "parrot.jpg")
	big := make([]byte, 2<<20)
	copy(big, parrot)
	truncated := parrot[:len(parrot)/3]
	cases := []struct {
		name, query, ctype string
		body               []byte
		code               int
		contains           string
	}{
		{"text body", "", "text/plain", []byte("hello"), 415, "Content-Type"},
		{"no type", "", "", parrot, 415, "Content-Type"},
		{"tiff", "", "image/tiff", []byte("II*\x00junkjunk"), 415, "unknown image format"},
		{"corrupt jpeg", "", "image/jpeg", []byte("\xff\xd8\xff\xe0garbage"), 400, "jpeg"},
		{"not an image but says png", "", "image/png", []byte("hello world"), 400, "unknown image format"},
		{"truncated jpeg", "", "image/jpeg", truncated, 400, "truncated"},
		{"too many pixels", "", "image/png", hugePNG(30000, 30000), 400, "image too large: 30000x30000"},
		{"body over limit", "", "image/jpeg", big, 413, "limit"},
		{"empty", "", "image/jpeg", nil, 400, "unknown image format"},
		{"top_k zero", "?top_k=0", "image/jpeg", parrot, 400, "top_k"},
		{"top_k text", "?top_k=five", "image/jpeg", parrot, 400, "top_k"},
		{"lang", "?lang=fr", "image/jpeg", parrot, 400, "lang"},
		{"only nothing", "?only=nosuchthingatall", "image/jpeg", parrot, 400, "only"},
		{"match mode", "?only=猫&match=fuzzy", "image/jpeg", parrot, 400, "match"},
		{"size other", "?size=224", "image/jpeg", parrot, 400, "size 224"},
		{"size small", "?size=8", "image/jpeg", parrot, 400, "size"},
		{"multipart no image field", "", "multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--xyz--\r\n"), 400, "no image"},
		{"multipart no boundary", "", "multipart/form-data", []byte("x"), 400, "boundary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, r := post(t, hs.URL+"/v1/classify"+c.query, c.ctype, c.body)
			if resp.StatusCode != c.code || !strings.Contains(r.Error, c.contains) || r.Status != c.code {
				t.Errorf("status %d error %q; want %d containing %q", resp.StatusCode, r.Error, c.code, c.contains)
			}
		})
	}
	// Streaming a body without Content-Length over the limit is cut off too.
	req, _ := http.NewRequest("POST", hs.URL+"/v1/classify", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "image/jpeg")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked body over the limit: status %d, want 413", resp.StatusCode)
	}
	// Wrong methods and paths.
	for path, code := range map[string]int{"/v1/classify": 405, "/nope": 404} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, code)
		}
	}
}

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
