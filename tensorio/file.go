// Package tensorio reads and writes raw tensor files for `wanwu run` and the conformance tests:
// ONNX TensorProto (.pb, as in the ONNX test_data_set_* folders) and NumPy .npy.
package tensorio

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/wanwu-ai/wanwu/tensor"
)

// ReadFile reads a tensor from a .npy file or an ONNX TensorProto (.pb; any extension other than
// .npy is read as a TensorProto unless it starts with the .npy magic). It returns the tensor and
// its name (the TensorProto name; "" for .npy). The tensor owns its memory, aligned for its dtype.
func ReadFile(path string) (*tensor.Tensor, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var t *tensor.Tensor
	var name string
	if strings.EqualFold(filepath.Ext(path), ".npy") || bytes.HasPrefix(b, npyMagic) {
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

// WritePB writes t as an ONNX TensorProto named name (raw_data, as onnx.numpy_helper.from_array does).
func WritePB(path, name string, t *tensor.Tensor) error {
	if err := checkWritable(t); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, EncodeTensorProto(name, t), 0o644)
}

// WriteNPY writes t as a version 1.0 .npy file.
func WriteNPY(path string, t *tensor.Tensor) error {
	if err := checkWritable(t); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, EncodeNPY(t), 0o644)
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
