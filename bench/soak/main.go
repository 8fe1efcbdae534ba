// Command soak drives a running `wanwu serve` on loopback with concurrent requests for a bounded time and
// count, and reports status codes, latency percentiles, throughput and the server's RSS over time.
//
//	go run ./bench/soak -url http://127.0.0.1:18790 -pid PID -c 16 -d 60s -mix good=6,corrupt=2,oversized=1,huge=1
//
// Mix kinds: good (photos from -images, sent raw with their type), corrupt (a photo cut short or with
// its bytes scrambled), oversized (a body over -max-body), huge (a valid PNG header declaring 30000x30000
// pixels). Exit status 1 when the run breaks its rules: any 5xx other than 503 (admission), or RSS growth
// after warm-up above -max-growth.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type payload struct {
	kind, ctype string
	body        []byte
}

type sample struct {
	kind string
	code int // 0: client-side error
	lat  time.Duration
}

func main() {
	url := flag.String("url", "http://127.0.0.1:18790", "server base URL (loopback)")
	pid := flag.Int("pid", 0, "server process id, to sample its RSS (0: don't)")
	conc := flag.Int("c", 16, "concurrent clients")
	dur := flag.Duration("d", 60*time.Second, "run time")
	maxReq := flag.Int("n", 200000, "stop after this many requests")
	warm := flag.Duration("warmup", 10*time.Second, "RSS growth is measured from the end of the warm-up")
	images := flag.String("images", "../shared/images", "folder of good photos")
	mix := flag.String("mix", "good=6,corrupt=2,oversized=1,huge=1", "request mix, kind=weight")
	maxBody := flag.Int64("max-body", 20<<20, "the server's body limit (oversized bodies exceed it)")
	maxGrowth := flag.Float64("max-growth", 5, "largest RSS growth after warm-up, percent")
	window := flag.Duration("window", 10*time.Second, "RSS growth compares the mean RSS over this long after warm-up and at the end")
	label := flag.String("label", "", "name of this run in the report")
	jsonOut := flag.String("json", "", "also write the report as JSON to this file")
	flag.Parse()
	if !strings.HasPrefix(*url, "http://127.0.0.1") && !strings.HasPrefix(*url, "http://localhost") && !strings.HasPrefix(*url, "http://[::1]") {
		fail("refusing to load a non-loopback URL %s", *url)
	}

	payloads := map[string][]payload{}
	files, _ := filepath.Glob(filepath.Join(*images, "*"))
	for _, f := range files {
		ext := strings.ToLower(filepath.Ext(f))
		ctype := map[string]string{".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".bmp": "image/bmp"}[ext]
		if ctype == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			fail("%v", err)
		}
		payloads["good"] = append(payloads["good"], payload{"good", ctype, b})
		cut := append([]byte(nil), b[:len(b)/2]...)
		payloads["corrupt"] = append(payloads["corrupt"], payload{"corrupt", ctype, cut})
		scr := append([]byte(nil), b...)
		r := rand.New(rand.NewPCG(uint64(len(b)), 1))
		for i := 64; i < len(scr); i += 97 {
			scr[i] = byte(r.Uint32())
		}
		payloads["corrupt"] = append(payloads["corrupt"], payload{"corrupt", ctype, scr})
	}
	if len(payloads["good"]) == 0 {
		fail("no photos in %s", *images)
	}
	big := make([]byte, *maxBody+1<<20)
	copy(big, payloads["good"][0].body)
	payloads["oversized"] = []payload{{"oversized", "image/jpeg", big}}
	payloads["huge"] = []payload{{"huge", "image/png", hugePNG(30000, 30000)}}

	var weighted []string
	for _, kv := range strings.Split(*mix, ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil || payloads[k] == nil {
			fail("bad -mix entry %q", kv)
		}
		for i := 0; i < n; i++ {
			weighted = append(weighted, k)
		}
	}

	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	var (
		mu      sync.Mutex
		samples []sample
		issued  atomic.Int64
		errMsgs = map[string]int{}
	)
	start := time.Now()
	stop := start.Add(*dur)
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 2))
			for time.Now().Before(stop) && issued.Add(1) <= int64(*maxReq) {
				kind := weighted[r.IntN(len(weighted))]
				ps := payloads[kind]
				p := ps[r.IntN(len(ps))]
				t0 := time.Now()
				code, err := send(client, *url+"/v1/classify", p)
				s := sample{kind: kind, code: code, lat: time.Since(t0)}
				mu.Lock()
				samples = append(samples, s)
				if err != nil {
					errMsgs[err.Error()]++
				}
				mu.Unlock()
			}
		}(w)
	}
	// RSS sampling once a second.
	type rssPoint struct {
		T   float64 `json:"t_s"`
		RSS int64   `json:"rss_bytes"`
	}
	var rss []rssPoint
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
sampling:
	for {
		if *pid > 0 {
			rss = append(rss, rssPoint{time.Since(start).Seconds(), procRSS(*pid)})
		}
		select {
		case <-done:
			break sampling
		case <-tick.C:
		}
	}
	tick.Stop()
	elapsed := time.Since(start)

	// Report.
	byCode := map[int]int{}
	byKindCode := map[string]map[int]int{}
	var lat, latOK []float64
	for _, s := range samples {
		byCode[s.code]++
		if byKindCode[s.kind] == nil {
			byKindCode[s.kind] = map[int]int{}
		}
		byKindCode[s.kind][s.code]++
		ms := float64(s.lat.Microseconds()) / 1000
		lat = append(lat, ms)
		if s.code == 200 {
			latOK = append(latOK, ms)
		}
	}
	slices.Sort(lat)
	slices.Sort(latOK)
	rep := map[string]any{
		"label": *label, "requests": len(samples), "seconds": elapsed.Seconds(), "concurrency": *conc,
		"codes": byCode, "by_kind": byKindCode, "client_errors": errMsgs,
		"p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "ok_p50_ms": pct(latOK, 50), "ok_p99_ms": pct(latOK, 99),
		"ok_per_s": float64(len(latOK)) / elapsed.Seconds(),
	}
	bad5xx := 0
	for c, n := range byCode {
		if c >= 500 && c != 503 {
			bad5xx += n
		}
	}
	rep["bad_5xx"] = bad5xx
	growth := 0.0
	if len(rss) > 0 {
		// RSS swings by several percent with each GC cycle, so growth compares window means: the first
		// -window after the warm-up against the last -window of the run.
		var after []rssPoint
		var peak int64
		for _, p := range rss {
			if p.T >= warm.Seconds() {
				after = append(after, p)
			}
			peak = max(peak, p.RSS)
		}
		if len(after) == 0 {
			after = rss
		}
		n := max(1, min(int(window.Seconds()), len(after)/2))
		mean := func(ps []rssPoint) int64 {
			var sum int64
			for _, p := range ps {
				sum += p.RSS
			}
			return sum / int64(len(ps))
		}
		first, last := mean(after[:n]), mean(after[len(after)-n:])
		growth = 100 * float64(last-first) / float64(first)
		rep["rss_start_bytes"], rep["rss_end_bytes"], rep["rss_max_bytes"] = rss[0].RSS, rss[len(rss)-1].RSS, peak
		rep["rss_after_warmup_mean_bytes"], rep["rss_last_window_mean_bytes"] = first, last
		rep["rss_growth_after_warmup_pct"] = growth
		rep["rss"] = rss
	}
	fmt.Printf("%s: %d requests in %.1fs at concurrency %d; codes %v; client errors %d\n", *label, len(samples),
		elapsed.Seconds(), *conc, byCode, byCode[0])
	for k, m := range byKindCode {
		fmt.Printf("  %-9s %v\n", k, m)
	}
	fmt.Printf("  latency all p50 %.1f ms p99 %.1f ms; 200s p50 %.1f ms p99 %.1f ms; %.2f classified/s\n",
		pct(lat, 50), pct(lat, 99), pct(latOK, 50), pct(latOK, 99), rep["ok_per_s"])
	if len(rss) > 0 {
		fmt.Printf("  RSS start %.1f MiB, end %.1f MiB, max %.1f MiB; mean of the first %v after warm-up %.1f MiB, of the last %v %.1f MiB: growth %.2f%%\n",
			mib(rep["rss_start_bytes"]), mib(rep["rss_end_bytes"]), mib(rep["rss_max_bytes"]), *window,
			mib(rep["rss_after_warmup_mean_bytes"]), *window, mib(rep["rss_last_window_mean_bytes"]), growth)
	}
	for msg, n := range errMsgs {
		fmt.Printf("  client error x%d: %s\n", n, msg)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		os.WriteFile(*jsonOut, b, 0o644)
	}
	ok := bad5xx == 0 && (len(rss) == 0 || growth < *maxGrowth)
	if !ok {
		fmt.Printf("  FAIL: %d 5xx other than 503, RSS growth %.2f%% (limit %.1f%%)\n", bad5xx, growth, *maxGrowth)
		os.Exit(1)
	}
}

func send(c *http.Client, url string, p payload) (int, error) {
	resp, err := c.Post(url, p.ctype, bytes.NewReader(p.body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func mib(v any) float64 { return float64(v.(int64)) / (1 << 20) }

func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// hugePNG is a PNG signature and IHDR declaring w×h with 8-bit RGB and no data: refused from the header.
func hugePNG(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	b = append(b, byte(w>>24), byte(w>>16), byte(w>>8), byte(w), byte(h>>24), byte(h>>16), byte(h>>8), byte(h), 8, 2, 0, 0, 0)
	crc := crc32.ChecksumIEEE(b[12:])
	return append(b, byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc))
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "soak: "+format+"\n", a...)
	os.Exit(2)
}
