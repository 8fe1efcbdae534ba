package f32

import "math/bits"

// Im2col packs column ranges of a convolution's im2col matrix (see PackIm2col) from a table built once
// per range: the columns of an NR-wide panel cover pieces of a few output rows ("segments"), and for
// every kernel tap a segment reads one run of an input row, at a fixed stride. Each entry holds, for
// one (panel, tap, segment), the input index of panel lane 0 (so lane j reads in[off + j*SW] of the
// channel plane) and the masks of the lanes that read the input; lanes of no segment, or whose input
// falls in the padding, are zero. Packing then walks rows (channel, tap) and entries: on AVX-512 two
// masked loads per segment and row (stride 1), or four and two permutes (stride 2), instead of a
// bounds test and a copy call per run.
type Im2col struct {
	g     ConvGeom
	nc    int
	nseg  int         // entries per panel and tap (the most output rows a panel touches)
	rows  []int32     // per panel, the output rows it touches (its used entries per tap)
	ents  []im2colEnt // [panel][tap][seg]
	store []im2colEnt // backing array, reused by Init
	kxr   [][3]int    // per kernel column kx: the output columns whose tap lies inside the row, and the tap's column offset
	vec   bool        // the vector kernel packs this geometry
	phase bool        // the input is Polyphase2's four phases per channel (stride-2 g, read at stride 1)
	_     [0]func()   // not comparable
}

// im2colEnt is one (panel, tap, segment) entry: off is the input index (within a channel plane) that
// panel lane 0 would read; dst[h] masks the lanes 16h..16h+15 that read the input. For stride 2, src
// masks the elements of the two 16-float source vectors each half loads (element e of vector v of
// half h is input off+32h+16v+e, needed by lane 16h+8v+e/2 for even e); unused for stride 1.
type im2colEnt struct {
	off int32
	dst [2]uint16
	src [4]uint16
}

// Im2colTableLen is the number of table entries Init needs for nc columns of g: for the scratch of
// callers that keep one Im2col per thread.
func Im2colTableLen(g *ConvGeom, nc int) int {
	return RoundUp(nc, NR) / NR * g.KH * g.KW * im2colSegs(g, nc)
}

// im2colSegs bounds the output rows one NR-wide panel of at most nc columns can touch.
func im2colSegs(g *ConvGeom, nc int) int {
	w := min(NR, nc)
	return min((w+g.OW-2)/g.OW+1, w)
}

// Init prepares t to pack columns [j0, j0+nc) of g's im2col matrix. It allocates only when the table
// outgrows what earlier calls allocated.
func (t *Im2col) Init(g *ConvGeom, j0, nc int) { t.init(g, j0, nc, false) }

// InitPhases is Init for a stride-2, undilated g whose input Pack will be given split into phases:
// per channel, Polyphase2(·, plane, H, W, true). Every tap then reads one phase at stride 1.
func (t *Im2col) InitPhases(g *ConvGeom, j0, nc int) {
	if g.SH != 2 || g.SW != 2 || g.DH != 1 || g.DW != 1 {
		panic("f32: Im2col phases need stride 2 and no dilation")
	}
	t.init(g, j0, nc, true)
}

func (t *Im2col) init(g *ConvGeom, j0, nc int, phase bool) {
	t.g, t.nc, t.phase = *g, nc, phase
	t.nseg = im2colSegs(g, nc)
	n := Im2colTableLen(g, nc)
	if cap(t.store) < n {
		t.store = make([]im2colEnt, n)
	}
	t.ents = t.store[:n]
	panels := RoundUp(nc, NR) / NR
	if cap(t.rows) < panels {
		t.rows = make([]int32, panels)
	}
	t.rows = t.rows[:panels]
	t.vec = im2colAsm() && (g.SW == 1 || g.SW == 2)
	taps := g.KH * g.KW
	if cap(t.kxr) < g.KW {
		t.kxr = make([][3]int, g.KW)
	}
	t.kxr = t.kxr[:g.KW]
	hq, wq := PhaseDims(g.H, g.W)
	for kx := range t.kxr {
		if !phase {
			lo, hi := ValidRange(kx*g.DW-g.PL, g.SW, g.W, g.OW)
			t.kxr[kx] = [3]int{lo, hi, kx*g.DW - g.PL}
			continue
		}
		// Input column 2*ox + dx is column ox + qx of phase px.
		dx := kx - g.PL
		px := dx & 1
		qx := (dx - px) / 2
		wp := (g.W - px + 1) / 2
		lo, hi := min(max(-qx, 0), g.OW), min(max(wp-qx, 0), g.OW)
		t.kxr[kx] = [3]int{lo, max(hi, lo), px*hq*wq + qx}
	}
	for q := 0; q < panels; q++ {
		p0 := j0 + q*NR         // first column of the panel
		pn := min(NR, j0+nc-p0) // its columns
		oy0 := p0 / g.OW
		nrows := (p0+pn-1)/g.OW - oy0 + 1
		t.rows[q] = int32(nrows)
		blk := t.ents[q*taps*t.nseg : (q+1)*taps*t.nseg]
		clear(blk)
		for s := 0; s < nrows; s++ {
			oy := oy0 + s
			// Lanes [d0, d1) hold output row oy; the output column of lane j is ox0 + j - d0.
			d0 := max(oy*g.OW-p0, 0)
			d1 := min((oy+1)*g.OW-p0, pn)
			ox0 := p0 + d0 - oy*g.OW
			for ky := 0; ky < g.KH; ky++ {
				iy := oy*g.SH - g.PT + ky*g.DH
				base := iy*g.W + (ox0-d0)*g.SW
				valid := iy >= 0 && iy < g.H
				if phase {
					// Input row 2*oy + dy is row oy + qy of phase py.
					dy := ky - g.PT
					py := dy & 1
					i := oy + (dy-py)/2
					base = 2*py*hq*wq + i*wq + (ox0 - d0)
					valid = i >= 0 && i < (g.H-py+1)/2
				}
				for kx := 0; kx < g.KW; kx++ {
					e := &blk[(ky*g.KW+kx)*t.nseg+s]
					e.off = int32(base + t.kxr[kx][2])
					if !valid {
						continue
					}
					lo, hi := t.kxr[kx][0], t.kxr[kx][1]
					a, b := max(d0, d0+lo-ox0), min(d1, d0+hi-ox0)
					if a >= b {
						continue
					}
					m := uint32(1<<uint64(b) - 1<<uint64(a)) // lanes [a, b), b <= 32
					e.dst = [2]uint16{uint16(m), uint16(m >> 16)}
					if g.SW == 2 && !phase {
						for i := range e.src {
							e.src[i] = evenBits[uint8(m>>(8*i))]
						}
					}
				}
			}
		}
	}
}

// evenBits[b] spreads the 8 bits of b to the even bits of a 16-bit mask (bit i to bit 2i): the
// source elements a stride-2 lane mask needs.
var evenBits = func() (t [256]uint16) {
	for b := range t {
		for i := 0; i < 8; i++ {
			if b>>i&1 != 0 {
				t[b] |= 1 << (2 * i)
			}
		}
	}
	return t
}()

// Pack writes rows [p0, p0+kc) of the prepared columns of the im2col matrix of in (C×H×W, one group;
// after InitPhases, C planes of Polyphase2Len(H, W, true) floats) into dst in the PackB layout; dst
// needs PackedBLen(kc, nc) floats.
func (t *Im2col) Pack(dst, in []float32, p0, kc int) {
	g := &t.g
	taps := g.KH * g.KW
	hw, stride := g.H*g.W, g.SW
	if t.phase {
		hw, stride = Polyphase2Len(g.H, g.W, true), 1
	}
	ncp := RoundUp(t.nc, NR)
	dst = dst[:kc*ncp]
	if kc <= 0 {
		return
	}
	c0, c1 := p0/taps, (p0+kc-1)/taps
	in = in[c0*hw : (c1+1)*hw] // every lane read lies in these planes (Init's masks)
	panels := ncp / NR
	for q := 0; q < panels; q++ {
		ents := t.ents[q*taps*t.nseg : (q+1)*taps*t.nseg]
		panel := dst[q*NR*kc : (q+1)*NR*kc]
		if t.vec {
			im2colPanelAsm(panel, in, hw, ents, t.nseg, int(t.rows[q]), taps, p0-c0*taps, kc, stride)
			continue
		}
		im2colPanel(panel, in, hw, ents, t.nseg, int(t.rows[q]), taps, p0-c0*taps, kc, stride)
	}
}

// im2colPanel is the portable panel packer: rows p < kc are (channel, tap) = divmod(t0+p, taps) of
// the planes in in (hw floats apart); each tap has nseg entries, of which the first used apply.
func im2colPanel(panel, in []float32, hw int, ents []im2colEnt, nseg, used, taps, t0, kc, stride int) {
	nr := NR
	c, tap := t0/taps, t0%taps
	for p := 0; p < kc; p++ {
		row := panel[p*nr : p*nr+nr]
		clear(row)
		plane := in[c*hw : (c+1)*hw]
		for _, e := range ents[tap*nseg : tap*nseg+used] {
			// A segment's valid lanes are one run [a, b).
			m := uint32(e.dst[0]) | uint32(e.dst[1])<<16
			if m == 0 {
				continue
			}
			a, b := bits.TrailingZeros32(m), 32-bits.LeadingZeros32(m)
			src := int(e.off) + a*stride
			if stride == 1 {
				copy(row[a:b], plane[src:src+b-a])
				continue
			}
			for j := a; j < b; j++ {
				row[j] = plane[src]
				src += stride
			}
		}
		if tap++; tap == taps {
			tap = 0
			c++
		}
	}
}
