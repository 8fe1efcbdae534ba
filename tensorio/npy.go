package tensorio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wanwu-ai/wanwu/tensor"
)

var npyMagic = []byte("\x93NUMPY")

// npyDescr maps NumPy dtype descriptors (little-endian, or byte-sized with any order mark) to
// wanwu dtypes. Note "<i8" is NumPy's int64, not int8.
var npyDescr = map[string]tensor.DType{
	"<f4": tensor.F32, "<f2": tensor.F16, "<i8": tensor.I64, "<i4": tensor.I32,
	"|i1": tensor.I8, "|u1": tensor.U8, "|b1": tensor.Bool,
	"<i1": tensor.I8, "<u1": tensor.U8, "<b1": tensor.Bool,
	"=i1": tensor.I8, "=u1": tensor.U8, "=b1": tensor.Bool,
}

var npyDescrOf = map[tensor.DType]string{
	tensor.F32: "<f4", tensor.F16: "<f2", tensor.I64: "<i8", tensor.I32: "<i4",
	tensor.I8: "|i1", tensor.U8: "|u1", tensor.Bool: "|b1",
}

// DecodeNPY decodes a NumPy .npy file (format versions 1, 2 and 3, C order). The tensor views b.
func DecodeNPY(b []byte) (*tensor.Tensor, error) {
	if len(b) < 10 || !bytes.Equal(b[:6], npyMagic) {
		return nil, errors.New("npy: not a .npy file (bad magic)")
	}
	major := b[6]
	var hlen, start int
	switch major {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, errors.New("npy: truncated header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d.%d", major, b[7])
	}
	if hlen < 0 || start+hlen > len(b) || start+hlen < start {
		return nil, errors.New("npy: truncated header")
	}
	descr, fortran, shape, err := parseNPYHeader(string(b[start : start+hlen]))
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	if fortran {
		return nil, errors.New("npy: fortran_order arrays are not supported (save with C order)")
	}
	dt, ok := npyDescr[descr]
	if !ok {
		return nil, fmt.Errorf("npy: unsupported dtype %q (want little-endian <f4 <f2 <i8 <i4 |i1 |u1 |b1)", descr)
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	n, err := numElements(dims)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	data := b[start+hlen:]
	if len(data) != n*dt.Size() {
		return nil, fmt.Errorf("npy: %s%v needs %d data bytes, file has %d", descr, shape, n*dt.Size(), len(data))
	}
	return &tensor.Tensor{DType: dt, Shape: shape, Data: data}, nil
}

// parseNPYHeader reads the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }
func parseNPYHeader(h string) (descr string, fortran bool, shape tensor.Shape, err error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return "", false, nil, fmt.Errorf("header %q is not a dict", h)
	}
	body := h[1 : len(h)-1]
	seen := map[string]bool{}
	for {
		body = strings.TrimLeft(body, " ,\t\n")
		if body == "" {
			break
		}
		key, rest, err := pyString(body)
		if err != nil {
			return "", false, nil, fmt.Errorf("header key: %w", err)
		}
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ":") {
			return "", false, nil, fmt.Errorf("header: missing ':' after %q", key)
		}
		rest = strings.TrimLeft(rest[1:], " ")
		seen[key] = true
		switch key {
		case "descr":
			if descr, rest, err = pyString(rest); err != nil {
				return "", false, nil, fmt.Errorf("descr: %w (structured dtypes are not supported)", err)
			}
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "True"):
				fortran, rest = true, rest[4:]
			case strings.HasPrefix(rest, "False"):
				fortran, rest = false, rest[5:]
			default:
				return "", false, nil, errors.New("fortran_order is not True or False")
			}
		case "shape":
			if !strings.HasPrefix(rest, "(") {
				return "", false, nil, errors.New("shape is not a tuple")
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return "", false, nil, errors.New("shape tuple is not closed")
			}
			shape = tensor.Shape{}
			for _, p := range strings.Split(rest[1:end], ",") {
				p = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p), "L"))
				if p == "" {
					continue
				}
				d, err := strconv.Atoi(p)
				if err != nil || d < 0 {
					return "", false, nil, fmt.Errorf("bad shape dimension %q", p)
				}
				shape = append(shape, d)
			}
			rest = rest[end+1:]
		default:
			return "", false, nil, fmt.Errorf("unexpected header key %q", key)
		}
		body = rest
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return "", false, nil, fmt.Errorf("header %q lacks descr, fortran_order or shape", h)
	}
	return descr, fortran, shape, nil
}

// pyString reads a quoted Python string literal (no escapes, which .npy headers never need).
func pyString(s string) (string, string, error) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, fmt.Errorf("expected a quoted string at %.20q", s)
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, errors.New("unterminated string")
	}
	return s[1 : 1+end], s[end+2:], nil
}

// EncodeNPY serializes t as a version 1.0 .npy file, header padded to 64 bytes as NumPy does.
func EncodeNPY(t *tensor.Tensor) []byte {
	descr, ok := npyDescrOf[t.DType]
	if !ok {
		panic("tensorio: no .npy descriptor for dtype " + t.DType.String())
	}
	var sh strings.Builder
	sh.WriteByte('(')
	for i, d := range t.Shape {
		if i > 0 {
			sh.WriteString(", ")
		}
		sh.WriteString(strconv.Itoa(d))
	}
	if len(t.Shape) == 1 {
		sh.WriteByte(',')
	}
	sh.WriteByte(')')
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, sh.String())
	// Pad with spaces so magic+version+len+header+'\n' is a multiple of 64.
	pad := 64 - (10+len(h)+1)%64
	if pad == 64 {
		pad = 0
	}
	h += strings.Repeat(" ", pad) + "\n"
	out := make([]byte, 0, 10+len(h)+t.ByteSize())
	out = append(out, npyMagic...)
	out = append(out, 1, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(h)))
	out = append(out, h...)
	return append(out, t.Data[:t.ByteSize()]...)
}
