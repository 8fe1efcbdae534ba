//go:build !unix

package tflite

import "os"

// mapped holds the model file read into memory where mapping is not available.
type mapped struct{ data []byte }

func mapFile(path string) (*mapped, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &mapped{data: data}, nil
}

func (m *mapped) Close() error { m.data = nil; return nil }

func (m *mapped) ReleaseRange([]byte) {}
