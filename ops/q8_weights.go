package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
)

// QuantizeConvWeightsNHWC quantizes an f32 Conv weight [m][cin][kh][kw] for Q8Conv: symmetric int8
// per output channel (as QuantizeConvWeights: scale = max|w|/127, ties to even), written into
// q8.PackConv's layout over k = (ky·kw+kx)·cp + c, where cp ≥ cin is the input's padded channel count
// (the weights of channels past cin stay zero). It returns the packing, the per-channel scales and
// the sums of each channel's quantized weights (for the input zero point). release, when not nil, is
// called with source bytes once read (see QuantizeConvWeights).
func QuantizeConvWeightsNHWC(w []float32, m, cin, kh, kw, cp int, release func([]byte)) ([]int8, []float32, []int32) {
	k := kh * kw * cp
	src := cin * kh * kw
	packed := make([]int8, q8.PackedConvLen(m, k))
	scales := make([]float32, m)
	sums := make([]int32, m)
	done := 0
	for oc := 0; oc < m; oc++ {
		row := w[oc*src : (oc+1)*src]
		s := absMaxScale(row)
		scales[oc] = s
		for c := 0; c < cin; c++ {
			for t := 0; t < kh*kw; t++ {
				q := int8(math.RoundToEven(float64(row[c*kh*kw+t] / s)))
				q8.SetConv(packed, k, oc, t*cp+c, q)
				sums[oc] += int32(q)
			}
		}
		if release != nil && ((oc+1)*src*4-done >= releaseChunk || oc == m-1) {
			release(f32Bytes(w[done/4 : (oc+1)*src]))
			done = (oc + 1) * src * 4
		}
	}
	return packed, scales, sums
}
