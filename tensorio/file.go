// Package tensorio reads and writes raw tensor files for `wanwu run` and the conformance tests:
// ONNX TensorProto (.pb, as in the ONNX test_data_set_* folders) and NumPy .npy.
package tensorio

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/wanwu-ai/wanwu/internal/userfile"
	"github.com/wanwu-ai/wanwu/tensor"
)

// MaxFileBytes is the largest tensor file ReadFile reads (2 GiB).
const MaxFileBytes = 2 << 30

// ReadFile reads a tensor from a .npy file or an ONNX TensorProto (.pb; any extension other than
// .npy is read as a TensorProto unless it starts with the .npy magic). It returns the tensor and
// its name (the TensorProto name; "" for .npy). The tensor owns its memory, aligned for its dtype.
//
// A regular file over MaxFileBytes is refused by its size. A pipe or device is read as a stream, at most
// MaxFileBytes, and refused at its first bytes when they cannot begin a .npy file or a TensorProto, so
// /dev/zero fails at once instead of filling memory.
func ReadFile(path string) (*tensor.Tensor, string, error) {
	npy := strings.EqualFold(filepath.Ext(path), ".npy")
	b, err := userfile.ReadFile(path, MaxFileBytes, "a tensor file", func(head []byte) error {
		return checkTensorHead(head, npy)
	})
	if err != nil {
		return nil, "", err
	}
	if len(b) == 0 {
		return nil, "", fmt.Errorf("%s: empty file, not a tensor", path)
	}
	var t *tensor.Tensor
	var name string
	if npy || bytes.HasPrefix(b, npyMagic) {
		t, err = DecodeNPY(b)
	} else {
		t, name, err = DecodeTensorProto(b)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	// Decoders view the file bytes at an arbitrary offset; kernels may assume natural alignment.
	if len(t.Data) > 0 && uintptr(unsafe.Pointer(&t.Data[0]))%uintptr(t.DType.Size()) != 0 {
		t = t.Clone()
	}
	return t, name, nil
}

// checkTensorHead refuses a file start that can begin neither a .npy file (its magic) nor a serialized
// TensorProto (each complete field a known field number with its wire type); an empty head is left to the
// decoders.
func checkTensorHead(head []byte, npy bool) error {
	if len(head) == 0 || bytes.HasPrefix(head, npyMagic) || bytes.HasPrefix(npyMagic, head) {
		return nil
	}
	if npy {
		return fmt.Errorf("npy: not a .npy file (bad magic % x)", head[:min(len(head), 6)])
	}
	for b := head; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			if len(b) < 10 && protowire.ParseError(n) == io.ErrUnexpectedEOF {
				return nil // a tag cut by the end of the head
			}
			return fmt.Errorf("tensor: not a TensorProto or .npy file (bad protobuf tag at byte %d)", len(head)-len(b))
		}
		if num < 1 || num > 14 || tensorProtoWire[num] != typ && !(typ == protowire.BytesType && packable[num]) {
			return fmt.Errorf("tensor: not a TensorProto or .npy file (field %d, wire type %d at byte %d)", num, typ, len(head)-len(b))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil // a field running past the head: the decoder checks the rest
		}
		b = b[n+m:]
	}
	return nil
}

// tensorProtoWire is the wire type of each TensorProto field (onnx.proto) written unpacked; packable
// marks the repeated scalars, which may also come packed (length-delimited).
var (
	tensorProtoWire = map[protowire.Number]protowire.Type{
		1: protowire.VarintType, 2: protowire.VarintType, 3: protowire.BytesType, 4: protowire.Fixed32Type,
		5: protowire.VarintType, 6: protowire.BytesType, 7: protowire.VarintType, 8: protowire.BytesType,
		9: protowire.BytesType, 10: protowire.Fixed64Type, 11: protowire.VarintType, 12: protowire.BytesType,
		13: protowire.BytesType, 14: protowire.VarintType,
	}
	packable = map[protowire.Number]bool{1: true, 4: true, 5: true, 7: true, 10: true, 11: true}
)

// WritePB writes t as an ONNX TensorProto named name (raw_data, as onnx.numpy_helper.from_array does).
func WritePB(path, name string, t *tensor.Tensor) error {
	if err := checkWritable(t); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeAtomic(path, EncodeTensorProto(name, t))
}

// WriteNPY writes t as a version 1.0 .npy file.
func WriteNPY(path string, t *tensor.Tensor) error {
	if err := checkWritable(t); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeAtomic(path, EncodeNPY(t))
}

func checkWritable(t *tensor.Tensor) error {
	if t == nil || t.DType.Size() == 0 {
		return fmt.Errorf("tensorio: cannot write a nil or untyped tensor")
	}
	if !t.Shape.Known() {
		return fmt.Errorf("tensorio: cannot write a tensor with dynamic shape %s", t.Shape)
	}
	if len(t.Data) < t.ByteSize() {
		return fmt.Errorf("tensorio: tensor data holds %d bytes, shape %s needs %d", len(t.Data), t.Shape, t.ByteSize())
	}
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it into place, so a reader never
// sees half a file and a symbolic link at path is replaced rather than followed.
func writeAtomic(path string, data []byte) error {
	// A short temporary name: path's own may already be as long as a file name can be.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tensorio-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
