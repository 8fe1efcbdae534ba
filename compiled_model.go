package wanwu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/wanwu-ai/wanwu/compiled"
	"github.com/wanwu-ai/wanwu/labels"
)

// Convert loads model as Load does with opts (precision, calibration photos, class subset, Winograd)
// and writes the compiled program to out as a compiled model file (.wanwu, package compiled): the
// optimized graph with its converted and packed weights, the preprocessing and the labels, and the
// source model's SHA-256. Load maps such a file and runs it without converting anything. The program
// is compiled for batch 1 at the chosen input size, which the file fixes.
func Convert(ctx context.Context, model, out string, opts ...Option) (compiled.Info, error) {
	m, err := Load(ctx, model, append(opts, func(c *config) { c.exportable = true })...)
	if err != nil {
		return compiled.Info{}, err
	}
	defer m.Close()
	if m.compiled != nil {
		return compiled.Info{}, fmt.Errorf("%s: already a compiled model file; convert its source model", m.Path)
	}
	src, err := compiled.SourceOf(m.Path)
	if err != nil {
		return compiled.Info{}, fmt.Errorf("wanwu: %w", err)
	}
	cfg := newConfig(opts)
	info := compiled.Info{Name: m.Name, Source: src, SourceFormat: m.Format, Precision: m.precision,
		Calibrated: len(cfg.calibrate) > 0 && m.precision == "int8", Winograd: m.winograd,
		Preprocess: m.pre, Labels: labelsInfo(m.labels), Keep: m.keep}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.readyLocked(); err != nil {
		return compiled.Info{}, err
	}
	if err := compiled.Write(out, m.prog, info); err != nil {
		return compiled.Info{}, err
	}
	return info, nil
}

// isCompiledFile reports whether path starts like a compiled model file.
func isCompiledFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	return compiled.IsCompiled(head[:n])
}

// checkCompiledOptions refuses options a compiled model file cannot honour: its precision, input
// size and class subset were fixed when it was converted.
func (m *Model) checkCompiledOptions(cfg config) error {
	info := m.compiled.Info
	switch {
	case cfg.precision != "" && cfg.precision != "auto" && cfg.precision != info.Precision:
		return fmt.Errorf("%s: compiled for %s; --precision %s needs converting the source model again", m.Path, info.Precision, cfg.precision)
	case len(cfg.calibrate) > 0:
		return fmt.Errorf("%s: calibration is done when converting (wanwu convert --calibrate), not on a compiled model file", m.Path)
	case len(cfg.only) > 0 || cfg.classes != nil:
		return fmt.Errorf("%s: a class subset is chosen when converting (wanwu convert --only), not on a compiled model file", m.Path)
	case cfg.size != 0 && cfg.size != info.Preprocess.Height:
		return fmt.Errorf("%s: compiled for input size %d; --size %d needs converting the source model again", m.Path, info.Preprocess.Height, cfg.size)
	}
	return nil
}

// storedPrecision is the precision the model's weights are in as loaded: a compiled file's, or what
// the graph holds (GraphPrecision).
func (m *Model) storedPrecision() string {
	if m.compiled != nil {
		return m.compiled.Info.Precision
	}
	return GraphPrecision(m.g)
}

// labelsInfo records a label set in a compiled model file.
func labelsInfo(s *labels.Set) *compiled.Labels {
	switch {
	case s == nil:
		return nil
	case s == labels.ImageNet():
		return &compiled.Labels{Builtin: "imagenet"}
	case s == labels.ImageNetWithBackground():
		return &compiled.Labels{Builtin: "imagenet1001"}
	}
	if table, ok := s.Table(); ok {
		return &compiled.Labels{Table: string(table)}
	}
	names := make([]string, s.Len())
	for i := range names {
		names[i] = s.English(i)
	}
	return &compiled.Labels{Names: names}
}

// compiledLabels is the label set a compiled model file records.
func compiledLabels(path string, l *compiled.Labels) (*labels.Set, error) {
	switch {
	case l == nil:
		return nil, nil
	case l.Builtin == "imagenet":
		return labels.ImageNet(), nil
	case l.Builtin == "imagenet1001":
		return labels.ImageNetWithBackground(), nil
	case l.Builtin != "":
		return nil, fmt.Errorf("%s: unknown built-in label set %q", path, l.Builtin)
	case l.Table != "":
		return labels.Parse(path+" (labels)", []byte(l.Table))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l.Names); err != nil {
		return nil, fmt.Errorf("%s: labels: %w", path, err)
	}
	return labels.Parse(path+" (labels).json", buf.Bytes())
}
