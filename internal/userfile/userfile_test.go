package userfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
