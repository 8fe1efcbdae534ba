// Command soak drives a running `wanwu serve` on loopback with concurrent requests for a bounded time and
// count, and reports status codes, latency percentiles, throughput and the server's RSS over time.
//
//	go run ./bench/soak -url http://127.0.0.1:18790 -pid PID -c 16 -d 60s -mix good=6,corrupt=2,oversized=1,bomb_png=1
//
// Mix kinds (payloads.go): good (photos from -images, sent raw with their type), corrupt (a photo cut
// short or with its bytes scrambled), oversized (a body over -max-body), bomb_png, bomb_bmp, bomb_jpeg
// (headers declaring huge images), tall_png and wide_png (valid 1x1,000,000 and 1,000,000x1 PNGs),
// scan_bomb (a progressive JPEG with 1000 scans), slow (a body trickled in) and short (a body shorter
// than its Content-Length). Good clients wait as a 503's Retry-After asks; hostile ones do not. With
// -after D, good requests alone follow the mix for D, and the report says how soon after the mix they
// were served again. Exit status 1 when the run breaks its rules: any 5xx other than 503 (admission), or
// RSS growth after warm-up above -max-growth.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:18790", "server base URL (loopback)")
	pid := flag.Int("pid", 0, "server process id, to sample its RSS (0: don't)")
	conc := flag.Int("c", 16, "concurrent clients")
	dur := flag.Duration("d", 60*time.Second, "time of the mixed phase (-mix)")
	maxReq := flag.Int("n", 200000, "stop after this many requests")
	warm := flag.Duration("warmup", 10*time.Second, "RSS growth is measured from the end of the warm-up")
	images := flag.String("images", "../shared/images", "folder of good photos")
	mix := flag.String("mix", "good=6,corrupt=2,oversized=1,bomb_png=1", "request mix during -d, kind=weight")
	after := flag.Duration("after", 0, "after -d, send good requests only for this long")
	maxBody := flag.Int64("max-body", 20<<20, "the server's body limit (oversized bodies exceed it)")
	maxGrowth := flag.Float64("max-growth", 5, "largest RSS growth after warm-up, percent")
	window := flag.Duration("window", 10*time.Second, "RSS growth compares the mean RSS over this long after warm-up and at the end")
	label := flag.String("label", "", "name of this run in the report")
	jsonOut := flag.String("json", "", "also write the report as JSON to this file")
	flag.Parse()
	if !strings.HasPrefix(*url, "http://127.0.0.1") && !strings.HasPrefix(*url, "http://localhost") && !strings.HasPrefix(*url, "http://[::1]") {
		fail("refusing to load a non-loopback URL %s", *url)
	}

	payloads, err := buildPayloads(*images, *maxBody)
	if err != nil {
		fail("%v", err)
	}
	weights, err := parseMix(*mix, payloads)
	if err != nil {
		fail("%v", err)
	}
	cfg := loadConfig{url: *url, conc: *conc, mixed: *dur, after: *after, mix: weights, maxReq: int64(*maxReq), payloads: payloads}
	start := time.Now()
	var samples []sample
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); samples = runLoad(cfg) }()
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

	sum := summarize(samples, *dur, elapsed)
	rep := map[string]any{
		"label": *label, "seconds": elapsed.Seconds(), "concurrency": *conc, "summary": sum,
		"p50_ms": sum.P50ms, "p99_ms": sum.P99ms, "ok_per_s": sum.OKPerSecond, "bad_5xx": sum.Bad5xx,
	}
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
	fmt.Printf("%s: %.1fs at concurrency %d: %s", *label, elapsed.Seconds(), *conc, sum)
	if len(rss) > 0 {
		fmt.Printf("  RSS start %.1f MiB, end %.1f MiB, max %.1f MiB; mean of the first %v after warm-up %.1f MiB, of the last %v %.1f MiB: growth %.2f%%\n",
			mib(rep["rss_start_bytes"]), mib(rep["rss_end_bytes"]), mib(rep["rss_max_bytes"]), *window,
			mib(rep["rss_after_warmup_mean_bytes"]), *window, mib(rep["rss_last_window_mean_bytes"]), growth)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		os.WriteFile(*jsonOut, b, 0o644)
	}
	ok := sum.Bad5xx == 0 && (len(rss) == 0 || growth < *maxGrowth)
	if !ok {
		fmt.Printf("  FAIL: %d 5xx other than 503, RSS growth %.2f%% (limit %.1f%%)\n", sum.Bad5xx, growth, *maxGrowth)
		os.Exit(1)
	}
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

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "soak: "+format+"\n", a...)
	os.Exit(2)
}
