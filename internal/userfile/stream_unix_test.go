//go:build unix

package userfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileStreams: /dev/zero stops at its first bytes when checked and at the limit when not; a
// named pipe with no writer neither blocks the open nor the read.
func TestReadFileStreams(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /dev/zero and mkfifo")
	}
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.txt")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(zero, 1<<30, "a label file", CheckText)
	if err == nil || !strings.Contains(err.Error(), "NUL byte at offset 0") || !strings.Contains(err.Error(), zero) {
		t.Errorf("/dev/zero checked: %v", err)
	}
	_, err = ReadFile(zero, 100<<10, "a tensor file", nil)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Size != -1 || !strings.Contains(err.Error(), "more than 100 KiB") {
		t.Errorf("/dev/zero unchecked: %v", err)
	}
	if _, err := CheckRegular(zero); err == nil || !strings.Contains(err.Error(), "a character device") {
		t.Errorf("CheckRegular(/dev/zero): %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		b, err := ReadFile(fifo, 1<<20, "a label file", CheckText)
		if err == nil && len(b) != 0 {
			err = errors.New("read bytes from a pipe nobody wrote")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("fifo without writer: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFile blocked on a named pipe with no writer")
	}
	if _, err := CheckRegular(fifo); err == nil || !strings.Contains(err.Error(), "a named pipe") {
		t.Errorf("CheckRegular(fifo): %v", err)
	}
}
