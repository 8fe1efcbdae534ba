package q8

// NHWC kernels for statically quantized convolutions (ops.Q8Conv): activations are u8, channels
// last, each pixel's channels padded to a multiple of 4, so four consecutive k values of one pixel
// share a 32-bit lane and a pixel row of an im2col matrix (or, for a 1×1 convolution, the activation
// itself) is the A operand with no repacking. Weights are packed per panel of CN output channels as
// [k4][CN][4] int8 (PackConv): each k4 step of the tile kernel loads CN/16 weight vectors, broadcasts
// four activation bytes of each of its CM pixel rows and runs CM*CN/16 VPDPBUSD. The requantization
// to u8 runs on the accumulators before they leave the registers (ConvTile's doc).

//go:generate sh -c "cd _gen && go run . -out ../conv_amd64.s"

import (
	"math"
	"unsafe"
)

const (
	// CM×CN is the static conv tile: 12 pixel rows × 32 output channels.
	CM = 12
	CN = 32
)

// Epi is a tile's requantization epilogue (field offsets are fixed: the assembly reads them).
type Epi struct {
	Bias     *int32   // CN int32 per panel: accumulators start here (folded bias and zero points)
	Scale    *float32 // CN multipliers: x_scale·w_scale[j]/y_scale
	Res      *uint8   // residual at the output's position (nil: none), row stride LdR
	LdR      int
	ResScale float32 // r_scale/y_scale
	ResZP    int32
	Lo, Hi   float32 // clamp of the scaled value, relative to ZP (fused ReLU/Clip and 0..255)
	ZP       int32   // output zero point
	Mask     uint32  // columns of the panel to store (bit j: channel j)
	LastRows int     // rows stored of the last block (1..CM)
}

// StaticConvBehind reports whether the static conv tile would run slower here than the dynamic int8
// path: ConvTile has an AVX-512 VNNI form and a Go one, the dynamic kernels also an AVX2 form, so on
// an AVX2 CPU without VNNI the facade keeps activations dynamic (static int8 stays correct there, only
// slow). Where neither has assembly (-tags purego, other architectures) both are Go loops.
func StaticConvBehind() bool { return !useVNNI && useAVX2 }

// PackedConvLen is PackConv's output length for m output channels of k (padded) inputs.
func PackedConvLen(m, k int) int { return RoundUp(m, CN) * K4(k) * 4 }

// SetConv stores v as weight p of output channel i in PackConv's layout for k inputs (dst zeroed).
func SetConv(dst []int8, k, i, p int, v int8) {
	k4 := K4(k)
	dst[i/CN*CN*k4*4+((p/4)*CN+i%CN)*4+p%4] = v
}

// ConvColSums returns in s the sum of the k weights of each of the m packed output channels.
func ConvColSums(s []int32, w []int8, m, k int) {
	k4 := K4(k)
	for i := 0; i < m; i++ {
		pan := w[i/CN*CN*k4*4:]
		c := i % CN
		var t int32
		for q := 0; q < k4; q++ {
			for _, v := range pan[(q*CN+c)*4 : (q*CN+c)*4+4] {
				t += int32(v)
			}
		}
		s[i] = t
	}
}

// ConvTile runs tiles blocks of CM pixel rows against one packed weight panel b (CN channels,
// k4 groups): rows t*CM+i of a (row stride lda; 4*k4 readable bytes each, every row of every block
// readable) give
//
//	acc[i][j] = e.Bias[j] + Σ_p int32(a_i[p])·int32(b[p][j])
//	v = float32(acc)·e.Scale[j] (+ float32(int32(res[i][j]) − e.ResZP)·e.ResScale, each product rounded)
//	y[i][j] = uint8(roundEven(min(max(v, e.Lo), e.Hi)) + e.ZP)
//
// for the channels in e.Mask, every row of all blocks but the last and e.LastRows rows of the last
// (y and the residual: row stride ldy and e.LdR).
func ConvTile(a []uint8, lda int, b []int8, k4 int, y []uint8, ldy int, tiles int, e *Epi) {
	if tiles <= 0 {
		return
	}
	if k4 <= 0 || e.LastRows < 1 || e.LastRows > CM || len(b) < k4*CN*4 || len(a) < ((tiles-1)*CM+CM-1)*lda+4*k4 ||
		len(y) < ((tiles-1)*CM+e.LastRows-1)*ldy+CN-lastZero(e.Mask) {
		panic("q8: ConvTile slice too short")
	}
	if useVNNI {
		// Whole 12-row blocks, then the last one on the narrowest form holding its rows.
		full := tiles
		if e.LastRows < CM {
			full--
		}
		if full > 0 {
			f := *e
			f.LastRows = CM
			convTile12x32VNNI(&a[0], lda, &b[0], k4, &y[0], ldy, full, &f)
		}
		if full == tiles {
			return
		}
		r0 := full * CM
		t := *e
		if t.Res != nil {
			t.Res = (*uint8)(unsafe.Add(unsafe.Pointer(t.Res), r0*t.LdR))
		}
		switch {
		case e.LastRows <= 4:
			convTile4x32VNNI(&a[r0*lda], lda, &b[0], k4, &y[r0*ldy], ldy, 1, &t)
		case e.LastRows <= 8:
			convTile8x32VNNI(&a[r0*lda], lda, &b[0], k4, &y[r0*ldy], ldy, 1, &t)
		default:
			convTile12x32VNNI(&a[r0*lda], lda, &b[0], k4, &y[r0*ldy], ldy, 1, &t)
		}
		return
	}
	convTileGeneric(a, lda, b, k4, y, ldy, tiles, e)
}

// lastZero counts the cleared high bits of a column mask (columns past the panel's last stored one).
func lastZero(m uint32) int {
	n := 0
	for i := CN - 1; i >= 0 && m&(1<<i) == 0; i-- {
		n++
	}
	return n
}

func convTileGeneric(a []uint8, lda int, b []int8, k4 int, y []uint8, ldy int, tiles int, e *Epi) {
	bias := unsafeSlice(e.Bias, CN)
	scale := unsafeSlice(e.Scale, CN)
	var res []uint8
	for t := 0; t < tiles; t++ {
		rows := CM
		if t == tiles-1 {
			rows = e.LastRows
		}
		for i := 0; i < rows; i++ {
			r := t*CM + i
			ar := a[r*lda : r*lda+4*k4]
			if e.Res != nil {
				res = unsafeSlice(e.Res, r*e.LdR+CN)[r*e.LdR:]
			}
			yr := y[r*ldy:]
			for j := 0; j < CN; j++ {
				if e.Mask&(1<<j) == 0 {
					continue
				}
				acc := bias[j]
				for q := 0; q < k4; q++ {
					bq := b[(q*CN+j)*4 : (q*CN+j)*4+4]
					aq := ar[q*4 : q*4+4]
					acc += int32(aq[0])*int32(bq[0]) + int32(aq[1])*int32(bq[1]) + int32(aq[2])*int32(bq[2]) + int32(aq[3])*int32(bq[3])
				}
				v := float32(float32(acc) * scale[j])
				if res != nil {
					v += float32(float32(int32(res[j])-e.ResZP) * e.ResScale)
				}
				yr[j] = RequantByte(v, e.Lo, e.Hi, e.ZP)
			}
		}
	}
}

// RequantByte is the epilogue's last step: clamp (relative to zp), round half to even, add zp.
func RequantByte(v, lo, hi float32, zp int32) uint8 {
	v = min(max(v, lo), hi)
	return uint8(int32(math.RoundToEven(float64(v))) + zp)
}

// unsafeSlice views n elements at p (nil p: nil).
func unsafeSlice[T any](p *T, n int) []T {
	if p == nil {
		return nil
	}
	return unsafe.Slice(p, n)
}
