package wanwu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/compiled"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// copyModel copies a committed fixture into dir, so tests may change it.
func copyModel(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "models", name, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConvertedModelClassifiesAsTheSource: a converted file loads as a compiled model and gives the
// predictions (scores included, exactly) the source model gives at the same precision.
func TestConvertedModelClassifiesAsTheSource(t *testing.T) {
	ctx := context.Background()
	photo := testutil.Shared(t, "images", "parrot.jpg")
	dir := t.TempDir()
	src := copyModel(t, dir, "resnet50_tiny")
	for _, prec := range []string{"fp32", "fp16", "int8"} {
		t.Run(prec, func(t *testing.T) {
			out := filepath.Join(dir, prec+compiled.Ext)
			info, err := Convert(ctx, src, out, WithPrecision(prec), WithThreads(1))
			if err != nil {
				t.Fatal(err)
			}
			if info.Precision != prec {
				t.Errorf("converted at %s, asked %s", info.Precision, prec)
			}
			m, err := Load(ctx, out, WithThreads(1))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Format != "wanwu" || m.Precision() != prec {
				t.Errorf("loaded as %s at %s", m.Format, m.Precision())
			}
			got, want := classifyBoth(t, m, src, photo, WithPrecision(prec), WithThreads(1))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("converted: %v\nsource: %v", got, want)
			}
			if _, err := Load(ctx, out, WithPrecision(otherPrecision(prec))); err == nil || !strings.Contains(err.Error(), out) {
				t.Errorf("another precision of a compiled file: got %v, want an error naming %s", err, out)
			}
		})
	}
}

// classifyBoth returns the top 5 of photo from m and from the source model src loaded with opts.
func classifyBoth(t *testing.T, m *Model, src, photo string, opts ...Option) (got, want []Prediction) {
	t.Helper()
	ctx := context.Background()
	ref, err := Load(ctx, src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	g, err := m.ClassifyFile(ctx, photo, 5)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ref.ClassifyFile(ctx, photo, 5)
	if err != nil {
		t.Fatal(err)
	}
	return g.Predictions, w.Predictions
}

func otherPrecision(p string) string {
	if p == "int8" {
		return "fp32"
	}
	return "int8"
}

func TestStaleConvertedModelRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := copyModel(t, dir, "mobilenet_v2_tiny")
	out := filepath.Join(dir, "m"+compiled.Ext)
	if _, err := Convert(ctx, src, out, WithThreads(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(ctx, out, filepath.Join(dir, "again"+compiled.Ext)); err == nil {
		t.Error("converting a compiled file succeeded")
	}
	f, err := os.OpenFile(src, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	_, err = Load(ctx, out)
	if !errors.Is(err, compiled.ErrStale) || !strings.Contains(err.Error(), out) {
		t.Fatalf("source changed: got %v, want a stale error naming %s", err, out)
	}
}

// TestConvertedModelRunsOnOtherThreadCounts: a file converted on one thread count loads and
// classifies on another (whether a pointwise convolution runs direct depends on the count, and the
// file holds the packing of the count it was converted on), as the source does there.
func TestConvertedModelRunsOnOtherThreadCounts(t *testing.T) {
	ctx := context.Background()
	photo := testutil.Shared(t, "images", "parrot.jpg")
	dir := t.TempDir()
	src := copyModel(t, dir, "resnet50_tiny")
	for _, prec := range []string{"fp32", "fp16"} {
		for _, c := range []struct{ convert, run int }{{2, 1}, {1, 2}} {
			t.Run(fmt.Sprintf("%s_%dto%d", prec, c.convert, c.run), func(t *testing.T) {
				out := filepath.Join(dir, fmt.Sprintf("%s_%d%s", prec, c.convert, compiled.Ext))
				if _, err := Convert(ctx, src, out, WithPrecision(prec), WithThreads(c.convert)); err != nil {
					t.Fatal(err)
				}
				m, err := Load(ctx, out, WithThreads(c.run))
				if err != nil {
					t.Fatalf("converted on %d threads, loaded on %d: %v", c.convert, c.run, err)
				}
				defer m.Close()
				got, want := classifyBoth(t, m, src, photo, WithPrecision(prec), WithThreads(c.run))
				// The two may run a layer on different kernels: the same classes, scores within rounding.
				for i, p := range want {
					if g := got[i]; g.Index != p.Index || math.Abs(g.Score-p.Score) > 1e-4 {
						t.Fatalf("converted: %v\nsource: %v", got, want)
					}
				}
			})
		}
	}
}
