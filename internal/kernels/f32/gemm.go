// Package f32 holds float32 compute kernels: blocked GEMM with packing, im2col packing for
// convolution, depthwise convolution and small vector helpers. Kernels know nothing about graphs.
//
// Layout, per kernel family (gemm, dot, f16, im2col, pack, polyphase, winograd, depthwise, dwplane, vec):
// <family>.go the portable code and API (packing lives in gemm.go, depthwise rows in conv.go),
// <family>_amd64.go the assembly declarations and their Go wrappers, <family>_amd64.s the generated
// assembly (../_asm writes one .s per family) and <family>_noasm.go the stand-ins where there is no
// assembly (another GOARCH, or -tags purego); gemm_generic.go is the portable micro-kernel (always
// compiled and tested). The micro-kernel, and with it the register tile MR×NR the packed layouts
// follow, is chosen once at init from internal/cpu.
package f32

import "runtime"

// Cache-block sizes. KC bounds the depth of one packed panel so an MR×KC slice of A and a KC×NR slice
// of B stay in L1/L2; NC bounds the width of the packed B block used by Gemm; MC (a multiple of MR) the
// height of the packed A block.
const (
	KC = 256
	NC = 512
)

// The register tile of the selected micro-kernel. They change only in init and in tests (Use).
var (
	MR = 3
	NR = 4
	MC = 64
)

// gemvRows is the largest m that Gemm computes as dot products instead of through packed tiles.
const gemvRows = 2

// Epilogue flags of a micro-kernel call (see Impl).
const (
	flagAcc   = 1 // add the tile to C instead of overwriting it
	flagBias  = 2 // add bias[r] to row r
	flagClamp = 4 // clamp to [lo, hi]
	flagAdd   = 8 // add Z (a matrix laid out like C)
)

// Impl is one GEMM micro-kernel. kern computes the MR×NR tile T = A·B from a packed MR×k panel a and a
// packed k×NR panel b, then applies the epilogue given by flags (bias, +C, clamp, in that order) and
// stores T into c (row stride ldc). It may assume full tiles; MulPacked handles the edges.
type Impl struct {
	Name      string // "AVX512", "AVX2", "Generic": the ISA-ladder subtest names
	MR, NR    int
	Available bool
	id        int  // selects the kernel in runKernel (a direct call, so tile buffers stay on the stack)
	full      bool // honours the whole tileArgs contract: B rows in place, edge tiles, Z
	direct    bool // reads B in place as fast as packed (the portable kernels prefer packed B)
}

const (
	idGeneric = iota
	idAVX512
	idAVX2
	idAVX512x8
	idGeneric4x4
)

// wideFloatRegs: the architecture gives compiled Go 32 float registers and fused multiply-add, so the
// 4×4 portable tile comes first (see gemm_generic.go).
var wideFloatRegs = runtime.GOARCH == "arm64" || runtime.GOARCH == "riscv64" || runtime.GOARCH == "ppc64le" ||
	runtime.GOARCH == "ppc64" || runtime.GOARCH == "loong64" || runtime.GOARCH == "s390x"

var (
	impls []*Impl // best first; the last one is the portable kernel
	cur   *Impl
)

func init() {
	generic := []*Impl{
		{Name: "Generic", MR: 2, NR: 4, Available: true, id: idGeneric, full: true},
		{Name: "Generic-4x4", MR: 4, NR: 4, Available: true, id: idGeneric4x4, full: true},
	}
	if wideFloatRegs {
		generic[0], generic[1] = generic[1], generic[0]
	}
	impls = append(archImpls(), generic...)
	for _, im := range impls {
		if im.Available {
			setImpl(im)
			break
		}
	}
}

func setImpl(im *Impl) {
	cur = im
	MR, NR = im.MR, im.NR
	MC = RoundUp(120, im.MR)
}

// Impls lists the micro-kernels compiled into this binary, best first, with whether this CPU can run them.
func Impls() []*Impl { return impls }

// Selected is the micro-kernel in use.
func Selected() *Impl { return cur }

// Use selects im for tests and benchmarks and returns a function restoring the previous choice. Data
// packed under one kernel (PackedA, packed B blocks) must not be used under another. Not safe to call
// while kernels run.
func Use(im *Impl) (restore func()) {
	if !im.Available {
		panic("f32: Use of an implementation this CPU cannot run: " + im.Name)
	}
	prev := cur
	setImpl(im)
	return func() { setImpl(prev) }
}

// FMALoop runs n passes of 12 independent register-only 16-lane FMAs (768 flops a pass, cpu_peak.c's
// loop) and reports whether this build has it. Benchmarks time it between the kernels they measure,
// to state their throughput as a fraction of the FMA peak at the same clock.
func FMALoop(n int) bool { return fmaPeak(n) }

// FMALoopFlops is the floating-point operations of one FMALoop pass.
const FMALoopFlops = 12 * 16 * 2

// RoundUp rounds n up to a multiple of m.
func RoundUp(n, m int) int { return (n + m - 1) / m * m }

// Gemm computes, for i < m and j < n (row-major operands):
//
//	var s float32
//	for p := 0; p < k; p++ {
//		s += A(i, p) * B(p, j)
//	}
//	c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//
// where A(i, p) = a[i*lda+p] (a[p*lda+i] if transA) and B(p, j) = b[p*ldb+j] (b[j*ldb+p] if transB).
// When beta == 0, C is not read (NaNs in C do not propagate). work must hold at least GemmWorkLen(m, n, k)
// floats; Gemm itself never allocates.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int, work []float32) {
	gemm(transA, transB, m, n, k, alpha, a, lda, b, nil, ldb, beta, c, ldc, work)
}

// gemm is Gemm with B either f32 (b) or IEEE half bits (b16, when b is nil).
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, b16 []uint16, ldb int,
	beta float32, c []float32, ldc int, work []float32) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(work) < GemmWorkLen(m, n, k) {
		panic("f32: Gemm work buffer too small")
	}
	if k <= 0 || alpha == 0 {
		ScaleMatrix(m, n, beta, c, ldc)
		return
	}
	if beta != 0 && beta != 1 {
		ScaleMatrix(m, n, beta, c, ldc)
	}
	if m <= gemvRows && transB && !transA {
		// Matrix-vector shape (a batch-1 classifier head): each output is one dot product of a row of
		// A with a contiguous row of B. Streaming B once beats packing it (a full copy of the weights
		// per call) for a register tile that would be 1/MR full.
		for i := 0; i < m; i++ {
			ar := a[i*lda : i*lda+k]
			cr := c[i*ldc : i*ldc+n]
			for j := range cr {
				var d float32
				if b == nil {
					d = Dot16(ar, b16[j*ldb:j*ldb+k])
				} else {
					d = Dot(ar, b[j*ldb:j*ldb+k])
				}
				s := alpha * d
				if beta != 0 {
					s += cr[j] // already scaled by beta
				}
				cr[j] = s
			}
		}
		return
	}
	kcMax := min(k, KC)
	ncMax := min(RoundUp(n, NR), NC)
	bp := work[:kcMax*ncMax]
	apBuf := work[kcMax*ncMax:]
	if b != nil && !transB && cur.direct && directStride(ldb) {
		// Row-major B is read in place by the micro-kernel: only A is packed, once, an MC×KC block at
		// a time that stays in L2 while every column panel of B streams past it.
		for pc := 0; pc < k; pc += KC {
			kcl := min(KC, k-pc)
			ep := Epilogue{Acc: pc > 0 || beta != 0}
			for ic := 0; ic < m; ic += MC {
				mcl := min(MC, m-ic)
				var pa PackedA
				if transA {
					pa = PackA(apBuf, true, mcl, kcl, alpha, a[pc*lda+ic:], lda)
				} else {
					pa = PackA(apBuf, false, mcl, kcl, alpha, a[ic*lda+pc:], lda)
				}
				MulDirect(&pa, 0, mcl, 0, kcl, b[pc*ldb:], ldb, n, c[ic*ldc:], ldc, ep)
			}
		}
		return
	}
	for jc := 0; jc < n; jc += NC {
		ncl := min(NC, n-jc)
		for pc := 0; pc < k; pc += KC {
			kcl := min(KC, k-pc)
			off := pc*ldb + jc
			if transB {
				off = jc*ldb + pc
			}
			if b == nil {
				PackB16(bp, transB, kcl, ncl, b16[off:], ldb)
			} else {
				PackB(bp, transB, kcl, ncl, b[off:], ldb)
			}
			// The first k block overwrites C when beta == 0, so C is never read.
			ep := Epilogue{Acc: pc > 0 || beta != 0}
			for ic := 0; ic < m; ic += MC {
				mcl := min(MC, m-ic)
				var pa PackedA
				if transA {
					pa = PackA(apBuf, true, mcl, kcl, alpha, a[pc*lda+ic:], lda)
				} else {
					pa = PackA(apBuf, false, mcl, kcl, alpha, a[ic*lda+pc:], lda)
				}
				MulPacked(&pa, 0, mcl, 0, kcl, bp, ncl, c[ic*ldc+jc:], ldc, ep)
			}
		}
	}
}

// directStride reports whether B rows ldb floats apart can be read in place: a kc×NR panel of such
// rows must spread over the L1 sets. Rows a multiple of 64 bytes apart whose line stride shares a
// factor of 8 or more with the 64 sets (ldb = 256, 512, 1024: every row in the same few sets) would
// evict each other before the next row panel reuses them, so such B is packed.
func directStride(ldb int) bool {
	if ldb*4%64 != 0 {
		return true
	}
	lines := ldb * 4 / 64
	g := 64
	for lines%g != 0 {
		g /= 2
	}
	return g <= 4
}

// GemmWorkLen is the number of work floats Gemm needs for an m×n×k product.
func GemmWorkLen(m, n, k int) int {
	kc := min(max(k, 1), KC)
	return kc*min(RoundUp(n, NR), NC) + kc*RoundUp(min(m, MC), MR)
}

// ScaleMatrix sets c[i*ldc+j] *= beta for i < m, j < n; beta == 0 stores zeros without reading c.
func ScaleMatrix(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// PackedA is an m×k matrix packed for the micro-kernel with row tile MR. The k range is cut into
// blocks of KC; block [pc, pc+kcl) starts at Data[pc*RoundUp(M, MR)] and holds RoundUp(M, MR)/MR row
// panels of MR×kcl, stored column by column (MR consecutive floats per k), zero-padded past row M.
type PackedA struct {
	M, K int
	MR   int // the row tile it was packed for
	Data []float32
}

// PackedALen is the length of Data for an m×k PackedA.
func PackedALen(m, k int) int { return RoundUp(m, MR) * k }

// PackA packs alpha*A (m×k, A(i,p) = a[i*lda+p], or a[p*lda+i] if transA) into dst.
func PackA(dst []float32, transA bool, m, k int, alpha float32, a []float32, lda int) PackedA {
	mr := MR
	mp := RoundUp(m, mr)
	dst = dst[:mp*k]
	for pc := 0; pc < k; pc += KC {
		kcl := min(KC, k-pc)
		blk := dst[pc*mp:]
		for ip := 0; ip < mp; ip += mr {
			panel := blk[ip*kcl : ip*kcl+mr*kcl]
			if !transA && ip+mr <= m && packAPanelAsm(panel, a[ip*lda+pc:], lda, kcl, alpha) {
				continue
			}
			for r := 0; r < mr; r++ {
				i := ip + r
				if i >= m {
					for p := 0; p < kcl; p++ {
						panel[p*mr+r] = 0
					}
					continue
				}
				if transA {
					for p := 0; p < kcl; p++ {
						panel[p*mr+r] = alpha * a[(pc+p)*lda+i]
					}
				} else {
					row := a[i*lda+pc : i*lda+pc+kcl]
					for p, v := range row {
						panel[p*mr+r] = alpha * v
					}
				}
			}
		}
	}
	return PackedA{M: m, K: k, MR: mr, Data: dst}
}

// PackedBLen is the length of a packed kc×nc block of B.
func PackedBLen(kc, nc int) int { return kc * RoundUp(nc, NR) }

// PackB packs the kc×nc block B(p, j) = b[p*ldb+j] (b[j*ldb+p] if transB) into NR-wide column panels:
// panel q holds kc rows of NR floats for columns [q*NR, q*NR+NR), zero-padded past nc.
func PackB(dst []float32, transB bool, kc, nc int, b []float32, ldb int) {
	nr := NR
	for jp := 0; jp < nc; jp += nr {
		panel := dst[jp*kc : jp*kc+nr*kc]
		w := min(nr, nc-jp)
		if transB {
			for jj := 0; jj < nr; jj++ {
				if jj >= w {
					for p := 0; p < kc; p++ {
						panel[p*nr+jj] = 0
					}
					continue
				}
				col := b[(jp+jj)*ldb : (jp+jj)*ldb+kc]
				for p, v := range col {
					panel[p*nr+jj] = v
				}
			}
			continue
		}
		if packBPanelAsm(panel, b[jp:], ldb, kc, w) {
			continue
		}
		if w == 4 && nr == 4 {
			// The portable kernels' 4-wide panels: element moves, not a copy call per 16 bytes.
			for p := 0; p < kc; p++ {
				s, d := (*[4]float32)(b[p*ldb+jp:]), (*[4]float32)(panel[p*4:])
				d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
			}
			continue
		}
		for p := 0; p < kc; p++ {
			dr := panel[p*nr : p*nr+nr]
			if w == nr {
				copy(dr, b[p*ldb+jp:p*ldb+jp+nr])
			} else {
				copy(dr, b[p*ldb+jp:p*ldb+jp+w])
				clear(dr[w:])
			}
		}
	}
}

// Epilogue says what MulPacked does with each finished tile before storing it: add Bias[i] to row i
// (Bias indexed like the rows of the PackedA; nil for none), add the previous C (Acc; otherwise C is
// overwritten and never read), add Add (a matrix laid out like C, with C's ldc: a residual input; nil
// for none), and clamp to [Lo, Hi] (Clamp; Relu is Lo = 0, Hi = +Inf), in that order.
type Epilogue struct {
	Acc    bool
	Bias   []float32
	Add    []float32
	Clamp  bool
	Lo, Hi float32
}

// MulPacked computes A[i0:i1, pc:pc+kc] × Bp into C, where Bp is a PackB-packed kc×n block, i0 is a
// multiple of MR, C's element (i, j) is c[(i-i0)*ldc+j], and ep says how the result combines with C:
//
//	for i := i0; i < i1; i++ { for j := 0; j < n; j++ {
//		t := sum_p A(i, pc+p) * Bp(p, j) + ep.Bias[i] (if Bias != nil)
//		if ep.Acc { t += c[(i-i0)*ldc+j] }
//		if ep.Add != nil { t += ep.Add[(i-i0)*ldc+j] }
//		if ep.Clamp { t = min(max(t, ep.Lo), ep.Hi) }
//		c[(i-i0)*ldc+j] = t } }
func MulPacked(pa *PackedA, i0, i1, pc, kc int, bp []float32, n int, c []float32, ldc int, ep Epilogue) {
	mulBlock(pa, i0, i1, pc, kc, bp, 0, n, c, ldc, ep)
}

// PanelCols is how many columns the micro-kernel computes for a column panel holding cols of them
// (cols <= NR): NR, or NR/2 where a half-width kernel takes panels of at most NR/2 columns.
func PanelCols(cols int) int {
	if cols <= NR/2 && halfPanels() {
		return NR / 2
	}
	return NR
}

// Direct reports whether the selected micro-kernel reads B in place (MulDirect) as fast as packed.
func Direct() bool { return cur.direct }

// MulDirect is MulPacked with B read in place instead of from a packed block: B(p, j) = b[p*ldb+j]
// for p < kc, j < n (the rows of a 1×1 convolution's input, say). Only columns [0, n) of each row are
// read. It needs a micro-kernel that reads B in place (Direct).
func MulDirect(pa *PackedA, i0, i1, pc, kc int, b []float32, ldb, n int, c []float32, ldc int, ep Epilogue) {
	if !cur.full {
		panic("f32: MulDirect with a micro-kernel that needs packed B")
	}
	// (A full kernel that is not Direct still computes it; callers check Direct for speed.)
	if ldb < n {
		panic("f32: MulDirect row stride shorter than the row")
	}
	mulBlock(pa, i0, i1, pc, kc, b, ldb, n, c, ldc, ep)
}

// mulBlock is MulPacked (ldb == 0: b is a packed block) or MulDirect (b read in place, rows ldb apart).
func mulBlock(pa *PackedA, i0, i1, pc, kc int, b []float32, ldb, n int, c []float32, ldc int, ep Epilogue) {
	im := cur
	if pa.MR != im.MR {
		panic("f32: MulPacked on A packed for another micro-kernel")
	}
	if i0%im.MR != 0 {
		panic("f32: MulPacked row start not a multiple of MR")
	}
	mp := RoundUp(pa.M, im.MR)
	blk := pa.Data[pc*mp:]
	t := newTiler(im, kc, b, ldb, n, c, ldc, ep, i0)
	// BLIS loop order: blocks of MC rows (an MC×kc slice of A, ~128 KiB, stays in L2), then column
	// panels (one kc×NR panel of B, 32 KiB at KC=256 and NR=32, stays in L1), then row panels, whose
	// smaller MR×kc slices of A stream from L2.
	for ic := i0; ic < i1; ic += MC {
		for jp := 0; jp < n; jp += im.NR {
			t.panels(blk, 0, ic, min(ic+MC, i1), jp)
		}
	}
}

// tiler runs the micro-kernel over the tiles of one C block; it carries what every tile shares.
type tiler struct {
	im      *Impl
	kc      int
	b       []float32
	ldb     int // 0: b is packed (panel jp at b[jp*kc:], rows NR apart)
	n       int
	c       []float32
	ldc     int
	i0      int
	ep      Epilogue
	flags   int
	tmp     [maxTile]float32
	tbias   [maxMR]float32
	tcopies bool // the kernel needs full tiles and packed B: edge tiles and Add go through tmp
}

func newTiler(im *Impl, kc int, b []float32, ldb, n int, c []float32, ldc int, ep Epilogue, i0 int) *tiler {
	t := &tiler{im: im, kc: kc, b: b, ldb: ldb, n: n, c: c, ldc: ldc, i0: i0, ep: ep, tcopies: !im.full}
	t.flags = epFlags(ep)
	return t
}

// panels runs the micro-kernel down rows [i1, i2) for column panel jp; blk holds A's packed panels
// from row a0 on.
func (t *tiler) panels(blk []float32, a0, i1, i2, jp int) {
	im, kc, ep := t.im, t.kc, &t.ep
	mr, nr := im.MR, im.NR
	var bpan []float32
	ldb := t.ldb
	if ldb == 0 {
		bpan, ldb = t.b[jp*kc:jp*kc+nr*kc], nr
	} else {
		bpan = t.b[jp:]
	}
	cols := min(nr, t.n-jp)
	if !t.tcopies {
		// One call runs every row panel of the column panel (see tileArgs).
		var z, bias []float32
		if ep.Add != nil {
			z = ep.Add[(i1-t.i0)*t.ldc+jp:]
		}
		if ep.Bias != nil {
			bias = ep.Bias[i1:i2]
		}
		runKernel(im, &tileArgs{k: kc, a: blk[(i1-a0)*kc:], b: bpan, ldb: ldb, c: t.c[(i1-t.i0)*t.ldc+jp:], ldc: t.ldc,
			bias: bias, z: z, flags: t.flags, rows: i2 - i1, cols: cols, lo: ep.Lo, hi: ep.Hi})
		return
	}
	for ip := i1; ip < i2; ip += mr {
		ap := blk[(ip-a0)*kc : (ip-a0)*kc+mr*kc]
		rows := min(mr, i2-ip)
		crow := t.c[(ip-t.i0)*t.ldc+jp:]
		var z []float32
		if ep.Add != nil {
			z = ep.Add[(ip-t.i0)*t.ldc+jp:]
		}
		var bias []float32
		if ep.Bias != nil {
			if rows == mr {
				bias = ep.Bias[ip : ip+mr]
			} else {
				// The kernel reads MR biases; pad the last panel's.
				copy(t.tbias[:], ep.Bias[ip:ip+rows])
				bias = t.tbias[:mr]
			}
		}
		if rows == mr && cols == nr && z == nil {
			runKernel(im, &tileArgs{k: kc, a: ap, b: bpan, ldb: ldb, c: crow, ldc: t.ldc, bias: bias,
				flags: t.flags, rows: rows, cols: cols, lo: ep.Lo, hi: ep.Hi})
			continue
		}
		// A kernel without edge masks: run the full register tile on a stack copy of the valid part
		// of C (+ Z), letting the kernel apply +C and the clamp itself, and copy the valid part back.
		tmp := t.tmp[:mr*nr]
		flags := t.flags &^ flagAdd
		if ep.Acc || z != nil {
			clear(tmp)
			for r := 0; r < rows; r++ {
				d := tmp[r*nr : r*nr+cols]
				if ep.Acc {
					copy(d, crow[r*t.ldc:r*t.ldc+cols])
				}
				if z != nil {
					for j, v := range z[r*t.ldc : r*t.ldc+cols] {
						d[j] += v
					}
				}
			}
			flags |= flagAcc
		}
		runKernel(im, &tileArgs{k: kc, a: ap, b: bpan, ldb: nr, c: tmp, ldc: nr, bias: bias,
			flags: flags, rows: mr, cols: nr, lo: ep.Lo, hi: ep.Hi})
		for r := 0; r < rows; r++ {
			copy(crow[r*t.ldc:r*t.ldc+cols], tmp[r*nr:r*nr+cols])
		}
	}
}

// tileArgs is one micro-kernel call: for each MR-row panel of a (ceil(rows/MR) packed MR×k panels, one
// after the other), T = A·B over k steps, where b holds k rows of B ldb floats apart (NR-wide, or read
// in place by a full kernel); then the epilogue flags (bias, +C, +Z, clamp, in that order), and T's
// rows (of the first rows) and columns [0, cols) are stored into c (row stride ldc), each panel MR rows
// below the last; z, when flagAdd is set, has c's layout, and bias holds one value per row. Kernels
// without the full contract (Impl.full) are only called for one full tile (rows == MR, cols == NR,
// ldb == NR, bias of MR values) without flagAdd.
type tileArgs struct {
	k          int
	a, b       []float32
	ldb        int
	c          []float32
	ldc        int
	bias, z    []float32
	flags      int
	rows, cols int
	lo, hi     float32
}

// epFlags is the micro-kernel flag word for ep.
func epFlags(ep Epilogue) int {
	flags := 0
	if ep.Acc {
		flags |= flagAcc
	}
	if ep.Bias != nil {
		flags |= flagBias
	}
	if ep.Clamp {
		flags |= flagClamp
	}
	if ep.Add != nil {
		flags |= flagAdd
	}
	return flags
}

// tileChecks panics unless every element the kernel call t can touch lies inside its slices, so the
// assembly never runs past one.
func tileChecks(mr, nr int, t *tileArgs) {
	rows, cols := t.rows, t.cols
	panels := (rows + mr - 1) / mr
	if rows < 1 || cols < 1 || cols > nr || t.ldc < cols || t.ldb < cols ||
		len(t.a) < panels*t.k*mr || (t.k > 0 && len(t.b) < (t.k-1)*t.ldb+cols) || len(t.c) < (rows-1)*t.ldc+cols ||
		(t.flags&flagBias != 0 && len(t.bias) < rows) || (t.flags&flagAdd != 0 && len(t.z) < (rows-1)*t.ldc+cols) {
		panic("f32: micro-kernel operand too short")
	}
}

// maxMR and maxTile bound the register tiles of every Impl (for stack buffers).
const (
	maxMR   = 16
	maxTile = 16 * 32
)
