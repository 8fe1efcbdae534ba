package tflite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"os"
	"sort"
	"strings"
	"testing"

	_ "golang.org/x/image/bmp"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

func histogram(g *graph.Graph) map[string]int {
	h := map[string]int{}
	for _, n := range g.Nodes {
		h[n.Op]++
	}
	return h
}

func TestImportSharedModels(t *testing.T) {
	for _, c := range []struct {
		file string
		size int
		hist map[string]int
	}{
		{"mobilenet_v1_0.25_128_quant.tflite", 128, map[string]int{"Transpose": 1, "QLinearConv": 28, "QLinearAveragePool": 1, "Reshape": 1, "QLinearSoftmax": 1}},
		{"mobilenet_v1_0.5_160_quant.tflite", 160, map[string]int{"Transpose": 1, "QLinearConv": 28, "QLinearAveragePool": 1, "Reshape": 1, "QLinearSoftmax": 1}},
		{"mobilenet_v2_1.0_224_quant.tflite", 224, map[string]int{"Transpose": 1, "QLinearConv": 53, "QLinearAdd": 10, "QLinearAveragePool": 1, "Reshape": 1, "QLinearSoftmax": 1}},
		// The int8 model's uint8 QUANTIZE ops at both ends become identities on wanwu's uint8 carrier.
		{"tf2_mobilenet_v2_1.0_224_ptq.tflite", 224, map[string]int{"Transpose": 1, "QLinearConv": 53, "QLinearAdd": 10, "QLinearGlobalAveragePool": 1, "Reshape": 1, "QLinearSoftmax": 1}},
	} {
		t.Run(c.file, func(t *testing.T) {
			g, err := Load(testutil.Shared(t, "models", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Validate(); err != nil {
				t.Fatal(err)
			}
			h := histogram(g)
			if len(h) != len(c.hist) {
				t.Errorf("op histogram %v, want %v", h, c.hist)
			}
			for op, n := range c.hist {
				if h[op] != n {
					t.Errorf("%s: %d nodes, want %d (histogram %v)", op, h[op], n, h)
				}
			}
			if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
				t.Fatalf("inputs %d outputs %d", len(g.Inputs), len(g.Outputs))
			}
			in, out := g.Inputs[0], g.Outputs[0]
			if in.DType != tensor.U8 || !in.Shape.Equal(tensor.Shape{1, c.size, c.size, 3}) {
				t.Errorf("input %s%s", in.DType, in.Shape)
			}
			if out.DType != tensor.U8 || !out.Shape.Equal(tensor.Shape{1, 1001}) {
				t.Errorf("output %s%s", out.DType, out.Shape)
			}
			for _, n := range g.Nodes {
				if strings.HasPrefix(n.Op, "QLinear") && n.Str(graph.AttrRounding, "") != graph.RoundingTFLite {
					t.Errorf("node %s (%s) lacks rounding=tflite", n.Name, n.Op)
				}
			}
		})
	}
}

// run interprets g node by node with ops.Eval (constants filled in as values are computed), a
// stand-in for runtime.Compile that exercises exactly the registered kernels.
func run(t *testing.T, g *graph.Graph, input *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	g = g.Clone()
	g.Inputs[0].Const = input
	for _, n := range g.Nodes {
		out, err := ops.Eval(n)
		if err != nil {
			t.Fatalf("node %s: %v", n.Name, err)
		}
		for i, o := range n.Outputs {
			o.Const = out[i]
		}
	}
	return g.Outputs[0].Const
}

// catInput resizes cat.bmp to size×size RGB with plain bilinear interpolation over the whole image.
func catInput(t *testing.T, size int) *tensor.Tensor {
	f, err := os.Open(testutil.Shared(t, "images", "cat.bmp"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	x := tensor.New(tensor.U8, tensor.Shape{1, size, size, 3})
	px := func(ix, iy int) [3]float64 {
		r, g, bb, _ := img.At(b.Min.X+ix, b.Min.Y+iy).RGBA()
		return [3]float64{float64(r >> 8), float64(g >> 8), float64(bb >> 8)}
	}
	for oy := 0; oy < size; oy++ {
		fy := max(0, (float64(oy)+0.5)*float64(h)/float64(size)-0.5)
		y0 := min(int(fy), h-1)
		y1 := min(y0+1, h-1)
		dy := fy - float64(y0)
		for ox := 0; ox < size; ox++ {
			fx := max(0, (float64(ox)+0.5)*float64(w)/float64(size)-0.5)
			x0 := min(int(fx), w-1)
			x1 := min(x0+1, w-1)
			dx := fx - float64(x0)
			a, bq, c, d := px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1)
			for ch := 0; ch < 3; ch++ {
				v := (a[ch]*(1-dx)+bq[ch]*dx)*(1-dy) + (c[ch]*(1-dx)+d[ch]*dx)*dy
				x.Data[(oy*size+ox)*3+ch] = uint8(v + 0.5)
			}
		}
	}
	return x
}

func top(scores []uint8, k int) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	return idx[:k]
}

func labels(t *testing.T) []string {
	f, err := os.Open(testutil.Shared(t, "models", "imagenet_labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var l []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		l = append(l, s.Text())
	}
	return l
}

// Coral's own test case: cat.bmp is class 286 (Egyptian cat) with score >= 0.70 on the TF1 model.
func TestClassifyCat(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-model inference")
	}
	lab := labels(t)
	for _, c := range []struct {
		file     string
		minScore float64
	}{
		{"mobilenet_v2_1.0_224_quant.tflite", 0.70},
		{"tf2_mobilenet_v2_1.0_224_ptq.tflite", 0},
	} {
		t.Run(c.file, func(t *testing.T) {
			g, err := Load(testutil.Shared(t, "models", c.file))
			if err != nil {
				t.Fatal(err)
			}
			x := catInput(t, 224)
			out := run(t, g, x)
			scores := out.U8()
			// The compiled program (passes, arena, 2-thread pool) must agree bit for bit.
			p, err := runtime.Compile(g, runtime.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			res, err := p.Run(context.Background(), []*tensor.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res[0].Data[:1001], scores) {
				t.Fatal("runtime.Compile output differs from node-by-node evaluation")
			}
			tp := top(scores, 3)
			var desc []string
			for _, i := range tp {
				desc = append(desc, fmt.Sprintf("%s:%.3f", lab[i], float64(scores[i])/256))
			}
			t.Logf("top-3 %v %v (score of 286: %.3f)", tp, desc, float64(scores[286])/256)
			found := false
			for _, i := range tp {
				found = found || i == 286
			}
			if !found {
				t.Fatalf("class 286 (Egyptian cat) not in top-3 %v", tp)
			}
			if s := float64(scores[286]) / 256; s < c.minScore {
				t.Fatalf("score of class 286 = %.3f, want >= %.2f", s, c.minScore)
			}
		})
	}
}
