package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestPrecisionLatency (WANWU_BENCH=1; WANWU_BENCH_MODELS=resnet50,... to choose) prints min/median
// latency of full-size models at 224, batch 1, per precision and thread count, plus VmHWM so far.
func TestPrecisionLatency(t *testing.T) {
	if os.Getenv("WANWU_BENCH") == "" {
		t.Skip("set WANWU_BENCH=1")
	}
	models := []string{"resnet50"}
	if m := os.Getenv("WANWU_BENCH_MODELS"); m != "" {
		models = strings.Split(m, ",")
	}
	iters := 20
	if n, err := strconv.Atoi(os.Getenv("WANWU_BENCH_ITERS")); err == nil {
		iters = n
	}
	for _, name := range models {
		path := filepath.Join(testutil.RepoRoot(t), "models", name, "model.onnx")
		g, err := onnx.Load(path)
		if err != nil {
			t.Skip(err)
		}
		for _, threads := range []int{1, 2} {
			for _, prec := range []string{"fp32", "int8"} {
				p, err := runtime.Compile(g, runtime.Options{Threads: threads, Precision: prec,
					InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {1, 3, 224, 224}}})
				if err != nil {
					t.Fatal(err)
				}
				in := tensor.New(tensor.F32, tensor.Shape{1, 3, 224, 224})
				for i, x := range in.F32() {
					in.F32()[i] = float32(i%251)/125 - 1 + x
				}
				ts := make([]time.Duration, 0, iters)
				for i := 0; i < iters+2; i++ {
					st := time.Now()
					if _, err := p.Run(context.Background(), []*tensor.Tensor{in}); err != nil {
						t.Fatal(err)
					}
					if i >= 2 {
						ts = append(ts, time.Since(st))
					}
				}
				mn, med := minMedian(ts)
				t.Logf("%-14s %s threads=%d: min %.2f ms, median %.2f ms, weights %.1f MiB, arena %.1f MiB",
					name, prec, threads, ms(mn), ms(med), mib(p.Stats().WeightBytes), mib(p.Stats().ArenaBytes))
				p.Close()
			}
		}
		g.Close()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func minMedian(ts []time.Duration) (time.Duration, time.Duration) {
	s := append([]time.Duration(nil), ts...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[0], s[len(s)/2]
}
