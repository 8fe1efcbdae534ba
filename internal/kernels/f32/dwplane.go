package f32

// DepthwisePlan holds what the whole-plane depthwise kernels need for one geometry, computed once:
// per 16-lane output column vector and kernel column kx, the input column lane 0 reads and the masks
// of the lanes that fall inside the row (see _asm's depthwisePlane). Plane computes one output plane
// with it, or with DepthwisePadded where this CPU rung or geometry has no plane kernel.
type DepthwisePlan struct {
	g    ConvGeom
	tab  []dwEnt // nvec × (KW+1)
	nvec int
	sep  []mpEnt // nvec entries for the separable 3×3 stride-2 max pool, or nil
}

// mpEnt is one output vector's entry for maxPoolK3S2: the input column of its first window's first
// tap (off) and the masks of the columns inside the row among the 16 from off, the 16 after those and
// the one after those (lane 0), then the vector's output lanes.
type mpEnt struct {
	off int32
	m   [4]uint16
}

// dwEnt is one table entry: off is the input column of lane 0; m masks the lanes (stride 1: m[0]) or
// the even source elements of the two halves of a 32-float window (stride 2) inside the row. The last
// entry of a vector holds its output lanes in m[0].
type dwEnt struct {
	off int32
	m   [2]uint16
}

// NewDepthwisePlan prepares the plane kernels for g (g.C ignored). The table is built whatever the
// CPU, so the plan stays valid if tests switch micro-kernels later.
func NewDepthwisePlan(g *ConvGeom) *DepthwisePlan {
	p := &DepthwisePlan{g: *g}
	if dwPlaneGeom(g) {
		p.build()
	}
	return p
}

// NewMaxPoolPlan prepares the max-pool plane kernels (square 2×2 or 3×3 windows, undilated, column
// stride 1 or 2) for g; MaxPlane then pools one plane.
func NewMaxPoolPlan(g *ConvGeom) *DepthwisePlan {
	p := &DepthwisePlan{g: *g}
	if g.KH == g.KW && (g.KW == 2 || g.KW == 3) && g.DH == 1 && g.DW == 1 && (g.SW == 1 || g.SW == 2) && g.OW > 0 && g.OH > 0 {
		p.build()
		if g.KW == 3 && g.SW == 2 && windowsInside(g) {
			p.buildSep()
		}
	}
	return p
}

// maxPoolPerTap keeps 3×3 stride-2 pools on the per-tap plane kernel (tests compare the two).
var maxPoolPerTap = false

// windowsInside reports whether every window of g holds at least one row and one column of the input
// (the separable kernel replaces rows outside the plane with one inside the window).
func windowsInside(g *ConvGeom) bool {
	lastRow, lastCol := (g.OH-1)*g.SH-g.PT, (g.OW-1)*g.SW-g.PL
	return g.PT < g.KH && g.PL < g.KW && lastRow < g.H && lastCol < g.W
}

// buildSep fills the table of maxPoolK3S2: vector v's outputs 16v.. read columns from 32v-PL on.
func (p *DepthwisePlan) buildSep() {
	g := &p.g
	p.sep = make([]mpEnt, p.nvec)
	inside := func(c int) bool { return c >= 0 && c < g.W }
	for v := range p.sep {
		e := &p.sep[v]
		off := 2*16*v - g.PL
		e.off = int32(off)
		for l := 0; l < 16; l++ {
			if inside(off + l) {
				e.m[0] |= 1 << l
			}
			if inside(off + 16 + l) {
				e.m[1] |= 1 << l
			}
			if 16*v+l < g.OW {
				e.m[3] |= 1 << l
			}
		}
		if inside(off + 32) {
			e.m[2] = 1
		}
	}
}

// MaxPlane sets out (OH×OW) to the maximum of each window's taps inside in (H×W) and reports true, or
// reports false (doing nothing) where this rung or geometry has no max-pool plane kernel.
func (p *DepthwisePlan) MaxPlane(out, in []float32) bool {
	return p.tab != nil && maxRowsAsm(out, in, p, 0, p.g.OH)
}

// MaxRows is MaxPlane for output rows [oy0, oy1) only, into out (which holds just those rows).
func (p *DepthwisePlan) MaxRows(out, in []float32, oy0, oy1 int) bool {
	return p.tab != nil && maxRowsAsm(out, in, p, oy0, oy1)
}

// build fills the per-vector tables.
func (p *DepthwisePlan) build() {
	g := &p.g
	k := g.KW
	p.nvec = (g.OW + 15) / 16
	p.tab = make([]dwEnt, p.nvec*(k+1))
	for v := 0; v < p.nvec; v++ {
		ox0 := 16 * v
		ents := p.tab[v*(k+1) : (v+1)*(k+1)]
		for kx := 0; kx < k; kx++ {
			off := ox0*g.SW + kx - g.PL
			e := &ents[kx]
			e.off = int32(off)
			for l := 0; l < 16 && ox0+l < g.OW; l++ {
				if ix := off + l*g.SW; ix >= 0 && ix < g.W {
					if g.SW == 1 {
						e.m[0] |= 1 << l
					} else {
						e.m[l/8] |= 1 << (2 * (l % 8))
					}
				}
			}
		}
		for l := 0; l < 16 && ox0+l < g.OW; l++ {
			ents[k].m[0] |= 1 << l
		}
	}
}

// dwPlaneGeom reports whether a plane kernel exists for g: square 3×3 or 5×5, undilated, column
// stride 1 or 2.
func dwPlaneGeom(g *ConvGeom) bool {
	return g.KH == g.KW && (g.KW == 3 || g.KW == 5) && g.DH == 1 && g.DW == 1 && (g.SW == 1 || g.SW == 2) && g.OW > 0 && g.OH > 0
}

// Vector reports whether Plane runs a plane kernel (and so ignores its strip buffer).
func (p *DepthwisePlan) Vector() bool { return p.tab != nil && dwPlaneRung() }

// Rows computes output rows [oy0, oy1) of the plane Plane computes, into out (which holds just those
// rows), and reports true; or reports false, doing nothing, where Plane would not run a plane kernel
// (Vector is false). Threads that split planes by rows keep a plane's rows on the same core from one
// layer to the next.
func (p *DepthwisePlan) Rows(out, in, w []float32, bias float32, clamp bool, lo, hi float32, oy0, oy1 int) bool {
	return p.tab != nil && dwRowsAsm(out, in, w, p.tab, &p.g, p.nvec, bias, clamp, lo, hi, oy0, oy1)
}

// Plane computes out (OH×OW) = clamp(bias + depthwise(in (H×W), w (KH×KW))) as DepthwiseClamp does;
// buf is DepthwisePadded's strip buffer for the rungs without a plane kernel.
func (p *DepthwisePlan) Plane(out, in, w []float32, bias float32, clamp bool, lo, hi float32, buf []float32) {
	g := &p.g
	if p.tab != nil && dwPlaneAsm(out, in, w, p.tab, g, p.nvec, bias, clamp, lo, hi) {
		return
	}
	DepthwisePadded(out, in, w, bias, g, clamp, lo, hi, buf)
}
