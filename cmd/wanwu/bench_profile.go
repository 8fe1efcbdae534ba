package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// benchProfile is `wanwu bench --profile`'s JSON object: where the time of the profiled runs went,
// per op type and per node (every step of the program, in run order).
type benchProfile struct {
	Runs int `json:"runs"`
	// MedianMS is the median wall time of the profiled runs; OverheadPct compares it with the
	// unprofiled median of the same process (the clock reads' cost, plus noise).
	MedianMS    float64 `json:"median_ms"`
	MinMS       float64 `json:"min_ms"`
	OverheadPct float64 `json:"overhead_pct"`
	// StepsMS is the steps' summed time per run; StepsPct its share of the profiled wall time (the rest
	// is the input copy and the call itself).
	StepsMS  float64          `json:"steps_ms"`
	StepsPct float64          `json:"steps_pct"`
	Ops      []benchOpTime    `json:"ops"`
	Nodes    []benchNodeTimes `json:"nodes"`
}

// benchOpTime is one op type: its steps' summed mean time per run and share of StepsMS.
type benchOpTime struct {
	Op     string  `json:"op"`
	Steps  int     `json:"steps"`
	MS     float64 `json:"ms"`
	MinMS  float64 `json:"min_ms"` // the steps' minima summed
	Pct    float64 `json:"pct"`
	MACs   int64   `json:"macs"`
	GFLOPS float64 `json:"gflops"` // 2·MACs per run / ms; 0 for ops without MACs
}

// benchNodeTimes is one step (a node of the compiled program; a fused node carries the name of the
// node it absorbed others into).
type benchNodeTimes struct {
	Node   string  `json:"node"`
	Op     string  `json:"op"`
	Shape  []int   `json:"shape"`
	MS     float64 `json:"ms"` // mean per run
	MinMS  float64 `json:"min_ms"`
	MaxMS  float64 `json:"max_ms"`
	Pct    float64 `json:"pct"`
	MACs   int64   `json:"macs"`
	GFLOPS float64 `json:"gflops"`
}

// profileRuns runs prog runs times through RunProfiled and summarises the profile; unprofiledMedian
// (ms) is the plain runs' median it is compared with.
func profileRuns(ctx context.Context, prog *runtime.Program, feed []*tensor.Tensor, runs int, unprofiledMedian float64) (*benchProfile, error) {
	prof := prog.NewProfile()
	times := make([]float64, 0, runs)
	for range runs {
		t0 := time.Now()
		if _, err := prog.RunProfiled(ctx, feed, prof); err != nil {
			return nil, err
		}
		times = append(times, float64(time.Since(t0).Nanoseconds())/1e6)
	}
	msPerRun := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 / float64(prof.Runs) }
	steps := msPerRun(prof.StepsTotal())
	pct := func(ms float64) float64 {
		if steps == 0 {
			return 0
		}
		return 100 * ms / steps
	}
	bp := &benchProfile{Runs: prof.Runs, StepsMS: steps}
	bp.MinMS, bp.MedianMS, _, _ = latencyStats(times)
	if unprofiledMedian > 0 {
		bp.OverheadPct = 100 * (bp.MedianMS/unprofiledMedian - 1)
	}
	if wall := msPerRun(prof.Wall); wall > 0 {
		bp.StepsPct = 100 * steps / wall
	}
	for _, o := range prof.ByOp() {
		ms := msPerRun(o.Total)
		bp.Ops = append(bp.Ops, benchOpTime{Op: o.Op, Steps: o.Steps, MS: ms, MinMS: float64(o.Min.Nanoseconds()) / 1e6, Pct: pct(ms), MACs: o.MACs, GFLOPS: gflopsAt(o.MACs, ms)})
	}
	for i := range prof.Steps {
		s := &prof.Steps[i]
		ms := msPerRun(s.Total)
		bp.Nodes = append(bp.Nodes, benchNodeTimes{Node: s.Node, Op: s.Op, Shape: s.Shape, MS: ms,
			MinMS: float64(s.Min.Nanoseconds()) / 1e6, MaxMS: float64(s.Max.Nanoseconds()) / 1e6,
			Pct: pct(ms), MACs: s.MACs, GFLOPS: gflopsAt(s.MACs, ms)})
	}
	return bp, nil
}

// write prints the profile as two tables: op types by time, then the top slowest nodes.
func (bp *benchProfile) write(w io.Writer, top int) {
	fmt.Fprintf(w, "\nprofile: %d runs, min %.2f median %.2f ms (%+.1f %% against unprofiled); steps %.2f ms per run, %.1f %% of the wall time\n",
		bp.Runs, bp.MinMS, bp.MedianMS, bp.OverheadPct, bp.StepsMS, bp.StepsPct)
	fmt.Fprintf(w, "\n%-22s %5s %9s %9s %7s %9s %8s\n", "op type", "steps", "mean ms", "min ms", "share", "GMAC", "GFLOP/s")
	for _, o := range bp.Ops {
		fmt.Fprintf(w, "%-22s %5d %9.3f %9.3f %6.1f%% %9s %8s\n", o.Op, o.Steps, o.MS, o.MinMS, o.Pct, gmac(o.MACs), rate(o.GFLOPS))
	}
	idx := make([]int, len(bp.Nodes))
	for i := range idx {
		idx[i] = i
	}
	// Slowest first; equal times keep run order.
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(bp.Nodes[b].MS, bp.Nodes[a].MS) })
	if top > 0 && top < len(idx) {
		idx = idx[:top]
	}
	fmt.Fprintf(w, "\n%-4s %-36s %-14s %-20s %9s %9s %7s %8s\n", "#", "node", "op", "output", "mean ms", "min ms", "share", "GFLOP/s")
	for _, i := range idx {
		n := bp.Nodes[i]
		fmt.Fprintf(w, "%-4d %-36s %-14s %-20s %9.3f %9.3f %6.1f%% %8s\n", i, clip(n.Node, 36), clip(n.Op, 14),
			tensor.Shape(n.Shape).String(), n.MS, n.MinMS, n.Pct, rate(n.GFLOPS))
	}
}

// gflopsAt is the rate of macs multiply-accumulates (two floating-point operations each) in ms.
func gflopsAt(macs int64, ms float64) float64 {
	if macs == 0 || ms <= 0 {
		return 0
	}
	return 2 * float64(macs) / (ms * 1e6)
}

func gmac(m int64) string {
	if m == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", float64(m)/1e9)
}

func rate(g float64) string {
	if g == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", g)
}

// clip shortens s to n characters, keeping its end (node names differ in their suffixes).
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return "…" + string(r[len(r)-n+1:])
	}
	return s
}

// profileUsage documents --profile.
const profileUsage = "after the timed runs, time as many runs again step by step (the same compiled program, fusions " +
	"included): per op type and the --top slowest nodes, GFLOP/s = 2*MACs/time; json adds a \"profile\" object"
