package tflite

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// Tensor shapes are read with overflow checks: int32 dims whose product's bytes exceed
// tensor.MaxBytes are refused naming the tensor and the shape.
func TestTensorShapeOverflow(t *testing.T) {
	le := func(v ...int32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		}
		return b
	}
	model := synthModel(fb.BuiltinOperatorRELU)
	old := le(4, 1, 4, 4, 2) // the shape vectors: length, then [1,4,4,2]
	if !bytes.Contains(model, old) {
		t.Fatal("shape vector not found in the synthetic model")
	}
	huge := bytes.ReplaceAll(model, old, le(4, 1, 1<<30, 1<<30, 2))
	_, err := Decode(huge)
	if want := `shape [1,1073741824,1073741824,2] of f32 is too large: it needs more than 256 TiB`; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `tensor "t`) {
		t.Errorf("Decode: %v; want an error naming the tensor and %q", err, want)
	}
	if _, err := Decode(bytes.ReplaceAll(model, old, le(4, 1, 1<<10, 1<<10, 2))); err != nil {
		t.Errorf("a [1,1024,1024,2] tensor: %v", err)
	}
}
