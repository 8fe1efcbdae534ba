package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadConfig is one run: a mixed phase, then a phase of good requests only.
type loadConfig struct {
	url      string // server base URL (loopback)
	conc     int
	mixed    time.Duration  // the phase sending the mix
	after    time.Duration  // then good requests only
	mix      map[string]int // kind -> weight during the mixed phase
	maxReq   int64
	payloads map[string][]payload
}

// sample is one request's outcome.
type sample struct {
	kind  string
	code  int           // 0: the client saw no response
	start time.Duration // since the run began
	lat   time.Duration
	err   string
}

// parseMix reads "kind=weight,..." against the payload kinds.
func parseMix(s string, ps map[string][]payload) (map[string]int, error) {
	mix := map[string]int{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || ps[k] == nil {
			return nil, fmt.Errorf("bad mix entry %q (kinds: %s)", kv, strings.Join(slices.Sorted(maps.Keys(ps)), ", "))
		}
		mix[k] = n
	}
	return mix, nil
}

// runLoad drives the server with cfg.conc clients, each sending one request after another.
func runLoad(cfg loadConfig) []sample {
	var weighted []string
	for _, k := range slices.Sorted(maps.Keys(cfg.mix)) {
		for i := 0; i < cfg.mix[k]; i++ {
			weighted = append(weighted, k)
		}
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.conc}}
	host := cfg.url
	if u, err := url.Parse(cfg.url); err == nil {
		host = u.Host
	}
	var (
		mu      sync.Mutex
		samples []sample
		issued  atomic.Int64
	)
	start := time.Now()
	mixedEnd := start.Add(cfg.mixed)
	stop := mixedEnd.Add(cfg.after)
	var wg sync.WaitGroup
	for w := 0; w < cfg.conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 2))
			for {
				now := time.Now()
				if !now.Before(stop) || issued.Add(1) > cfg.maxReq {
					return
				}
				kind := kindGood
				if now.Before(mixedEnd) && len(weighted) > 0 {
					kind = weighted[r.IntN(len(weighted))]
				}
				ps := cfg.payloads[kind]
				p := ps[r.IntN(len(ps))]
				var code int
				var err error
				var retryAfter time.Duration
				switch kind {
				case kindSlow:
					code, err = slowUpload(host, p, 200_000, 1000, 300*time.Millisecond)
				case kindShort:
					code, err = slowUpload(host, p, 100_000, 1000, time.Hour)
				default:
					code, retryAfter, err = send(client, cfg.url+"/v1/classify", p)
				}
				s := sample{kind: kind, code: code, start: now.Sub(start), lat: time.Since(now)}
				if err != nil {
					s.err = err.Error()
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
				switch {
				case code == 0:
					time.Sleep(50 * time.Millisecond) // no answer (a server gone): do not spin
				case code == 503 && kind == kindGood && retryAfter > 0:
					// A well-behaved client waits as told before its next request; hostile ones do not.
					time.Sleep(retryAfter)
				}
			}
		}(w)
	}
	wg.Wait()
	return samples
}

// send posts p and returns the status and the Retry-After the server asked for (0 if none).
func send(c *http.Client, url string, p payload) (int, time.Duration, error) {
	resp, err := c.Post(url, p.ctype, bytes.NewReader(p.body))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, time.Duration(secs) * time.Second, nil
}

// slowUpload announces a body of announced bytes and sends p's bytes piece bytes at a time, one piece
// per pause (the first at once), until the server answers; with a long pause it is a short body whose
// client then waits.
func slowUpload(host string, p payload, announced, piece int, pause time.Duration) (int, error) {
	c, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(c, "POST /v1/classify HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", host, p.ctype, announced)
	done := make(chan struct{})
	defer close(done)
	go func() {
		body := bytes.Repeat(p.body, announced/len(p.body)+1)[:announced]
		for off := 0; off < announced; off += piece {
			if _, err := c.Write(body[off:min(off+piece, announced)]); err != nil {
				return
			}
			select {
			case <-done:
				return
			case <-time.After(pause):
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// summary is a run's outcome by kind and status, and the good requests' recovery after the mixed phase.
type summary struct {
	Requests  int                    `json:"requests"`
	Codes     map[int]int            `json:"codes"`
	ByKind    map[string]map[int]int `json:"by_kind"`
	ClientErr map[string]int         `json:"client_errors"`
	Bad5xx    int                    `json:"bad_5xx"` // 5xx other than 503
	// GoodAfter2s is the share of good requests started 2 s or more after the mixed phase that got 200.
	GoodAfter2s      float64 `json:"good_200_share_from_2s_after"`
	GoodAfter2sCount int     `json:"good_requests_from_2s_after"`
	// RecoverySeconds is how long after the mixed phase ended the good requests started from then on
	// were at least 90% 200 (-1: never).
	RecoverySeconds float64 `json:"recovery_s"`
	OKPerSecond     float64 `json:"ok_per_s"`
	P50ms, P99ms    float64 `json:"-"`
}

func summarize(samples []sample, mixed time.Duration, elapsed time.Duration) summary {
	s := summary{Requests: len(samples), Codes: map[int]int{}, ByKind: map[string]map[int]int{}, ClientErr: map[string]int{}, RecoverySeconds: -1}
	var lat []float64
	var good []sample
	ok := 0
	for _, x := range samples {
		s.Codes[x.code]++
		if s.ByKind[x.kind] == nil {
			s.ByKind[x.kind] = map[int]int{}
		}
		s.ByKind[x.kind][x.code]++
		if x.err != "" {
			s.ClientErr[x.kind+": "+x.err]++
		}
		if x.code >= 500 && x.code != 503 {
			s.Bad5xx++
		}
		if x.code == 200 {
			ok++
		}
		lat = append(lat, float64(x.lat.Microseconds())/1000)
		if x.kind == kindGood && x.start >= mixed {
			good = append(good, x)
		}
	}
	slices.Sort(lat)
	s.P50ms, s.P99ms = pct(lat, 50), pct(lat, 99)
	s.OKPerSecond = float64(ok) / elapsed.Seconds()
	slices.SortFunc(good, func(a, b sample) int { return int(a.start - b.start) })
	n200, n := 0, 0
	for _, x := range good {
		if x.start >= mixed+2*time.Second {
			n++
			if x.code == 200 {
				n200++
			}
		}
	}
	s.GoodAfter2sCount = n
	if n > 0 {
		s.GoodAfter2s = float64(n200) / float64(n)
	}
	// Recovery: the earliest start from which the remaining good requests are ≥ 90% 200.
	suffix200 := 0
	for i := len(good) - 1; i >= 0; i-- {
		if good[i].code == 200 {
			suffix200++
		}
		if float64(suffix200) >= 0.9*float64(len(good)-i) {
			s.RecoverySeconds = (good[i].start - mixed).Seconds()
		}
	}
	return s
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*p/100)]
}

func (s summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests, codes %v, 5xx other than 503: %d; %.1f classified/s, latency p50 %.0f ms p99 %.0f ms\n",
		s.Requests, s.Codes, s.Bad5xx, s.OKPerSecond, s.P50ms, s.P99ms)
	for _, k := range slices.Sorted(maps.Keys(s.ByKind)) {
		fmt.Fprintf(&b, "  %-10s %v\n", k, s.ByKind[k])
	}
	fmt.Fprintf(&b, "  good requests from 2 s after the mixed phase: %d, %.1f%% 200; recovery (≥90%% 200 from then on) %.2f s after it\n",
		s.GoodAfter2sCount, 100*s.GoodAfter2s, s.RecoverySeconds)
	for msg, n := range s.ClientErr {
		fmt.Fprintf(&b, "  client error x%d: %s\n", n, msg)
	}
	return b.String()
}
