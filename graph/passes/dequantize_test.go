package passes_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/importer/tflite"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// The photos of ../shared/images, and those whose top-1 class is not in doubt (one object, centred).
var (
	dqPhotos = []string{"bird.bmp", "cat.bmp", "cat_720p.jpg", "dragonfly.bmp", "grace_hopper.bmp", "hot_dog.jpg",
		"kite_and_cold.jpg", "owl.jpg", "parrot.jpg", "pets.jpg", "sunflower.bmp"}
	dqUnambiguous = map[string]bool{"parrot.jpg": true, "cat.bmp": true, "grace_hopper.bmp": true,
		"hot_dog.jpg": true, "bird.bmp": true, "dragonfly.bmp": true}
)

// dqInputs preprocesses the photos as the catalog does for the Coral models (stretch, bilinear, raw
// NHWC bytes).
func dqInputs(t *testing.T, g *graph.Graph) []*tensor.Tensor {
	t.Helper()
	iv := g.Inputs[0]
	if len(iv.Shape) != 4 || iv.DType != tensor.U8 {
		t.Fatalf("input %s %s, want u8 NHWC", iv.DType, iv.Shape)
	}
	pp := imageio.Preprocess{Width: iv.Shape[2], Height: iv.Shape[1], Resize: "stretch", Filter: "bilinear", Layout: "NHWC", DType: "u8"}
	var out []*tensor.Tensor
	for _, name := range dqPhotos {
		img, err := imageio.DecodeFile(testutil.Shared(t, "images", name), imageio.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		x := tensor.New(tensor.U8, pp.Shape(1))
		if err := pp.Into(img, x, 0); err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

// dqOutputQ returns the scale and zero point of the quantized graph's output (a QLinearSoftmax).
func dqOutputQ(t *testing.T, g *graph.Graph) (float32, float32) {
	t.Helper()
	for _, n := range g.Nodes {
		if n.Outputs[0] == g.Outputs[0] && n.Op == "QLinearSoftmax" {
			return n.Inputs[3].Const.F32()[0], float32(n.Inputs[4].Const.U8()[0])
		}
	}
	t.Fatal("output is not produced by a QLinearSoftmax")
	return 0, 0
}

// dqRun compiles g and returns the probabilities for each input (u8 outputs dequantized with s, z).
func dqRun(t *testing.T, g *graph.Graph, precision string, ins []*tensor.Tensor, s, z float32) [][]float32 {
	res, _ := dqRunStats(t, g, precision, ins, s, z)
	return res
}

// dqRunStats is dqRun also returning the program's weight bytes.
func dqRunStats(t *testing.T, g *graph.Graph, precision string, ins []*tensor.Tensor, s, z float32) ([][]float32, int) {
	t.Helper()
	p, err := runtime.Compile(g, runtime.Options{Threads: 2, Precision: precision})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	wb := p.Stats().WeightBytes
	var res [][]float32
	for _, x := range ins {
		out, err := p.Run(context.Background(), []*tensor.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		o := out[0]
		var f []float32
		switch o.DType {
		case tensor.U8:
			for _, q := range o.U8() {
				f = append(f, s*(float32(q)-z))
			}
		case tensor.F32:
			f = append(f, o.F32()...)
		default:
			t.Fatalf("output dtype %s", o.DType)
		}
		res = append(res, f)
	}
	return res, wb
}

func argmax(p []float32) int {
	b := 0
	for i, v := range p {
		if v > p[b] {
			b = i
		}
	}
	return b
}

// dqCompare returns the photos whose top-1 differs and the max |Δp| over all photos and classes.
func dqCompare(a, b [][]float32) (differ []string, maxDiff float64) {
	for i := range a {
		if argmax(a[i]) != argmax(b[i]) {
			differ = append(differ, dqPhotos[i])
		}
		for j := range a[i] {
			maxDiff = max(maxDiff, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	return differ, maxDiff
}

func dqLoad(t *testing.T, file string) (*graph.Graph, *graph.Graph) {
	t.Helper()
	path := testutil.Shared(t, "models", file)
	q, err := tflite.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := tflite.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := passes.Dequantize(f); err != nil {
		t.Fatal(err)
	}
	return q, f
}

// The float graph must compute what the quantized one approximates. Per layer they agree within one
// output step (TestDequantizePerLayer); over a whole network the uint8 model's rounding accumulates,
// and on the shared photos the softmax moves by up to 0.061 (MobileNetV2; 0.054 and 0.049 for the
// V1s, 0.046 for the per-channel int8 TF2 MobileNetV2), i.e. ~16 output steps of 1/256 on the most confident class. The bound leaves a little room
// above that; top-1 must agree wherever the uint8 model's own top-2 margin exceeds twice the bound
// (the one swap measured, grace_hopper on mobilenet_v1_0.5_160, has a small uint8 margin).
func TestDequantizeMatchesQuantized(t *testing.T) {
	const bound = 0.08
	for _, file := range []string{"mobilenet_v2_1.0_224_quant.tflite", "mobilenet_v1_0.5_160_quant.tflite", "mobilenet_v1_0.25_128_quant.tflite", "tf2_mobilenet_v2_1.0_224_ptq.tflite"} {
		t.Run(file, func(t *testing.T) {
			q, f := dqLoad(t, file)
			for _, n := range f.Nodes {
				if strings.HasPrefix(n.Op, "QLinear") || n.Op == "QuantizeLinear" {
					t.Fatalf("node %q is still %s", n.Name, n.Op)
				}
			}
			if f.Outputs[0].DType != tensor.F32 {
				t.Fatalf("float graph output is %s", f.Outputs[0].DType)
			}
			s, z := dqOutputQ(t, q)
			ins := dqInputs(t, q)
			pq := dqRun(t, q, "", ins, s, z)
			pf := dqRun(t, f, "", ins, s, z)
			differ, d := dqCompare(pq, pf)
			t.Logf("max |Δp| %.4f, top-1 differs on %v", d, differ)
			if d > bound {
				t.Errorf("max |Δp| %.4f > %.2f", d, bound)
			}
			for i, name := range dqPhotos {
				a, b := argmax(pq[i]), argmax(pf[i])
				if a == b {
					continue
				}
				if margin := pq[i][a] - pq[i][b]; margin > 2*bound {
					t.Errorf("%s: top-1 %d (uint8) vs %d (float), uint8 margin %.4f", name, a, b, margin)
				}
			}
		})
	}
}

// Real-photo accuracy of the precision modes (docs/precision.md, "Real photos"): the Coral MobileNetV2
// dequantized to fp32 and compiled at fp32, fp16 and int8, against fp32 and against the uint8 model.
func TestDequantizedPrecisionRealPhotos(t *testing.T) {
	q, f := dqLoad(t, "mobilenet_v2_1.0_224_quant.tflite")
	s, z := dqOutputQ(t, q)
	ins := dqInputs(t, q)
	u8 := dqRun(t, q, "", ins, s, z)
	fp32, wb32 := dqRunStats(t, f, "", ins, s, z)
	// Bounds from the measurement (docs/precision.md) with headroom: fp16 weights move probabilities by
	// 0.0024 at most (measured), int8 (dynamic per-tensor activations) by 0.0215.
	bounds := map[string]float64{"fp32": 0, "fp16": 0.008, "int8": 0.06}
	t.Logf("| mode | top-1 = fp32 | max |Δp| vs fp32 | top-1 = uint8 | max |Δp| vs uint8 |")
	for _, mode := range []string{"fp32", "fp16", "int8"} {
		p, wb := fp32, wb32
		if mode != "fp32" {
			p, wb = dqRunStats(t, f, mode, ins, s, z)
			if wb >= wb32 { // the mode must have converted the weights, or this compares fp32 with itself
				t.Errorf("%s: weight bytes %d, fp32 %d", mode, wb, wb32)
			}
		}
		dF, mF := dqCompare(fp32, p)
		dU, mU := dqCompare(u8, p)
		t.Logf("| %s | %d/%d | %.4f | %d/%d | %.4f |  weights %.1f MiB; top-1 differs vs fp32 on %v, vs uint8 on %v", mode,
			len(ins)-len(dF), len(ins), mF, len(ins)-len(dU), len(ins), mU, float64(wb)/(1<<20), dF, dU)
		if mF > bounds[mode] {
			t.Errorf("%s: max |Δp| vs fp32 %.4f > %g", mode, mF, bounds[mode])
		}
		for _, name := range append(dF, dU...) {
			if dqUnambiguous[name] {
				t.Errorf("%s: top-1 on %s differs", mode, name)
			}
		}
	}
}

// Layer by layer: every quantized node of a real model, fed the uint8 activations the model itself
// computes on a photo, must give (after Dequantize) the float result that its uint8 output rounds: within
// one output quantization step everywhere. Errors cannot accumulate here, so a wrong scale, zero point,
// channel axis, bias scale or clamp shows up at the layer that has it.
func TestDequantizePerLayer(t *testing.T) {
	for _, file := range []string{"mobilenet_v2_1.0_224_quant.tflite", "mobilenet_v1_0.25_128_quant.tflite", "tf2_mobilenet_v2_1.0_224_ptq.tflite"} {
		t.Run(file, func(t *testing.T) {
			path := testutil.Shared(t, "models", file)
			q, err := tflite.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			x := dqInputs(t, q)[1] // cat.bmp
			// Capture every activation: make all node outputs graph outputs.
			var vals []*graph.Value
			for _, n := range q.Nodes {
				for _, o := range n.Outputs {
					if o != nil && !q.IsOutput(o) {
						q.Outputs = append(q.Outputs, o)
					}
				}
			}
			vals = append(vals, q.Outputs...)
			p, err := runtime.Compile(q, runtime.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			outs, err := p.Run(context.Background(), []*tensor.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			acts := map[string]*tensor.Tensor{q.Inputs[0].Name: x}
			for i, o := range outs {
				c := tensor.New(o.DType, o.Shape.Clone())
				copy(c.Data, o.Data)
				acts[vals[i].Name] = c
			}
			p.Close()

			fresh, err := tflite.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			checked, overall := 0, 0.0
			for _, n := range fresh.Nodes {
				if !strings.HasPrefix(n.Op, "QLinear") {
					continue
				}
				// A one-node graph on copies of the activation values (the pass retypes them).
				n1 := *n
				n1.Inputs = append([]*graph.Value(nil), n.Inputs...)
				y := *n.Outputs[0]
				n1.Outputs = []*graph.Value{&y}
				g1 := &graph.Graph{Name: n.Name, Nodes: []*graph.Node{&n1}, Outputs: n1.Outputs}
				var feed []*tensor.Tensor
				for i, in := range n1.Inputs {
					if in != nil && in.Const == nil {
						c := *in
						n1.Inputs[i] = &c
						g1.Inputs = append(g1.Inputs, &c)
						feed = append(feed, acts[in.Name])
					}
				}
				want := acts[n.Outputs[0].Name]
				var ys, yz float32
				switch n.Op {
				case "QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul":
					ys, yz = n.Inputs[6].Const.F32()[0], float32(n.Inputs[7].Const.U8()[0])
				default:
					ys, yz = n.Inputs[3].Const.F32()[0], float32(n.Inputs[4].Const.U8()[0])
				}
				op := n.Op
				if err := passes.Dequantize(g1); err != nil {
					t.Fatalf("%s: %v", n.Name, err)
				}
				p, err := runtime.Compile(g1, runtime.Options{Threads: 2})
				if err != nil {
					t.Fatalf("%s: %v", n.Name, err)
				}
				out, err := p.Run(context.Background(), feed)
				if err != nil {
					t.Fatalf("%s: %v", n.Name, err)
				}
				worst := 0.0
				for i, v := range out[0].F32() {
					worst = max(worst, math.Abs(float64(v-ys*(float32(want.U8()[i])-yz)))/float64(ys))
				}
				p.Close()
				// Rounding to the nearest step is half a step; TFLite's fixed-point rescaling (Add's
				// 20-bit shifted inputs, the softmax's exp table) adds a fraction of one more.
				if worst > 1.0001 {
					t.Errorf("%s (%s): float result is %.3f output steps from the uint8 result", n.Name, op, worst)
				}
				checked++
				overall = max(overall, worst)
			}
			t.Logf("%d quantized nodes checked, worst %.3f output steps", checked, overall)
		})
	}
}
