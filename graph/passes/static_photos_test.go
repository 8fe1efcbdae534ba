package passes_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/calibrate"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestStaticInt8RealPhotos: the Coral MobileNetV2 dequantized to fp32 (real weights) is calibrated on
// the five photos outside dqUnambiguous and evaluated on the six in it, at int8 with static
// activations (each calibration method) and with dynamic ones, against fp32. The default method must
// keep fp32's top-1 on every evaluation photo and stay within the bound (measured, with headroom:
// docs/precision.md).
func TestStaticInt8RealPhotos(t *testing.T) {
	_, f := dqLoad(t, "mobilenet_v2_1.0_224_quant.tflite")
	all := dqInputs(t, f)
	var calib, eval []*tensor.Tensor
	var evalNames []string
	for i, name := range dqPhotos {
		if dqUnambiguous[name] {
			eval, evalNames = append(eval, all[i]), append(evalNames, name)
		} else {
			calib = append(calib, all[i])
		}
	}
	fp32 := dqRun(t, f, "", eval, 1, 0)
	compare := func(p [][]float32) (differ []string, maxDP float64) {
		for i := range p {
			if argmax(p[i]) != argmax(fp32[i]) {
				differ = append(differ, evalNames[i])
			}
			for j := range p[i] {
				maxDP = max(maxDP, float64(abs32(p[i][j]-fp32[i][j])))
			}
		}
		return differ, maxDP
	}
	dyn := dqRun(t, f, "int8", eval, 1, 0)
	d, m := compare(dyn)
	t.Logf("| dynamic | %d/%d | %.4f |", len(eval)-len(d), len(eval), m)
	bound := map[string]float64{calibrate.MinMax: 0.1, calibrate.Percentile: 0.1, calibrate.MSE: 0.1}
	for _, method := range []string{calibrate.MinMax, calibrate.Percentile, calibrate.MSE} {
		cal, err := calibrate.Collect(context.Background(), f, calib, calibrate.Options{Threads: 2, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		g := f.Clone()
		passes.StoreCalibration(g, cal)
		p, err := runtime.Compile(g, runtime.Options{Threads: 2, Precision: "int8"})
		if err != nil {
			t.Fatal(err)
		}
		convs := 0
		for _, n := range p.Graph().Nodes {
			if n.Op == graph.OpQ8Conv {
				convs++
			}
		}
		p.Close()
		if convs == 0 {
			t.Fatalf("%s: no Q8Conv in the program", method)
		}
		res := dqRun(t, g, "int8", eval, 1, 0)
		d, m := compare(res)
		t.Logf("| static %s | %d/%d | %.4f | (%d Q8Conv; top-1 differs on %s)", method, len(eval)-len(d), len(eval), m, convs, strings.Join(d, ", "))
		if m > bound[method] {
			t.Errorf("%s: max |Δp| %.4f > %g", method, m, bound[method])
		}
		if method == calibrate.DefaultMethod && len(d) > 0 {
			t.Errorf("%s (the default): top-1 differs from fp32 on %v", method, d)
		}
	}
}

func abs32(x float32) float32 { return max(x, -x) }
