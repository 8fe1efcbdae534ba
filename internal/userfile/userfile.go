// Package userfile reads the files users name (photos, label lists, tensors, models) without blocking on a
// named pipe and without reading a device or a stream beyond a stated limit.
package userfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// NotRegularError refuses a path that is not a regular file: a named pipe would block its reader until a
// writer comes (forever, in a folder of photos), a device such as /dev/zero never ends.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: not a regular file (%s)", e.Path, Kind(e.Mode))
}

// Kind names the type of file a mode describes, for messages.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	}
	return "an irregular file"
}

// TooLargeError refuses a file or stream over the limit for what it should hold.
type TooLargeError struct {
	Path  string
	Size  int64 // the file's size; -1 for a stream that went on past the limit
	Limit int64
	What  string // e.g. "a label file"
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("%s: more than %s, the limit for %s (read stopped there)", e.Path, FormatBytes(e.Limit), e.What)
	}
	return fmt.Sprintf("%s: %s is over %s, the limit for %s", e.Path, FormatBytes(e.Size), FormatBytes(e.Limit), e.What)
}

// FormatBytes renders n in the largest binary unit that keeps it at least 1 ("32 MiB", "1.5 KiB").
func FormatBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	v, unit := float64(n)/1024, 0
	for v >= 1024 && unit < 3 {
		v /= 1024
		unit++
	}
	return fmt.Sprintf("%.4g %ciB", v, "KMGT"[unit])
}

// CheckRegular stats path (following symbolic links) and refuses anything but a regular file, without
// opening it: opening a named pipe blocks until a writer opens it too.
func CheckRegular(path string) (fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	return st, nil
}

// HeadBytes is how much of a stream ReadFile hands to its check before reading on.
const HeadBytes = 64 << 10

// ReadFile reads the whole of path, at most limit bytes, for what (named in errors, e.g. "a label file").
// A regular file is measured before it is read and refused whole when over the limit. Anything else (a
// pipe, /dev/stdin, a device) is opened without blocking and read as a stream: check, when not nil, sees
// its first HeadBytes (or all of it, if shorter) and may refuse them before another byte is read, so
// /dev/zero given as a text file fails at its first bytes; the rest is read only up to the limit.
// Directories are refused. Errors name the path.
func ReadFile(path string, limit int64, what string, check func(head []byte) error) ([]byte, error) {
	f, err := openNonblocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	mode := st.Mode()
	if mode.IsDir() {
		return nil, &NotRegularError{Path: path, Mode: mode}
	}
	if mode.IsRegular() {
		if st.Size() > limit {
			return nil, &TooLargeError{Path: path, Size: st.Size(), Limit: limit, What: what}
		}
		data := make([]byte, st.Size())
		n, err := io.ReadFull(f, data)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		data = data[:n] // a file that shrank while it was read
		if check != nil {
			if err := check(data[:min(len(data), HeadBytes)]); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		return data, nil
	}
	head := make([]byte, min(HeadBytes, limit+1))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if check != nil {
		if err := check(head[:min(int64(n), limit)]); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	buf := bytes.NewBuffer(head[:n])
	if n == len(head) {
		if _, err := io.Copy(buf, io.LimitReader(f, limit+1-int64(n))); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if int64(buf.Len()) > limit {
		return nil, &TooLargeError{Path: path, Size: -1, Limit: limit, What: what}
	}
	return buf.Bytes(), nil
}

// CheckText refuses data holding a NUL byte, which no UTF-8 text file has (a binary file, a UTF-16 one,
// or /dev/zero); for ReadFile's check.
func CheckText(head []byte) error {
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return fmt.Errorf("a NUL byte at offset %d: binary data, not a UTF-8 text file", i)
	}
	return nil
}
