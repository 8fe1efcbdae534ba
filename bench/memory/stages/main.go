// Command stages prints where a classify process's resident memory goes, stage by stage: start, import,
// compile, decode, preprocess and the first run (VmHWM, VmRSS split into anonymous/file/shmem pages,
// and the Go heap's view), for one model, precision, size and photo.
//
//	go run ./bench/memory/stages -model models/resnet50/model.onnx -precision int8 -photo ../shared/images/cat_720p.jpg
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/procstat"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/memory"
)

// status is /proc/self/status's memory fields in bytes (empty where there is no /proc).
func status() map[string]int64 {
	s, _ := procstat.Status()
	return s
}

func mib(v int64) string { return fmt.Sprintf("%7.1f", float64(v)/(1<<20)) }

func report(stage string) {
	s := status()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	fmt.Printf("%-10s HWM %s RSS %s anon %s file %s shmem %s | heapInuse %s heapSys %s heapReleased %s stackSys %s otherSys %s\n",
		stage, mib(s["VmHWM"]), mib(s["VmRSS"]), mib(s["RssAnon"]), mib(s["RssFile"]), mib(s["RssShmem"]),
		mib(int64(ms.HeapInuse)), mib(int64(ms.HeapSys)), mib(int64(ms.HeapReleased)), mib(int64(ms.StackSys)),
		mib(int64(ms.OtherSys+ms.GCSys+ms.MSpanSys+ms.MCacheSys+ms.BuckHashSys)))
}

func main() {
	model := flag.String("model", "models/resnet50/model.onnx", "model file")
	precision := flag.String("precision", "fp32", "fp32 or int8")
	size := flag.Int("size", 0, "input size (0 = the model's)")
	photo := flag.String("photo", "../shared/images/cat_720p.jpg", "photo")
	only := flag.String("only-file", "", "keep the classes named in this file (exact)")
	labelFile := flag.String("labels", "", "label file")
	runs := flag.Int("runs", 1, "photos to classify")
	memprof := flag.String("memprofile", "", "write a heap profile (every allocation sampled) at the end")
	releaseAfter := flag.Duration("release-after", 0, "release the program after this idle time, show RSS after the release and after the next photo")
	flag.Parse()
	if *memprof != "" {
		goruntime.MemProfileRate = 1
	}
	report("start")
	ctx := context.Background()
	opts := []wanwu.Option{wanwu.WithPrecision(*precision), wanwu.WithInputSize(*size), wanwu.WithReleaseAfter(*releaseAfter)}
	if *labelFile != "" {
		opts = append(opts, wanwu.WithLabelFile(*labelFile))
	}
	if *only != "" {
		b, err := os.ReadFile(*only)
		if err != nil {
			panic(err)
		}
		opts = append(opts, wanwu.WithOnly(strings.Fields(string(b)), labels.MatchExact))
	}
	if h, err := imageio.ReadHeader(*photo); err == nil {
		opts = append(opts, wanwu.WithPhoto(h))
	}
	m, err := wanwu.Load(ctx, *model, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	report("load")
	c := m.Config()
	fmt.Printf("predicted %s\n", c.Breakdown)
	st := m.Stats()
	fmt.Printf("stats: weights %s packed %s arena %s\n", memory.FormatSize(int64(st.WeightBytes)), memory.FormatSize(int64(st.PackedBytes)), memory.FormatSize(int64(st.ArenaBytes)))
	img, err := imageio.DecodeFile(*photo, m.DecodeOptions())
	if err != nil {
		panic(err)
	}
	report("decode")
	for i := 0; i < *runs; i++ {
		if _, err := m.Classify(ctx, img, 5); err != nil {
			panic(err)
		}
		if i == 0 {
			report("run1")
		}
	}
	report("end")
	if *releaseAfter > 0 {
		for m.Releases() == 0 {
			time.Sleep(*releaseAfter / 4)
		}
		report("released")
		if _, err := m.Classify(ctx, img, 5); err != nil {
			panic(err)
		}
		report("again")
	}
	atEnd()
	if *memprof != "" {
		f, err := os.Create(*memprof)
		if err != nil {
			panic(err)
		}
		goruntime.GC()
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	goruntime.KeepAlive(m)
}

func init() {
	if os.Getenv("STAGES_SMAPS") != "" {
		atEnd = func() {
			b, _ := os.ReadFile("/proc/self/smaps")
			var name string
			for _, l := range strings.Split(string(b), "\n") {
				f := strings.Fields(l)
				if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
					name = l
				}
				if len(f) >= 2 && f[0] == "Rss:" && f[1] != "0" {
					fmt.Printf("%8s kB  %s\n", f[1], name)
				}
			}
		}
	}
}

var atEnd = func() {}
