//go:build !unix

package mmap

import "os"

// Map reads the whole file where memory mapping is not available.
func Map(path string) ([]byte, error) { return os.ReadFile(path) }

// Unmap does nothing: Map's memory belongs to the Go heap.
func Unmap(data []byte) error { return nil }

// Release does nothing where pages cannot be released.
func Release(region, p []byte, window int) {}

// Zeros returns n zero bytes from the heap where anonymous mappings are not available.
func Zeros(n int) ([]byte, error) { return make([]byte, n), nil }
