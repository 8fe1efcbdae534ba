// Package onnx imports ONNX models (default-domain opsets 1 to 21; operator versions before opset 10
// are mapped onto the latest by legacy.go) into wanwu's graph IR, with weights viewed in place in the
// memory-mapped file rather than copied.
//
// Older opsets are normalised to the latest ONNX semantics (see normalize.go); an unsupported
// operator anywhere in the model fails the load with one *UnsupportedError listing all of them.
// DOUBLE tensors are narrowed to F32 on import (wanwu has no f64 dtype).
//
// Constants stored as raw_data view the file at whatever offset the exporter left them, so their
// Data is generally not aligned to the element size (in PyTorch's ResNet-50 export, 79 of 108
// weights are not 4-byte aligned); code that needs alignment packs or copies them. Typed-field
// data (float_data, int64_data...) is decoded into fresh, aligned Go memory.
package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/mmap"
)

// Load imports the model at path. The file (and any external data files next to it) is mapped
// read-only; constants view the mapping, which g.Close releases.
func Load(path string) (*graph.Graph, error) {
	data, err := mmap.Map(path)
	if err != nil {
		return nil, err
	}
	bk := &backing{}
	bk.add(data)
	ext := &externalFiles{model: path, dir: filepath.Dir(path), backing: bk, files: map[string][]byte{}}
	g, err := decode(data, path, ext.resolve)
	if err != nil {
		bk.Close()
		return nil, err
	}
	// Walking the protobuf faulted in every page holding a tensor header, and the kernel maps up to
	// 64 KiB around each fault: for a model of many initializers that is megabytes of weight pages
	// nothing has read yet. Drop them all; constants fault their pages back in when they are read.
	bk.releaseAll()
	g.Backing = bk
	return g, nil
}

// Decode imports a model from bytes. Constants view data, which must stay unmodified while the
// graph is used. Models with external data need Load (their data files are found next to the model).
func Decode(data []byte) (*graph.Graph, error) {
	return decode(data, "", nil)
}

// backing owns the mapped regions (mmap.Map) constants view.
type backing struct {
	mu      sync.Mutex
	regions [][]byte
}

func (b *backing) add(data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.regions = append(b.regions, data)
}

// Close unmaps every region; calling it twice is harmless.
func (b *backing) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, r := range b.regions {
		if err := mmap.Unmap(r); err != nil {
			errs = append(errs, err)
		}
	}
	b.regions = nil
	return errors.Join(errs...)
}

// externalFiles resolves data_location=EXTERNAL tensors to mapped files in the model's directory.
type externalFiles struct {
	model   string
	dir     string
	backing *backing
	files   map[string][]byte
}

func (e *externalFiles) resolve(location string, offset, length int64) ([]byte, error) {
	// The ONNX spec makes locations relative to the model's directory; anything else could make a
	// model file read arbitrary files on the machine.
	if filepath.IsAbs(location) || strings.HasPrefix(location, "/") || strings.HasPrefix(location, `\`) {
		return nil, fmt.Errorf("external data location %q is absolute; it must be relative to the model's directory", location)
	}
	clean := filepath.Clean(filepath.FromSlash(location))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || clean == "." {
		return nil, fmt.Errorf("external data location %q escapes the model's directory", location)
	}
	data, ok := e.files[clean]
	if !ok {
		p := filepath.Join(e.dir, clean)
		if err := insideDir(e.dir, p); err != nil {
			return nil, fmt.Errorf("external data location %q: %w", location, err)
		}
		d, err := mmap.Map(p)
		if err != nil {
			return nil, fmt.Errorf("external data: %w", err)
		}
		e.backing.add(d)
		e.files[clean] = d
		data = d
	}
	size := int64(len(data))
	if offset > size {
		return nil, fmt.Errorf("external data offset %d is past the end of %s (%d bytes)", offset, location, size)
	}
	if length < 0 {
		length = size - offset
	}
	if length > size-offset {
		return nil, fmt.Errorf("external data %s[%d:+%d] is past the end of the file (%d bytes)", location, offset, length, size)
	}
	return data[offset : offset+length : offset+length], nil
}

// insideDir checks, after resolving symbolic links, that p lies inside dir.
func insideDir(dir, p string) error {
	rd, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	rp, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("file %s not found", p)
		}
		return err
	}
	rel, err := filepath.Rel(rd, rp)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("resolves to %s, outside the model's directory", rp)
	}
	return nil
}

// releaseAll drops the resident pages of every mapped region where the platform can (ReleaseRange).
func (b *backing) releaseAll() {
	rel, ok := any(b).(graph.RangeReleaser)
	if !ok {
		return
	}
	b.mu.Lock()
	regions := append([][]byte(nil), b.regions...)
	b.mu.Unlock()
	for _, r := range regions {
		rel.ReleaseRange(r)
	}
}
