package wanwu

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wanwu-ai/wanwu/calibrate"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/userfile"
	"github.com/wanwu-ai/wanwu/tensor"
)

// WithCalibration makes int8 use static activation scales measured on sample photos (files, or
// folders searched recursively for .jpg .jpeg .png .bmp .gif .webp): before compiling, Load runs the
// float model once per photo, preprocessed as for classification, and keeps each activation's range
// (package calibrate); the int8 program then passes u8 activations from layer to layer instead of
// measuring every layer's input on each run. It applies when the precision is int8 (asked for, or
// chosen under a budget); asking for another precision with it is an error. The float run costs the
// float model's memory once, while loading.
func WithCalibration(paths ...string) Option {
	return func(c *config) { c.calibrate = append(c.calibrate, paths...) }
}

// calibrationExts are the photo files a calibration folder is searched for.
var calibrationExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".gif": true, ".webp": true}

// calibrationFiles expands folders (recursively, sorted) into photo files; files are kept as given.
func calibrationFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("calibration photos: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && calibrationExts[strings.ToLower(filepath.Ext(f))] {
				found = append(found, f)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("calibration photos: %w", err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("calibration photos: no .jpg/.jpeg/.png/.bmp/.gif/.webp file in %s", p)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, nil
}

// calibrateGraph decodes and preprocesses the photos with pre into inputs of shape (batch 1) and
// stores their calibration in the model's graph.
func (m *Model) calibrateGraph(ctx context.Context, paths []string, pre imageio.Preprocess, shape tensor.Shape, dt tensor.DType, threads int) error {
	files, err := calibrationFiles(paths)
	if err != nil {
		return err
	}
	// One photo at a time, decoded again for the histogram pass and straight into the model's resize
	// (as ClassifyFile): a folder of any size, of photos of any size, costs about one input's memory.
	x := tensor.New(dt, shape)
	w, h := pre.MinSize()
	cal, err := calibrate.CollectFrom(ctx, m.g, shape, len(files), func(i int) (*tensor.Tensor, error) {
		img, err := decodeCalibrationPhoto(ctx, files[i], pre, imageio.DecodeOptions{MinWidth: w, MinHeight: h})
		if err != nil {
			return nil, fmt.Errorf("calibration photo %s: %w", files[i], err)
		}
		if err := pre.Into(img, x, 0); err != nil {
			return nil, fmt.Errorf("calibration photo %s: %w", files[i], err)
		}
		return x, nil
	}, calibrate.Options{Threads: threads})
	if err != nil {
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	passes.StoreCalibration(m.g, cal)
	return nil
}

// Calibration measures a model's int8 activation quantization on photos, as WithCalibration does while
// loading, and returns it (for passes.StoreCalibration on a graph of the same model, as `wanwu bench
// --calibrate` does). opts choose the preprocessing, input size and threads as for Load.
func Calibration(ctx context.Context, model string, photos []string, opts ...Option) (passes.Calibration, error) {
	cfg := newConfig(opts)
	m, ii, err := open(ctx, model, cfg)
	if err != nil {
		return nil, err
	}
	defer m.g.Close()
	size := cfg.size
	if size == 0 {
		size = ii.baseSize
	}
	shape := ii.shapeFor(size, 1)
	if err := m.calibrateGraph(ctx, photos, preprocessFor(m.basePre, shape, ii.hAxis, m.resize), shape, ii.dtype, cfg.threads); err != nil {
		return nil, err
	}
	return passes.LoadCalibration(m.g)
}

// decodeCalibrationPhoto reads a photo (at most imageio.DefaultMaxBytes) and decodes it into pre's
// resize, as ClassifyFile does.
func decodeCalibrationPhoto(ctx context.Context, path string, pre imageio.Preprocess, opts imageio.DecodeOptions) (*imageio.RGB, error) {
	if _, err := userfile.CheckRegular(path); err != nil { // a named pipe would block the open
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, imageio.DefaultMaxBytes+1))
	f.Close()
	if err == nil && len(data) > imageio.DefaultMaxBytes {
		err = fmt.Errorf("%w: the file exceeds the %d-byte limit", imageio.ErrTooLarge, imageio.DefaultMaxBytes)
	}
	if err != nil {
		return nil, err
	}
	return pre.DecodeResized(ctx, data, opts)
}
