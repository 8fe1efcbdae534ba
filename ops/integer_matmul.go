package ops

import (
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

// MatMulInteger (ONNX opset 10): Y = (A - a_zero_point) · (B - b_zero_point) in int32, numpy matmul
// broadcasting. A and B are uint8 or int8 (independently); a_zero_point is a scalar or one value per
// row of A ([M]), b_zero_point a scalar or one per column of B ([N]). ONNX Runtime's dynamic
// quantization writes it after DynamicQuantizeLinear, with constant int8 or uint8 weights as B.
//
// Computed with q8.Gemm (int16 × u8 products summed exactly in int32): A - a_zp becomes the int16
// operand, B the u8 one (int8 B is shifted by 128 into uint8, its zero point with it), and B's zero
// point is removed afterwards as rowsum(A - a_zp) × b_zp per column.

func init() {
	Register("MatMulInteger", &Def{Infer: inferMatMulInteger, Compile: compileMatMulInteger, CompileWith: compileMatMulIntegerWith, MACs: matMulMACs})
}

func isInt8Type(dt tensor.DType) bool { return dt == tensor.U8 || dt == tensor.I8 }

func inferMatMulInteger(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	a, b := n.Inputs[0], n.Inputs[1]
	if !isInt8Type(a.DType) || !isInt8Type(b.DType) {
		return errf(n, "A and B must be uint8 or int8, are %s and %s", a.DType, b.DType)
	}
	if a.Shape == nil || b.Shape == nil {
		setOut(n, 0, tensor.I32, nil)
		return nil
	}
	out, _, _, err := matmulShapes(n, a.Shape, b.Shape)
	if err != nil {
		return err
	}
	setOut(n, 0, tensor.I32, out)
	return nil
}

// zeroPoints reads an optional uint8/int8 zero-point input holding 1 or count values as int32
// (read at Run: it may be computed, as DynamicQuantizeLinear's is), shifted by 128 for int8.
type zeroPoints struct {
	idx, count int // input index (-1: absent, all zero); values per tensor (1 or count)
	signed     bool
}

func zeroPointsOf(n *graph.Node, idx int, dt tensor.DType, count int, what string) (zeroPoints, error) {
	z := zeroPoints{idx: -1, count: 1, signed: dt == tensor.I8}
	v := n.Input(idx)
	if v == nil {
		return z, nil
	}
	if v.DType != dt {
		return z, errf(n, "%s zero point is %s, its tensor %s", what, v.DType, dt)
	}
	switch c := v.Shape.NumElements(); {
	case len(v.Shape) == 0 || c == 1:
	case len(v.Shape) == 1 && c == count:
		z.count = count
	default:
		return z, errf(n, "%s zero point has shape %s; want a scalar or [%d]", what, v.Shape, count)
	}
	z.idx = idx
	return z, nil
}

// at returns zero point i (on the uint8 carrier).
func (z zeroPoints) at(in []*tensor.Tensor, i int) int32 {
	shift := int32(0)
	if z.signed {
		shift = 128
	}
	if z.idx < 0 {
		return shift
	}
	if z.count == 1 {
		i = 0
	}
	if z.signed {
		return int32(int8(in[z.idx].Data[i])) + shift
	}
	return int32(in[z.idx].Data[i])
}

type matMulIntegerKernel struct {
	m, k, n          int
	aOff, bOff, cOff []int
	aSigned, bSigned bool
	azp, bzp         zeroPoints
	rowsPer          int // rows of A per task
	slots            int
	bBytes           int // bytes of B converted to the uint8 carrier (int8 B), else 0
	a16Len           int // int16s of A rows per slot

	// Run state, read by Do.
	in              []*tensor.Tensor
	b               []uint8 // B on the uint8 carrier
	y               []int32
	a16             []int16 // per slot: rowsPer × k
	sums            []int32 // per slot: rowsPer
	bz              []int32 // per column of B: its zero point on the carrier
	tasks, perBatch int
	used            int
	aData           []byte
}

func compileMatMulInteger(n *graph.Node) (Kernel, error) {
	return compileMatMulIntegerWith(n, CompileOptions{})
}

func compileMatMulIntegerWith(n *graph.Node, o CompileOptions) (Kernel, error) {
	if err := inferMatMulInteger(n); err != nil {
		return nil, err
	}
	a, b := n.Inputs[0], n.Inputs[1]
	if !a.Shape.Known() || !b.Shape.Known() {
		return nil, errf(n, "shapes %s, %s not concrete", a.Shape, b.Shape)
	}
	_, a2, b2, err := matmulShapes(n, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	k := &matMulIntegerKernel{m: a2[len(a2)-2], k: a2[len(a2)-1], n: b2[len(b2)-1],
		aSigned: a.DType == tensor.I8, bSigned: b.DType == tensor.I8}
	k.aOff, k.bOff, k.cOff = matmulBatches(a2, b2)
	if k.azp, err = zeroPointsOf(n, 2, a.DType, k.m, "A's"); err != nil {
		return nil, err
	}
	if k.bzp, err = zeroPointsOf(n, 3, b.DType, k.n, "B's"); err != nil {
		return nil, err
	}
	if k.bSigned {
		k.bBytes = b.Shape.NumElements()
	}
	k.slots = o.slots()
	k.rowsPer = min(k.m, max(1, 64*1024/max(k.k*k.n, 1)), max(1, (k.m+k.slots-1)/k.slots))
	return k, nil
}

// ScratchBytes: B on the uint8 carrier (int8 B only), B's zero points per column, and per slot
// the int16 rows of A and their sums. Every region starts 4-byte aligned.
func (k *matMulIntegerKernel) ScratchBytes() int {
	return align4(k.bBytes) + 4*k.n + k.slots*(align4(2*k.rowsPer*k.k)+4*k.rowsPer)
}

func align4(n int) int { return (n + 3) &^ 3 }

func (k *matMulIntegerKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	s := ctx.Scratch
	k.in, k.aData, k.y = in, in[0].Data, out[0].I32()
	k.b = in[1].Data
	if k.bSigned {
		for i, v := range in[1].Data[:k.bBytes] {
			s[i] = v ^ 0x80 // int8 + 128 as uint8
		}
		k.b = s[:k.bBytes]
	}
	s = s[align4(k.bBytes):]
	k.bz = bytesAsI32(s[:4*k.n])
	for j := range k.bz {
		k.bz[j] = k.bzp.at(in, j)
	}
	s = s[4*k.n:]
	a16Len := align4(2*k.rowsPer*k.k) / 2
	k.a16 = bytesAsI16(s[:2*k.slots*a16Len])
	k.sums = bytesAsI32(s[2*k.slots*a16Len:])
	k.a16Len = a16Len
	k.perBatch = (k.m + k.rowsPer - 1) / k.rowsPer
	k.tasks = len(k.cOff) * k.perBatch
	k.used = min(k.slots, k.tasks, max(ctx.Pool.Threads(), 1))
	ctx.Pool.For(k.used, 1, k)
	return nil
}

func (k *matMulIntegerKernel) Do(lo, hi int) {
	for s := lo; s < hi; s++ {
		a16 := k.a16[s*k.a16Len : (s+1)*k.a16Len]
		sums := k.sums[s*k.rowsPer : (s+1)*k.rowsPer]
		for t := s * k.tasks / k.used; t < (s+1)*k.tasks/k.used; t++ {
			bi, r0 := t/k.perBatch, (t%k.perBatch)*k.rowsPer
			rows := min(k.rowsPer, k.m-r0)
			for i := 0; i < rows; i++ {
				za := k.azp.at(k.in, r0+i)
				src := k.aData[k.aOff[bi]+(r0+i)*k.k:][:k.k]
				dst := a16[i*k.k : (i+1)*k.k]
				var sum int32
				for p, v := range src {
					x := int32(v)
					if k.aSigned {
						x = int32(int8(v)) + 128
					}
					dst[p] = int16(x - za)
					sum += x - za
				}
				sums[i] = sum
			}
			c := k.y[k.cOff[bi]+r0*k.n:]
			q8.Gemm(rows, k.n, k.k, a16, k.k, k.b[k.bOff[bi]:], k.n, c, k.n)
			for i := 0; i < rows; i++ {
				row := c[i*k.n : (i+1)*k.n]
				for j := range row {
					row[j] -= sums[i] * k.bz[j]
				}
			}
		}
	}
}

// bytesAsI16 views scratch bytes as int16s (scratch regions are 4-byte aligned).
func bytesAsI16(b []byte) []int16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*int16)(unsafe.Pointer(&b[0])), len(b)/2)
}
