package ops

import (
	"math"
	"unsafe"

	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
)

// Weight quantization for the dynamic-int8 ops (DynQConv, DynQGemm): symmetric int8 per output
// channel, scale = max|w| / 127, q = round(w / scale) (ties to even), so q spans -127..127 and the
// zero point is 0. The quantized weights are written straight into the kernels' packed layout.
//
// release, when not nil, is called with ranges of the source bytes once they have been read for the
// last time; callers use it to drop file pages of a memory-mapped model as they go, so converting a
// large model never holds all of its float weights in memory at once.

// releaseChunk is how many source bytes are read between release calls.
const releaseChunk = 4 << 20

func f32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

func absMaxScale(row []float32) float32 {
	var m float32
	for _, v := range row {
		m = max(m, float32(math.Abs(float64(v))))
	}
	if m == 0 || math.IsInf(float64(m), 0) || math.IsNaN(float64(m)) {
		return 1
	}
	return m / 127
}

// QuantizeConvWeights quantizes a Conv weight w of cout rows of k = Cin/group·kh·kw values each
// (group blocks of cout/group rows) into q8.PackA blocks, one per group, concatenated. It returns
// the packed weights and the per-channel scales.
func QuantizeConvWeights(w []float32, cout, k, group int, release func([]byte)) ([]int8, []float32) {
	mg := cout / group
	glen := q8.PackedALen(mg, k)
	packed := make([]int8, group*glen)
	scales := make([]float32, cout)
	done := 0
	for oc := 0; oc < cout; oc++ {
		row := w[oc*k : (oc+1)*k]
		s := absMaxScale(row)
		scales[oc] = s
		dst := packed[oc/mg*glen:]
		i := oc % mg
		for p, v := range row {
			q8.SetA(dst, k, i, p, int8(math.RoundToEven(float64(v/s))))
		}
		if release != nil && ((oc+1)*k*4-done >= releaseChunk || oc == cout-1) {
			release(f32Bytes(w[done/4 : (oc+1)*k]))
			done = (oc + 1) * k * 4
		}
	}
	return packed, scales
}

// QuantizeGemmWeights quantizes the weights of y = x·Wᵀ (transB, w is n×k) or y = x·W (w is k×n)
// per output column into q8.PackGemv groups; it returns the packed weights and per-output scales.
func QuantizeGemmWeights(w []float32, n, k int, transB bool, release func([]byte)) ([]int8, []float32) {
	packed := make([]int8, q8.PackedGemvLen(n, k))
	scales := make([]float32, n)
	if transB {
		done := 0
		for i := 0; i < n; i++ {
			row := w[i*k : (i+1)*k]
			s := absMaxScale(row)
			scales[i] = s
			for p, v := range row {
				q8.SetGemv(packed, k, i, p, int8(math.RoundToEven(float64(v/s))))
			}
			if release != nil && ((i+1)*k*4-done >= releaseChunk || i == n-1) {
				release(f32Bytes(w[done/4 : (i+1)*k]))
				done = (i + 1) * k * 4
			}
		}
		return packed, scales
	}
	// w is k×n: a column's range needs a full pass first; the second pass quantizes.
	absMax := make([]float32, n)
	pass := func(f func(p int, row []float32)) {
		done := 0
		for p := 0; p < k; p++ {
			f(p, w[p*n:(p+1)*n])
			if release != nil && ((p+1)*n*4-done >= releaseChunk || p == k-1) {
				release(f32Bytes(w[done/4 : (p+1)*n]))
				done = (p + 1) * n * 4
			}
		}
	}
	pass(func(_ int, row []float32) {
		for i, v := range row {
			absMax[i] = max(absMax[i], float32(math.Abs(float64(v))))
		}
	})
	for i, m := range absMax {
		scales[i] = absMaxScale([]float32{m})
	}
	pass(func(p int, row []float32) {
		for i, v := range row {
			q8.SetGemv(packed, k, i, p, int8(math.RoundToEven(float64(v/scales[i]))))
		}
	})
	return packed, scales
}
