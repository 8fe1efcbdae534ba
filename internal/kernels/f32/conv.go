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
		lo = (-off + stride - 1) / stride
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
				switch {
				case row == nil:
					clear(d)
				case g.SW == 1 && o >= lo && o+n <= hi:
					copy(d, row[o+offX:])
				default:
					for t := range d {
						if oo := o + t; oo >= lo && oo < hi {
							d[t] = row[oo*g.SW+offX]
						} else {
							d[t] = 0
						}
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
	out = out[:g.OH*g.OW]
	in = in[:g.H*g.W]
	w = w[:g.KH*g.KW]
	fast3 := g.KH == 3 && g.KW == 3 && g.DW == 1 && g.DH == 1
	for oy := 0; oy < g.OH; oy++ {
		orow := out[oy*g.OW : (oy+1)*g.OW]
		for i := range orow {
			orow[i] = bias
		}
		iy0 := oy*g.SH - g.PT
		if fast3 && iy0 >= 0 && iy0+2 < g.H {
			depthwise3x3Row(orow, in[iy0*g.W:(iy0+3)*g.W], w, g)
			continue
		}
		for ky := 0; ky < g.KH; ky++ {
			iy := iy0 + ky*g.DH
			if iy < 0 || iy >= g.H {
				continue
			}
			irow := in[iy*g.W : (iy+1)*g.W]
			for kx := 0; kx < g.KW; kx++ {
				off := kx*g.DW - g.PL
				lo, hi := ValidRange(off, g.SW, g.W, g.OW)
				tap(orow, irow, w[ky*g.KW+kx], off, g.SW, lo, hi)
			}
		}
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

// depthwise3x3Row handles one output row of a 3×3 undilated depthwise convolution whose three input
// rows are all inside the image (rows holds them, 3×W): the interior columns take all nine taps in one
// pass, the border columns go tap by tap.
func depthwise3x3Row(orow, rows, w []float32, g *ConvGeom) {
	W, sw := g.W, g.SW
	r0, r1, r2 := rows[:W], rows[W:2*W], rows[2*W:3*W]
	off := -g.PL
	// Interior: columns whose taps off, off+1, off+2 are all inside the row.
	lo, _ := ValidRange(off, sw, W, g.OW)
	_, hi := ValidRange(off+2, sw, W, g.OW)
	if hi < lo {
		hi = lo
	}
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	for ox := lo; ox < hi; ox++ {
		ix := ox*sw + off
		a, b, c := r0[ix:ix+3], r1[ix:ix+3], r2[ix:ix+3]
		orow[ox] += w0*a[0] + w1*a[1] + w2*a[2] + w3*b[0] + w4*b[1] + w5*b[2] + w6*c[0] + w7*c[1] + w8*c[2]
	}
	// Borders [0, lo) and [hi, OW), tap by tap.
	for ky, irow := range [3][]float32{r0, r1, r2} {
		for kx := 0; kx < 3; kx++ {
			o := off + kx
			tlo, thi := ValidRange(o, sw, W, g.OW)
			tap(orow, irow, w[ky*3+kx], o, sw, tlo, min(thi, lo))
			tap(orow, irow, w[ky*3+kx], o, sw, max(tlo, hi), thi)
		}
	}
}
