package imageio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A row-streaming PNG decoder: rows are inflated, unfiltered and converted to RGB one at a time
// into a rowSink, so a non-interlaced PNG costs two rows of filter state whatever its height.
// Adam7 images hold the sink's rows (as RGB, 3 bytes a pixel whatever the bit depth) until the
// last pass. Chunk order, CRCs, the zlib checksum and trailing data are checked as Go's
// image/png checks them, and the pixels are those image/png + convert("RGB") give (16-bit
// samples keep their high byte; alpha and tRNS are dropped; palette indices past the palette
// are black), which TestPNGMatchesImagePNG verifies over every colour type and depth.

// pngInfo is what IHDR (and PLTE) declare.
type pngInfo struct {
	w, h       int
	depth      int
	ctype      int
	interlaced bool
	palette    [256][3]uint8
	bpp        int // bits per pixel
}

const (
	pngGray      = 0
	pngTrue      = 2
	pngPaletted  = 3
	pngGrayAlpha = 4
	pngTrueAlpha = 6
)

type pngFormatError string

func (e pngFormatError) Error() string { return "png: invalid format: " + string(e) }

// pngChunks walks the chunks of a PNG held in memory.
type pngChunks struct {
	data []byte
	pos  int
}

// next returns the next chunk's type and data after checking its CRC.
func (c *pngChunks) next() (typ string, body []byte, err error) {
	if len(c.data)-c.pos < 8 {
		return "", nil, io.ErrUnexpectedEOF
	}
	n := binary.BigEndian.Uint32(c.data[c.pos:])
	if n > 0x7fffffff {
		return "", nil, pngFormatError(fmt.Sprintf("bad chunk length: %d", n))
	}
	end := int64(c.pos) + 12 + int64(n)
	if end > int64(len(c.data)) {
		return "", nil, io.ErrUnexpectedEOF
	}
	typ = string(c.data[c.pos+4 : c.pos+8])
	body = c.data[c.pos+8 : c.pos+8+int(n)]
	if crc32.ChecksumIEEE(c.data[c.pos+4:c.pos+8+int(n)]) != binary.BigEndian.Uint32(c.data[end-4:]) {
		return "", nil, pngFormatError("invalid checksum")
	}
	c.pos = int(end)
	return typ, body, nil
}

// parseIHDR validates an IHDR body as image/png does.
func (p *pngInfo) parseIHDR(b []byte) error {
	if len(b) != 13 {
		return pngFormatError("bad IHDR length")
	}
	if b[10] != 0 {
		return errors.New("png: unsupported feature: compression method")
	}
	if b[11] != 0 {
		return errors.New("png: unsupported feature: filter method")
	}
	if b[12] > 1 {
		return pngFormatError("invalid interlace method")
	}
	p.interlaced = b[12] == 1
	w, h := int32(binary.BigEndian.Uint32(b[0:])), int32(binary.BigEndian.Uint32(b[4:]))
	if w <= 0 || h <= 0 {
		return pngFormatError("non-positive dimension")
	}
	p.w, p.h = int(w), int(h)
	p.depth, p.ctype = int(b[8]), int(b[9])
	channels := map[int]int{pngGray: 1, pngTrue: 3, pngPaletted: 1, pngGrayAlpha: 2, pngTrueAlpha: 4}[p.ctype]
	ok := false
	switch p.depth {
	case 1, 2, 4:
		ok = p.ctype == pngGray || p.ctype == pngPaletted
	case 8:
		ok = channels > 0
	case 16:
		ok = channels > 0 && p.ctype != pngPaletted
	}
	if !ok {
		return fmt.Errorf("png: unsupported feature: bit depth %d, color type %d", b[8], b[9])
	}
	p.bpp = channels * p.depth
	return nil
}

// parsePNGHeader reads IHDR, as image/png's DecodeConfig does.
func parsePNGHeader(data []byte) (pngInfo, error) {
	var p pngInfo
	if len(data) < 8 || string(data[:8]) != "\x89PNG\r\n\x1a\n" {
		return p, pngFormatError("not a PNG file")
	}
	c := pngChunks{data: data, pos: 8}
	for {
		typ, body, err := c.next()
		if err != nil {
			return p, err
		}
		switch typ {
		case "IHDR":
			return p, p.parseIHDR(body)
		case "PLTE", "tRNS", "IDAT", "IEND":
			return p, pngFormatError("chunk out of order")
		}
	}
}

// idatSource hands an inflater the bodies of consecutive IDAT chunks.
func idatSource(c *pngChunks, ctx context.Context) func() ([]byte, error) {
	return func() ([]byte, error) {
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			save := c.pos
			typ, body, err := c.next()
			if err != nil {
				return nil, err
			}
			if typ != "IDAT" {
				c.pos = save
				return nil, pngFormatError("not enough pixel data")
			}
			if len(body) > 0 {
				return body, nil
			}
		}
	}
}

// adam7 are the interlace passes: x/y step and offset.
var adam7 = [7]struct{ xs, ys, xo, yo int }{
	{8, 8, 0, 0}, {8, 8, 4, 0}, {4, 8, 0, 4}, {4, 4, 2, 0}, {2, 4, 0, 2}, {2, 2, 1, 0}, {1, 2, 0, 1},
}

// pngRowBytes is one filtered row of w pixels, filter byte included.
func (p *pngInfo) rowBytes(w int) int { return 1 + (p.bpp*w+7)/8 }

// decodePNG streams a PNG's rows into s.
func decodePNG(ctx context.Context, data []byte, s rowSink) error {
	var p pngInfo
	if len(data) < 8 || string(data[:8]) != "\x89PNG\r\n\x1a\n" {
		return pngFormatError("not a PNG file")
	}
	c := pngChunks{data: data, pos: 8}
	const (
		start = iota
		seenIHDR
		seenPLTE
		seentRNS
		seenIDAT
		seenIEND
	)
	stage, nPal := start, 0
	for stage != seenIEND {
		typ, body, err := c.next()
		if err != nil {
			return err
		}
		switch typ {
		case "IHDR":
			if stage != start {
				return pngFormatError("chunk out of order")
			}
			stage = seenIHDR
			if err := p.parseIHDR(body); err != nil {
				return err
			}
		case "PLTE":
			if stage != seenIHDR {
				return pngFormatError("chunk out of order")
			}
			stage = seenPLTE
			np := len(body) / 3
			if len(body)%3 != 0 || np <= 0 || np > 256 || np > 1<<p.depth {
				return pngFormatError("bad PLTE length")
			}
			switch p.ctype {
			case pngPaletted:
				for i := range np {
					p.palette[i] = [3]uint8{body[3*i], body[3*i+1], body[3*i+2]}
				}
				nPal = np
			case pngTrue, pngTrueAlpha: // optional and ignorable
			default:
				return pngFormatError("PLTE, color type mismatch")
			}
		case "tRNS":
			// Transparency only affects alpha, which RGB output drops; the checks are image/png's.
			switch {
			case p.ctype == pngPaletted:
				if stage != seenPLTE {
					return pngFormatError("chunk out of order")
				}
				if len(body) > 256 {
					return pngFormatError("bad tRNS length")
				}
			case p.ctype == pngTrue:
				if stage != seenIHDR && stage != seenPLTE {
					return pngFormatError("chunk out of order")
				}
				if len(body) != 6 {
					return pngFormatError("bad tRNS length")
				}
			case p.ctype == pngGray:
				if stage != seenIHDR {
					return pngFormatError("chunk out of order")
				}
				if len(body) != 2 {
					return pngFormatError("bad tRNS length")
				}
			default:
				if stage != seenIHDR {
					return pngFormatError("chunk out of order")
				}
				return pngFormatError("tRNS, color type mismatch")
			}
			stage = seentRNS
		case "IDAT":
			if stage < seenIHDR || stage > seenIDAT || (stage == seenIHDR && p.ctype == pngPaletted) {
				return pngFormatError("chunk out of order")
			}
			if stage == seenIDAT {
				break // trailing IDAT chunks are ignored, as image/png does
			}
			stage = seenIDAT
			first := true
			next := idatSource(&c, ctx)
			src := func() ([]byte, error) {
				if first && len(body) > 0 {
					first = false
					return body, nil
				}
				first = false
				return next()
			}
			if err := p.decodePixels(ctx, src, s); err != nil {
				return err
			}
			_ = nPal
		case "IEND":
			if stage != seenIDAT {
				return pngFormatError("chunk out of order")
			}
			if len(body) != 0 {
				return pngFormatError("bad IEND length")
			}
			stage = seenIEND
		}
	}
	return nil
}

// decodePixels inflates the IDAT stream and delivers its rows.
func (p *pngInfo) decodePixels(ctx context.Context, src func() ([]byte, error), s rowSink) error {
	z := newInflater(src)
	if err := z.header(); err != nil {
		return err
	}
	cr := make([]uint8, p.rowBytes(p.w))
	pr := make([]uint8, len(cr))
	if !p.interlaced {
		for y := 0; y < p.h; y++ {
			if next := s.next(y); next != y {
				// Rows the sink does not read (most of a tall photo: outside a centre crop, or
				// between the few a downscale samples) are unfiltered in bulk, only as far as
				// the rows after them need: no sink calls. After the last one only the filter
				// bytes are checked.
				last := next < 0 || next >= p.h
				end := next
				if last {
					end = p.h
				}
				k, err := p.skipRows(z, cr, pr, end-y, last)
				if err != nil {
					return err
				}
				if y/64 != (y+k)/64 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				y += k - 1
				continue
			}
			if err := p.readRow(z, cr, pr); err != nil {
				return err
			}
			if dst := s.row(y); dst != nil {
				p.toRGB(dst, cr[1:], p.w, 0, 1)
				s.commit(y)
			}
			cr, pr = pr, cr
			if y&63 == 63 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
	} else {
		lo, hi := s.rows()
		lo, hi = max(lo, 0), min(hi, p.h)
		held := make([]uint8, max(hi-lo, 0)*p.w*3)
		for _, ps := range adam7 {
			pw := (p.w - ps.xo + ps.xs - 1) / ps.xs
			ph := (p.h - ps.yo + ps.ys - 1) / ps.ys
			if pw == 0 || ph == 0 {
				continue // an empty pass has no filter bytes either
			}
			n := p.rowBytes(pw)
			c, q := cr[:n], pr[:n]
			clear(q)
			for py := range ph {
				if err := p.readRow(z, c, q); err != nil {
					return err
				}
				if y := py*ps.ys + ps.yo; y >= lo && y < hi {
					row := held[(y-lo)*p.w*3 : (y-lo+1)*p.w*3]
					p.toRGB(row[ps.xo*3:], c[1:], pw, 0, ps.xs)
				}
				c, q = q, c
				if py&63 == 63 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
			}
		}
		for y := lo; y < hi; y++ {
			if dst := s.row(y); dst != nil {
				copy(dst, held[(y-lo)*p.w*3:(y-lo+1)*p.w*3])
				s.commit(y)
			}
		}
	}
	// The stream must end here (which also verifies the zlib checksum), as image/png requires.
	var one [1]byte
	n, err := z.Read(one[:])
	if err != nil && err != io.EOF {
		return pngFormatError(err.Error())
	}
	if n != 0 || len(z.in) != 0 || z.nbits >= 8 {
		return pngFormatError("too much pixel data")
	}
	return nil
}

// skipRows consumes up to count rows (at least one) that no one reads, unfiltering each in place
// into pr (the previous row, filter byte first) unless last says no later row needs it; only the
// filter bytes are then checked. It works from the inflater's window, falling back to readRow for
// a row split across a refill (through cr). It returns how many rows it consumed.
func (p *pngInfo) skipRows(z *inflater, cr, pr []uint8, count int, last bool) (int, error) {
	n := len(pr)
	if z.wr-z.rd < n { // a row split across a refill: cr is scratch
		if err := p.readRow(z, cr, pr); err != nil {
			return 0, err
		}
		copy(pr, cr)
		return 1, nil
	}
	k := min(count, (z.wr-z.rd)/n)
	win := z.hist[z.rd : z.rd+k*n]
	z.rd += k * n
	bpp := (p.bpp + 7) / 8
	prev := pr[1:n]
	for r := 0; r < k; r++ {
		row := win[r*n : (r+1)*n]
		f, h := row[0], row[1:n]
		if f > 4 {
			return 0, pngFormatError("bad filter type")
		}
		if last {
			continue
		}
		switch f {
		case 0:
			for i, v := range h { // rows this short do not pay memmove's call
				prev[i] = v
			}
		case 1: // Sub
			copy(prev[:bpp], h)
			for i := bpp; i < len(prev); i++ {
				prev[i] = h[i] + prev[i-bpp]
			}
		case 2: // Up
			for i, v := range h {
				prev[i] += v
			}
		case 3: // Average: prev[i-bpp] is already this row's, prev[i] still the last row's
			for i := 0; i < bpp; i++ {
				prev[i] = h[i] + prev[i]/2
			}
			for i := bpp; i < len(prev); i++ {
				prev[i] = h[i] + uint8((int(prev[i-bpp])+int(prev[i]))/2)
			}
		case 4: // Paeth: the last row's byte at i-bpp lives on in old, being overwritten
			var old [8]uint8
			for i := range prev {
				b := int(prev[i])
				var a, c int
				if i >= bpp {
					a, c = int(prev[i-bpp]), int(old[i%bpp])
				}
				old[i%bpp] = uint8(b)
				pa, pb, pc := absInt(b-c), absInt(a-c), absInt(a+b-2*c)
				pred := c
				if pa <= pb && pa <= pc {
					pred = a
				} else if pb <= pc {
					pred = b
				}
				prev[i] = h[i] + uint8(pred)
			}
		}
	}
	pr[0] = win[(k-1)*n]
	return k, nil
}

// readRow reads and unfilters one row into cr (filter byte first), pr being the previous row.
func (p *pngInfo) readRow(z *inflater, cr, pr []uint8) error {
	if n := len(cr); z.wr-z.rd >= n && z.hist[z.rd] == 2 {
		// Up (the usual filter of tall images), the row whole in the inflater's window:
		// unfilter straight from it.
		h := z.hist[z.rd+1 : z.rd+n]
		z.rd += n
		cr[0] = 2
		cdat, pdat := cr[1:n], pr[1:n]
		for i := range cdat {
			cdat[i] = h[i] + pdat[i]
		}
		return nil
	}
	if err := z.readFull(cr); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return pngFormatError("not enough pixel data")
		}
		return err
	}
	bpp := (p.bpp + 7) / 8
	cdat, pdat := cr[1:], pr[1:]
	switch cr[0] {
	case 0:
	case 1: // Sub
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += cdat[i-bpp]
		}
	case 2: // Up
		for i, v := range pdat {
			cdat[i] += v
		}
	case 3: // Average
		for i := 0; i < bpp; i++ {
			cdat[i] += pdat[i] / 2
		}
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += uint8((int(cdat[i-bpp]) + int(pdat[i])) / 2)
		}
	case 4: // Paeth
		for i := range cdat {
			var a, c int
			if i >= bpp {
				a, c = int(cdat[i-bpp]), int(pdat[i-bpp])
			}
			b := int(pdat[i])
			pa, pb, pc := b-c, a-c, a+b-2*c
			pa, pb, pc = absInt(pa), absInt(pb), absInt(pc)
			pred := c
			if pa <= pb && pa <= pc {
				pred = a
			} else if pb <= pc {
				pred = b
			}
			cdat[i] += uint8(pred)
		}
	default:
		return pngFormatError("bad filter type")
	}
	return nil
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// toRGB converts n unfiltered pixels of src to RGB at dst[(x0+i*step)*3].
func (p *pngInfo) toRGB(dst, src []uint8, n, x0, step int) {
	put := func(i int, r, g, b uint8) {
		d := dst[(x0+i*step)*3:]
		d[0], d[1], d[2] = r, g, b
	}
	switch {
	case p.depth < 8:
		per := 8 / p.depth
		mask := uint8(1<<p.depth - 1)
		scale := uint8(255 / (1<<p.depth - 1))
		for i := range n {
			v := src[i/per] >> (8 - p.depth*(i%per+1)) & mask
			if p.ctype == pngPaletted {
				e := p.palette[v]
				put(i, e[0], e[1], e[2])
			} else {
				v *= scale
				put(i, v, v, v)
			}
		}
	case p.ctype == pngPaletted:
		for i := range n {
			e := p.palette[src[i]]
			put(i, e[0], e[1], e[2])
		}
	default:
		// 8 or 16 bits a sample: take each sample's first (high) byte.
		sb := p.depth / 8
		ps := p.bpp / 8
		if p.ctype == pngGray || p.ctype == pngGrayAlpha {
			for i := range n {
				v := src[i*ps]
				put(i, v, v, v)
			}
		} else {
			for i := range n {
				s := src[i*ps:]
				put(i, s[0], s[sb], s[2*sb])
			}
		}
	}
}
