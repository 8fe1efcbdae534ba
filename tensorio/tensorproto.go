package tensorio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/wanwu-ai/wanwu/tensor"
)

// ONNX TensorProto field numbers and data types (onnx.proto); the wire format is walked by hand
// so raw_data can be viewed instead of copied.
const (
	fDims         = 1
	fDataType     = 2
	fSegment      = 3
	fFloatData    = 4
	fInt32Data    = 5
	fStringData   = 6
	fInt64Data    = 7
	fName         = 8
	fRawData      = 9
	fDoubleData   = 10
	fUint64Data   = 11
	fExternalData = 13
	fDataLocation = 14
)

const (
	onnxFloat   = 1
	onnxUint8   = 2
	onnxInt8    = 3
	onnxInt32   = 6
	onnxInt64   = 7
	onnxBool    = 9
	onnxFloat16 = 10
	onnxDouble  = 11
)

var onnxTypeNames = map[int64]string{
	0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
	8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
	15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
	20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
}

// ONNXTypeName returns the TensorProto.DataType enum name of t (e.g. "FLOAT16").
func ONNXTypeName(t int64) string {
	if s, ok := onnxTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("data type %d", t)
}

// DTypeFromONNX maps a TensorProto.DataType to a wanwu dtype. DOUBLE is not mapped here (it has no
// wanwu dtype; tensor decoding converts DOUBLE data to F32 itself).
func DTypeFromONNX(t int64) (tensor.DType, bool) {
	switch t {
	case onnxFloat:
		return tensor.F32, true
	case onnxFloat16:
		return tensor.F16, true
	case onnxInt8:
		return tensor.I8, true
	case onnxUint8:
		return tensor.U8, true
	case onnxInt32:
		return tensor.I32, true
	case onnxInt64:
		return tensor.I64, true
	case onnxBool:
		return tensor.Bool, true
	}
	return tensor.Invalid, false
}

// ONNXFromDType maps a wanwu dtype to its TensorProto.DataType.
func ONNXFromDType(dt tensor.DType) int64 {
	switch dt {
	case tensor.F32:
		return onnxFloat
	case tensor.F16:
		return onnxFloat16
	case tensor.I8:
		return onnxInt8
	case tensor.U8:
		return onnxUint8
	case tensor.I32:
		return onnxInt32
	case tensor.I64:
		return onnxInt64
	case tensor.Bool:
		return onnxBool
	}
	panic("tensorio: no ONNX type for dtype " + dt.String())
}

// ExternalFunc returns the bytes of a tensor stored outside the TensorProto (data_location=EXTERNAL):
// location is the external_data "location" entry, offset and length the "offset"/"length" entries
// (length < 0 when absent, meaning "to the end of the file").
type ExternalFunc func(location string, offset, length int64) ([]byte, error)

// DecodeTensorProto decodes a serialized ONNX TensorProto and returns the tensor and its name.
// Where the data is stored as raw_data the returned tensor views b (no copy), so its Data may be
// unaligned; typed fields (float_data, int32_data, ...) and DOUBLE data (converted to F32) are
// decoded into fresh memory. External data is an error; see DecodeTensorProtoExternal.
func DecodeTensorProto(b []byte) (*tensor.Tensor, string, error) {
	return DecodeTensorProtoExternal(b, nil)
}

// DecodeTensorProtoExternal is DecodeTensorProto that resolves external data through ext
// (nil: external data is an error). The tensor views the bytes ext returns.
func DecodeTensorProtoExternal(b []byte, ext ExternalFunc) (*tensor.Tensor, string, error) {
	var p tensorProto
	if err := p.parse(b); err != nil {
		if p.name != "" {
			return nil, p.name, fmt.Errorf("tensor %q: %w", p.name, err)
		}
		return nil, "", fmt.Errorf("tensor: %w", err)
	}
	t, err := p.build(ext)
	if err != nil {
		return nil, p.name, fmt.Errorf("tensor %q: %w", p.name, err)
	}
	return t, p.name, nil
}

// tensorProto holds the fields of a TensorProto as slices of the encoded message.
type tensorProto struct {
	name     string
	dims     []int64
	dataType int64
	hasRaw   bool
	raw      []byte
	external bool
	extKV    map[string]string
	segment  bool
	// Typed repeated fields, as the encoded chunks (packed or not) in wire order.
	floatData, int32Data, int64Data, doubleData, uint64Data []field
	stringData                                              int
}

// field is one occurrence of a repeated scalar field: packed (Bytes) or a single element.
type field struct {
	typ protowire.Type
	b   []byte // packed payload, or the encoded element
}

var errTruncated = errors.New("truncated or malformed protobuf")

func (p *tensorProto) parse(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return errTruncated
		}
		val := b[:m]
		b = b[m:]
		switch num {
		case fDims:
			var err error
			if p.dims, err = appendVarints(p.dims, typ, val); err != nil {
				return fmt.Errorf("dims: %w", err)
			}
		case fDataType:
			v, err := varint(typ, val)
			if err != nil {
				return fmt.Errorf("data_type: %w", err)
			}
			p.dataType = int64(int32(v))
		case fSegment:
			p.segment = true
		case fFloatData:
			p.floatData = append(p.floatData, field{typ, val})
		case fInt32Data:
			p.int32Data = append(p.int32Data, field{typ, val})
		case fStringData:
			p.stringData++
		case fInt64Data:
			p.int64Data = append(p.int64Data, field{typ, val})
		case fName:
			s, err := bytesField(typ, val)
			if err != nil {
				return fmt.Errorf("name: %w", err)
			}
			p.name = string(s)
		case fRawData:
			s, err := bytesField(typ, val)
			if err != nil {
				return fmt.Errorf("raw_data: %w", err)
			}
			p.hasRaw, p.raw = true, s
		case fDoubleData:
			p.doubleData = append(p.doubleData, field{typ, val})
		case fUint64Data:
			p.uint64Data = append(p.uint64Data, field{typ, val})
		case fExternalData:
			s, err := bytesField(typ, val)
			if err != nil {
				return fmt.Errorf("external_data: %w", err)
			}
			k, v, err := parseStringString(s)
			if err != nil {
				return fmt.Errorf("external_data: %w", err)
			}
			if p.extKV == nil {
				p.extKV = map[string]string{}
			}
			p.extKV[k] = v
		case fDataLocation:
			v, err := varint(typ, val)
			if err != nil {
				return fmt.Errorf("data_location: %w", err)
			}
			p.external = v == 1
		}
	}
	return nil
}

// numElements multiplies dims, rejecting negative dims and overflow (corrupt files).
func numElements(dims []int64) (int, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in %v", d, dims)
		}
		if d != 0 && n > (1<<50)/d {
			return 0, fmt.Errorf("dimensions %v too large", dims)
		}
		n *= d
	}
	return int(n), nil
}

func (p *tensorProto) build(ext ExternalFunc) (*tensor.Tensor, error) {
	if p.segment {
		return nil, errors.New("segmented tensors are not supported")
	}
	src := p.dataType
	dt, ok := DTypeFromONNX(src)
	if src == onnxDouble {
		dt, ok = tensor.F32, true // documented: DOUBLE is narrowed to F32
	}
	if !ok {
		return nil, fmt.Errorf("unsupported data type %s", ONNXTypeName(src))
	}
	n, err := numElements(p.dims)
	if err != nil {
		return nil, err
	}
	shape := make(tensor.Shape, len(p.dims))
	for i, d := range p.dims {
		shape[i] = int(d)
	}
	t := &tensor.Tensor{DType: dt, Shape: shape}
	srcSize := dt.Size()
	if src == onnxDouble {
		srcSize = 8
	}

	var raw []byte
	switch {
	case p.external:
		if ext == nil {
			return nil, errors.New("external data cannot be resolved here (load the model from a file)")
		}
		loc, ok := p.extKV["location"]
		if !ok || loc == "" {
			return nil, errors.New("external data without a location")
		}
		off, length := int64(0), int64(-1)
		if s, ok := p.extKV["offset"]; ok {
			if off, err = parseInt(s); err != nil || off < 0 {
				return nil, fmt.Errorf("external data offset %q is invalid", s)
			}
		}
		if s, ok := p.extKV["length"]; ok {
			if length, err = parseInt(s); err != nil || length < 0 {
				return nil, fmt.Errorf("external data length %q is invalid", s)
			}
		}
		if raw, err = ext(loc, off, length); err != nil {
			return nil, err
		}
		if length < 0 && len(raw) > n*srcSize {
			raw = raw[:n*srcSize] // "to the end of the file" may include padding
		}
	case p.hasRaw:
		raw = p.raw
	}
	if raw != nil || p.hasRaw || p.external {
		if len(raw) != n*srcSize {
			return nil, fmt.Errorf("%s%v holds %d bytes of data, want %d", ONNXTypeName(src), p.dims, len(raw), n*srcSize)
		}
		if src == onnxDouble {
			t.Data = make([]byte, n*4)
			f := t.F32()
			for i := range f {
				f[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			}
			return t, nil
		}
		t.Data = raw[: n*srcSize : n*srcSize]
		return t, nil
	}
	return p.buildTyped(t, src, n)
}

// buildTyped decodes the typed repeated fields into fresh memory.
func (p *tensorProto) buildTyped(t *tensor.Tensor, src int64, n int) (*tensor.Tensor, error) {
	var fields []field
	var fname string
	switch src {
	case onnxFloat:
		fields, fname = p.floatData, "float_data"
	case onnxInt32, onnxInt8, onnxUint8, onnxBool, onnxFloat16:
		fields, fname = p.int32Data, "int32_data"
	case onnxInt64:
		fields, fname = p.int64Data, "int64_data"
	case onnxDouble:
		fields, fname = p.doubleData, "double_data"
	}
	if p.stringData > 0 {
		return nil, errors.New("string_data is not supported")
	}
	var count int
	var err error
	switch fname {
	case "float_data", "double_data":
		count, err = countFixed(fields, fname == "double_data")
	default:
		count, err = countVarints(fields)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fname, err)
	}
	if count != n {
		return nil, fmt.Errorf("%s%v has %d elements in %s, want %d", ONNXTypeName(src), p.dims, count, fname, n)
	}
	t.Data = make([]byte, n*t.DType.Size())
	i := 0
	switch src {
	case onnxFloat:
		f := t.F32()
		eachFixed(fields, false, func(v uint64) { f[i] = math.Float32frombits(uint32(v)); i++ })
	case onnxDouble:
		f := t.F32()
		eachFixed(fields, true, func(v uint64) { f[i] = float32(math.Float64frombits(v)); i++ })
	case onnxInt32:
		d := t.I32()
		eachVarint(fields, func(v uint64) { d[i] = int32(v); i++ })
	case onnxInt64:
		d := t.I64()
		eachVarint(fields, func(v uint64) { d[i] = int64(v); i++ })
	case onnxInt8, onnxUint8, onnxBool:
		// int32_data holds one (sign-extended for INT8) element per entry.
		eachVarint(fields, func(v uint64) { t.Data[i] = byte(v); i++ })
	case onnxFloat16:
		// int32_data holds the IEEE half bit pattern in the low 16 bits.
		d := t.F16()
		eachVarint(fields, func(v uint64) { d[i] = uint16(v); i++ })
	}
	return t, nil
}

func countFixed(fs []field, is64 bool) (int, error) {
	size := 4
	want := protowire.Fixed32Type
	if is64 {
		size, want = 8, protowire.Fixed64Type
	}
	n := 0
	for _, f := range fs {
		switch f.typ {
		case protowire.BytesType:
			b, m := protowire.ConsumeBytes(f.b)
			if m < 0 || len(b)%size != 0 {
				return 0, errTruncated
			}
			n += len(b) / size
		case want:
			n++
		default:
			return 0, errTruncated
		}
	}
	return n, nil
}

func eachFixed(fs []field, is64 bool, fn func(uint64)) {
	for _, f := range fs {
		b := f.b
		if f.typ == protowire.BytesType {
			b, _ = protowire.ConsumeBytes(b)
		}
		for len(b) > 0 {
			if is64 {
				fn(binary.LittleEndian.Uint64(b))
				b = b[8:]
			} else {
				fn(uint64(binary.LittleEndian.Uint32(b)))
				b = b[4:]
			}
		}
	}
}

func countVarints(fs []field) (int, error) {
	n := 0
	for _, f := range fs {
		switch f.typ {
		case protowire.BytesType:
			b, m := protowire.ConsumeBytes(f.b)
			if m < 0 {
				return 0, errTruncated
			}
			for len(b) > 0 {
				_, k := protowire.ConsumeVarint(b)
				if k < 0 {
					return 0, errTruncated
				}
				b = b[k:]
				n++
			}
		case protowire.VarintType:
			n++
		default:
			return 0, errTruncated
		}
	}
	return n, nil
}

func eachVarint(fs []field, fn func(uint64)) {
	for _, f := range fs {
		b := f.b
		if f.typ == protowire.BytesType {
			b, _ = protowire.ConsumeBytes(b)
		}
		for len(b) > 0 {
			v, k := protowire.ConsumeVarint(b)
			fn(v)
			b = b[k:]
		}
	}
}

func appendVarints(dst []int64, typ protowire.Type, val []byte) ([]int64, error) {
	err := error(nil)
	fs := []field{{typ, val}}
	if _, err = countVarints(fs); err != nil {
		return nil, err
	}
	eachVarint(fs, func(v uint64) { dst = append(dst, int64(v)) })
	return dst, nil
}

func varint(typ protowire.Type, val []byte) (uint64, error) {
	if typ != protowire.VarintType {
		return 0, errTruncated
	}
	v, n := protowire.ConsumeVarint(val)
	if n < 0 {
		return 0, errTruncated
	}
	return v, nil
}

func bytesField(typ protowire.Type, val []byte) ([]byte, error) {
	if typ != protowire.BytesType {
		return nil, errTruncated
	}
	b, n := protowire.ConsumeBytes(val)
	if n < 0 {
		return nil, errTruncated
	}
	return b, nil
}

// parseStringString decodes a StringStringEntryProto (key = 1, value = 2).
func parseStringString(b []byte) (key, value string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", "", errTruncated
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return "", "", errTruncated
		}
		if num == 1 || num == 2 {
			s, err := bytesField(typ, b[:m])
			if err != nil {
				return "", "", err
			}
			if num == 1 {
				key = string(s)
			} else {
				value = string(s)
			}
		}
		b = b[m:]
	}
	return key, value, nil
}

func parseInt(s string) (int64, error) {
	var v int64
	if s == "" {
		return 0, errors.New("empty")
	}
	for _, c := range s {
		if c < '0' || c > '9' || v > (math.MaxInt64-9)/10 {
			return 0, errors.New("not a number")
		}
		v = v*10 + int64(c-'0')
	}
	return v, nil
}

// EncodeTensorProto serializes t as an ONNX TensorProto with raw_data (what onnx.numpy_helper writes).
func EncodeTensorProto(name string, t *tensor.Tensor) []byte {
	size := t.ByteSize()
	b := make([]byte, 0, size+len(name)+16*len(t.Shape)+32)
	for _, d := range t.Shape {
		b = protowire.AppendTag(b, fDims, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, fDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(ONNXFromDType(t.DType)))
	if name != "" {
		b = protowire.AppendTag(b, fName, protowire.BytesType)
		b = protowire.AppendString(b, name)
	}
	b = protowire.AppendTag(b, fRawData, protowire.BytesType)
	b = protowire.AppendBytes(b, t.Data[:size])
	return b
}
