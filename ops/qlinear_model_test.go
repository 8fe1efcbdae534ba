package ops_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/importer/tflite"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestQLinearFastWholeModels runs the shared quantized TFLite models with the QLinearConv/QLinearAdd
// fast paths under every available q8 implementation (VNNI, AVX2, Go) and with the generic loops on
// the same random image, and requires byte-identical logits and outputs.
func TestQLinearFastWholeModels(t *testing.T) {
	for _, f := range []string{"mobilenet_v2_1.0_224_quant.tflite", "tf2_mobilenet_v2_1.0_224_ptq.tflite", "mobilenet_v1_0.25_128_quant.tflite"} {
		t.Run(f, func(t *testing.T) {
			path := testutil.Shared(t, "models", f)
			run := func(fast bool, in *tensor.Tensor) []byte {
				g, err := tflite.Load(path)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range g.Nodes { // also compare the logits, before the softmax saturates them
					if n.Op == "QLinearSoftmax" {
						g.Outputs = append(g.Outputs, n.Inputs[0])
					}
				}
				ops.SetQLinearFast(fast)
				p, err := runtime.Compile(g, runtime.Options{Threads: 2})
				ops.SetQLinearFast(true)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				out, err := p.Run(context.Background(), []*tensor.Tensor{in})
				if err != nil {
					t.Fatal(err)
				}
				if len(out) < 2 {
					t.Fatalf("%d outputs, want the probabilities and the logits", len(out))
				}
				var all []byte
				for _, o := range out {
					all = append(all, o.Data...)
				}
				return all
			}
			g, err := tflite.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			iv := g.Inputs[0]
			r := rand.New(rand.NewPCG(1, uint64(len(f))))
			for it := 0; it < 1; it++ {
				in := tensor.New(iv.DType, iv.Shape)
				for i := range in.Data {
					in.Data[i] = byte(r.IntN(256))
				}
				want := run(false, in)
				for _, im := range q8.Impls() {
					if !im.Available {
						continue
					}
					restore := q8.Use(im)
					got := run(true, in)
					restore()
					if !bytes.Equal(got, want) {
						t.Fatalf("image %d: fast (%s) and generic outputs differ", it, im.Name)
					}
				}
			}
		})
	}
}
