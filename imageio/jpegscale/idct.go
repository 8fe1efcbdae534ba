// Copyright 2026 The wanwu Authors. The algorithms and fixed-point constants are those of
// libjpeg's jidctint.c (8x8) and jidctred.c (4x4, 2x2, 1x1), Copyright (C) 1991-1998
// Thomas G. Lane (IJG licence), as shipped in libjpeg-turbo, so that scaled output matches
// libjpeg-turbo (and Pillow's draft mode) bit for bit.

package jpegscale

// Fixed-point constants: FIX(x) = round(x * 2^13).
const (
	constBits = 13
	pass1Bits = 2

	fix0_211164243 = 1730
	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_509795579 = 4176
	fix0_541196100 = 4433
	fix0_601344887 = 4926
	fix0_720959822 = 5906
	fix0_765366865 = 6270
	fix0_850430095 = 6967
	fix0_899976223 = 7373
	fix1_061594337 = 8697
	fix1_175875602 = 9633
	fix1_272758580 = 10426
	fix1_451774981 = 11893
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_172734803 = 17799
	fix2_562915447 = 20995
	fix3_072711026 = 25172
	fix3_624509785 = 29692
)

func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// sample maps an IDCT output through libjpeg's post-IDCT range-limit table
// (jdmaster.c prepare_range_limit_table): +128 and clamp, with the table's wrap-around
// (x & 1023) for absurd values from corrupt data.
func sample(x int64) uint8 {
	v := x & 1023
	switch {
	case v < 128:
		return uint8(v + 128)
	case v < 512:
		return 255
	case v < 896:
		return 0
	}
	return uint8(v - 896)
}

// idct8 is jpeg_idct_islow on a dequantized block, writing 8x8 samples to out (stride 8).
func idct8(b *block, out *[64]uint8) {
	var ws [64]int64
	for c := range 8 {
		if b[8+c] == 0 && b[16+c] == 0 && b[24+c] == 0 && b[32+c] == 0 &&
			b[40+c] == 0 && b[48+c] == 0 && b[56+c] == 0 {
			dc := int64(b[c]) << pass1Bits
			for r := range 8 {
				ws[8*r+c] = dc
			}
			continue
		}
		o := islow1(int64(b[c]), int64(b[8+c]), int64(b[16+c]), int64(b[24+c]),
			int64(b[32+c]), int64(b[40+c]), int64(b[48+c]), int64(b[56+c]), constBits-pass1Bits)
		for r := range 8 {
			ws[8*r+c] = o[r]
		}
	}
	for r := range 8 {
		w := ws[8*r : 8*r+8]
		o := islow1(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], constBits+pass1Bits+3)
		for c := range 8 {
			out[8*r+c] = sample(o[c])
		}
	}
}

// islow1 is one 1-D pass of jidctint.c (LL&M with 12 multiplies), descaled by shift bits.
func islow1(i0, i1, i2, i3, i4, i5, i6, i7 int64, shift uint) [8]int64 {
	z1 := (i2 + i6) * fix0_541196100
	tmp2 := z1 - i6*fix1_847759065
	tmp3 := z1 + i2*fix0_765366865
	tmp0 := (i0 + i4) << constBits
	tmp1 := (i0 - i4) << constBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

	tmp0, tmp1, tmp2, tmp3 = i7, i5, i3, i1
	z1 = tmp0 + tmp3
	z2 := tmp1 + tmp2
	z3 := tmp0 + tmp2
	z4 := tmp1 + tmp3
	z5 := (z3 + z4) * fix1_175875602
	tmp0 *= fix0_298631336
	tmp1 *= fix2_053119869
	tmp2 *= fix3_072711026
	tmp3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
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

// red4 is jidctred.c's 8-to-4 step: the four averages of adjacent pairs of the 8-point IDCT
// outputs, computed from inputs 0,1,2,3,5,6,7 (input 4 cancels out), descaled by shift.
func red4(i0, i1, i2, i3, i5, i6, i7 int64, shift uint) [4]int64 {
	tmp0 := i0 << (constBits + 1)
	tmp2 := i2*fix1_847759065 - i6*fix0_765366865
	tmp10, tmp12 := tmp0+tmp2, tmp0-tmp2
	o0 := -i7*fix0_211164243 + i5*fix1_451774981 - i3*fix2_172734803 + i1*fix1_061594337
	o2 := -i7*fix0_509795579 - i5*fix0_601344887 + i3*fix0_899976223 + i1*fix2_562915447
	return [4]int64{
		descale(tmp10+o2, shift), descale(tmp12+o0, shift),
		descale(tmp12-o0, shift), descale(tmp10-o2, shift),
	}
}

// idct4 is jpeg_idct_4x4: a 4x4 output block, each sample the mean of a 2x2 pixel group.
func idct4(b *block, out *[64]uint8) {
	var ws [4 * 8]int64 // ws[8*r+c]: row r of the column pass, column c
	for c := range 8 {
		if c == 4 {
			continue // the row pass never reads column 4
		}
		if b[8+c] == 0 && b[16+c] == 0 && b[24+c] == 0 && b[40+c] == 0 && b[48+c] == 0 && b[56+c] == 0 {
			dc := int64(b[c]) << pass1Bits
			ws[c], ws[8+c], ws[16+c], ws[24+c] = dc, dc, dc, dc
			continue
		}
		o := red4(int64(b[c]), int64(b[8+c]), int64(b[16+c]), int64(b[24+c]),
			int64(b[40+c]), int64(b[48+c]), int64(b[56+c]), constBits-pass1Bits+1)
		ws[c], ws[8+c], ws[16+c], ws[24+c] = o[0], o[1], o[2], o[3]
	}
	for r := range 4 {
		w := ws[8*r : 8*r+8]
		o := red4(w[0], w[1], w[2], w[3], w[5], w[6], w[7], constBits+pass1Bits+3+1)
		for c := range 4 {
			out[4*r+c] = sample(o[c])
		}
	}
}

// red2 is jidctred.c's 8-to-2 step (means of four outputs) from inputs 0,1,3,5,7.
func red2(i0, i1, i3, i5, i7 int64, shift uint) [2]int64 {
	tmp10 := i0 << (constBits + 2)
	tmp0 := -i7*fix0_720959822 + i5*fix0_850430095 - i3*fix1_272758580 + i1*fix3_624509785
	return [2]int64{descale(tmp10+tmp0, shift), descale(tmp10-tmp0, shift)}
}

// idct2 is jpeg_idct_2x2: a 2x2 output block, each sample the mean of a 4x4 pixel group.
func idct2(b *block, out *[64]uint8) {
	var ws [2 * 8]int64
	for _, c := range [...]int{0, 1, 3, 5, 7} {
		if b[8+c] == 0 && b[24+c] == 0 && b[40+c] == 0 && b[56+c] == 0 {
			dc := int64(b[c]) << pass1Bits
			ws[c], ws[8+c] = dc, dc
			continue
		}
		o := red2(int64(b[c]), int64(b[8+c]), int64(b[24+c]), int64(b[40+c]), int64(b[56+c]),
			constBits-pass1Bits+2)
		ws[c], ws[8+c] = o[0], o[1]
	}
	for r := range 2 {
		w := ws[8*r : 8*r+8]
		o := red2(w[0], w[1], w[3], w[5], w[7], constBits+pass1Bits+3+2)
		out[2*r], out[2*r+1] = sample(o[0]), sample(o[1])
	}
}

// idct1 is jpeg_idct_1x1: the block mean, DC/8 rounded.
func idct1(b *block, out *[64]uint8) {
	out[0] = sample(descale(int64(b[0]), 3))
}

// keepSlots maps natural coefficient index -> storage slot (-1: never read) for the IDCT
// of each output size: jidctred.c reads rows/columns {0..3,5..7} for 4x4 and {0,1,3,5,7}
// for 2x2, so those (not just the top-left corner) must survive progressive decoding.
func keepSlots(ss int) (slots [64]int8, k int) {
	var use func(i int) bool
	switch ss {
	case 8:
		use = func(int) bool { return true }
	case 4:
		use = func(i int) bool { return i != 4 }
	case 2:
		use = func(i int) bool { return i == 0 || i == 1 || i == 3 || i == 5 || i == 7 }
	case 1:
		use = func(i int) bool { return i == 0 }
	default:
		panic("jpegscale: bad DCT output size")
	}
	for u := range 64 {
		if use(u/8) && use(u%8) {
			slots[u] = int8(k)
			k++
		} else {
			slots[u] = -1
		}
	}
	return slots, k
}
