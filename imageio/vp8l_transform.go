package imageio

import (
	"context"
	"errors"
)

// vp8lTransform is one of the (at most four, distinct) transforms of a VP8L image, with the
// width it applies at (colour indexing narrows the image for the transforms read after it).
type vp8lTransform struct {
	kind  int // 0 predictor, 1 cross-colour, 2 subtract green, 3 colour indexing
	width int
	bits  int      // tile size (predictor, cross-colour) or log2 pixels per packed pixel
	data  []uint32 // tile values, or the palette (256 entries, zero past its size)
	prev  []uint32 // predictor: the previous output row
}

// decodeVP8L streams a VP8L bitstream (w×h as its header says) into s.
func decodeVP8L(ctx context.Context, chunk []byte, s rowSink) error {
	d := &vp8lDecoder{b: vp8lBits{data: chunk}, ctx: ctx}
	w, h, ts, cw, err := d.transforms()
	if err != nil {
		return err
	}
	full := make([]uint32, w) // the row at full width, after colour indexing
	_, err = d.decodeImage(cw, h, true, func(y int, px []uint32) {
		cur := px
		for i := len(ts) - 1; i >= 0; i-- {
			cur = ts[i].inverse(y, cur, full)
		}
		if dst := s.row(y); dst != nil {
			for x, p := range cur[:w] {
				dst[3*x], dst[3*x+1], dst[3*x+2] = uint8(p>>16), uint8(p>>8), uint8(p)
			}
			s.commit(y)
		}
	})
	return err
}

// preparseVP8L learns what decoding chunk will allocate, decoding its sub-images but not its
// pixels (ok is false when that would take more than vp8lPreparseBytes, or on a bad stream).
func preparseVP8L(chunk []byte) (st vp8lStats, ok bool) {
	d := &vp8lDecoder{b: vp8lBits{data: chunk}, ctx: context.Background(), stats: &st}
	_, h, _, cw, err := d.transforms()
	if err == nil {
		_, err = d.decodeImage(cw, h, true, nil)
	}
	return st, err == nil
}

// transforms reads the header and the transforms, and returns the size, the transforms in
// reading order and the width of the entropy-coded main image.
func (d *vp8lDecoder) transforms() (w, h int, ts []*vp8lTransform, cw int, err error) {
	if v, err := d.b.read(8); err != nil || v != 0x2f {
		return 0, 0, nil, 0, errVP8L
	}
	wh, err := d.b.read(28)
	if err != nil {
		return 0, 0, nil, 0, err
	}
	w, h = int(wh&0x3fff)+1, int(wh>>14)+1
	if v, err := d.b.read(4); err != nil || v>>1 != 0 { // alpha hint, then version 0
		return 0, 0, nil, 0, errors.New("vp8l: invalid version")
	}
	var seen [4]bool
	cw = w // width at the current transform
	for {
		more, err := d.b.read(1)
		if err != nil {
			return 0, 0, nil, 0, err
		}
		if more == 0 {
			return w, h, ts, cw, nil
		}
		k, err := d.b.read(2)
		if err != nil {
			return 0, 0, nil, 0, err
		}
		if seen[k] {
			return 0, 0, nil, 0, errors.New("vp8l: repeated transform")
		}
		seen[k] = true
		t := &vp8lTransform{kind: int(k), width: cw}
		switch k {
		case 0, 1:
			b, err := d.b.read(3)
			if err != nil {
				return 0, 0, nil, 0, err
			}
			t.bits = int(b) + 2
			if t.data, err = d.decodeImage(nTiles(cw, t.bits), nTiles(h, t.bits), false, nil); err != nil {
				return 0, 0, nil, 0, err
			}
			if k == 0 {
				t.prev = make([]uint32, cw)
			}
		case 3:
			n, err := d.b.read(8)
			if err != nil {
				return 0, 0, nil, 0, err
			}
			colors := int(n) + 1
			switch {
			case colors <= 2:
				t.bits = 3
			case colors <= 4:
				t.bits = 2
			case colors <= 16:
				t.bits = 1
			}
			pal, err := d.decodeImage(colors, 1, false, nil)
			if err != nil {
				return 0, 0, nil, 0, err
			}
			t.data = make([]uint32, 256)
			copy(t.data, pal)
			for i := 1; i < colors; i++ { // the palette is delta-coded, byte by byte
				t.data[i] = addPixels(t.data[i], t.data[i-1])
			}
			cw = nTiles(cw, t.bits)
		}
		ts = append(ts, t)
	}
}

// vp8lTransformBytes bounds what decodeVP8L allocates for its transforms of a w×h image
// besides their sub-images: the palette, the predictor's and the full-width rows.
func vp8lTransformBytes(w int64) int64 {
	return heapBytes(1024) + 3*heapBytes(w*4) + 4*64
}

// addPixels adds ARGB values byte by byte (mod 256).
func addPixels(a, b uint32) uint32 {
	ag := (a & 0xff00ff00) + (b & 0xff00ff00)
	rb := (a & 0x00ff00ff) + (b & 0x00ff00ff)
	return ag&0xff00ff00 | rb&0x00ff00ff
}

// average2 is the byte-wise floor average.
func average2(a, b uint32) uint32 {
	return ((a^b)&0xfefefefe)>>1 + a&b
}

func channel(p uint32, shift uint) int { return int(p >> shift & 0xff) }

func clamp255(v int) uint32 { return uint32(min(max(v, 0), 255)) }

// selectPred is the specification's Select(L, T, TL).
func selectPred(l, t, tl uint32) uint32 {
	pl, pt := 0, 0
	for sh := uint(0); sh < 32; sh += 8 {
		pl += absInt(channel(t, sh) - channel(tl, sh))
		pt += absInt(channel(l, sh) - channel(tl, sh))
	}
	if pl < pt {
		return l
	}
	return t
}

func clampAddSubtractFull(a, b, c uint32) uint32 {
	var out uint32
	for sh := uint(0); sh < 32; sh += 8 {
		out |= clamp255(channel(a, sh)+channel(b, sh)-channel(c, sh)) << sh
	}
	return out
}

func clampAddSubtractHalf(a, b uint32) uint32 {
	var out uint32
	for sh := uint(0); sh < 32; sh += 8 {
		ca := channel(a, sh)
		out |= clamp255(ca+(ca-channel(b, sh))/2) << sh
	}
	return out
}

// predict is predictor mode m from the left, top-left, top and top-right pixels.
func predict(m uint32, l, tl, t, tr uint32) uint32 {
	switch m {
	case 1:
		return l
	case 2:
		return t
	case 3:
		return tr
	case 4:
		return tl
	case 5:
		return average2(average2(l, tr), t)
	case 6:
		return average2(l, tl)
	case 7:
		return average2(l, t)
	case 8:
		return average2(tl, t)
	case 9:
		return average2(t, tr)
	case 10:
		return average2(average2(l, tl), average2(t, tr))
	case 11:
		return selectPred(l, t, tl)
	case 12:
		return clampAddSubtractFull(l, t, tl)
	case 13:
		return clampAddSubtractHalf(average2(l, t), tl)
	}
	return 0xff000000 // 0, and 14 and 15 as libwebp reads them
}

// colorDelta is the cross-colour transform's ColorTransformDelta.
func colorDelta(t, c uint32) uint32 { return uint32(int32(int8(t)) * int32(int8(c)) >> 5) }

// inverse undoes t on row y (px, at t's width after the transforms read later were undone) and
// returns the result; colour indexing writes into full.
func (t *vp8lTransform) inverse(y int, px, full []uint32) []uint32 {
	switch t.kind {
	case 0: // predictor
		row := px[:t.width]
		tilesW := nTiles(t.width, t.bits)
		tile := t.data[(y>>t.bits)*tilesW:]
		for x := range row {
			var pred uint32
			switch {
			case y == 0 && x == 0:
				pred = 0xff000000
			case y == 0:
				pred = row[x-1]
			case x == 0:
				pred = t.prev[0]
			default:
				tr := row[0] // the rightmost pixel's top-right is the row's first (contiguous memory)
				if x+1 < len(row) {
					tr = t.prev[x+1]
				}
				pred = predict(tile[x>>t.bits]>>8&0xf, row[x-1], t.prev[x-1], t.prev[x], tr)
			}
			row[x] = addPixels(row[x], pred)
		}
		copy(t.prev, row)
		return row
	case 1: // cross-colour
		row := px[:t.width]
		tilesW := nTiles(t.width, t.bits)
		tile := t.data[(y>>t.bits)*tilesW:]
		for x, p := range row {
			m := tile[x>>t.bits]
			g := p >> 8
			r := (p>>16 + colorDelta(m, g)) & 0xff
			b := (p + colorDelta(m>>8, g) + colorDelta(m>>16, r)) & 0xff
			row[x] = p&0xff00ff00 | r<<16 | b
		}
		return row
	case 2: // subtract green
		row := px[:t.width]
		for x, p := range row {
			g := p >> 8 & 0xff
			row[x] = p&0xff00ff00 | ((p>>16+g)&0xff)<<16 | (p+g)&0xff
		}
		return row
	}
	// colour indexing
	out := full[:t.width]
	if t.bits == 0 {
		for x, p := range px[:t.width] {
			out[x] = t.data[p>>8&0xff]
		}
		return out
	}
	per := 1 << t.bits
	bpp := uint(8 >> t.bits)
	for x := range out {
		v := px[x>>t.bits] >> 8 & 0xff
		out[x] = t.data[v>>(uint(x&(per-1))*bpp)&(1<<bpp-1)]
	}
	return out
}
