package runtime_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/calibrate"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestInt8Profile (WANWU_BENCH=1; WANWU_BENCH_ITERS, WANWU_BENCH_THREADS) prints where ResNet-50's
// time goes at 224, batch 1, for fp32, dynamic int8 and static int8 (calibrated on calibPhotos): each
// step's minimum over the runs (Program.RunProfiled: the program as it runs, fusions included),
// summed per op type, with the MACs of the convolutions and their rate. The minimum per step is the least load-sensitive
// figure on a shared machine; its sum is below any single run's time.
func TestInt8Profile(t *testing.T) {
	if os.Getenv("WANWU_BENCH") == "" {
		t.Skip("set WANWU_BENCH=1")
	}
	iters, threads := 20, 1
	if n, err := strconv.Atoi(os.Getenv("WANWU_BENCH_ITERS")); err == nil {
		iters = n
	}
	if n, err := strconv.Atoi(os.Getenv("WANWU_BENCH_THREADS")); err == nil {
		threads = n
	}
	testutil.ExportedModel(t, "resnet50")
	g, err := onnx.Load(filepath.Join(testutil.RepoRoot(t), "models", "resnet50", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	cal, err := calibrate.Collect(context.Background(), g, photoInputs(t, calibPhotos, 224), calibrate.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	sg := g.Clone()
	passes.StoreCalibration(sg, cal)
	in := photoInputs(t, evalPhotos[:1], 224)[0]
	for _, mode := range []struct {
		name, prec string
		g          *graph.Graph
	}{{"fp32", "", g}, {"int8 dynamic", "int8", g}, {"int8 static", "int8", sg}} {
		p, err := runtime.Compile(mode.g, runtime.Options{Threads: threads, Precision: mode.prec,
			InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: in.Shape}})
		if err != nil {
			t.Fatal(err)
		}
		prof := p.NewProfile()
		for range iters {
			if _, err := p.RunProfiled(context.Background(), []*tensor.Tensor{in}, prof); err != nil {
				t.Fatal(err)
			}
		}
		p.Close()
		type agg struct {
			n    int
			macs float64
			d    time.Duration
		}
		by := map[string]*agg{}
		var total time.Duration
		for _, s := range prof.Steps {
			a := by[s.Op]
			if a == nil {
				a = &agg{}
				by[s.Op] = a
			}
			a.n++
			a.macs += float64(s.MACs)
			a.d += s.Min
			total += s.Min
		}
		ops := make([]string, 0, len(by))
		for op := range by {
			ops = append(ops, op)
		}
		sort.Slice(ops, func(a, b int) bool { return by[ops[a]].d > by[ops[b]].d })
		t.Logf("ResNet-50 224 %s, %d thread(s), sum of per-step minima over %d runs: %.2f ms", mode.name, threads, iters, ms(total))
		t.Logf("| op | steps | ms | share | GMAC | GMAC/s |")
		for _, op := range ops {
			a := by[op]
			rate := "–"
			if a.macs > 0 {
				rate = fmt.Sprintf("%.0f", a.macs/a.d.Seconds()/1e9)
			}
			t.Logf("| %s | %d | %.2f | %.0f %% | %.2f | %s |", op, a.n, ms(a.d), 100*float64(a.d)/float64(total), a.macs/1e9, rate)
		}
	}
}
