package wanwu

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/lower"
)

// TestWithCalibration: Load with WithCalibration runs int8 with static activation scales (its arena
// holds u8 activations, so it is smaller than dynamic int8's), calibrated on five photos and evaluated
// on six others, with fp32's top-1 on each (unless fp32 itself ranks the two classes within 0.01, as
// runtime's TestStaticInt8Photos) and fp32's top probability within 0.15; single and batch
// classification agree (to the dynamic classifier's rounding); calibration photos are refused for
// another precision and bad ones are named. On an AVX2 CPU without VNNI (GODEBUG=cpu.avx512f=off)
// the calibration is skipped for the faster dynamic path.
func TestWithCalibration(t *testing.T) {
	ctx := context.Background()
	calib := []string{"cat_720p.jpg", "kite_and_cold.jpg", "owl.jpg", "pets.jpg", "sunflower.bmp"}
	eval := decodeShared(t, "bird.bmp", "cat.bmp", "dragonfly.bmp", "grace_hopper.bmp", "hot_dog.jpg", "parrot.jpg")
	var calibPaths []string
	for _, n := range calib {
		calibPaths = append(calibPaths, testutil.Shared(t, "images", n))
	}
	for _, dir := range []string{"resnet50_tiny", "mobilenet_v2_tiny"} {
		t.Run(dir, func(t *testing.T) {
			path := filepath.Join("testdata", "models", dir, "model.onnx")
			load := func(opts ...Option) *Model {
				t.Helper()
				m, err := Load(ctx, path, append([]Option{WithInputSize(64), WithThreads(2)}, opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { m.Close() })
				return m
			}
			fp32 := load(WithPrecision("fp32"))
			dyn := load(WithPrecision("int8"))
			st := load(WithPrecision("int8"), WithCalibration(calibPaths...))
			if st.Precision() != "int8" {
				t.Fatalf("precision %q with calibration, want int8", st.Precision())
			}
			if lower.StaticConvBehind() { // AVX2 without VNNI: WithCalibration keeps dynamic int8 (faster there)
				if a, d := st.Stats().ArenaBytes, dyn.Stats().ArenaBytes; a != d {
					t.Errorf("AVX2 only: arena %d bytes with calibration, %d without: want dynamic int8 both", a, d)
				}
			} else if a, d := st.Stats().ArenaBytes, dyn.Stats().ArenaBytes; a >= d {
				t.Errorf("static int8 arena %d bytes, dynamic %d: want smaller (u8 activations between layers)", a, d)
			}
			batch, err := st.ClassifyBatch(ctx, eval, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			for i, img := range eval {
				want, err := fp32.Classify(ctx, img, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				got, err := st.Classify(ctx, img, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				w0, g0 := want.Predictions[0], got.Predictions[0]
				if g0.Index != w0.Index && w0.Score-want.Predictions[1].Score > 0.01 {
					t.Errorf("photo %d: static int8 top-1 %d (%.4f), fp32 %d (%.4f, next %.4f)", i, g0.Index, g0.Score,
						w0.Index, w0.Score, want.Predictions[1].Score)
				}
				for _, p := range got.Predictions {
					if p.Index == w0.Index && math.Abs(p.Score-w0.Score) > 0.15 {
						t.Errorf("photo %d: fp32's top class at %.4f under static int8, %.4f in fp32", i, p.Score, w0.Score)
					}
				}
				// The classifier (Gemm) stays dynamic: its activation range is the whole batch's, so batch
				// and single scores differ by that rounding (measured ≤ 0.0014; ≤ 0.011 where every layer
				// is dynamic, AVX2 only).
				for _, b := range batch[i].Predictions {
					if b.Index == g0.Index && math.Abs(b.Score-g0.Score) > 0.025 {
						t.Errorf("photo %d: class %d at %.6f in the batch, %.6f alone", i, g0.Index, b.Score, g0.Score)
					}
				}
			}
		})
	}

	model := filepath.Join("testdata", "models", "resnet50_tiny", "model.onnx")
	if _, err := Load(ctx, model, WithPrecision("fp16"), WithCalibration(calibPaths...)); err == nil ||
		!strings.Contains(err.Error(), "calibration photos are for int8") {
		t.Errorf("fp16 with calibration photos: error %v", err)
	}
	notPhoto := filepath.Join(t.TempDir(), "broken.jpg")
	if err := os.WriteFile(notPhoto, []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	bads := []string{filepath.Join(t.TempDir(), "missing"), t.TempDir()}
	if !lower.StaticConvBehind() { // a photo is only decoded where static int8 runs
		bads = append(bads, notPhoto)
		fifo := filepath.Join(t.TempDir(), "pipe.jpg")
		if err := mkfifo(fifo); err == nil { // refused unopened: opening would block
			bads = append(bads, fifo)
		}
	}
	for _, bad := range bads {
		_, err := Load(ctx, model, WithPrecision("int8"), WithInputSize(64), WithCalibration(bad))
		if err == nil || !strings.Contains(err.Error(), filepath.Base(bad)) {
			t.Errorf("calibration photo %s: error %v, want one naming it", bad, err)
		}
	}
}
