//go:build unix

package userfile

import (
	"os"
	"syscall"
)

// openNonblocking opens path for reading without waiting for a named pipe's writer (a pipe with no
// writer then reads as empty).
func openNonblocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
