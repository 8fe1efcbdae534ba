package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/procstat"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestPrecisionPeakRSS measures one configuration per process (VmHWM is a high-water mark):
// WANWU_RSS=model:precision, e.g. resnest101_54k:int8. It loads the model, compiles it at 224,
// runs one inference and logs VmHWM; with WANWU_RSS_BUDGET_MIB it also asserts the peak stays under it.
func TestPrecisionPeakRSS(t *testing.T) {
	spec := os.Getenv("WANWU_RSS")
	if spec == "" {
		t.Skip("set WANWU_RSS=model:precision")
	}
	name, prec, _ := strings.Cut(spec, ":")
	g, err := onnx.Load(filepath.Join(testutil.RepoRoot(t), "models", name, "model.onnx"))
	if err != nil {
		t.Skip(err)
	}
	defer g.Close()
	p, err := runtime.Compile(g, runtime.Options{Threads: 2, Precision: prec,
		InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {1, 3, 224, 224}}})
	if err != nil {
		t.Fatal(err)
	}
	afterCompile := vmHWM(t)
	in := tensor.New(tensor.F32, tensor.Shape{1, 3, 224, 224})
	if _, err := p.Run(context.Background(), []*tensor.Tensor{in}); err != nil {
		t.Fatal(err)
	}
	peak := vmHWM(t)
	st := p.Stats()
	t.Logf("%s %s: VmHWM after compile %.1f MiB, after one run %.1f MiB; weights %.1f MiB, arena %.1f MiB",
		name, prec, mib(afterCompile), mib(peak), mib(st.WeightBytes), mib(st.ArenaBytes))
	if b, err := strconv.Atoi(os.Getenv("WANWU_RSS_BUDGET_MIB")); err == nil && peak > b<<20 {
		t.Errorf("peak RSS %.1f MiB over the %d MiB budget", mib(peak), b)
	}
}

func vmHWM(t *testing.T) int {
	n, err := procstat.PeakRSS()
	if err != nil {
		t.Skip(err)
	}
	return int(n)
}
