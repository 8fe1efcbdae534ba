package f32

// ConvGeom describes a 2-D convolution of one image plane set (1-D convolutions use H = KH = OH = 1).
// PT and PL are the top and left paddings; bottom/right padding is implied by OH and OW.
type ConvGeom struct {
	C, H, W int // input channels (of one group), height, width
	KH, KW  int // kernel size
	SH, SW  int // strides
	PT, PL  int // leading pads
	DH, DW  int // dilations
	OH, OW  int // output size
}

// K is the depth of the im2col matrix: C*KH*KW.
func (g *ConvGeom) K() int { return g.C * g.KH * g.KW }

// ValidRange returns the output positions [lo, hi) (clamped to [0, out)) whose input index
// o*stride+off lies inside [0, size).
func ValidRange(off, stride, size, out int) (lo, hi int) {
	if off < 0 {
		lo = min((-off+stride-1)/stride, out) // a window wider than the padded input can leave none valid
	}
	if size-1-off < 0 {
		return lo, lo
	}
	hi = min((size-1-off)/stride+1, out)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// PackIm2col packs rows [p0, p0+kc) and columns [j0, j0+nc) of the im2col matrix of in (C×H×W, one
// group) into dst in the PackB layout (NR-wide column panels, zero-padded past nc). Row p is
// (c*KH+ky)*KW+kx, column j is oy*OW+ox, and the element is in[c][iy][ix] with iy = oy*SH-PT+ky*DH,
// ix = ox*SW-PL+kx*DW, or 0 where (iy, ix) falls in the padding. dst needs PackedBLen(kc, nc) floats.
func PackIm2col(dst, in []float32, g *ConvGeom, p0, kc, j0, nc int) {
	nr := NR
	ncp := RoundUp(nc, nr)
	dst = dst[:kc*ncp]
	if nc < ncp {
		// Zero the padding columns of the last panel once; the loops below never write them.
		last := dst[(ncp-nr)*kc:]
		for p := 0; p < kc; p++ {
			clear(last[p*nr+nc-(ncp-nr) : p*nr+nr])
		}
	}
	khw := g.KH * g.KW
	hw := g.H * g.W
	for p := 0; p < kc; p++ {
		r := p0 + p
		c := r / khw
		ky := r % khw / g.KW
		kx := r % g.KW
		plane := in[c*hw : (c+1)*hw]
		offX := kx*g.DW - g.PL
		lo, hi := ValidRange(offX, g.SW, g.W, g.OW)
		oy, ox := j0/g.OW, j0%g.OW
		for jl := 0; jl < nc; {
			// One run of columns sharing the output row oy, cut at panel boundaries.
			run := min(g.OW-ox, nc-jl)
			iy := oy*g.SH - g.PT + ky*g.DH
			var row []float32
			if iy >= 0 && iy < g.H {
				row = plane[iy*g.W : (iy+1)*g.W]
			}
			for x := 0; x < run; {
				j := jl + x
				jj := j % nr
				n := min(run-x, nr-jj)
				d := dst[(j-jj)*kc+p*nr+jj:]
				d = d[:n]
				o := ox + x
				if row == nil {
					clear(d)
				} else {
					// Lanes [t0, t1) read the row; the rest fall in the left/right padding.
					t0, t1 := min(max(lo-o, 0), n), min(hi-o, n)
					if t1 < t0 {
						t1 = t0
					}
					clear(d[:t0])
					clear(d[t1:])
					if t0 == t1 {
						// all padding
					} else if g.SW == 1 {
						copy(d[t0:t1], row[o+t0+offX:])
					} else {
						gatherStride(d[t0:t1], row[(o+t0)*g.SW+offX:], g.SW)
					}
				}
				x += n
			}
			jl += run
			ox = 0
			oy++
		}
	}
}

// Depthwise computes one output plane of a single-input-channel convolution:
//
//	out[oy*OW+ox] = bias + sum_{ky,kx} w[ky*KW+kx] * in[oy*SH-PT+ky*DH][ox*SW-PL+kx*DW]
//
// with out-of-range input taps skipped (zero padding). g.C is ignored; in is H×W, out is OH×OW.
func Depthwise(out, in, w []float32, bias float32, g *ConvGeom) {
	DepthwiseClamp(out, in, w, bias, g, false, 0, 0)
}

// DepthwiseClamp is Depthwise followed by out = min(max(out, lo), hi) when clamp is set (fused
// Relu/Clip), applied while each row is in registers or cache.
func DepthwiseClamp(out, in, w []float32, bias float32, g *ConvGeom, clamp bool, lo, hi float32) {
	out = out[:g.OH*g.OW]
	in = in[:g.H*g.W]
	w = w[:g.KH*g.KW]
	// Columns [clo, chi) take every kx tap from inside the row.
	clo, _ := ValidRange(-g.PL, g.SW, g.W, g.OW)
	_, chi := ValidRange((g.KW-1)*g.DW-g.PL, g.SW, g.W, g.OW)
	square := g.KH == g.KW && g.DH == 1 && g.DW == 1
	for oy := 0; oy < g.OH; oy++ {
		orow := out[oy*g.OW : (oy+1)*g.OW]
		iy0 := oy*g.SH - g.PT
		a, b := 0, 0 // the columns done by an interior kernel
		if iy0 >= 0 && iy0+(g.KH-1)*g.DH < g.H && chi > clo {
			src := in[iy0*g.W+clo*g.SW-g.PL:]
			switch {
			case square && depthwiseRowAsm(orow[clo:chi], src, w, g.KH, g.SW, g.W, bias, clamp, lo, hi):
				a, b = clo, chi
			case square && g.KH == 3:
				depthwise3x3Interior(orow[clo:chi], src, w, g.W, g.SW, bias)
				clampRow(orow[clo:chi], clamp, lo, hi)
				a, b = clo, chi
			}
		}
		if b > a {
			// Interior row: the few border columns go point by point (a tap-by-tap pass per column
			// range costs more than the columns themselves at 3×3).
			for _, ox := range [2][2]int{{0, a}, {b, g.OW}} {
				for x := ox[0]; x < ox[1]; x++ {
					v := depthwisePoint(in, w, g, iy0, x*g.SW-g.PL, bias)
					if clamp {
						v = min(max(v, lo), hi)
					}
					orow[x] = v
				}
			}
			continue
		}
		for _, r := range [2][2]int{{0, a}, {b, g.OW}} {
			if r[0] >= r[1] {
				continue
			}
			part := orow[r[0]:r[1]]
			for i := range part {
				part[i] = bias
			}
			for ky := 0; ky < g.KH; ky++ {
				iy := iy0 + ky*g.DH
				if iy < 0 || iy >= g.H {
					continue
				}
				irow := in[iy*g.W : (iy+1)*g.W]
				for kx := 0; kx < g.KW; kx++ {
					off := kx*g.DW - g.PL
					tlo, thi := ValidRange(off, g.SW, g.W, g.OW)
					tap(orow, irow, w[ky*g.KW+kx], off, g.SW, max(tlo, r[0]), min(thi, r[1]))
				}
			}
			clampRow(part, clamp, lo, hi)
		}
	}
}

// depthwisePoint is one output of a depthwise window whose top-left tap is in[iy0][ix0], skipping
// taps outside the plane.
func depthwisePoint(in, w []float32, g *ConvGeom, iy0, ix0 int, bias float32) float32 {
	v := bias
	for ky := 0; ky < g.KH; ky++ {
		iy := iy0 + ky*g.DH
		if iy < 0 || iy >= g.H {
			continue
		}
		row := in[iy*g.W : (iy+1)*g.W]
		for kx := 0; kx < g.KW; kx++ {
			if ix := ix0 + kx*g.DW; ix >= 0 && ix < g.W {
				v += w[ky*g.KW+kx] * row[ix]
			}
		}
	}
	return v
}

func clampRow(x []float32, clamp bool, lo, hi float32) {
	if !clamp {
		return
	}
	for i, v := range x {
		x[i] = min(max(v, lo), hi)
	}
}

// tap adds wv*irow[ox*sw+off] to orow[ox] for ox in [lo, hi) (all in range).
func tap(orow, irow []float32, wv float32, off, sw, lo, hi int) {
	if lo >= hi {
		return
	}
	if sw == 1 {
		o := orow[lo:hi]
		i := irow[lo+off : hi+off]
		i = i[:len(o)]
		for x := range o {
			o[x] += wv * i[x]
		}
		return
	}
	for ox := lo; ox < hi; ox++ {
		orow[ox] += wv * irow[ox*sw+off]
	}
}

// depthwise3x3Interior is the portable 3×3 undilated row kernel: out[x] = bias + the nine taps
// in[ky*ldin + x*sw + kx], all inside the slice.
func depthwise3x3Interior(out, in, w []float32, ldin, sw int, bias float32) {
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	for x := range out {
		ix := x * sw
		a, b, c := in[ix:ix+3], in[ldin+ix:ldin+ix+3], in[2*ldin+ix:2*ldin+ix+3]
		out[x] = bias + w0*a[0] + w1*a[1] + w2*a[2] + w3*b[0] + w4*b[1] + w5*b[2] + w6*c[0] + w7*c[1] + w8*c[2]
	}
}

// DepthwiseStripLen is the buffer size DepthwisePadded is meant for (16 KiB: strips of padded rows
// stay in L1; callers keep one on their stack for a run of planes, so it needs no planned scratch).
const DepthwiseStripLen = 4096

// DepthwisePadded computes the same plane as DepthwiseClamp, but copies strips of input rows into the
// zero-padded buffer buf first (any length; DepthwiseStripLen suits), so that every output row —
// borders included — runs the row kernel with no per-column bounds tests: out[oy*OW+ox] = clamp(bias +
// sum_{ky,kx} w[ky*KW+kx] * P[oy*SH+ky*DH][ox*SW+kx*DW]) where P is in shifted by (PT, PL) and zero
// outside. Rows too wide for buf fall back to DepthwiseClamp.
func DepthwisePadded(out, in, w []float32, bias float32, g *ConvGeom, clamp bool, lo, hi float32, buf []float32) {
	wp := (g.OW-1)*g.SW + (g.KW-1)*g.DW + 1
	span := (g.KH-1)*g.DH + 1 // padded rows one output row reads
	rowsPer := 0              // output rows per strip
	if n := len(buf) / wp; n >= span {
		rowsPer = (n-span)/g.SH + 1
	}
	if rowsPer < 2 {
		DepthwiseClamp(out, in, w, bias, g, clamp, lo, hi)
		return
	}
	out = out[:g.OH*g.OW]
	w = w[:g.KH*g.KW]
	square := g.KH == g.KW && g.DH == 1 && g.DW == 1
	for oy0 := 0; oy0 < g.OH; oy0 += rowsPer {
		oy1 := min(oy0+rowsPer, g.OH)
		rows := (oy1-1-oy0)*g.SH + span
		pad := buf[:rows*wp]
		WinoPad(pad, in, g, oy0*g.SH, rows, wp)
		for oy := oy0; oy < oy1; oy++ {
			orow := out[oy*g.OW : (oy+1)*g.OW]
			src := pad[(oy-oy0)*g.SH*wp:]
			switch {
			case square && depthwiseRowAsm(orow, src, w, g.KH, g.SW, wp, bias, clamp, lo, hi):
				continue
			case square && g.KH == 3:
				depthwise3x3Interior(orow, src, w, wp, g.SW, bias)
			default:
				for x := range orow {
					orow[x] = bias
				}
				for ky := 0; ky < g.KH; ky++ {
					for kx := 0; kx < g.KW; kx++ {
						tap(orow, src[ky*g.DH*wp:], w[ky*g.KW+kx], kx*g.DW, g.SW, 0, g.OW)
					}
				}
			}
			clampRow(orow, clamp, lo, hi)
		}
	}
}

// gatherStride sets dst[i] = src[i*s] (s >= 2): im2col of strided convolutions. The bounds are
// checked once per 8 elements instead of per element.
func gatherStride(dst, src []float32, s int) {
	n := len(dst)
	if n == 0 {
		return
	}
	src = src[:(n-1)*s+1]
	i := 0
	if s == 2 {
		for ; i+8 <= n; i += 8 {
			v := (*[15]float32)(src[2*i : 2*i+15])
			d := (*[8]float32)(dst[i : i+8])
			d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = v[0], v[2], v[4], v[6], v[8], v[10], v[12], v[14]
		}
	}
	for ; i < n; i++ {
		dst[i] = src[i*s]
	}
}
