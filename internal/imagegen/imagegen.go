// Package imagegen writes small encoded images of every format and variant imageio decodes, for tests, fuzz seeds and hostile-input corpora.
//
// The encoders are deliberately plain (and independent of the decoders under test): PNG in
// every colour type, bit depth and filter, optionally Adam7-interlaced; BMP at every bit depth,
// bottom-up or top-down; GIF interlaced or not; lossless WebP (VP8L) with literal or constant
// codes; and flat JPEGs, baseline or progressive, whose entropy-coded data is two bits a block
// or less, so that a 100 MP JPEG is a few hundred kilobytes and a scan bomb a few dozen.
package imagegen

import (
	"bufio"
	"bytes"
	"compress/lzw"
	"compress/zlib"
	"encoding/binary"
	"hash/adler32"
	"hash/crc32"
)

// Pixel gives sample c (0..channels-1, at most 16 bits) of pixel (x, y).
type Pixel func(x, y, c int) uint16

// Noise is a deterministic pseudo-random Pixel.
func Noise(seed uint32) Pixel {
	return func(x, y, c int) uint16 {
		v := uint32(x)*0x9E3779B1 ^ uint32(y)*0x85EBCA77 ^ uint32(c)*0xC2B2AE3D ^ seed
		v ^= v >> 15
		v *= 0x2C1B3C6D
		v ^= v >> 12
		return uint16(v)
	}
}

// Gradient is a smooth Pixel (compresses well).
func Gradient(x, y, c int) uint16 { return uint16((x*7 + y*3 + c*85) * 257) }

// Flat is a constant Pixel.
func Flat(x, y, c int) uint16 { return uint16(0x8080 + c*0x1010) }

// PNG colour types.
const (
	Gray      = 0
	RGB       = 2
	Paletted  = 3
	GrayAlpha = 4
	RGBA      = 6
)

// PNGOptions describes a PNG to write.
type PNGOptions struct {
	W, H        int
	ColorType   int
	Depth       int // 1, 2, 4, 8 or 16 (as the colour type allows)
	Interlaced  bool
	Pixel       Pixel // samples are scaled down to Depth (a palette index for Paletted)
	PaletteSize int   // Paletted: entries in PLTE (default 1<<Depth, at most 256)
	TRNS        bool  // write a tRNS chunk
	Orientation int   // write an eXIf chunk with this orientation (0: none)
	Level       int   // zlib level (0 means the default)
	// Filter, if set, is the filter type + 1 for every row (otherwise rows cycle through all five).
	Filter int
	// IDATSize splits the zlib stream into IDAT chunks of this many bytes (0: one chunk).
	IDATSize int
}

func channels(colorType int) int {
	return map[int]int{Gray: 1, RGB: 3, Paletted: 1, GrayAlpha: 2, RGBA: 4}[colorType]
}

// PNG encodes o, cycling the five filter types row by row (rows are compressed as they are
// made, so a 1×100,000,000 flat image costs its compressed size).
func PNG(o PNGOptions) []byte {
	if o.Pixel == nil {
		o.Pixel = Gradient
	}
	level := o.Level
	if level == 0 {
		level = zlib.DefaultCompression
	}
	var z bytes.Buffer
	zl, _ := zlib.NewWriterLevel(&z, level)
	zw := bufio.NewWriterSize(zl, 64<<10)
	ch := channels(o.ColorType)
	bpp := ch * o.Depth
	passes := [][4]int{{1, 1, 0, 0}}
	if o.Interlaced {
		passes = [][4]int{{8, 8, 0, 0}, {8, 8, 4, 0}, {4, 8, 0, 4}, {4, 4, 2, 0}, {2, 4, 0, 2}, {2, 2, 1, 0}, {1, 2, 0, 1}}
	}
	row := 0
	for _, p := range passes {
		pw := (o.W - p[2] + p[0] - 1) / p[0]
		ph := (o.H - p[3] + p[1] - 1) / p[1]
		if pw <= 0 || ph <= 0 {
			continue
		}
		n := (bpp*pw + 7) / 8
		prev := make([]byte, n)
		cur := make([]byte, n)
		out := make([]byte, n+1)
		for py := range ph {
			clear(cur)
			y := py*p[1] + p[3]
			for px := range pw {
				x := px*p[0] + p[2]
				for c := range ch {
					v := uint32(o.Pixel(x, y, c))
					switch {
					case o.ColorType == Paletted:
						// Indices past a short palette are allowed (they decode black).
						v %= uint32(min(1<<o.Depth, 256))
					case o.Depth < 16:
						v >>= 16 - o.Depth
					}
					bit := (px*ch + c) * o.Depth
					switch o.Depth {
					case 16:
						cur[bit/8], cur[bit/8+1] = byte(v>>8), byte(v)
					case 8:
						cur[bit/8] = byte(v)
					default:
						cur[bit/8] |= byte(v) << (8 - o.Depth - bit%8)
					}
				}
			}
			ft := byte(row % 5)
			if o.Filter > 0 {
				ft = byte(o.Filter - 1)
			}
			row++
			out[0] = ft
			filter(ft, cur, prev, (bpp+7)/8, out[1:])
			zw.Write(out)
			prev, cur = cur, prev
		}
	}
	zw.Flush()
	zl.Close()

	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(o.W))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(o.H))
	ihdr[8], ihdr[9] = byte(o.Depth), byte(o.ColorType)
	if o.Interlaced {
		ihdr[12] = 1
	}
	out.Write(Chunk("IHDR", ihdr))
	if o.Orientation != 0 {
		out.Write(Chunk("eXIf", EXIF(o.Orientation)))
	}
	if o.ColorType == Paletted {
		size := o.PaletteSize
		if size == 0 {
			size = min(1<<o.Depth, 256)
		}
		pal := make([]byte, 3*size)
		for i := range pal {
			pal[i] = byte(i*37 + i/3*11)
		}
		out.Write(Chunk("PLTE", pal))
	}
	if o.TRNS {
		switch o.ColorType {
		case Paletted:
			out.Write(Chunk("tRNS", []byte{0, 128, 255}))
		case Gray:
			out.Write(Chunk("tRNS", []byte{0, 1}))
		case RGB:
			out.Write(Chunk("tRNS", []byte{0, 1, 0, 2, 0, 3}))
		}
	}
	data := z.Bytes()
	size := o.IDATSize
	if size <= 0 {
		size = len(data)
	}
	for len(data) > 0 {
		n := min(size, len(data))
		out.Write(Chunk("IDAT", data[:n]))
		data = data[n:]
	}
	out.Write(Chunk("IEND", nil))
	return out.Bytes()
}

// filter applies PNG filter ft to cur given the previous row.
func filter(ft byte, cur, prev []byte, bpp int, out []byte) {
	for i := range cur {
		var a, b, c int
		if i >= bpp {
			a, c = int(cur[i-bpp]), int(prev[i-bpp])
		}
		b = int(prev[i])
		var pred int
		switch ft {
		case 1:
			pred = a
		case 2:
			pred = b
		case 3:
			pred = (a + b) / 2
		case 4:
			p := a + b - c
			pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
			switch {
			case pa <= pb && pa <= pc:
				pred = a
			case pb <= pc:
				pred = b
			default:
				pred = c
			}
		}
		out[i] = cur[i] - byte(pred)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// Chunk is a PNG chunk with its CRC.
func Chunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// EXIF is a little-endian TIFF block whose IFD0 holds only the orientation tag.
func EXIF(orientation int) []byte {
	b := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(orientation))
	return append(b, 0, 0, 0, 0, 0, 0)
}

// BMPOptions describes a BMP to write.
type BMPOptions struct {
	W, H      int
	BPP       int // 1, 2, 4, 8, 24 or 32
	TopDown   bool
	HeaderLen int // 40 (default), 108 or 124
	Pixel     Pixel
	// PaletteSize is the palette's entry count for BPP <= 8 (default 1<<BPP).
	PaletteSize int
}

// BMP encodes o (uncompressed).
func BMP(o BMPOptions) []byte {
	if o.Pixel == nil {
		o.Pixel = Gradient
	}
	if o.HeaderLen == 0 {
		o.HeaderLen = 40
	}
	pal := 0
	if o.BPP <= 8 {
		pal = o.PaletteSize
		if pal == 0 {
			pal = 1 << o.BPP
		}
	}
	stride := ((o.BPP*o.W+7)/8 + 3) &^ 3
	off := 14 + o.HeaderLen + 4*pal
	b := make([]byte, off, off+stride*o.H)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[2:], uint32(off+stride*o.H))
	binary.LittleEndian.PutUint32(b[10:], uint32(off))
	binary.LittleEndian.PutUint32(b[14:], uint32(o.HeaderLen))
	binary.LittleEndian.PutUint32(b[18:], uint32(o.W))
	h := int32(o.H)
	if o.TopDown {
		h = -h
	}
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	binary.LittleEndian.PutUint16(b[26:], 1)
	binary.LittleEndian.PutUint16(b[28:], uint16(o.BPP))
	if o.BPP <= 8 && o.PaletteSize != 0 {
		binary.LittleEndian.PutUint32(b[46:], uint32(pal))
	}
	for i := range pal {
		p := b[14+o.HeaderLen+4*i:]
		p[0], p[1], p[2] = byte(i*53), byte(i*97+7), byte(i*11+200)
	}
	row := make([]byte, stride)
	for i := range o.H {
		y := o.H - 1 - i
		if o.TopDown {
			y = i
		}
		clear(row)
		for x := range o.W {
			switch o.BPP {
			case 24, 32:
				n := o.BPP / 8
				for c := range n {
					row[x*n+c] = byte(o.Pixel(x, y, c) >> 8)
				}
			default:
				v := o.Pixel(x, y, 0) % uint16(1<<o.BPP) // may pass a short palette
				bit := x * o.BPP
				row[bit/8] |= byte(v) << (8 - o.BPP - bit%8)
			}
		}
		b = append(b, row...)
	}
	return b
}

// GIFOptions describes a GIF (one frame) to write.
type GIFOptions struct {
	W, H        int
	Interlaced  bool
	Transparent int // transparent palette index, or -1
	Pixel       Pixel
	// ScreenW/ScreenH make the logical screen larger than the frame (default: the frame).
	ScreenW, ScreenH int
}

// GIF encodes o with a 256-entry global colour table.
func GIF(o GIFOptions) []byte {
	if o.Pixel == nil {
		o.Pixel = Gradient
	}
	sw, sh := max(o.ScreenW, o.W), max(o.ScreenH, o.H)
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, uint16(sw))
	b = binary.LittleEndian.AppendUint16(b, uint16(sh))
	b = append(b, 0xF7, 0, 0)
	for i := range 256 {
		b = append(b, byte(i), byte(255-i), byte(i*7))
	}
	if o.Transparent >= 0 {
		b = append(b, 0x21, 0xF9, 4, 1, 0, 0, byte(o.Transparent), 0)
	}
	b = append(b, 0x2C, 0, 0, 0, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(o.W))
	b = binary.LittleEndian.AppendUint16(b, uint16(o.H))
	flags := byte(0)
	if o.Interlaced {
		flags = 0x40
	}
	b = append(b, flags, 8)
	var idx bytes.Buffer
	rows := make([]int, 0, o.H)
	if o.Interlaced {
		for _, p := range [4][2]int{{0, 8}, {4, 8}, {2, 4}, {1, 2}} {
			for y := p[0]; y < o.H; y += p[1] {
				rows = append(rows, y)
			}
		}
	} else {
		for y := range o.H {
			rows = append(rows, y)
		}
	}
	for _, y := range rows {
		for x := range o.W {
			idx.WriteByte(byte(o.Pixel(x, y, 0) >> 8))
		}
	}
	var lz bytes.Buffer
	w := lzw.NewWriter(&lz, lzw.LSB, 8)
	w.Write(idx.Bytes())
	w.Close()
	data := lz.Bytes()
	for len(data) > 0 {
		n := min(255, len(data))
		b = append(b, byte(n))
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return append(b, 0, 0x3B)
}

// TallPNG is a 1×h RGB PNG of one colour, written without a compressor: every row is filter
// Up then zeros, which a fixed-Huffman deflate block codes as 258-byte matches at distance 4
// (13 bits each), so a 1×100,000,000 image is 2.5 MB and takes milliseconds to write.
func TallPNG(h int, rgb [3]byte) []byte {
	var w lsbWriter
	w.put(0x78, 8) // zlib header: deflate, 32 KiB window, no dictionary, check bits
	w.put(0x01, 8)
	w.put(1, 1)           // final block
	w.put(1, 2)           // fixed Huffman codes
	lit := func(b byte) { // fixed literal codes, most significant bit first
		code, n := uint32(b)+0x30, 8
		if b >= 144 {
			code, n = uint32(b)-144+0x190, 9
		}
		for i := n - 1; i >= 0; i-- {
			w.put(code>>uint(i)&1, 1)
		}
	}
	raw := []byte{2, rgb[0], rgb[1], rgb[2]}
	for _, b := range raw {
		lit(b)
	}
	left := 4 * (h - 1) // the rows after the first: 2, 0, 0, 0, ...
	if left > 0 {
		for _, b := range []byte{2, 0, 0, 0} {
			lit(b)
		}
		left -= 4
	}
	for left >= 258 {
		// Length 258 is symbol 285, fixed code 11000101 (8 bits); distance 4 is code 3, 00011.
		for _, bit := range []uint32{1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1} {
			w.put(bit, 1)
		}
		left -= 258
	}
	// The rest literally, continuing the pattern's phase.
	done := 4*(h-1) - left
	for i := range left {
		lit([]byte{2, 0, 0, 0}[(done+i)%4])
	}
	for range 7 { // end of block: symbol 256, seven zero bits
		w.put(0, 1)
	}
	z := w.bytes()
	// Adler-32 of the whole stream, periodic after the first row.
	a := adler32.New()
	a.Write(raw)
	period := bytes.Repeat([]byte{2, 0, 0, 0}, 16384)
	for n := 4 * (h - 1); n > 0; n -= len(period) {
		a.Write(period[:min(n, len(period))])
	}
	z = binary.BigEndian.AppendUint32(z, a.Sum32())
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, 1)
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, RGB
	out.Write(Chunk("IHDR", ihdr))
	out.Write(Chunk("IDAT", z))
	out.Write(Chunk("IEND", nil))
	return out.Bytes()
}
