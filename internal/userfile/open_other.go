//go:build !unix

package userfile

import "os"

// openNonblocking opens path for reading (systems without named pipes in the file system).
func openNonblocking(path string) (*os.File, error) { return os.Open(path) }
