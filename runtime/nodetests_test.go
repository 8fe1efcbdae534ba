package runtime_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

// TestONNXNodeTestsThroughRuntime runs every ONNX backend node test that imports and compiles through
// the full runtime path (passes, alias/in-place planning, one arena, the pool) and compares with the
// reference outputs. The ops package checks each kernel alone; this catches what only planning can
// break: a kernel that does not tolerate out == in[0], a view with the wrong bytes, folding mistakes.
func TestONNXNodeTestsThroughRuntime(t *testing.T) {
	root := testutil.ONNXNodeTests(t)
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	ran, skipped := 0, map[string]int{}
	for _, d := range dirs {
		dir := filepath.Join(root, d.Name())
		g, err := onnx.Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			skipped["import"]++
			continue
		}
		ins, outs, err := readSet(filepath.Join(dir, "test_data_set_0"))
		if err != nil || len(ins) != len(g.Inputs) {
			skipped["data"]++
			g.Close()
			continue
		}
		shapes := map[string]tensor.Shape{}
		for i, v := range g.Inputs {
			if ins[i].DType == tensor.F16 && v.DType == tensor.F32 {
				ins[i] = widenF16(ins[i]) // float16 models are widened at import (importer/onnx/fp16.go)
			}
			shapes[v.Name] = ins[i].Shape
		}
		p, err := runtime.Compile(g, runtime.Options{Threads: 2, InputShapes: shapes})
		if err != nil {
			skipped["compile"]++
			if os.Getenv("WANWU_DEBUG_NODES") != "" {
				t.Logf("%s: %v", d.Name(), err)
			}
			g.Close()
			continue
		}
		ran++
		t.Run(d.Name(), func(t *testing.T) {
			got, err := p.Run(context.Background(), ins)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range outs {
				if err := closeEnough(got[i], want); err != nil {
					t.Errorf("output %d: %v", i, err)
				}
			}
		})
		p.Close()
		g.Close()
	}
	t.Logf("ran %d node tests through the runtime; not compiled: %v", ran, skipped)
}

func readSet(dir string) (ins, outs []*tensor.Tensor, err error) {
	for _, kind := range []string{"input", "output"} {
		for i := 0; ; i++ {
			p := filepath.Join(dir, fmt.Sprintf("%s_%d.pb", kind, i))
			if _, err := os.Stat(p); err != nil {
				break
			}
			tt, _, err := tensorio.ReadFile(p)
			if err != nil {
				return nil, nil, err
			}
			if kind == "input" {
				ins = append(ins, tt)
			} else {
				outs = append(outs, tt)
			}
		}
	}
	return ins, outs, nil
}

func closeEnough(got, want *tensor.Tensor) error {
	if want.DType == tensor.F16 && got.DType == tensor.F32 {
		want = widenF16(want)
	}
	if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
		return fmt.Errorf("got %s%s, want %s%s", got.DType, got.Shape, want.DType, want.Shape)
	}
	if want.DType != tensor.F32 {
		if string(got.Data[:got.ByteSize()]) != string(want.Data[:want.ByteSize()]) {
			return fmt.Errorf("%s data differs", want.DType)
		}
		return nil
	}
	for i, w := range want.F32() {
		g := got.F32()[i]
		if math.IsNaN(float64(w)) && math.IsNaN(float64(g)) {
			continue
		}
		if d := math.Abs(float64(g - w)); d > 1e-4+1e-3*math.Abs(float64(w)) || math.IsNaN(float64(g)) != math.IsNaN(float64(w)) {
			return fmt.Errorf("element %d = %g, want %g", i, g, w)
		}
	}
	return nil
}

// widenF16 converts a float16 tensor to float32.
func widenF16(t *tensor.Tensor) *tensor.Tensor {
	out := tensor.New(tensor.F32, t.Shape)
	for i, h := range t.F16() {
		out.F32()[i] = tensor.F16ToF32(h)
	}
	return out
}
