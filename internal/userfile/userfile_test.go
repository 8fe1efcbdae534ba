package userfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB",
		32 << 20: "32 MiB", 2 << 30: "2 GiB", 3 << 40: "3 TiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestReadFileRegular(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "labels.txt")
	data := bytes.Repeat([]byte("猫\n"), 100)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p, int64(len(data)), "a label file", CheckText)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
	_, err = ReadFile(p, int64(len(data))-1, "a label file", CheckText)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Size != int64(len(data)) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "a label file") {
		t.Errorf("one byte over the limit: %v", err)
	}
	bin := filepath.Join(dir, "utf16.txt")
	os.WriteFile(bin, []byte("a\x00b\x00"), 0o644)
	if _, err := ReadFile(bin, 100, "a label file", CheckText); err == nil || !strings.Contains(err.Error(), "NUL byte at offset 1") || !strings.Contains(err.Error(), bin) {
		t.Errorf("NUL byte: %v", err)
	}
	if _, err := ReadFile(dir, 100, "a label file", nil); err == nil || !strings.Contains(err.Error(), "a directory") {
		t.Errorf("directory: %v", err)
	}
	if _, err := CheckRegular(dir); err == nil || !strings.Contains(err.Error(), "not a regular file (a directory)") {
		t.Errorf("CheckRegular(dir): %v", err)
	}
	if st, err := CheckRegular(p); err != nil || st.Size() != int64(len(data)) {
		t.Errorf("CheckRegular(file): %v", err)
	}
}

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
