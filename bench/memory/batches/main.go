// Command batches measures the resident memory of a model's batch programs: a serve-like process
// (the batch-1 program plus one program for every batch size up to -max-batch, compiled largest first
// as wanwu serve does, then each run once), with the prediction serve reserves for them
// (Model.PredictBatches), or one ClassifyBatch of -classify photos under -budget. It prints VmHWM and
// VmRSS after each stage. The photos are decoded before the batches run (their memory is counted
// in VmHWM, not in the prediction).
//
//	go run ./bench/memory/batches -model models/resnet50/model.onnx -budget 512MiB -max-batch 8
//	go run ./bench/memory/batches -model models/resnet50/model.onnx -budget 256MiB -classify 4
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/procstat"
	"github.com/wanwu-ai/wanwu/memory"
)

func report(stage string) {
	s, _ := procstat.Status()
	fmt.Printf("%-24s VmHWM %8.1f MiB  VmRSS %8.1f MiB\n", stage, float64(s["VmHWM"])/(1<<20), float64(s["VmRSS"])/(1<<20))
}

func main() {
	model := flag.String("model", "models/resnet50/model.onnx", "model file")
	budget := flag.String("budget", "512MiB", "memory budget")
	serveLike := flag.Bool("serve", true, "load as wanwu serve does: the model chooses within three quarters of the budget")
	maxBatch := flag.Int("max-batch", 8, "compile and run every batch size from 2 to this (serve-like)")
	classify := flag.Int("classify", 0, "instead: one ClassifyBatch of this many photos, the model loaded within the whole budget")
	precision := flag.String("precision", "auto", "precision")
	photos := flag.String("photos", "../shared/images", "folder of photos (cycled)")
	flag.Parse()
	b, err := memory.ParseSize(*budget)
	if err != nil {
		fail(err)
	}
	if *serveLike && *classify == 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(b) // as wanwu serve does
	}
	report("start")
	ctx := context.Background()
	loadBudget := b
	if *serveLike && *classify == 0 {
		loadBudget = b - b/4
	}
	m, err := wanwu.Load(ctx, *model, wanwu.WithBudget(loadBudget, "-budget"), wanwu.WithPrecision(*precision))
	if err != nil {
		fail(err)
	}
	defer m.Close()
	fmt.Printf("chosen %s, predicted %s\n", m.Config(), m.Config().Breakdown)
	report("load")
	n := *maxBatch
	if *classify > 0 {
		n = *classify
	}
	imgs := decode(*photos, n, m.DecodeOptions())
	report("decoded")
	if *classify > 0 {
		res, err := m.ClassifyBatch(ctx, imgs, 1)
		if err != nil {
			fail(err)
		}
		fmt.Printf("classified %d photos: %s ...\n", len(res), res[0].Predictions[0].LabelEn)
		report(fmt.Sprintf("classify batch %d", n))
		return
	}
	sizes := make([]int, n)
	for k := range sizes {
		sizes[k] = k + 1
	}
	pred, err := m.PredictBatches(sizes)
	if err != nil {
		fail(err)
	}
	fmt.Printf("predicted with batch programs 1..%d (what serve reserves): %s\n", n, pred)
	// As wanwu serve does: the largest first, so the shared arena is allocated once.
	for k := n; k >= 2; k-- {
		if err := m.PrepareBatch(k); err != nil {
			fail(err)
		}
	}
	report(fmt.Sprintf("batches 2..%d compiled", n))
	for k := 1; k <= n; k++ {
		if _, err := m.ClassifyBatch(ctx, imgs[:k], 1); err != nil {
			fail(err)
		}
	}
	report(fmt.Sprintf("batches 1..%d run", n))
	imgs = nil
	debug.FreeOSMemory()
	report("after GC (photos dropped)")
}

func decode(dir string, n int, opts imageio.DecodeOptions) []*imageio.RGB {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fail(err)
	}
	var imgs []*imageio.RGB
	for len(imgs) < n {
		for _, e := range entries {
			if len(imgs) == n {
				break
			}
			img, err := imageio.DecodeFile(filepath.Join(dir, e.Name()), opts)
			if err != nil {
				continue
			}
			imgs = append(imgs, img)
		}
		if len(imgs) == 0 {
			fail(fmt.Errorf("%s: no photo decodes", dir))
		}
	}
	return imgs
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
