package q8

// Helpers of the NHWC u8 ops (ops.Q8Conv, Q8MaxPool, Q8GlobalAveragePool): an activation is
// [N][H][W][C] bytes with C a multiple of 4, so one pixel's channels are a contiguous run and a row of
// pixels is a strided sequence of runs. The kernels below move or combine such runs; the window
// arithmetic lives in Geom.

// Geom is a 2-D window (convolution or pooling) over an NHWC tensor of C channels per pixel.
type Geom struct {
	N, H, W, C     int
	KH, KW, SH, SW int
	PT, PL, DH, DW int
	OH, OW         int
}

// K is the im2col row length: KH·KW·C.
func (g *Geom) K() int { return g.KH * g.KW * g.C }

// validRange returns the outputs [lo, hi) (within [0, out)) whose input o*stride+off lies in [0, size).
func validRange(off, stride, size, out int) (lo, hi int) {
	if off < 0 {
		lo = min((-off+stride-1)/stride, out)
	}
	if size-1-off < 0 {
		return lo, lo
	}
	hi = min((size-1-off)/stride+1, out)
	return lo, max(hi, lo)
}

// CopySegs copies n runs of l bytes: run i from src[i*lds:] to dst[i*ldd:].
func CopySegs(dst []uint8, ldd int, src []uint8, lds int, n, l int) {
	if n <= 0 || l <= 0 {
		return
	}
	if len(dst) < (n-1)*ldd+l || len(src) < (n-1)*lds+l {
		panic("q8: CopySegs slice too short")
	}
	if useVNNI {
		copySegsAVX512(&dst[0], ldd, &src[0], lds, n, l)
		return
	}
	for i := 0; i < n; i++ {
		copy(dst[i*ldd:i*ldd+l], src[i*lds:i*lds+l])
	}
}

// MaxSegs sets dst run i to the bytewise maximum of itself and src run i (n runs of l bytes, strides
// ldd and lds).
func MaxSegs(dst []uint8, ldd int, src []uint8, lds int, n, l int) {
	if n <= 0 || l <= 0 {
		return
	}
	if len(dst) < (n-1)*ldd+l || len(src) < (n-1)*lds+l {
		panic("q8: MaxSegs slice too short")
	}
	if useVNNI {
		maxSegsAVX512(&dst[0], ldd, &src[0], lds, n, l)
		return
	}
	for i := 0; i < n; i++ {
		d, s := dst[i*ldd:i*ldd+l], src[i*lds:i*lds+l]
		for j, v := range s {
			d[j] = max(d[j], v)
		}
	}
}

// SumPixels adds the n pixels of x (c bytes each, contiguous) into acc[0:c] (c a multiple of 4).
func SumPixels(acc []int32, x []uint8, n, c int) {
	if n <= 0 || c <= 0 {
		return
	}
	if len(acc) < c || len(x) < n*c || c%4 != 0 {
		panic("q8: SumPixels bad operands")
	}
	if useVNNI {
		sumPixelsAVX512(&acc[0], &x[0], n, c)
		return
	}
	for p := 0; p < n; p++ {
		for j, v := range x[p*c : (p+1)*c] {
			acc[j] += int32(v)
		}
	}
}

// Fill sets every byte of b to v.
func Fill(b []uint8, v uint8) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// Im2col writes rows [p0, p1) of the im2col matrix of x (batch-major output pixels) into dst, row
// p-p0 at dst[(p-p0)*ld:]: for each tap (ky, kx) in order, the C bytes of input pixel
// (oy*SH−PT+ky*DH, ox*SW−PL+kx*DW) of the same image, or zp (the quantized 0) where that lies in the
// padding. Runs of taps that are contiguous in x (dilation 1) are copied at once.
func Im2col(dst []uint8, ld int, x []uint8, g *Geom, zp uint8, p0, p1 int) {
	c := g.C
	ohw := g.OH * g.OW
	for p := p0; p < p1; {
		n, r := p/ohw, p%ohw
		oy, ox0 := r/g.OW, r%g.OW
		ox1 := min(g.OW, ox0+p1-p) // this output row's part of the range
		img := x[n*g.H*g.W*c:]
		row := dst[(p-p0)*ld:]
		cnt := ox1 - ox0
		for ky := 0; ky < g.KH; ky++ {
			iy := oy*g.SH - g.PT + ky*g.DH
			tap := row[ky*g.KW*c:]
			if iy < 0 || iy >= g.H {
				for i := 0; i < cnt; i++ {
					Fill(tap[i*ld:i*ld+g.KW*c], zp)
				}
				continue
			}
			src := img[iy*g.W*c:]
			// Outputs whose whole row of taps lies inside x.
			fa, fb := validRange(-g.PL, g.SW, g.W-(g.KW-1)*g.DW, g.OW)
			fa, fb = max(fa, ox0), min(fb, ox1)
			if g.DW == 1 && fa < fb {
				ix := fa*g.SW - g.PL
				CopySegs(tap[(fa-ox0)*ld:], ld, src[ix*c:], g.SW*c, fb-fa, g.KW*c)
			} else {
				fa, fb = ox0, ox0
			}
			for kx := 0; kx < g.KW; kx++ {
				off := -g.PL + kx*g.DW
				lo, hi := validRange(off, g.SW, g.W, g.OW)
				t := tap[kx*c:]
				for ox := ox0; ox < ox1; ox++ {
					if ox >= fa && ox < fb {
						ox = fb - 1 // copied above
						continue
					}
					if ox < lo || ox >= hi {
						Fill(t[(ox-ox0)*ld:(ox-ox0)*ld+c], zp)
						continue
					}
					// A run of valid outputs outside [fa, fb): one strided copy.
					end := hi
					if ox < fa {
						end = min(end, fa)
					}
					end = min(end, ox1)
					ix := ox*g.SW + off
					CopySegs(t[(ox-ox0)*ld:], ld, src[ix*c:], g.SW*c, end-ox, c)
					ox = end - 1
				}
			}
		}
		p += cnt
	}
}

// MaxPool writes y (N×OH×OW×C) as the maximum of each window of x over its taps inside x (padding
// never wins, as ONNX's −inf padding). u8 order is the order of the values it quantizes, so this is
// exact on quantized tensors sharing one scale and zero point.
func MaxPool(y, x []uint8, g *Geom) {
	c := g.C
	clear(y[:g.N*g.OH*g.OW*c])
	for n := 0; n < g.N; n++ {
		img := x[n*g.H*g.W*c:]
		for oy := 0; oy < g.OH; oy++ {
			yr := y[((n*g.OH+oy)*g.OW)*c:]
			for ky := 0; ky < g.KH; ky++ {
				iy := oy*g.SH - g.PT + ky*g.DH
				if iy < 0 || iy >= g.H {
					continue
				}
				for kx := 0; kx < g.KW; kx++ {
					off := -g.PL + kx*g.DW
					lo, hi := validRange(off, g.SW, g.W, g.OW)
					if lo < hi {
						MaxSegs(yr[lo*c:], c, img[(iy*g.W+lo*g.SW+off)*c:], g.SW*c, hi-lo, c)
					}
				}
			}
		}
	}
}

// Interleave4 writes groups·4 planes of hw bytes (plane c at planes[c*hw:]) as hw pixels of cp
// channels: dst[j*cp + c] = planes[c*hw + j] for c < 4·groups.
func Interleave4(dst []uint8, cp int, planes []uint8, hw, groups int) {
	if hw <= 0 || groups <= 0 {
		return
	}
	if len(dst) < (hw-1)*cp+4*groups || len(planes) < 4*groups*hw || cp < 4*groups {
		panic("q8: Interleave4 slice too short")
	}
	for q := 0; q < groups; q++ {
		src := planes[4*q*hw:]
		j := 0
		if cp == 4 && hw >= NR && (useVNNI || useAVX2) {
			// Four rows into [column][4]: PackB's k4 = 1 layout is exactly four-channel pixels.
			j = hw &^ (NR - 1)
			if useVNNI {
				packB32(&dst[0], &src[0], hw, 1, j/NR)
			} else {
				packB32AVX2(&dst[0], &src[0], hw, 1, j/NR)
			}
		}
		for ; j < hw; j++ {
			d := dst[j*cp+4*q : j*cp+4*q+4]
			d[0], d[1], d[2], d[3] = src[j], src[hw+j], src[2*hw+j], src[3*hw+j]
		}
	}
}
