package imageio

import (
	"context"
	"errors"
	"unsafe"
)

// A streaming decoder of lossless WebP (VP8L, "WebP Lossless Bitstream Specification"). The
// entropy-coded pixels are kept only as far back as an LZ77 reference can reach (about a
// million pixels, 4 MiB), each completed row goes through the inverse transforms (predictor,
// cross-colour, subtract-green, colour indexing; the predictor keeps one row) into the sink, and
// the Huffman codes are compact tables built once per code. Pixels equal golang.org/x/image/vp8l's
// (TestWebPMatchesXImage, and libwebp's through the Pillow goldens), but for predictor modes 14
// and 15, which libwebp and the specification treat as mode 0 and x/image ignores.

var errVP8L = errors.New("vp8l: invalid bitstream")

// vp8lBits reads VP8L's LSB-first bit stream.
type vp8lBits struct {
	data []byte
	pos  int
	acc  uint64
	n    uint
}

func (b *vp8lBits) fill() {
	for b.n <= 56 && b.pos < len(b.data) {
		b.acc |= uint64(b.data[b.pos]) << b.n
		b.pos++
		b.n += 8
	}
}

func (b *vp8lBits) read(n uint) (uint32, error) {
	if b.n < n {
		b.fill()
		if b.n < n {
			return 0, errShortVP8L
		}
	}
	v := uint32(b.acc & (1<<n - 1))
	b.acc >>= n
	b.n -= n
	return v, nil
}

var errShortVP8L = errors.New("vp8l: unexpected EOF")

// vp8lCode is a canonical Huffman code: single >= 0 for a code of one symbol (read with no
// bits), else an 8-bit lookup (entry symbol<<4 | length) for codes up to 8 bits and the counts
// and ordered symbols for longer ones.
type vp8lCode struct {
	single  int32
	fast    [256]uint16
	count   [16]uint16
	symbols []uint16
}

// build makes c from code lengths; a code must be complete unless it has one symbol (libwebp).
func (c *vp8lCode) build(lens []uint8) bool {
	c.count = [16]uint16{}
	used, last := 0, 0
	for s, l := range lens {
		if l != 0 {
			c.count[l]++
			used, last = used+1, s
		}
	}
	c.single = -1
	if used == 0 {
		return false
	}
	if used == 1 {
		c.single = int32(last)
		return true
	}
	left := 1
	for l := 1; l < 16; l++ {
		if left = left<<1 - int(c.count[l]); left < 0 {
			return false
		}
	}
	if left != 0 {
		return false
	}
	var offs, next [16]int
	code := 0
	for l := 1; l < 16; l++ {
		next[l] = code
		code = (code + int(c.count[l])) << 1
		if l < 15 {
			offs[l+1] = offs[l] + int(c.count[l])
		}
	}
	c.symbols = make([]uint16, used)
	c.fast = [256]uint16{}
	for s, l := range lens {
		if l == 0 {
			continue
		}
		c.symbols[offs[l]] = uint16(s)
		offs[l]++
		if code := next[l]; l <= 8 {
			r := 0
			for i := 0; i < int(l); i++ {
				r |= (code >> i & 1) << (int(l) - 1 - i)
			}
			for i := r; i < 256; i += 1 << l {
				c.fast[i] = uint16(s)<<4 | uint16(l)
			}
		}
		next[l]++
	}
	return true
}

// sym decodes one symbol of c (small enough to inline the common cases).
func (b *vp8lBits) sym(c *vp8lCode) (int, error) {
	if c.single >= 0 {
		return int(c.single), nil
	}
	return b.symSlow(c)
}

func (b *vp8lBits) symSlow(c *vp8lCode) (int, error) {
	if b.n < 15 {
		b.fill()
	}
	if e := c.fast[b.acc&255]; e != 0 && uint(e&15) <= b.n {
		b.acc >>= e & 15
		b.n -= uint(e & 15)
		return int(e >> 4), nil
	}
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		bit, err := b.read(1)
		if err != nil {
			return 0, err
		}
		code |= int(bit)
		count := int(c.count[l])
		if code-count < first {
			return int(c.symbols[index+code-first]), nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, errVP8L
}

var clOrder19 = [19]uint8{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// vp8lDecoder holds the bit reader and scratch shared by the image and its sub-images.
type vp8lDecoder struct {
	b     vp8lBits
	lens  [280 + 2048]uint8 // code lengths of the largest alphabet
	ctx   context.Context
	stats *vp8lStats // set for a pre-parse
}

// vp8lStats is what a pre-parse of a VP8L bitstream (its transforms, meta image and codes, not
// its pixels) learns for the cost model.
type vp8lStats struct {
	width       int   // the main image's (packed) width
	subBytes    int64 // sub-images and their colour caches
	groups      int
	cache       int // main image colour cache entries
	symbolBytes int64
}

// vp8lPreparseBytes caps what a pre-parse may allocate (sub-images); past it the cost model
// falls back to the header's bound.
const vp8lPreparseBytes = 4 << 20

var errVP8LPreparse = errors.New("vp8l: sub-images too large to pre-parse")

// readCode reads one prefix code over alphabet symbols.
func (d *vp8lDecoder) readCode(c *vp8lCode, alphabet int) error {
	lens := d.lens[:alphabet]
	clear(lens)
	simple, err := d.b.read(1)
	if err != nil {
		return err
	}
	if simple == 1 {
		n, err := d.b.read(1)
		if err != nil {
			return err
		}
		first, err := d.b.read(1)
		if err != nil {
			return err
		}
		s0, err := d.b.read(1 + 7*uint(first))
		if err != nil {
			return err
		}
		if int(s0) >= alphabet {
			return errVP8L
		}
		lens[s0] = 1
		if n == 1 {
			s1, err := d.b.read(8)
			if err != nil {
				return err
			}
			if int(s1) >= alphabet {
				return errVP8L
			}
			lens[s1] = 1
		}
		if !c.build(lens) {
			return errVP8L
		}
		return nil
	}
	nc, err := d.b.read(4)
	if err != nil {
		return err
	}
	var cl [19]uint8
	for i := range int(nc) + 4 {
		v, err := d.b.read(3)
		if err != nil {
			return err
		}
		cl[clOrder19[i]] = uint8(v)
	}
	var clc vp8lCode
	if !clc.build(cl[:]) {
		return errVP8L
	}
	max := alphabet
	if use, err := d.b.read(1); err != nil {
		return err
	} else if use == 1 {
		nb, err := d.b.read(3)
		if err != nil {
			return err
		}
		m, err := d.b.read(2 + 2*uint(nb))
		if err != nil {
			return err
		}
		if max = int(m) + 2; max > alphabet {
			return errVP8L
		}
	}
	prev := uint8(8)
	for s := 0; s < alphabet && max > 0; max-- {
		v, err := d.b.sym(&clc)
		if err != nil {
			return err
		}
		if v < 16 {
			lens[s] = uint8(v)
			s++
			if v != 0 {
				prev = uint8(v)
			}
			continue
		}
		extra, base, val := [3]uint{2, 3, 7}[v-16], [3]int{3, 3, 11}[v-16], uint8(0)
		if v == 16 {
			val = prev
		}
		r, err := d.b.read(extra)
		if err != nil {
			return err
		}
		n := int(r) + base
		if s+n > alphabet {
			return errVP8L
		}
		for ; n > 0; n-- {
			lens[s] = val
			s++
		}
	}
	if !c.build(lens) {
		return errVP8L
	}
	return nil
}

// vp8lGroup is the five codes of one Huffman group: green (+ lengths + cache), red, blue, alpha,
// distance.
type vp8lGroup [5]vp8lCode

// Memory bounds for the cost model.
const (
	vp8lMaxGroups      = 2600 // libwebp's MAX_HUFF_IMAGE_SIZE
	vp8lGroupSize      = int64(unsafe.Sizeof(vp8lGroup{}))
	vp8lMaxSymbolBytes = (280 + 2048 + 3*256 + 40) * 2
	vp8lMaxDistance    = 1048576 - 120 // the largest distance code, past the 120 short ones
)

// vp8lImage is a decoded entropy-coded image: its pixels (ARGB), or for the main image a ring
// of the last ones.
type vp8lImage struct {
	w, h int
	pix  []uint32
}

var vp8lDistances = [120]uint8{
	0x18, 0x07, 0x17, 0x19, 0x28, 0x06, 0x27, 0x29, 0x16, 0x1a,
	0x26, 0x2a, 0x38, 0x05, 0x37, 0x39, 0x15, 0x1b, 0x36, 0x3a,
	0x25, 0x2b, 0x48, 0x04, 0x47, 0x49, 0x14, 0x1c, 0x35, 0x3b,
	0x46, 0x4a, 0x24, 0x2c, 0x58, 0x45, 0x4b, 0x34, 0x3c, 0x03,
	0x57, 0x59, 0x13, 0x1d, 0x56, 0x5a, 0x23, 0x2d, 0x44, 0x4c,
	0x55, 0x5b, 0x33, 0x3d, 0x68, 0x02, 0x67, 0x69, 0x12, 0x1e,
	0x66, 0x6a, 0x22, 0x2e, 0x54, 0x5c, 0x43, 0x4d, 0x65, 0x6b,
	0x32, 0x3e, 0x78, 0x01, 0x77, 0x79, 0x53, 0x5d, 0x11, 0x1f,
	0x64, 0x6c, 0x42, 0x4e, 0x76, 0x7a, 0x21, 0x2f, 0x75, 0x7b,
	0x31, 0x3f, 0x63, 0x6d, 0x52, 0x5e, 0x00, 0x74, 0x7c, 0x41,
	0x4f, 0x10, 0x20, 0x62, 0x6e, 0x30, 0x73, 0x7d, 0x51, 0x5f,
	0x40, 0x72, 0x7e, 0x61, 0x6f, 0x50, 0x71, 0x7f, 0x60, 0x70,
}

// prefixValue decodes an LZ77 length or distance prefix symbol and its extra bits.
func (d *vp8lDecoder) prefixValue(sym int) (int, error) {
	if sym < 4 {
		return sym + 1, nil
	}
	extra := uint(sym-2) >> 1
	v, err := d.b.read(extra)
	if err != nil {
		return 0, err
	}
	return (2+sym&1)<<extra + int(v) + 1, nil
}

func nTiles(size, bits int) int { return (size + 1<<bits - 1) >> bits }

// decodeImage decodes a w×h entropy-coded image. The main image (level0) may use a meta Huffman
// image, and hands each completed row to row (its pixels are then kept only in a ring as far as
// LZ77 can reach); sub-images are returned whole.
func (d *vp8lDecoder) decodeImage(w, h int, level0 bool, row func(y int, px []uint32)) ([]uint32, error) {
	var cache []uint32
	cacheShift := uint(0)
	if use, err := d.b.read(1); err != nil {
		return nil, err
	} else if use == 1 {
		bits, err := d.b.read(4)
		if err != nil {
			return nil, err
		}
		if bits < 1 || bits > 11 {
			return nil, errVP8L
		}
		cache, cacheShift = make([]uint32, 1<<bits), 32-uint(bits)
	}
	var meta []uint32
	metaBits, tilesW := 0, 0
	nGroups := 1
	if level0 {
		if use, err := d.b.read(1); err != nil {
			return nil, err
		} else if use == 1 {
			b, err := d.b.read(3)
			if err != nil {
				return nil, err
			}
			metaBits, tilesW = int(b)+2, nTiles(w, int(b)+2)
			if meta, err = d.decodeImage(tilesW, nTiles(h, metaBits), false, nil); err != nil {
				return nil, err
			}
			// Groups are numbered by the meta image's red and green bytes; renumber the ones in
			// use densely (libwebp refuses more than 2600 of them).
			maxIdx := uint32(0)
			for _, p := range meta {
				maxIdx = max(maxIdx, p>>8&0xffff)
			}
			if maxIdx >= vp8lMaxGroups {
				remap := make([]int32, maxIdx+1)
				if d.stats != nil {
					d.stats.subBytes += heapBytes(int64(len(remap)) * 4)
				}
				nGroups = 0
				for i, p := range meta {
					g := p >> 8 & 0xffff
					if remap[g] == 0 {
						nGroups++
						remap[g] = int32(nGroups)
					}
					meta[i] = uint32(remap[g] - 1)
				}
			} else {
				for i, p := range meta {
					meta[i] = p >> 8 & 0xffff
				}
				nGroups = int(maxIdx) + 1
			}
			if nGroups > vp8lMaxGroups {
				return nil, errors.New("vp8l: too many Huffman groups")
			}
		}
	}
	if d.stats != nil && level0 {
		// Pre-parse: count what the groups will hold, then stop before the pixels.
		var c vp8lCode
		for range nGroups {
			for _, a := range [5]int{256 + 24 + len(cache), 256, 256, 256, 40} {
				if err := d.readCode(&c, a); err != nil {
					return nil, err
				}
				if c.single < 0 {
					d.stats.symbolBytes += heapBytes(int64(len(c.symbols)) * 2)
				}
			}
		}
		d.stats.groups, d.stats.width, d.stats.cache = nGroups, w, len(cache)
		return nil, nil
	}
	if d.stats != nil {
		d.stats.subBytes += heapBytes(int64(w*h)*4) + heapBytes(int64(len(cache))*4)
		if d.stats.subBytes > vp8lPreparseBytes {
			return nil, errVP8LPreparse
		}
	}
	groups := make([]vp8lGroup, nGroups)
	for i := range groups {
		for j, a := range [5]int{256 + 24 + len(cache), 256, 256, 256, 40} {
			if err := d.readCode(&groups[i][j], a); err != nil {
				return nil, err
			}
			if d.stats != nil && groups[i][j].single < 0 {
				d.stats.subBytes += heapBytes(int64(len(groups[i][j].symbols)) * 2)
			}
		}
	}
	if d.stats != nil {
		d.stats.subBytes += heapBytes(int64(nGroups) * vp8lGroupSize)
	}
	total := w * h
	ringLen := total
	if row != nil {
		// LZ77 reaches back at most vp8lMaxDistance pixels (or 7 rows and 8 pixels); a row is
		// handed on once the symbol that completed it is done (at most 4096 pixels later).
		ringLen = min(total, max(vp8lMaxDistance, 7*w+8)+w+4096+1)
	}
	pix := make([]uint32, ringLen)
	rowBuf := []uint32(nil)
	if row != nil {
		rowBuf = make([]uint32, w)
	}
	g := &groups[0]
	x, y, pos, done := 0, 0, 0, 0
	wp := 0 // pos % ringLen
	put := func(argb uint32) {
		pix[wp] = argb
		if wp++; wp == ringLen {
			wp = 0
		}
		if cache != nil {
			cache[(argb*0x1e35a7bd)>>cacheShift] = argb
		}
		pos++
		if x++; x == w {
			x, y = 0, y+1
		}
	}
	lookup := meta != nil
	for pos < total {
		if lookup { // the group of the current position (tiles change along a row and after copies)
			g = &groups[meta[(y>>metaBits)*tilesW+x>>metaBits]]
		}
		s, err := d.b.sym(&g[0])
		if err != nil {
			return nil, err
		}
		switch {
		case s < 256:
			r, err := d.b.sym(&g[1])
			if err != nil {
				return nil, err
			}
			b, err := d.b.sym(&g[2])
			if err != nil {
				return nil, err
			}
			a, err := d.b.sym(&g[3])
			if err != nil {
				return nil, err
			}
			put(uint32(a)<<24 | uint32(r)<<16 | uint32(s)<<8 | uint32(b))
		case s < 280:
			length, err := d.prefixValue(s - 256)
			if err != nil {
				return nil, err
			}
			ds, err := d.b.sym(&g[4])
			if err != nil {
				return nil, err
			}
			dc, err := d.prefixValue(ds)
			if err != nil {
				return nil, err
			}
			dist := dc - 120
			if dc <= 120 {
				m := int(vp8lDistances[dc-1]) // dy<<4 | (8-dx)
				dy, dx := m>>4, 8-m&15
				dist = max(dy*w+dx, 1)
			}
			if dist > pos || pos+length > total {
				return nil, errors.New("vp8l: invalid LZ77 parameters")
			}
			src := (pos - dist) % ringLen
			for range length {
				put(pix[src])
				if src++; src == ringLen {
					src = 0
				}
			}
		default:
			i := s - 280
			if i >= len(cache) {
				return nil, errors.New("vp8l: invalid color cache index")
			}
			put(cache[i])
		}
		for row != nil && done < y {
			start := (done * w) % ringLen
			n := copy(rowBuf, pix[start:])
			copy(rowBuf[n:], pix)
			row(done, rowBuf)
			if done++; done&63 == 0 {
				if err := d.ctx.Err(); err != nil {
					return nil, err
				}
			}
		}
	}
	if row != nil {
		return nil, nil
	}
	return pix, nil
}
