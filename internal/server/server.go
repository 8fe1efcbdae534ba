// Package server is wanwu's HTTP service: the classify API, the web page, health and metrics, with
// admission control by memory, micro-batching across requests, and limits on every input.
package server

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/semaphore"

	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/procstat"
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
	// BodyTimeout bounds reading a request's body (and, on a connection, its head); default half of
	// Timeout, at most Timeout. A body that does not arrive in time gets 408.
	BodyTimeout time.Duration
	// BodyStall bounds each wait for more body bytes, so a client that stalls is cut off before the body
	// deadline; default 2s, at most BodyTimeout.
	BodyStall time.Duration
	// MaxDecodes bounds the images decoded at once; default GOMAXPROCS (decoding is CPU-bound).
	MaxDecodes int
	// MaxConns bounds the open connections (Serve only); default 1024, and fewer when a quarter of what
	// the model leaves of the budget cannot hold that many (each reserves connBytes while open).
	MaxConns int
	// DrainDelay is how long Serve keeps accepting after its context ends, answering /readyz and new
	// classify requests with 503 so load balancers see the drain; 0 means none.
	DrainDelay time.Duration
	// Drain bounds how long Serve then waits for requests in flight; default 30s.
	Drain  time.Duration
	Logger *slog.Logger
	// Classes are the classes the model was pruned to at load (wanwu serve --only), ascending; nil: all.
	// A request's only= selects among them.
	Classes []int
}

// Model is what the server needs from a loaded model: *wanwu.Model implements it.
type Model interface {
	Classifier
	InputSize() (h, w int)
	Precision() string
	Labels() *labels.Set
	// DecodeOptions are how photos are decoded for this model (the DCT scale its resize allows).
	DecodeOptions() imageio.DecodeOptions
	// DecodeResized decodes a photo straight into the model's input size, stopping when ctx is done.
	DecodeResized(ctx context.Context, data []byte) (*imageio.RGB, error)
	// DecodeCost predicts what DecodeResized allocates for a photo with header h.
	DecodeCost(h imageio.Header) int64
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
	// RSSBytes and PeakRSSBytes are what the process holds now and has held at most (VmRSS, VmHWM),
	// measured when /v1/models answers: PeakBytes is the model's reservation alone, without the
	// requests' bodies, decoded photos and the Go heap's garbage between collections. 0 (omitted) where
	// the OS does not say (no /proc).
	RSSBytes     int64 `json:"rss_bytes,omitempty"`
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
	MaxBatch     int   `json:"max_batch"`
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

	load        *loadEstimator
	decodeSlots *semaphore.Weighted
	decodeImage func(context.Context, []byte) (*imageio.RGB, error)
	// predJSONBytes bounds one prediction's JSON: the longest labels, escaped, and the numbers.
	predJSONBytes int64
	// hurry ends the drain delay early (a second SIGTERM).
	hurry     chan struct{}
	hurryOnce sync.Once
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
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = cfg.Timeout / 2
	}
	cfg.BodyTimeout = min(cfg.BodyTimeout, cfg.Timeout)
	if cfg.BodyStall <= 0 {
		cfg.BodyStall = 2 * time.Second
	}
	cfg.BodyStall = min(cfg.BodyStall, cfg.BodyTimeout)
	if cfg.MaxDecodes <= 0 {
		cfg.MaxDecodes = goruntime.GOMAXPROCS(0)
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 1024
	}
	if cfg.DrainDelay < 0 {
		cfg.DrainDelay = 0
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 30 * time.Second
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
	s := &Server{cfg: cfg, model: model, info: info, budget: NewBudget(cfg.Budget), log: cfg.Logger,
		load: &loadEstimator{}, decodeSlots: semaphore.NewWeighted(int64(cfg.MaxDecodes)), decodeImage: model.DecodeResized,
		hurry: make(chan struct{})}
	if !s.budget.reserveForLife(info.PeakBytes) {
		panic("server: fresh budget refused the model's reservation")
	}
	s.predJSONBytes = predictionJSONBytes(model.Labels())
	s.metrics = newMetrics(s.budget, func() float64 { return float64(s.info.PlanBytes) },
		func() float64 { return s.load.perImage(time.Now()).Seconds() })
	s.batcher = newBatcher(model, cfg.MaxBatch, cfg.MaxWait, 1024, s.metrics, s.load)
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

// Unwrap lets http.ResponseController reach the connection (read deadlines on the body).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) instrument(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if s.draining.Load() {
			// Clients should open their next connection elsewhere (to another replica).
			w.Header().Set("Connection", "close")
		}
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
	switch e.code {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusRequestTimeout, http.StatusRequestEntityTooLarge, 499:
		// The rest of the body is not read: the connection cannot carry another request.
		w.Header().Set("Connection", "close")
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
	info := s.info
	if st, err := procstat.Status(); err == nil {
		info.RSSBytes, info.PeakRSSBytes = st["VmRSS"], st["VmHWM"]
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": []Info{info}})
}

// query holds the validated query parameters.
type query struct {
	topK int
	lang string
	only []int // classes kept (nil: all)
	// warnings name only= words that matched no class while others did (the response carries them).
	warnings []string
}

// parseQuery validates the query. Matching only= against the label set reserves its scratch first (a
// flag per class and the matched indices: large for a label set of 50,000 classes).
func (s *Server) parseQuery(ctx context.Context, r *http.Request, res *reservation) (query, *apiError) {
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
		scratch := int64(ls.Len()) * 17
		if err := res.acquire(ctx, scratch, s.cfg.AdmissionWait); err != nil {
			return q, admitError(err, 400)
		}
		idx, unmatched, err := ls.MatchSome(qs, mode)
		res.shrink(scratch - int64(cap(idx))*8)
		if err != nil {
			return q, fail(400, "bad_query", "only: %v", err)
		}
		if s.cfg.Classes != nil {
			idx = intersect(idx, s.cfg.Classes)
			if len(idx) == 0 {
				return q, fail(400, "bad_query", "only: no class that this server keeps (wanwu serve --only) matches %q", o)
			}
		}
		for _, u := range unmatched {
			q.warnings = append(q.warnings, fmt.Sprintf("only: no class matches %q; ignored", u))
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

// intersect is the classes in both a and b (each ascending), in a's backing array.
func intersect(a, b []int) []int {
	out := a[:0]
	for _, i := range a {
		if _, ok := slices.BinarySearch(b, i); ok {
			out = append(out, i)
		}
	}
	return out
}

// predictionJSONBytes bounds one prediction's JSON for the label set ls (nil: "#N" names): the index and
// score, and the longest Chinese and English names as encoded (lang=en puts the English name in both).
func predictionJSONBytes(ls *labels.Set) int64 {
	const numbers = 96 // {"index":N,"label":,"label_en":,"score":S}
	if ls == nil {
		return numbers + 2*24
	}
	var longest int
	for i := 0; i < ls.Len(); i++ {
		for _, lang := range []string{"zh", "en"} {
			b, _ := json.Marshal(ls.Name(i, lang))
			longest = max(longest, len(b))
		}
	}
	// Build the label set's match index now, not inside the first request that asks for only=.
	ls.Match([]string{"\x00"}, labels.MatchExact)
	return numbers + 2*int64(longest)
}
