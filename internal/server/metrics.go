package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wanwu-ai/wanwu/internal/procstat"
)

// metrics are the server's Prometheus series, on a registry of their own (no global state, so tests can
// start many servers).
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec // by endpoint and status code
	latency     *prometheus.HistogramVec
	queueDepth  prometheus.Gauge
	batchSize   prometheus.Histogram
	decodeBytes prometheus.Counter
	rejections  *prometheus.CounterVec // by reason
	images      *prometheus.CounterVec // by outcome
	decoding    prometheus.Gauge
	conns       prometheus.Gauge
}

func newMetrics(budget *Budget, arenaBytes, perImage func() float64) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wanwu_http_requests_total", Help: "HTTP requests by handler and status code.",
	}, []string{"handler", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "wanwu_http_request_duration_seconds", Help: "HTTP request latency by handler.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"handler"})
	m.queueDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wanwu_queue_depth", Help: "Images waiting for the model (queued or being collected into a batch).",
	})
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "wanwu_batch_size", Help: "Images per model run.", Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32},
	})
	m.decodeBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wanwu_decode_bytes_total", Help: "Encoded image bytes decoded.",
	})
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wanwu_rejections_total", Help: "Requests refused, by reason (budget, overload, too_large, body_limit, body_timeout, unsupported_type, bad_image, bad_query, bad_request, timeout, client_gone, shutting_down).",
	}, []string{"reason"})
	m.images = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wanwu_images_total", Help: "Images by outcome (ok, error).",
	}, []string{"outcome"})
	m.decoding = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wanwu_decodes_in_flight", Help: "Images being decoded now (at most --max-decodes).",
	})
	m.conns = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wanwu_connections", Help: "Open client connections (each holds a share of the budget).",
	})
	estimate := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wanwu_image_seconds_estimate", Help: "The model time per image the load shedder assumes (recent runs, decaying to the fastest measured).",
	}, perImage)
	rss := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wanwu_rss_bytes", Help: "Resident set size of the process (VmRSS).",
	}, func() float64 { return float64(readRSS()) })
	arena := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wanwu_arena_bytes", Help: "Activation arena bytes of every compiled program (all batch sizes).",
	}, arenaBytes)
	budgetTotal := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wanwu_budget_bytes", Help: "Memory budget.",
	}, func() float64 { return float64(budget.Total()) })
	budgetUsed := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wanwu_budget_reserved_bytes", Help: "Bytes reserved from the memory budget now (model + requests).",
	}, func() float64 { return float64(budget.InUse()) })
	m.reg.MustRegister(m.requests, m.latency, m.queueDepth, m.batchSize, m.decodeBytes, m.rejections, m.images,
		m.decoding, m.conns, estimate, rss, arena, budgetTotal, budgetUsed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// readRSS returns VmRSS in bytes (0 where /proc is missing).
func readRSS() int64 {
	n, _ := procstat.RSS()
	return n
}
