package runtime

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/tensor"
)

func loadTiny(t *testing.T, name string) *graph.Graph {
	t.Helper()
	g, err := onnx.Load(filepath.Join(testutil.RepoRoot(t), "testdata", "models", name, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// withMinMaxCalibration is a clone of g carrying a static int8 calibration: each f32 activation's
// min/max (widened to hold 0) over a seeded random input at size×size, as package calibrate's MinMax
// (which imports runtime, so cannot be used here). The static pass must convert something.
func withMinMaxCalibration(t *testing.T, g *graph.Graph, size int) *graph.Graph {
	t.Helper()
	lo, hi := map[string]float32{}, map[string]float32{}
	p, err := Compile(g, Options{Threads: 1, InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {1, 3, size, size}},
		AfterStep: func(n *graph.Node, outs []*tensor.Tensor) {
			for i, o := range outs {
				if o == nil || o.DType != tensor.F32 {
					continue
				}
				name := n.Outputs[i].Name
				for _, v := range o.F32() {
					lo[name], hi[name] = min(lo[name], v), max(hi[name], v)
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Run(context.Background(), []*tensor.Tensor{randInput(rand.New(rand.NewPCG(3, 4)), tensor.Shape{1, 3, size, size})}); err != nil {
		t.Fatal(err)
	}
	cal := passes.Calibration{}
	for name := range lo {
		scale := (hi[name] - lo[name]) / 255
		if scale == 0 {
			scale = 1
		}
		cal[name] = passes.ActivationQuant{Scale: scale, ZP: uint8(math.Round(float64(-lo[name] / scale)))}
	}
	c := g.Clone()
	passes.StoreCalibration(c, cal)
	q, err := Compile(c, Options{Threads: 1, Precision: "int8", InputShapes: map[string]tensor.Shape{c.Inputs[0].Name: {1, 3, size, size}}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	static := 0
	for _, n := range q.g.Nodes {
		if n.Op == graph.OpQ8Conv {
			static++
		}
	}
	if static == 0 {
		t.Fatal("the calibrated graph compiles to no Q8Conv")
	}
	return c
}

func batchOpts(g *graph.Graph, precision string, batch, size int, sh *Shared) Options {
	return Options{Threads: 1, Precision: precision, Shared: sh,
		InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {batch, 3, size, size}}}
}

// Programs compiled with one Shared (a model's batch sizes) hold their derived weights once: the
// Shared holds after the batch-4 program what it held after the batch-1 one, the arena is the
// largest program's, each program computes what a private program computes, and Union of their
// Stats — and of Estimates of them — counts every weight once.
func TestSharedProgramsShareWeights(t *testing.T) {
	batches := []int{1, 4, 2} // 4 before 2: the arena grows, then a smaller program joins
	for _, name := range []string{"mobilenet_v2_tiny", "resnet50_tiny", "resnest_tiny_bn"} {
		for _, prec := range []string{"", "fp16", "int8", "int8-static"} {
			t.Run(name+"/"+prec, func(t *testing.T) {
				g := loadTiny(t, name)
				if prec == "int8-static" {
					g = withMinMaxCalibration(t, g, 64)
					prec = "int8"
				}
				sh, err := NewShared(1)
				if err != nil {
					t.Fatal(err)
				}
				defer sh.Close()
				r := rand.New(rand.NewPCG(1, 2))
				in := randInput(r, tensor.Shape{4, 3, 64, 64})
				var progs []*Program
				var stats, ests []Stats
				var held int64
				maxArena := 0
				for i, n := range batches {
					p, err := Compile(g, batchOpts(g, prec, n, 64, sh))
					if err != nil {
						t.Fatal(err)
					}
					progs = append(progs, p)
					st := p.Stats()
					stats = append(stats, st)
					est, err := Estimate(g, batchOpts(g, prec, n, 64, nil))
					if err != nil {
						t.Fatal(err)
					}
					ests = append(ests, est)
					maxArena = max(maxArena, st.ArenaBytes)
					if i == 0 {
						held = sh.WeightBytes()
						if prec != "" && held == 0 {
							t.Fatalf("the %s conversion put nothing in the Shared", prec)
						}
					} else if got := sh.WeightBytes(); got != held {
						t.Errorf("batch %d: the Shared holds %d bytes of derived weights, %d after batch 1", n, got, held)
					}
					if got := sh.ArenaBytes(); got != maxArena {
						t.Errorf("batch %d: shared arena %d bytes, want the largest program's %d", n, got, maxArena)
					}
				}
				// Every program, including the batch-1 one whose arena moved, matches a private program.
				for i, n := range batches {
					x := &tensor.Tensor{DType: tensor.F32, Shape: tensor.Shape{n, 3, 64, 64}, Data: in.Data[:n*3*64*64*4]}
					got, err := progs[i].Run(context.Background(), []*tensor.Tensor{x})
					if err != nil {
						t.Fatal(err)
					}
					got0 := got[0].Clone()
					alone, err := Compile(g, batchOpts(g, prec, n, 64, nil))
					if err != nil {
						t.Fatal(err)
					}
					want, err := alone.Run(context.Background(), []*tensor.Tensor{x})
					if err != nil {
						t.Fatal(err)
					}
					checkClose(t, "batch output", got0, want[0])
					alone.Close()
				}
				u, ue := Union(stats...), Union(ests...)
				if u != ue {
					t.Errorf("Union of compiled programs %+v, of their estimates %+v", u, ue)
				}
				one := Union(stats[0])
				if u.ConstBytes > one.ConstBytes+one.ConstBytes/20+4096 || u.PackedBytes != one.PackedBytes {
					t.Errorf("three programs hold %d constant + %d packed bytes, one holds %d + %d: weights counted more than once",
						u.ConstBytes, u.PackedBytes, one.ConstBytes, one.PackedBytes)
				}
				if u.ArenaBytes != int64(maxArena) || u.Programs != 3 || u.Threads != 1 {
					t.Errorf("union %+v, want arena %d of 3 programs on 1 thread", u, maxArena)
				}
				// Without sharing, the same programs would each hold their own copies.
				if prec == "" && one.PackedBytes == 0 {
					t.Errorf("nothing packed at fp32: the test shares nothing")
				}
			})
		}
	}
}

// Compiling a program into a Shared that already holds its weights and a large enough arena allocates
// neither: against a private compile of the same program it saves the packed weights and the arena.
func TestSharedCompileAllocatesNoWeights(t *testing.T) {
	g := loadTiny(t, "resnet50_tiny")
	sh, err := NewShared(1)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	first, err := Compile(g, batchOpts(g, "", 2, 64, sh))
	if err != nil {
		t.Fatal(err)
	}
	packed := first.Stats().PackedBytes
	allocOf := func(opts Options) (*Program, int) {
		var m0, m1 goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&m0)
		p, err := Compile(g, opts)
		if err != nil {
			t.Fatal(err)
		}
		goruntime.ReadMemStats(&m1)
		return p, int(m1.TotalAlloc - m0.TotalAlloc)
	}
	private, privAlloc := allocOf(batchOpts(g, "", 1, 64, nil))
	arena := private.Stats().ArenaBytes
	private.Close()
	second, sharedAlloc := allocOf(batchOpts(g, "", 1, 64, sh))
	if saved := privAlloc - sharedAlloc; saved < packed+arena-arena/8 {
		t.Errorf("a private compile allocated %d bytes, one into the Shared %d: saved %d, want the packed weights (%d) and the arena (%d)",
			privAlloc, sharedAlloc, saved, packed, arena)
	}
	if second.Stats().PackedBytes != packed {
		t.Errorf("second program reports %d packed bytes, first %d", second.Stats().PackedBytes, packed)
	}
	second.Close()
	first.Close()
	if sh.ArenaBytes() != 0 {
		t.Errorf("arena of %d bytes kept after the last program closed", sh.ArenaBytes())
	}
	// A closed Shared refuses new programs.
	sh.Close()
	if _, err := Compile(g, batchOpts(g, "", 1, 64, sh)); err == nil {
		t.Errorf("Compile into a closed Shared succeeded")
	}
}

// Threads are capped at MaxThreads everywhere a pool is made.
func TestThreadsCapped(t *testing.T) {
	g := loadTiny(t, "mobilenet_v2_tiny")
	for _, n := range []int{-1, MaxThreads() + 1, 1_000_000} {
		opts := batchOpts(g, "", 1, 64, nil)
		opts.Threads = n
		if _, err := Compile(g, opts); err == nil || !strings.Contains(err.Error(), "threads") {
			t.Errorf("Compile with %d threads: %v", n, err)
		}
		if _, err := Estimate(g, opts); err == nil {
			t.Errorf("Estimate with %d threads succeeded", n)
		}
		if _, err := NewShared(n); err == nil {
			t.Errorf("NewShared(%d) succeeded", n)
		}
	}
	for _, n := range []int{0, 1, MaxThreads()} {
		opts := batchOpts(g, "", 1, 64, nil)
		opts.Threads = n
		p, err := Compile(g, opts)
		if err != nil {
			t.Fatalf("%d threads: %v", n, err)
		}
		want := n
		if n == 0 {
			want = goruntime.GOMAXPROCS(0)
		}
		if got := p.Stats().Threads; got != want {
			t.Errorf("%d threads asked: Stats.Threads %d, want %d", n, got, want)
		}
		p.Close()
	}
}

// Weights a program reads straight from the mapped model file are reported as mapped (outside the Go
// heap), the same by Estimate and Compile; small constants Compile copies out of the mapping are not.
// The full MobileNetV2 export (models/, made by `make models`) reads its 1280×1000 classifier so.
func TestMappedBytes(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "models", "mobilenet_v2", "model.onnx")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not exported (make models)", path)
	}
	g, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	opts := batchOpts(g, "", 1, 224, nil)
	est, err := Estimate(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	u, ue := Union(p.Stats()), Union(est)
	if u != ue {
		t.Errorf("compiled %+v, estimated %+v", u, ue)
	}
	if u.MappedBytes < 1280*1000*4 || u.MappedBytes > u.ConstBytes {
		t.Errorf("mapped %d of %d constant bytes; want the 4.9 MiB classifier at least", u.MappedBytes, u.ConstBytes)
	}
}
