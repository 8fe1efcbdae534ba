package imageio

// resizer runs Pillow's two resampling passes with memory bounded by the output: each source row
// the vertical filter reads is resampled horizontally as it arrives (rounded to uint8, as Pillow
// rounds between passes) and added, times its weight, into the int32 accumulators of the output
// rows that read it. Integer sums do not depend on their order, so rows may arrive in any order
// (bottom-up BMPs, flipped orientations) and the result is bit-identical to Pillow's, which keeps a
// whole horizontally-resampled copy of the source instead.
//
// Coordinates are those of the oriented image (after EXIF orientation); the sinks below map the
// stored rows a decoder produces onto them.
type resizer struct {
	h, v   axis
	x0, x1 int     // source columns any output reads
	w, ht  int     // output window
	acc    []int32 // ht rows of w*3 accumulators
	hrow   []uint8 // one source row after the horizontal pass
}

// init prepares the resize of a srcW×srcH image to rw×rh, of which the w×ht window at
// (left, top) is kept.
func (r *resizer) init(srcW, srcH, rw, rh, left, top, w, ht int, antialias bool) {
	r.h.prepare(srcW, rw, left, w, antialias)
	r.v.prepare(srcH, rh, top, ht, antialias)
	r.x0, r.x1 = r.h.span()
	r.w, r.ht = w, ht
	r.acc = grow(r.acc, ht*w*3)
	for i := range r.acc {
		r.acc[i] = 1 << (precisionBits - 1) // Pillow's rounding term
	}
	r.hrow = grow(r.hrow, w*3)
}

// resizerBytes is what init allocates (see init and axisBytes).
func resizerBytes(srcW, srcH, rw, rh, w, ht int, antialias bool) int64 {
	return axisBytes(srcW, rw, w, antialias) + axisBytes(srcH, rh, ht, antialias) +
		heapBytes(int64(ht)*int64(w)*3*4) + heapBytes(int64(w)*3)
}

// needs reports whether any output reads source row y.
func (r *resizer) needs(y int) bool {
	lo, hi := r.v.readers(y)
	return lo < hi
}

// push adds source row y into the outputs that read it; row holds columns x0 .. x1-1.
func (r *resizer) push(y int, row []uint8) {
	lo, hi := r.v.readers(y)
	if lo == hi {
		return
	}
	resampleRow(row, r.x0, &r.h, r.hrow)
	stride := r.w * 3
	for i := lo; i < hi; i++ {
		c := r.v.coef(i, y-int(r.v.start[i]))
		if c == 0 {
			continue
		}
		acc := r.acc[i*stride : (i+1)*stride]
		for x, p := range r.hrow[:len(acc)] {
			acc[x] += int32(p) * c
		}
	}
}

// pushImage feeds every row of img that an output reads.
func (r *resizer) pushImage(img *RGB) {
	lo, hi := r.v.span()
	for y := lo; y < hi; y++ {
		base := y * img.W * 3
		r.push(y, img.Pix[base+r.x0*3:base+r.x1*3])
	}
}

// outRow writes output row i (w RGB pixels) once every source row has been pushed.
func (r *resizer) outRow(i int, dst []uint8) {
	acc := r.acc[i*r.w*3 : (i+1)*r.w*3]
	for x, v := range acc {
		dst[x] = clip8(v)
	}
}

// rowSink receives a decoded image one stored row (3*width bytes of RGB) at a time, each row
// once, in any order. Decoders ask for a row's buffer, fill it and commit it.
type rowSink interface {
	// rows is the range of stored rows the sink uses; a decoder that must hold rows (Adam7)
	// holds only these.
	rows() (lo, hi int)
	// row returns the buffer for stored row y, or nil when the sink does not use it (the
	// decoder may then skip converting it).
	row(y int) []uint8
	// commit takes the buffer of row y once it is filled.
	commit(y int)
	// next is the first stored row at or after y that the sink uses (-1: none), so a decoder may
	// run through the rows before it without asking for each.
	next(y int) int
}

// rows: a sink that builds the whole image uses all of them.
func (s *sink) rows() (lo, hi int) { return 0, s.h }

func (s *sink) next(y int) int { return y }

// streamSink feeds a resizer directly from a decoder, for orientations 1-4 (which keep rows
// rows): nothing of the source is held but the row being decoded.
type streamSink struct {
	rz     *resizer
	w, h   int // stored size
	orient int
	buf    []uint8
}

func newStreamSink(rz *resizer, w, h, orient int) *streamSink {
	return &streamSink{rz: rz, w: w, h: h, orient: orient, buf: make([]uint8, w*3)}
}

// oriented maps stored row y to its row after orientation 3 or 4 (180° / vertical flip).
func (s *streamSink) oriented(y int) int {
	if s.orient == 3 || s.orient == 4 {
		return s.h - 1 - y
	}
	return y
}

func (s *streamSink) rows() (lo, hi int) {
	lo, hi = s.rz.v.span()
	if s.orient == 3 || s.orient == 4 {
		lo, hi = s.h-hi, s.h-lo
	}
	return lo, hi
}

func (s *streamSink) next(y int) int {
	if s.orient == 3 || s.orient == 4 { // stored rows run bottom-up in the oriented image
		o := s.rz.v.prevRead(s.h - 1 - y)
		if o < 0 {
			return -1
		}
		return s.h - 1 - o
	}
	return s.rz.v.nextRead(y)
}

func (s *streamSink) row(y int) []uint8 {
	if !s.rz.needs(s.oriented(y)) {
		return nil
	}
	return s.buf
}

func (s *streamSink) commit(y int) {
	if s.orient == 2 || s.orient == 3 { // horizontal mirror
		b := s.buf
		for i, j := 0, len(b)-3; i < j; i, j = i+3, j-3 {
			b[i], b[i+1], b[i+2], b[j], b[j+1], b[j+2] = b[j], b[j+1], b[j+2], b[i], b[i+1], b[i+2]
		}
	}
	s.rz.push(s.oriented(y), s.buf[s.rz.x0*3:s.rz.x1*3])
}

// boxSink serves the transposing orientations 5-8, where an output row needs a column of the
// stored image: it keeps the stored rectangle the resize reads (all of it for a plain resize, the
// part under the window for a crop) and feeds the resizer once the image is complete.
type boxSink struct {
	rz       *resizer
	w, h     int // stored size
	orient   int
	sx0, sx1 int // stored columns kept
	sy0, sy1 int // stored rows kept
	box      []uint8
	buf      []uint8 // one stored row
	orow     []uint8 // one oriented row, columns x0..x1
}

// boxSpan maps the oriented rows [y0, y1) and columns [x0, x1) of a w×h stored image under a
// transposing orientation to the stored columns and rows they come from.
func boxSpan(w, h, orient, x0, x1, y0, y1 int) (sx0, sx1, sy0, sy1 int) {
	// Oriented row Y is stored column Y (5, 6) or w-1-Y (7, 8); oriented column X is stored row
	// X (5, 8) or h-1-X (6, 7); see sink.commit.
	sx0, sx1 = y0, y1
	if orient == 7 || orient == 8 {
		sx0, sx1 = w-y1, w-y0
	}
	sy0, sy1 = x0, x1
	if orient == 6 || orient == 7 {
		sy0, sy1 = h-x1, h-x0
	}
	return
}

func newBoxSink(rz *resizer, w, h, orient int) *boxSink {
	s := &boxSink{rz: rz, w: w, h: h, orient: orient}
	y0, y1 := rz.v.span()
	s.sx0, s.sx1, s.sy0, s.sy1 = boxSpan(w, h, orient, rz.x0, rz.x1, y0, y1)
	s.box = make([]uint8, (s.sx1-s.sx0)*(s.sy1-s.sy0)*3)
	s.buf = make([]uint8, w*3)
	s.orow = make([]uint8, (rz.x1-rz.x0)*3)
	return s
}

// boxSinkBytes is what newBoxSink allocates for a w×h stored image.
func boxSinkBytes(w, h, orient, x0, x1, y0, y1 int) int64 {
	sx0, sx1, sy0, sy1 := boxSpan(w, h, orient, x0, x1, y0, y1)
	return heapBytes(int64(sx1-sx0)*int64(sy1-sy0)*3) + heapBytes(int64(w)*3) + heapBytes(int64(x1-x0)*3)
}

func (s *boxSink) rows() (lo, hi int) { return s.sy0, s.sy1 }

func (s *boxSink) next(y int) int {
	switch {
	case y < s.sy0:
		return s.sy0
	case y < s.sy1:
		return y
	}
	return -1
}

func (s *boxSink) row(y int) []uint8 {
	if y < s.sy0 || y >= s.sy1 {
		return nil
	}
	return s.buf
}

func (s *boxSink) commit(y int) {
	bw := (s.sx1 - s.sx0) * 3
	copy(s.box[(y-s.sy0)*bw:(y-s.sy0+1)*bw], s.buf[s.sx0*3:s.sx1*3])
}

// finish builds each oriented row the resize reads from the kept rectangle and pushes it.
func (s *boxSink) finish() {
	rz := s.rz
	bw := (s.sx1 - s.sx0) * 3
	y0, y1 := rz.v.span()
	for Y := y0; Y < y1; Y++ {
		if !rz.needs(Y) {
			continue
		}
		sx := Y
		if s.orient == 7 || s.orient == 8 {
			sx = s.w - 1 - Y
		}
		col := (sx - s.sx0) * 3
		for X := rz.x0; X < rz.x1; X++ {
			sy := X
			if s.orient == 6 || s.orient == 7 {
				sy = s.h - 1 - X
			}
			src := s.box[(sy-s.sy0)*bw+col:]
			d := s.orow[(X-rz.x0)*3:]
			d[0], d[1], d[2] = src[0], src[1], src[2]
		}
		rz.push(Y, s.orow)
	}
}

// resizePlan is what a resize reads and allocates, computed without preparing it.
type resizePlan struct {
	x0, x1, y0, y1 int // source columns and rows the outputs read
	bytes          int64
}

// plan is the resize of a w×h (oriented) source under p (normalized).
func (p Preprocess) plan(w, h int) resizePlan {
	rw, rh, left, top := p.Geometry(w, h)
	aa := p.Filter == "antialias"
	var g resizePlan
	g.x0, g.x1 = axisSpan(w, rw, left, p.Width, aa)
	g.y0, g.y1 = axisSpan(h, rh, top, p.Height, aa)
	g.bytes = resizerBytes(w, h, rw, rh, p.Width, p.Height, aa)
	return g
}
