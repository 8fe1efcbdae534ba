package tensorio

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wanwu-ai/wanwu/tensor"
)

// FuzzDecodeTensorProto: any input decodes to a consistent tensor or an error, never a panic.
func FuzzDecodeTensorProto(f *testing.F) {
	f.Add(EncodeTensorProto("x", tensor.FromF32(tensor.Shape{2, 2}, []float32{1, 2, 3, 4})))
	f.Add(EncodeTensorProto("", tensor.FromI64(tensor.Shape{}, []int64{-7})))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, _, err := DecodeTensorProto(b)
		if err == nil && len(x.Data) != x.ByteSize() {
			t.Fatalf("%s%s with %d data bytes", x.DType, x.Shape, len(x.Data))
		}
	})
}

// FuzzDecodeNPY: any input decodes to a consistent tensor or an error, never a panic.
func FuzzDecodeNPY(f *testing.F) {
	for _, name := range []string{"f32_v1.npy", "i32_v3.npy", "u8_scalar.npy"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := DecodeNPY(b)
		if err == nil && len(x.Data) != x.ByteSize() {
			t.Fatalf("%s%s with %d data bytes", x.DType, x.Shape, len(x.Data))
		}
	})
}
