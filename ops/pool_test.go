package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

func TestPoolMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pool := parallel.NewPool(2)
	defer pool.Close()
	i := 0
	// Even planes take the vector 2×2 stride-2 average path (SumPool2x2), 130 columns past its 64-float passes;
	// 113×112 max-pools in bands of rows on the two-thread pool (ResNet's pool after the stem).
	for _, shape := range [][4]int{{1, 3, 9, 7}, {2, 13, 8, 11}, {1, 1, 1, 5}, {1, 4, 10, 12}, {1, 2, 4, 130}, {1, 3, 113, 112}} {
		for _, k := range [][2]int{{1, 1}, {2, 2}, {3, 3}, {2, 3}} {
			for _, s := range [][2]int{{1, 1}, {2, 2}, {3, 1}} {
				for _, d := range [][2]int{{1, 1}, {2, 1}} {
					for _, p := range [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 1, 0}} {
						if p[0] >= k[0] || p[2] >= k[0] || p[1] >= k[1] || p[3] >= k[1] {
							continue // ONNX requires pads smaller than the kernel
						}
						for _, ceil := range []bool{false, true} {
							for _, op := range []string{"MaxPool", "AveragePool", "AveragePoolIncl"} {
								i++
								prm := ref.Conv2D{Strides: s, Dilations: d, Pads: p, CeilMode: ceil,
									KernelH: k[0], KernelW: k[1], CountIncludePad: op == "AveragePoolIncl"}
								if ref.OutSize(shape[2], k[0], s[0], d[0], p[0], p[2], ceil) <= 0 ||
									ref.OutSize(shape[3], k[1], s[1], d[1], p[1], p[3], ceil) <= 0 {
									continue
								}
								x := randTensor(r, shape[:]...)
								want, ws := ref.Pool(op == "MaxPool", x.F32(), shape, prm)
								if emptyWindow(want) {
									continue // a dilated window wholly inside the padding has no defined value
								}
								n := &graph.Node{Name: "pool", Op: op}
								if op == "AveragePoolIncl" {
									n.Op = "AveragePool"
									n.SetInt("count_include_pad", 1)
								}
								n.SetInts("kernel_shape", ints64(k[0], k[1]))
								n.SetInts("strides", ints64(s[0], s[1]))
								n.SetInts("dilations", ints64(d[0], d[1]))
								n.SetInts("pads", ints64(p[0], p[1], p[2], p[3]))
								if ceil {
									n.SetInt("ceil_mode", 1)
								}
								pl := pool
								if i%2 == 0 {
									pl = nil
								}
								name := fmt.Sprintf("%s_%v_k%v_s%v_d%v_p%v_ceil%v", op, shape, k, s, d, p, ceil)
								t.Run(name, func(t *testing.T) {
									got := runOp(t, n, []*tensor.Tensor{x}, nil, pl)
									if !got[0].Shape.Equal(tensor.Shape(ws[:])) {
										t.Fatalf("shape %s, want %v", got[0].Shape, ws)
									}
									closeSlices(t, op, got[0].F32(), want, 1e-5)
								})
							}
						}
					}
				}
			}
		}
	}
}

func emptyWindow(y []float32) bool {
	for _, v := range y {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), -1) {
			return true
		}
	}
	return false
}

// TestMaxPoolQuantized checks u8 and i8 max pooling against the f32 path on the same values.
func TestMaxPoolQuantized(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	shape := tensor.Shape{1, 5, 9, 10}
	xf := tensor.New(tensor.F32, shape)
	xu := tensor.New(tensor.U8, shape)
	xi := tensor.New(tensor.I8, shape)
	for i := range xf.F32() {
		v := r.IntN(256)
		xu.U8()[i] = uint8(v)
		xi.I8()[i] = int8(v - 128)
	}
	for _, global := range []bool{false, true} {
		mk := func() *graph.Node {
			if global {
				return &graph.Node{Name: "gmp", Op: "GlobalMaxPool"}
			}
			n := &graph.Node{Name: "mp", Op: "MaxPool"}
			n.SetInts("kernel_shape", ints64(3, 3))
			n.SetInts("strides", ints64(2, 2))
			n.SetInts("pads", ints64(1, 1, 1, 1))
			return n
		}
		for i, v := range xu.U8() {
			xf.F32()[i] = float32(v)
		}
		want := runOp(t, mk(), []*tensor.Tensor{xf}, nil, nil)[0].F32()
		gotU := runOp(t, mk(), []*tensor.Tensor{xu}, nil, nil)[0]
		gotI := runOp(t, mk(), []*tensor.Tensor{xi}, nil, nil)[0]
		if gotU.DType != tensor.U8 || gotI.DType != tensor.I8 {
			t.Fatalf("dtypes %s, %s", gotU.DType, gotI.DType)
		}
		for i, w := range want {
			if float32(gotU.U8()[i]) != w || float32(gotI.I8()[i])+128 != w {
				t.Fatalf("global=%v element %d: u8 %d i8 %d, want %v", global, i, gotU.U8()[i], gotI.I8()[i], w)
			}
		}
	}
}

func TestGlobalPoolsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, shape := range [][4]int{{1, 7, 5, 3}, {2, 24, 7, 7}, {1, 1, 1, 1}} {
		x := randTensor(r, shape[:]...)
		for _, op := range []string{"GlobalAveragePool", "GlobalMaxPool"} {
			// A global pool is a pool whose window is the whole plane.
			want, _ := ref.Pool(op == "GlobalMaxPool", x.F32(), shape, ref.Conv2D{KernelH: shape[2], KernelW: shape[3]})
			got := runOp(t, &graph.Node{Name: "g", Op: op}, []*tensor.Tensor{x}, nil, nil)
			if !got[0].Shape.Equal(tensor.Shape{shape[0], shape[1], 1, 1}) {
				t.Fatalf("%s: shape %s", op, got[0].Shape)
			}
			closeSlices(t, op, got[0].F32(), want, 1e-5)
		}
	}
}

func TestPoolRejectsIndices(t *testing.T) {
	n := &graph.Node{Name: "mp", Op: "MaxPool",
		Inputs:  []*graph.Value{{Name: "x", DType: tensor.F32, Shape: tensor.Shape{1, 1, 4, 4}}},
		Outputs: []*graph.Value{{Name: "y"}, {Name: "idx"}}}
	n.SetInts("kernel_shape", ints64(2, 2))
	if _, err := compilePool(n); err == nil {
		t.Fatal("MaxPool with Indices output compiled")
	}
}

// A window larger than a 1-pixel-wide map (SAME padding) leaves some taps with no valid output column;
// found by fuzzing the TFLite importer.
func TestMaxPoolWindowWiderThanInput(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.F32, tensor.U8} {
		x := &graph.Value{Name: "x", DType: dt, Shape: tensor.Shape{3, 3, 3, 1}}
		y := &graph.Value{Name: "y"}
		n := &graph.Node{Name: "pool", Op: "MaxPool", Inputs: []*graph.Value{x}, Outputs: []*graph.Value{y}}
		n.SetInts("kernel_shape", []int64{3, 4})
		n.SetStr("auto_pad", "SAME_UPPER")
		xt := tensor.New(dt, x.Shape)
		for i := range xt.Data {
			xt.Data[i] = byte(i)
		}
		if dt == tensor.F32 {
			for i := range xt.F32() {
				xt.F32()[i] = float32(i)
			}
		}
		x.Const = xt
		out, err := Eval(n)
		if err != nil {
			t.Fatal(err)
		}
		if !out[0].Shape.Equal(tensor.Shape{3, 3, 3, 1}) {
			t.Fatalf("%s: shape %s", dt, out[0].Shape)
		}
		// Each output is the max of its column window: rows oy-1..oy+1 of the single column.
		for i := 0; i < 27; i++ {
			c, oy := i/3, i%3
			want := float64(c*3 + min(oy+1, 2))
			var got float64
			if dt == tensor.F32 {
				got = float64(out[0].F32()[i])
			} else {
				got = float64(out[0].Data[i])
			}
			if got != want {
				t.Fatalf("%s: out[%d] = %v, want %v", dt, i, got, want)
			}
		}
	}
}
