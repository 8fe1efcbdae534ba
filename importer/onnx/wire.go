package onnx

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
)

// The model is walked field by field with protowire instead of proto.Unmarshal so that the bytes of
// initializers (and of tensor attributes) stay where they are: a ResNet-50 would otherwise be
// copied into Go memory while the file is mapped. Field numbers are those of onnx.proto.

var errMalformed = errors.New("truncated or malformed protobuf")

// wireModel is the part of a ModelProto the importer uses.
type wireModel struct {
	irVersion       int64
	opsets          []*onnxpb.OperatorSetIdProto
	producerName    string
	producerVersion string
	docString       string
	meta            []*onnxpb.StringStringEntryProto
	graph           []byte // GraphProto, not yet parsed
	hasGraph        bool
	functions       int
}

// wireGraph is a GraphProto with nodes and initializers left as encoded slices.
type wireGraph struct {
	name         string
	nodes        [][]byte
	initializers [][]byte
	sparseInits  int
	inputs       []*onnxpb.ValueInfoProto
	outputs      []*onnxpb.ValueInfoProto
	valueInfo    []*onnxpb.ValueInfoProto
}

// wireNode is a NodeProto; tensor attributes keep their encoded TensorProto.
type wireNode struct {
	inputs, outputs []string
	name, op        string
	domain          string
	attrs           []wireAttr
}

// wireAttr is an AttributeProto.
type wireAttr struct {
	name    string
	typ     onnxpb.AttributeProto_AttributeType
	f       float32
	i       int64
	s       []byte
	t       []byte // encoded TensorProto
	hasF    bool
	hasI    bool
	hasS    bool
	hasT    bool
	floats  []float32
	ints    []int64
	strings []string
	// Counts of fields the IR cannot hold (subgraphs, sparse tensors, tensor lists, type protos).
	graphs, sparse, tensors, types int
}

// walk calls fn for each field of a message, with the value's encoded bytes (for BytesType the
// length prefix is already removed).
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, val []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return errMalformed
		}
		val := b[:m]
		if typ == protowire.BytesType {
			v, k := protowire.ConsumeBytes(val)
			if k < 0 {
				return errMalformed
			}
			val = v
		}
		if err := fn(num, typ, val); err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}

func wantType(typ, want protowire.Type) error {
	if typ != want {
		return errMalformed
	}
	return nil
}

func varintOf(typ protowire.Type, val []byte) (int64, error) {
	if typ != protowire.VarintType {
		return 0, errMalformed
	}
	v, n := protowire.ConsumeVarint(val)
	if n < 0 {
		return 0, errMalformed
	}
	return int64(v), nil
}

// unmarshal decodes a small sub-message with the generated types.
func unmarshal[T any, P interface {
	*T
	proto.Message
}](typ protowire.Type, val []byte) (P, error) {
	if typ != protowire.BytesType {
		return nil, errMalformed
	}
	m := P(new(T))
	if err := proto.Unmarshal(val, m); err != nil {
		return nil, err
	}
	return m, nil
}

func parseModel(b []byte) (*wireModel, error) {
	m := &wireModel{}
	err := walk(b, func(num protowire.Number, typ protowire.Type, val []byte) error {
		var err error
		switch num {
		case 1:
			m.irVersion, err = varintOf(typ, val)
		case 2:
			err = wantType(typ, protowire.BytesType)
			m.producerName = string(val)
		case 3:
			err = wantType(typ, protowire.BytesType)
			m.producerVersion = string(val)
		case 6:
			err = wantType(typ, protowire.BytesType)
			m.docString = string(val)
		case 7:
			err = wantType(typ, protowire.BytesType)
			m.graph, m.hasGraph = val, true
		case 8:
			var o *onnxpb.OperatorSetIdProto
			if o, err = unmarshal[onnxpb.OperatorSetIdProto](typ, val); err == nil {
				m.opsets = append(m.opsets, o)
			}
		case 14:
			var e *onnxpb.StringStringEntryProto
			if e, err = unmarshal[onnxpb.StringStringEntryProto](typ, val); err == nil {
				m.meta = append(m.meta, e)
			}
		case 25:
			m.functions++
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return m, nil
}

func parseGraph(b []byte) (*wireGraph, error) {
	g := &wireGraph{}
	err := walk(b, func(num protowire.Number, typ protowire.Type, val []byte) error {
		var err error
		var vi *onnxpb.ValueInfoProto
		switch num {
		case 1:
			err = wantType(typ, protowire.BytesType)
			g.nodes = append(g.nodes, val)
		case 2:
			err = wantType(typ, protowire.BytesType)
			g.name = string(val)
		case 5:
			err = wantType(typ, protowire.BytesType)
			g.initializers = append(g.initializers, val)
		case 15:
			g.sparseInits++
		case 11, 12, 13:
			if vi, err = unmarshal[onnxpb.ValueInfoProto](typ, val); err != nil {
				break
			}
			switch num {
			case 11:
				g.inputs = append(g.inputs, vi)
			case 12:
				g.outputs = append(g.outputs, vi)
			default:
				g.valueInfo = append(g.valueInfo, vi)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return g, nil
}

func parseNode(b []byte) (*wireNode, error) {
	n := &wireNode{}
	err := walk(b, func(num protowire.Number, typ protowire.Type, val []byte) error {
		if num >= 1 && num <= 7 && num != 5 && typ != protowire.BytesType {
			return errMalformed
		}
		switch num {
		case 1:
			n.inputs = append(n.inputs, string(val))
		case 2:
			n.outputs = append(n.outputs, string(val))
		case 3:
			n.name = string(val)
		case 4:
			n.op = string(val)
		case 7:
			n.domain = string(val)
		case 5:
			if typ != protowire.BytesType {
				return errMalformed
			}
			a, err := parseAttr(val)
			if err != nil {
				return err
			}
			n.attrs = append(n.attrs, *a)
		}
		return nil
	})
	return n, err
}

func parseAttr(b []byte) (*wireAttr, error) {
	a := &wireAttr{}
	err := walk(b, func(num protowire.Number, typ protowire.Type, val []byte) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return errMalformed
			}
			a.name = string(val)
		case 20:
			v, err := varintOf(typ, val)
			a.typ = onnxpb.AttributeProto_AttributeType(v)
			return err
		case 2:
			if typ != protowire.Fixed32Type {
				return errMalformed
			}
			v, _ := protowire.ConsumeFixed32(val)
			a.f, a.hasF = math.Float32frombits(v), true
		case 3:
			v, err := varintOf(typ, val)
			a.i, a.hasI = v, true
			return err
		case 4:
			if typ != protowire.BytesType {
				return errMalformed
			}
			a.s, a.hasS = val, true
		case 5:
			if typ != protowire.BytesType {
				return errMalformed
			}
			a.t, a.hasT = val, true
		case 7: // floats: packed or one element per field
			switch typ {
			case protowire.Fixed32Type:
				v, _ := protowire.ConsumeFixed32(val)
				a.floats = append(a.floats, math.Float32frombits(v))
			case protowire.BytesType:
				if len(val)%4 != 0 {
					return errMalformed
				}
				for ; len(val) > 0; val = val[4:] {
					v, _ := protowire.ConsumeFixed32(val)
					a.floats = append(a.floats, math.Float32frombits(v))
				}
			default:
				return errMalformed
			}
		case 8: // ints: packed or one element per field
			switch typ {
			case protowire.VarintType:
				v, _ := protowire.ConsumeVarint(val)
				a.ints = append(a.ints, int64(v))
			case protowire.BytesType:
				for len(val) > 0 {
					v, k := protowire.ConsumeVarint(val)
					if k < 0 {
						return errMalformed
					}
					a.ints = append(a.ints, int64(v))
					val = val[k:]
				}
			default:
				return errMalformed
			}
		case 9:
			if typ != protowire.BytesType {
				return errMalformed
			}
			a.strings = append(a.strings, string(val))
		case 6, 11:
			a.graphs++
		case 22, 23:
			a.sparse++
		case 10:
			a.tensors++
		case 14, 15:
			a.types++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if a.typ == onnxpb.AttributeProto_UNDEFINED {
		// IR version 1 files may omit the type; infer it from the field that is set.
		switch {
		case a.hasT:
			a.typ = onnxpb.AttributeProto_TENSOR
		case a.hasS:
			a.typ = onnxpb.AttributeProto_STRING
		case a.hasI:
			a.typ = onnxpb.AttributeProto_INT
		case a.hasF:
			a.typ = onnxpb.AttributeProto_FLOAT
		case len(a.ints) > 0:
			a.typ = onnxpb.AttributeProto_INTS
		case len(a.floats) > 0:
			a.typ = onnxpb.AttributeProto_FLOATS
		case len(a.strings) > 0:
			a.typ = onnxpb.AttributeProto_STRINGS
		case a.graphs > 0:
			a.typ = onnxpb.AttributeProto_GRAPH
		case a.sparse > 0:
			a.typ = onnxpb.AttributeProto_SPARSE_TENSOR
		}
	}
	return a, nil
}
