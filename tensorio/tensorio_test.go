package tensorio

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/tensor"
)

func sample(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	t := tensor.New(dt, shape)
	for i := range t.Data {
		t.Data[i] = byte(i*37 + 11)
	}
	if dt == tensor.Bool {
		for i := range t.Data {
			t.Data[i] &= 1
		}
	}
	return t
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	shapes := []tensor.Shape{{}, {5}, {2, 3, 4}, {0, 3}, {1, 3, 2, 2}}
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.I8, tensor.U8, tensor.I32, tensor.I64, tensor.Bool} {
		for _, sh := range shapes {
			want := sample(dt, sh)
			name := dt.String() + sh.String()
			t.Run(name, func(t *testing.T) {
				pb := filepath.Join(dir, "t.pb")
				npy := filepath.Join(dir, "t.npy")
				if err := WritePB(pb, "x:0", want); err != nil {
					t.Fatal(err)
				}
				if err := WriteNPY(npy, want); err != nil {
					t.Fatal(err)
				}
				for _, p := range []string{pb, npy} {
					got, gotName, err := ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					if p == pb && gotName != "x:0" {
						t.Errorf("%s: name %q, want x:0", p, gotName)
					}
					if got.DType != want.DType || !got.Shape.Equal(want.Shape) || !bytes.Equal(got.Data, want.Data) {
						t.Errorf("%s: got %s%s %v, want %s%s %v", filepath.Ext(p), got.DType, got.Shape, got.Data, want.DType, want.Shape, want.Data)
					}
				}
				// The .npy header is padded to 64 bytes like NumPy's.
				b, _ := os.ReadFile(npy)
				if (len(b)-want.ByteSize())%64 != 0 {
					t.Errorf("npy header+magic is %d bytes, not a multiple of 64", len(b)-want.ByteSize())
				}
			})
		}
	}
}

// TestEncodeMatchesProto checks our hand-written encoder against the generated protobuf types.
func TestEncodeMatchesProto(t *testing.T) {
	x := tensor.FromF32(tensor.Shape{2, 3}, []float32{1, -2, 3.5, 0, 7, -0.25})
	var m onnxpb.TensorProto
	if err := proto.Unmarshal(EncodeTensorProto("w", x), &m); err != nil {
		t.Fatal(err)
	}
	if m.GetName() != "w" || m.GetDataType() != int32(onnxpb.TensorProto_FLOAT) ||
		!reflect.DeepEqual(m.GetDims(), []int64{2, 3}) || !bytes.Equal(m.GetRawData(), x.Data) {
		t.Errorf("decoded by protobuf: %v", &m)
	}
}

func f32s(t *tensor.Tensor) []float32 { return t.F32() }

// TestTypedFields decodes TensorProtos that keep data in typed fields instead of raw_data,
// as written by the protobuf library itself.
func TestTypedFields(t *testing.T) {
	tp := func(dt onnxpb.TensorProto_DataType, dims []int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String("v"), DataType: proto.Int32(int32(dt)), Dims: dims}
	}
	withF := func(p *onnxpb.TensorProto, f func(*onnxpb.TensorProto)) *onnxpb.TensorProto { f(p); return p }
	cases := []struct {
		name  string
		msg   *onnxpb.TensorProto
		dt    tensor.DType
		shape tensor.Shape
		check func(*tensor.Tensor) bool
	}{
		{"float_data", withF(tp(onnxpb.TensorProto_FLOAT, []int64{3}), func(p *onnxpb.TensorProto) { p.FloatData = []float32{1.5, -2, 1e-3} }),
			tensor.F32, tensor.Shape{3}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(f32s(x), []float32{1.5, -2, 1e-3}) }},
		{"double_data->f32", withF(tp(onnxpb.TensorProto_DOUBLE, []int64{2}), func(p *onnxpb.TensorProto) { p.DoubleData = []float64{0.1, -4} }),
			tensor.F32, tensor.Shape{2}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(f32s(x), []float32{float32(0.1), -4}) }},
		{"double raw->f32", withF(tp(onnxpb.TensorProto_DOUBLE, []int64{1}), func(p *onnxpb.TensorProto) {
			p.RawData = make([]byte, 8)
			for i := range 8 {
				p.RawData[i] = byte(math.Float64bits(2.5) >> (8 * i))
			}
		}), tensor.F32, tensor.Shape{1}, func(x *tensor.Tensor) bool { return f32s(x)[0] == 2.5 }},
		{"int64_data", withF(tp(onnxpb.TensorProto_INT64, []int64{2, 1}), func(p *onnxpb.TensorProto) { p.Int64Data = []int64{-1, 1 << 40} }),
			tensor.I64, tensor.Shape{2, 1}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.I64(), []int64{-1, 1 << 40}) }},
		{"int32_data", withF(tp(onnxpb.TensorProto_INT32, []int64{2}), func(p *onnxpb.TensorProto) { p.Int32Data = []int32{-5, 1 << 30} }),
			tensor.I32, tensor.Shape{2}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.I32(), []int32{-5, 1 << 30}) }},
		{"int8 in int32_data", withF(tp(onnxpb.TensorProto_INT8, []int64{3}), func(p *onnxpb.TensorProto) { p.Int32Data = []int32{-128, -1, 127} }),
			tensor.I8, tensor.Shape{3}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.I8(), []int8{-128, -1, 127}) }},
		{"uint8 in int32_data", withF(tp(onnxpb.TensorProto_UINT8, []int64{2}), func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0, 255} }),
			tensor.U8, tensor.Shape{2}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.U8(), []uint8{0, 255}) }},
		{"bool in int32_data", withF(tp(onnxpb.TensorProto_BOOL, []int64{2}), func(p *onnxpb.TensorProto) { p.Int32Data = []int32{1, 0} }),
			tensor.Bool, tensor.Shape{2}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.Bool(), []uint8{1, 0}) }},
		{"float16 bits in int32_data", withF(tp(onnxpb.TensorProto_FLOAT16, []int64{2}), func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0x3c00, 0xc000} }),
			tensor.F16, tensor.Shape{2}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.F16(), []uint16{0x3c00, 0xc000}) }},
		{"scalar", withF(tp(onnxpb.TensorProto_FLOAT, nil), func(p *onnxpb.TensorProto) { p.FloatData = []float32{9} }),
			tensor.F32, tensor.Shape{}, func(x *tensor.Tensor) bool { return f32s(x)[0] == 9 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := proto.Marshal(c.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, name, err := DecodeTensorProto(b)
			if err != nil {
				t.Fatal(err)
			}
			if name != "v" || got.DType != c.dt || !got.Shape.Equal(c.shape) || !c.check(got) {
				t.Errorf("got %q %s%s %v", name, got.DType, got.Shape, got.Data)
			}
		})
	}
}

func TestRawDataIsViewed(t *testing.T) {
	b := EncodeTensorProto("w", tensor.FromF32(tensor.Shape{64}, make([]float32, 64)))
	got, _, err := DecodeTensorProto(b)
	if err != nil {
		t.Fatal(err)
	}
	if &got.Data[0] != &b[len(b)-256] {
		t.Error("DecodeTensorProto copied raw_data instead of viewing it")
	}
}

func TestDecodeErrors(t *testing.T) {
	good := EncodeTensorProto("w", tensor.FromF32(tensor.Shape{2, 2}, []float32{1, 2, 3, 4}))
	marshal := func(p *onnxpb.TensorProto) []byte { b, _ := proto.Marshal(p); return b }
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated", good[:len(good)-3], "truncated"},
		{"short raw", marshal(&onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{3}, RawData: make([]byte, 8)}), `tensor "w": FLOAT[3] holds 8 bytes of data, want 12`},
		{"string", marshal(&onnxpb.TensorProto{Name: proto.String("s"), DataType: proto.Int32(8), Dims: []int64{1}, StringData: [][]byte{[]byte("a")}}), `tensor "s": unsupported data type STRING`},
		{"bfloat16", marshal(&onnxpb.TensorProto{Name: proto.String("b"), DataType: proto.Int32(16), Dims: []int64{1}, RawData: []byte{0, 0}}), `tensor "b": unsupported data type BFLOAT16`},
		{"missing data", marshal(&onnxpb.TensorProto{Name: proto.String("m"), DataType: proto.Int32(1), Dims: []int64{2}}), `has 0 elements in float_data, want 2`},
		{"negative dim", marshal(&onnxpb.TensorProto{Name: proto.String("n"), DataType: proto.Int32(1), Dims: []int64{-2}}), `negative dimension`},
		{"huge dims", marshal(&onnxpb.TensorProto{Name: proto.String("h"), DataType: proto.Int32(1), Dims: []int64{1 << 40, 1 << 40}}), `too large`},
		{"external", marshal(&onnxpb.TensorProto{Name: proto.String("e"), DataType: proto.Int32(1), Dims: []int64{1},
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(), ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}}), `external data cannot be resolved`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeTensorProto(c.b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestNPYFromNumPy reads files written by NumPy (testdata/gen_npy.py).
func TestNPYFromNumPy(t *testing.T) {
	f32 := make([]float32, 24)
	for i := range f32 {
		f32[i] = float32(i)/8 - 1
	}
	cases := []struct {
		file  string
		dt    tensor.DType
		shape tensor.Shape
		check func(*tensor.Tensor) bool
	}{
		{"f32_v1.npy", tensor.F32, tensor.Shape{2, 3, 4}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.F32(), f32) }},
		{"f16_v1.npy", tensor.F16, tensor.Shape{1, 3}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.F16(), []uint16{0x3800, 0xc000, 0x7bff}) }},
		{"i64_v2.npy", tensor.I64, tensor.Shape{3}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.I64(), []int64{-3, 0, 1 << 40}) }},
		{"i32_v3.npy", tensor.I32, tensor.Shape{2, 2}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.I32(), []int32{7, -7, 1 << 30, -1}) }},
		{"i8_v1.npy", tensor.I8, tensor.Shape{4}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.I8(), []int8{-128, -1, 0, 127}) }},
		{"u8_scalar.npy", tensor.U8, tensor.Shape{}, func(x *tensor.Tensor) bool { return x.U8()[0] == 200 }},
		{"bool_v1.npy", tensor.Bool, tensor.Shape{3}, func(x *tensor.Tensor) bool { return reflect.DeepEqual(x.Bool(), []uint8{1, 0, 1}) }},
		{"empty_f32.npy", tensor.F32, tensor.Shape{0, 3}, func(x *tensor.Tensor) bool { return len(x.Data) == 0 }},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			p := filepath.Join("testdata", c.file)
			got, _, err := ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if got.DType != c.dt || !got.Shape.Equal(c.shape) || !c.check(got) {
				t.Fatalf("got %s%s %v", got.DType, got.Shape, got.Data)
			}
			// Our writer reproduces NumPy's version 1.0 files byte for byte.
			if strings.Contains(c.file, "_v1") || strings.Contains(c.file, "scalar") || strings.Contains(c.file, "empty") {
				want, _ := os.ReadFile(p)
				if enc := EncodeNPY(got); !bytes.Equal(enc, want) {
					t.Errorf("EncodeNPY differs from NumPy:\n got %q\nwant %q", enc, want)
				}
			}
		})
	}
}

func TestNPYErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "f32_v1.npy"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"fortran", nil, "fortran_order"},
		{"bigendian", nil, `unsupported dtype ">f4"`},
		{"f64", nil, `unsupported dtype "<f8"`},
		{"truncated data", good[:len(good)-1], "needs 96 data bytes, file has 95"},
		{"truncated header", good[:40], "truncated header"},
		{"bad magic", append([]byte("XNUMPY"), good[6:]...), "bad magic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.b
			if b == nil {
				if b, err = os.ReadFile(filepath.Join("testdata", c.name+".npy")); err != nil {
					t.Fatal(err)
				}
			}
			_, err := DecodeNPY(b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestConformanceData reads the ONNX conformance tensors: Relu's output must be max(input, 0),
// and Conv's inputs have the shapes the ONNX test documents.
func TestConformanceData(t *testing.T) {
	dir := testutil.ONNXTestdata(t, "node", "test_relu", "test_data_set_0")
	in, inName, err := ReadFile(filepath.Join(dir, "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	out, outName, err := ReadFile(filepath.Join(dir, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if inName != "x" || outName != "y" || in.DType != tensor.F32 || !in.Shape.Equal(tensor.Shape{3, 4, 5}) || !out.Shape.Equal(in.Shape) {
		t.Fatalf("relu data: %q %s%s, %q %s%s", inName, in.DType, in.Shape, outName, out.DType, out.Shape)
	}
	neg := 0
	for i, x := range in.F32() {
		if x < 0 {
			neg++
		}
		if want := max(x, 0); out.F32()[i] != want {
			t.Fatalf("relu output[%d] = %v, want max(%v, 0)", i, out.F32()[i], x)
		}
	}
	if neg == 0 {
		t.Fatal("relu input has no negative values; the check above proves nothing")
	}

	cdir := testutil.ONNXTestdata(t, "node", "test_conv_with_strides_padding", "test_data_set_0")
	for _, c := range []struct {
		file  string
		name  string
		shape tensor.Shape
	}{{"input_0.pb", "x", tensor.Shape{1, 1, 7, 5}}, {"input_1.pb", "W", tensor.Shape{1, 1, 3, 3}}, {"output_0.pb", "y", tensor.Shape{1, 1, 4, 3}}} {
		x, name, err := ReadFile(filepath.Join(cdir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if name != c.name || x.DType != tensor.F32 || !x.Shape.Equal(c.shape) {
			t.Errorf("%s: %q %s%s, want %q f32%s", c.file, name, x.DType, x.Shape, c.name, c.shape)
		}
	}
	// The conv input is arange(35): check values, not just shapes.
	x, _, _ := ReadFile(filepath.Join(cdir, "input_0.pb"))
	for i, v := range x.F32() {
		if v != float32(i) {
			t.Fatalf("conv input[%d] = %v, want %d", i, v, i)
		}
	}
}

// TestReadFileBounded: a stream that cannot begin a tensor file is refused at its first bytes, the files
// the package writes pass the head check whole, and writing replaces a symbolic link instead of following it.
func TestReadFileBounded(t *testing.T) {
	dir := t.TempDir()
	tt := sample(tensor.F32, tensor.Shape{1, 3, 2, 2})
	for _, name := range []string{"x.pb", "x.npy"} {
		p := filepath.Join(dir, name)
		var err error
		if name == "x.pb" {
			err = WritePB(p, "x", tt)
		} else {
			err = WriteNPY(p, tt)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		if err := checkTensorHead(b, name == "x.npy"); err != nil {
			t.Errorf("%s: head check refuses a file WritePB/WriteNPY wrote: %v", name, err)
		}
		for n := range b {
			if err := checkTensorHead(b[:n], name == "x.npy"); err != nil {
				t.Fatalf("%s: head check refuses the first %d bytes of a good file: %v", name, n, err)
			}
		}
	}
	for _, c := range []struct {
		head []byte
		npy  bool
		want string
	}{
		{make([]byte, 4096), false, "bad protobuf tag at byte 0"},
		{make([]byte, 4096), true, "bad magic"},
		{[]byte("yyyyyyyy"), false, "field 15"},
		{[]byte("\x08\x01\x12\x00"), false, "field 2, wire type 2"},
	} {
		if err := checkTensorHead(c.head, c.npy); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("checkTensorHead(% x...) = %v, want %q", c.head[:4], err, c.want)
		}
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		zero := filepath.Join(dir, "zero.pb")
		if err := os.Symlink("/dev/zero", zero); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadFile(zero); err == nil || !strings.Contains(err.Error(), zero) || !strings.Contains(err.Error(), "not a TensorProto") {
			t.Errorf("ReadFile(/dev/zero) = %v", err)
		}
	}
	// A link planted where an output goes is replaced, and its target left alone.
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out.npy")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := WriteNPY(link, tt); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("WriteNPY wrote through a symbolic link: target now %q", b)
	}
	if got, _, err := ReadFile(link); err != nil || !bytes.Equal(got.Data, tt.Data) {
		t.Errorf("read back: %v", err)
	}
}
