// Package server is wanwu's HTTP service: the classify API, the web page, health and metrics, with
// admission control by memory, micro-batching across requests, and limits on every input.
package server

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/memory"
)

// Config sets the server's limits. Zero fields take the defaults in New.
type Config struct {
	Budget    int64         // memory budget in bytes for the whole process (model included)
	MaxBatch  int           // images per model run (1 = no batching); default 8
	MaxWait   time.Duration // how long a batch waits for more images; default 5ms
	MaxBody   int64         // request body limit; default 20 MiB
	Timeout   time.Duration // per-request deadline; default 10s
	MaxPixels int64         // pixel limit per image; default imageio.DefaultMaxPixels
	// AdmissionWait bounds how long a request waits for memory before 503; default 1s (at most Timeout).
	AdmissionWait time.Duration
	// MaxFiles bounds the images of one multipart request; default 32.
	MaxFiles int
	Logger   *slog.Logger
}

// Model is what the server needs from a loaded model: *wanwu.Model implements it.
type Model interface {
	Classifier
	InputSize() (h, w int)
	Precision() string
	Labels() *labels.Set
	// DecodeOptions are how photos are decoded for this model (the DCT scale its resize allows).
	DecodeOptions() imageio.DecodeOptions
}

// Info describes the served model for /v1/models and the reservation of its memory.
type Info struct {
	Name        string `json:"name"`
	Format      string `json:"format"`
	InputSize   []int  `json:"input_size"`
	Precision   string `json:"precision"`
	Labels      int    `json:"labels"`
	PlanBytes   int64  `json:"plan_bytes"`   // activation arenas of every batch size the server runs
	WeightBytes int64  `json:"weight_bytes"` // weights (and repacked copies)
	PeakBytes   int64  `json:"peak_bytes"`   // predicted model memory: weights + arenas + runtime
	MaxBatch    int    `json:"max_batch"`
	// BatchDynamic: the model runs several images in one run. Without it, max-batch is 1: a fixed-batch
	// model runs images one by one anyway, and gathering them would only add waiting.
	BatchDynamic bool `json:"batch_dynamic"`
	SizeDynamic  bool `json:"size_dynamic"`
}

// Server serves one model. Create it with New, mount Handler, and call Shutdown when done.
type Server struct {
	cfg     Config
	model   Model
	info    Info
	budget  *Budget
	batcher *batcher
	metrics *metrics
	log     *slog.Logger
	mux     *http.ServeMux

	ready    atomic.Bool
	draining atomic.Bool
}

//go:embed web/index.html
var webFS embed.FS

// New starts serving model under cfg. info.PeakBytes (the model's predicted memory) is reserved from
// the budget for the server's lifetime; the budget must leave room for requests too.
func New(model Model, info Info, cfg Config) (*Server, error) {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 8
	}
	if cfg.MaxWait < 0 {
		cfg.MaxWait = 0
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 20 << 20
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.AdmissionWait <= 0 {
		cfg.AdmissionWait = time.Second
	}
	cfg.AdmissionWait = min(cfg.AdmissionWait, cfg.Timeout)
	if cfg.MaxFiles <= 0 {
		cfg.MaxFiles = 32
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = imageio.DefaultMaxPixels
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Budget <= 0 {
		b, err := memory.DetectBudget()
		if err != nil {
			return nil, err
		}
		cfg.Budget = b.Bytes
	}
	if !info.BatchDynamic {
		cfg.MaxBatch = 1
	}
	info.MaxBatch = cfg.MaxBatch
	// The smallest request: a 1 MiB body and a small photo. Less than that left over is a configuration
	// that can only answer 503, so it is refused at start with the figures.
	minRequest := int64(4 << 20)
	if info.PeakBytes+minRequest > cfg.Budget {
		return nil, fmt.Errorf("budget %s is too small: the model needs %s (weights %s, arenas %s) plus at least %s per request",
			memory.FormatSize(cfg.Budget), memory.FormatSize(info.PeakBytes), memory.FormatSize(info.WeightBytes), memory.FormatSize(info.PlanBytes), memory.FormatSize(minRequest))
	}
	s := &Server{cfg: cfg, model: model, info: info, budget: NewBudget(cfg.Budget), log: cfg.Logger}
	if !s.budget.TryAcquire(info.PeakBytes) {
		panic("server: fresh budget refused the model's reservation")
	}
	s.metrics = newMetrics(s.budget, func() float64 { return float64(s.info.PlanBytes) })
	s.batcher = newBatcher(model, cfg.MaxBatch, cfg.MaxWait, 1024, s.metrics)
	s.routes()
	s.ready.Store(true)
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Budget exposes the memory budget (for tests and logs).
func (s *Server) Budget() *Budget { return s.budget }

// Drain marks the server not ready and refuses new classify requests with 503 while in-flight ones
// finish; http.Server.Shutdown then waits for them. Call it on SIGTERM before Shutdown.
func (s *Server) Drain() {
	s.draining.Store(true)
	s.ready.Store(false)
}

// Close stops the batcher after the queued jobs ran. Call it after http.Server.Shutdown returned.
func (s *Server) Close() { s.batcher.close() }

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.Handle("POST /v1/classify", s.instrument("classify", http.HandlerFunc(s.classify)))
	s.mux.Handle("GET /v1/models", s.instrument("models", http.HandlerFunc(s.models)))
	s.mux.Handle("GET /healthz", s.instrument("healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})))
	s.mux.Handle("GET /readyz", s.instrument("readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})))
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.mux.Handle("GET /{$}", s.instrument("page", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := webFS.ReadFile("web/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(page)
	})))
}

// statusWriter records the status code for metrics and logs.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) instrument(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		el := time.Since(start)
		s.metrics.requests.WithLabelValues(name, strconv.Itoa(sw.code)).Inc()
		s.metrics.latency.WithLabelValues(name).Observe(el.Seconds())
		if name == "classify" || sw.code >= 400 {
			s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.code,
				"ms", float64(el.Microseconds())/1000, "bytes_in", r.ContentLength, "remote", r.RemoteAddr)
		}
	})
}

// apiError is an error with its HTTP status and the rejection reason counted in metrics.
type apiError struct {
	code   int
	reason string
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }

func fail(code int, reason string, format string, a ...any) *apiError {
	return &apiError{code: code, reason: reason, err: fmt.Errorf(format, a...)}
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	s.metrics.rejections.WithLabelValues(e.reason).Inc()
	s.log.Info("refused", "status", e.code, "reason", e.reason, "error", e.err.Error())
	if e.code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.code, map[string]any{"error": e.err.Error(), "status": e.code})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"models": []Info{s.info}})
}

// query holds the validated query parameters.
type query struct {
	topK int
	lang string
	only []int // classes kept (nil: all)
}

func (s *Server) parseQuery(r *http.Request) (query, *apiError) {
	q := query{topK: 5, lang: "zh"}
	v := r.URL.Query()
	if t := v.Get("top_k"); t != "" {
		k, err := strconv.Atoi(t)
		if err != nil || k < 1 || k > 1000 {
			return q, fail(400, "bad_query", "top_k must be an integer from 1 to 1000, got %q", t)
		}
		q.topK = k
	}
	if l := v.Get("lang"); l != "" {
		if err := labels.CheckLang(l); err != nil {
			return q, fail(400, "bad_query", "lang: %v", err)
		}
		q.lang = l
	}
	if o := v.Get("only"); o != "" {
		ls := s.model.Labels()
		if ls == nil {
			return q, fail(400, "bad_query", "only: the model's classes have no names to match")
		}
		mode := labels.MatchSubstring
		switch v.Get("match") {
		case "", "substring":
		case "exact":
			mode = labels.MatchExact
		default:
			return q, fail(400, "bad_query", "match must be substring or exact, got %q", v.Get("match"))
		}
		var qs []string
		for _, p := range strings.Split(o, ",") {
			if p = strings.TrimSpace(p); p != "" {
				qs = append(qs, p)
			}
		}
		if len(qs) == 0 || len(qs) > 100 {
			return q, fail(400, "bad_query", "only: give 1 to 100 comma-separated labels or categories")
		}
		idx, err := ls.Match(qs, mode)
		if err != nil {
			return q, fail(400, "bad_query", "only: %v", err)
		}
		q.only = idx
	}
	if z := v.Get("size"); z != "" {
		n, err := strconv.Atoi(z)
		h, w := s.model.InputSize()
		switch {
		case err != nil || n < 32 || n > 4096:
			return q, fail(400, "bad_query", "size must be an integer from 32 to 4096, got %q", z)
		case n != h || n != w:
			// Each input size is its own compiled program with its own arena; the server runs the one
			// it reserved memory for. Another size is another server (or replica): wanwu serve --size N.
			return q, fail(400, "bad_query", "size %d: this server runs the model at %dx%d (start another with --size %d)", n, h, w, n)
		}
	}
	return q, nil
}

// upload is one image of a request: its name and encoded bytes.
type upload struct {
	name string
	data []byte
}

func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.writeError(w, fail(503, "shutting_down", "server is shutting down"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	q, aerr := s.parseQuery(r)
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	recs, aerr := s.classifyRequest(ctx, r, q)
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": recs})
}

// classifyRequest reads, admits, decodes and classifies the request's images. Memory is reserved before
// each allocation it guards: the body before reading it, the decode before decoding.
func (s *Server) classifyRequest(ctx context.Context, r *http.Request, q query) ([]wanwu.Record, *apiError) {
	if r.ContentLength > s.cfg.MaxBody {
		return nil, fail(413, "body_limit", "body of %d bytes exceeds the %d-byte limit", r.ContentLength, s.cfg.MaxBody)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, fail(415, "unsupported_type", "Content-Type %q: send an image (image/jpeg, image/png, ...) or multipart/form-data with field \"image\"", r.Header.Get("Content-Type"))
	}
	isMultipart := mt == "multipart/form-data"
	if !isMultipart && !strings.HasPrefix(mt, "image/") {
		return nil, fail(415, "unsupported_type", "Content-Type %q: send an image (image/jpeg, image/png, ...) or multipart/form-data with field \"image\"", mt)
	}

	// Reserve the body: its declared length, or the limit when it is streamed without one.
	bodyRes := s.cfg.MaxBody
	if r.ContentLength >= 0 {
		bodyRes = r.ContentLength + 64<<10 // + parsing buffers
	}
	var reserved atomic.Int64 // released by whoever finishes with the memory last (see job.release)
	if err := s.admit(ctx, bodyRes, &reserved, 413); err != nil {
		return nil, err
	}
	s.batcher.coming.Add(1)
	coming := true
	defer func() {
		if coming {
			s.batcher.coming.Add(-1)
		}
	}()
	handedOff := false
	defer func() {
		if !handedOff {
			s.budget.Release(reserved.Swap(0))
		}
	}()

	body := http.MaxBytesReader(nil, r.Body, s.cfg.MaxBody)
	var ups []upload
	if isMultipart {
		ups, err = readMultipart(body, params["boundary"], s.cfg.MaxFiles)
	} else {
		var data []byte
		data, err = io.ReadAll(body)
		name := ""
		if _, p, e := mime.ParseMediaType(r.Header.Get("Content-Disposition")); e == nil {
			name = p["filename"]
		}
		ups = []upload{{name: name, data: data}}
	}
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, fail(413, "body_limit", "body exceeds the %d-byte limit", s.cfg.MaxBody)
		case ctx.Err() != nil:
			return nil, fail(504, "timeout", "reading the body: %v", ctx.Err())
		default:
			var ae *apiError
			if errors.As(err, &ae) {
				return nil, ae
			}
			return nil, fail(400, "bad_request", "reading the body: %v", err)
		}
	}
	if len(ups) == 0 {
		return nil, fail(400, "bad_request", "no image: send the image as the body or as multipart field \"image\"")
	}
	// Shrink the body reservation to what was read.
	var total int64
	for _, u := range ups {
		total += int64(len(u.data))
	}
	if extra := reserved.Load() - total - 64<<10; extra > 0 {
		reserved.Add(-extra)
		s.budget.Release(extra)
	}

	// Headers first: reserve every image's decode memory before decoding any.
	recs := make([]wanwu.Record, len(ups))
	dopts := s.model.DecodeOptions()
	dopts.MaxPixels = s.cfg.MaxPixels
	ok := 0
	var need int64
	for i, u := range ups {
		recs[i].File = u.name
		h, err := imageio.ParseHeader(u.data)
		if err == nil {
			err = imageio.CheckSize(h.Width, h.Height, s.cfg.MaxPixels)
		}
		if err != nil {
			if len(ups) == 1 {
				if errors.Is(err, imageio.ErrUnknownFormat) && !knownImageType(mt) {
					return nil, fail(415, "unsupported_type", "%s: %v", mt, err)
				}
				return nil, fail(400, "bad_image", "%v", err)
			}
			recs[i].Error = err.Error()
			continue
		}
		need += decodeReservation(h, dopts)
		ok++
	}
	if ok == 0 {
		return nil, fail(400, "bad_image", "no image could be read: %s", recs[0].Error)
	}
	if err := s.admit(ctx, need, &reserved, 400); err != nil {
		return nil, err
	}
	var imgs []*imageio.RGB
	var at []int // recs index of each image
	for i, u := range ups {
		if recs[i].Error != "" {
			continue
		}
		s.metrics.decodeBytes.Add(float64(len(u.data)))
		img, err := imageio.DecodeBytes(u.data, dopts)
		ups[i].data = nil
		if err != nil {
			s.metrics.images.WithLabelValues("error").Inc()
			if len(ups) == 1 {
				return nil, fail(400, "bad_image", "%v", err)
			}
			recs[i].Error = err.Error()
			continue
		}
		imgs = append(imgs, img)
		at = append(at, i)
	}
	if len(imgs) == 0 {
		return nil, fail(400, "bad_image", "no image could be decoded: %s", recs[0].Error)
	}

	k := q.topK
	if q.only != nil {
		k = s.model.Labels().Len() // every score, to renormalise over the subset
	}
	// Shed load before queueing: if the images ahead of these (at the measured time per image) would
	// not be done well within the deadline, the request gets 503 now instead of 504 later.
	if dl, ok := ctx.Deadline(); ok {
		if wait := s.batcher.expectedWait(len(imgs)); wait > time.Until(dl)*8/10 {
			return nil, fail(503, "overload", "overloaded: about %v of work is queued ahead, more than the %v deadline allows; retry later",
				wait.Round(time.Millisecond), s.cfg.Timeout)
		}
	}
	j := &job{imgs: imgs, topK: k, ctx: ctx, done: make(chan jobResult, 1),
		release: func() { s.budget.Release(reserved.Swap(0)) }}
	s.batcher.coming.Add(-1) // before submitting: the batcher must not wait for this request itself
	coming = false
	err = s.batcher.submit(j)
	if err != nil {
		if errors.Is(err, ErrQueueClosed) {
			return nil, fail(503, "shutting_down", "%v", err)
		}
		return nil, fail(503, "budget", "queue is full")
	}
	handedOff = true
	var res jobResult
	select {
	case res = <-j.done:
	case <-ctx.Done():
		if r.Context().Err() != nil {
			return nil, fail(499, "client_gone", "client closed the request")
		}
		if !j.started.Load() {
			// Still queued: the request was not admitted to the model in time (shed, not timed out).
			return nil, fail(503, "overload", "overloaded: not started within %v; retry later", s.cfg.Timeout)
		}
		return nil, fail(504, "timeout", "no result within %v", s.cfg.Timeout)
	}
	if res.err != nil {
		if ctx.Err() != nil && !j.started.Load() {
			return nil, fail(503, "overload", "overloaded: not started within %v; retry later", s.cfg.Timeout)
		}
		if ctx.Err() != nil {
			return nil, fail(504, "timeout", "no result within %v", s.cfg.Timeout)
		}
		return nil, fail(500, "internal", "classifying: %v", res.err)
	}
	h, wd := s.model.InputSize()
	for n, i := range at {
		rr := res.results[n]
		preds := rr.Predictions
		if q.only != nil {
			preds = subset(preds, q.only, q.topK)
		}
		if q.lang == "en" {
			for p := range preds {
				preds[p].Label = preds[p].LabelEn
			}
		}
		ms := float64(rr.Elapsed.Microseconds()) / 1000
		recs[i].Model, recs[i].InputSize, recs[i].Precision = s.info.Name, []int{h, wd}, s.model.Precision()
		recs[i].Predictions, recs[i].ElapsedMS = preds, &ms
		s.metrics.images.WithLabelValues("ok").Inc()
	}
	return recs, nil
}

// admit reserves n more bytes for the request, adding them to *reserved. tooBig is the status when n alone
// exceeds the whole budget: 413 for a body, 400 for an image too large to decode here.
func (s *Server) admit(ctx context.Context, n int64, reserved *atomic.Int64, tooBig int) *apiError {
	if err := s.budget.Acquire(ctx, n, s.cfg.AdmissionWait); err != nil {
		switch {
		case errors.Is(err, ErrExceedsBudget):
			return fail(tooBig, "too_large", "%v", err)
		case errors.Is(err, ErrBudgetFull):
			return fail(503, "budget", "%v; retry later", err)
		default:
			return fail(504, "timeout", "waiting for memory: %v", err)
		}
	}
	reserved.Add(n)
	return nil
}

// subset keeps the predictions whose class is in only (ascending), rescaled to sum to 1 over the subset:
// the softmax over the subset's logits, since p_i/Σ_subset p_j = e^{z_i}/Σ_subset e^{z_j}.
func subset(all []wanwu.Prediction, only []int, topK int) []wanwu.Prediction {
	keep := make(map[int]bool, len(only))
	for _, i := range only {
		keep[i] = true
	}
	var out []wanwu.Prediction
	sum := 0.0
	for _, p := range all {
		if keep[p.Index] {
			out = append(out, p)
			sum += p.Score
		}
	}
	if sum > 0 {
		for i := range out {
			out[i].Score /= sum
		}
	}
	return out[:min(topK, len(out))]
}

// readMultipart collects the parts named "image" (other fields are skipped); the body is already
// bounded by MaxBytesReader.
func readMultipart(body io.Reader, boundary string, maxFiles int) ([]upload, error) {
	if boundary == "" {
		return nil, fail(400, "bad_request", "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	var ups []upload
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return ups, nil
		}
		if err != nil {
			return nil, err
		}
		if p.FormName() != "image" {
			if _, err := io.Copy(io.Discard, p); err != nil {
				return nil, err
			}
			continue
		}
		if len(ups) == maxFiles {
			return nil, fail(400, "bad_request", "more than %d images in one request", maxFiles)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		ups = append(ups, upload{name: p.FileName(), data: data})
	}
}
