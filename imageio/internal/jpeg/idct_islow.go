// Copyright 2026 The wanwu Authors. The algorithm and constants are those of
// libjpeg's jidctint.c (Copyright (C) 1991-1998, Thomas G. Lane; IJG licence).

package jpeg

type block [blockSize]int32

const blockSize = 8 * 8

// Fixed-point constants of jidctint.c: FIX(x) = round(x * 2^13).
const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// idctIslow is jpeg_idct_islow on dequantised coefficients in natural order: columns first
// into a work array scaled by 2^pass1Bits, then rows. The results are the level-unshifted
// samples after libjpeg's post-IDCT range limiting (including its wrap-around for absurd
// values, x & 1023), minus 128, so the caller's +128-and-clamp reproduces libjpeg exactly.
func idctIslow(b *block) {
	var ws [blockSize]int64
	for c := range 8 {
		if b[8+c] == 0 && b[16+c] == 0 && b[24+c] == 0 && b[32+c] == 0 &&
			b[40+c] == 0 && b[48+c] == 0 && b[56+c] == 0 {
			dc := int64(b[c]) << pass1Bits
			for r := range 8 {
				ws[8*r+c] = dc
			}
			continue
		}
		o := idct1(int64(b[c]), int64(b[8+c]), int64(b[16+c]), int64(b[24+c]),
			int64(b[32+c]), int64(b[40+c]), int64(b[48+c]), int64(b[56+c]), constBits-pass1Bits)
		for r := range 8 {
			ws[8*r+c] = o[r]
		}
	}
	for r := range 8 {
		w := ws[8*r : 8*r+8]
		o := idct1(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], constBits+pass1Bits+3)
		for c := range 8 {
			b[8*r+c] = rangeLimit(o[c])
		}
	}
}

// idct1 is one 1-D pass of jidctint.c, descaling its outputs by shift bits.
func idct1(i0, i1, i2, i3, i4, i5, i6, i7 int64, shift uint) [8]int64 {
	// Even part.
	z2, z3 := i2, i6
	z1 := (z2 + z3) * fix0_541196100
	tmp2 := z1 + z3*-fix1_847759065
	tmp3 := z1 + z2*fix0_765366865
	tmp0 := (i0 + i4) << constBits
	tmp1 := (i0 - i4) << constBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
	// Odd part.
	tmp0, tmp1, tmp2, tmp3 = i7, i5, i3, i1
	z1, z2, z3 = tmp0+tmp3, tmp1+tmp2, tmp0+tmp2
	z4 := tmp1 + tmp3
	z5 := (z3 + z4) * fix1_175875602
	tmp0 *= fix0_298631336
	tmp1 *= fix2_053119869
	tmp2 *= fix3_072711026
	tmp3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 *= -fix1_961570560
	z4 *= -fix0_390180644
	z3 += z5
	z4 += z5
	tmp0 += z1 + z3
	tmp1 += z2 + z4
	tmp2 += z2 + z3
	tmp3 += z1 + z4
	return [8]int64{
		descale(tmp10+tmp3, shift), descale(tmp11+tmp2, shift),
		descale(tmp12+tmp1, shift), descale(tmp13+tmp0, shift),
		descale(tmp13-tmp0, shift), descale(tmp12-tmp1, shift),
		descale(tmp11-tmp2, shift), descale(tmp10-tmp3, shift),
	}
}

// rangeLimit maps an IDCT output through libjpeg's post-IDCT table (jdmaster.c
// prepare_range_limit_table), returning sample-128.
func rangeLimit(x int64) int32 {
	v := x & 1023
	switch {
	case v < 128:
		return int32(v)
	case v < 512:
		return 127
	case v < 896:
		return -128
	}
	return int32(v) - 1024
}
