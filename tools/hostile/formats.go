package hostile

import (
	"bufio"
	"compress/lzw"
	"encoding/binary"
	"os"
)

// GIF, BMP and WebP writers for flat images of any declared size, streamed without holding the image.

type gifSpec struct {
	Width, Height int
	HeaderOnly    bool // the image descriptor, then nothing
}

// writeGIF writes a two-colour GIF whose pixels are all 0, its LZW data streamed in 255-byte sub-blocks.
func writeGIF(path string, s gifSpec) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	le16 := func(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
	w.WriteString("GIF89a")
	w.Write(le16(s.Width))
	w.Write(le16(s.Height))
	w.Write([]byte{0xF0, 0, 0})             // a global colour table of 2 entries, 8-bit colour resolution
	w.Write([]byte{0, 0, 0, 255, 255, 255}) // black, white
	w.WriteByte(0x2C)
	w.Write(le16(0))
	w.Write(le16(0))
	w.Write(le16(s.Width))
	w.Write(le16(s.Height))
	w.WriteByte(0)
	w.WriteByte(2) // LZW minimum code size
	if !s.HeaderOnly {
		sb := &subBlocks{w: w}
		z := lzw.NewWriter(sb, lzw.LSB, 2)
		row := make([]byte, min(s.Width*s.Height, 1<<20))
		for left := s.Width * s.Height; left > 0; left -= len(row) {
			if _, err := z.Write(row[:min(left, len(row))]); err != nil {
				return err
			}
		}
		if err := z.Close(); err != nil {
			return err
		}
		sb.flush()
		w.WriteByte(0)    // block terminator
		w.WriteByte(0x3B) // trailer
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// subBlocks frames a stream as GIF data sub-blocks (a length byte, then up to 255 bytes).
type subBlocks struct {
	w   *bufio.Writer
	buf []byte
}

func (s *subBlocks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), 255-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == 255 {
			s.flush()
		}
	}
	return n, nil
}

func (s *subBlocks) flush() {
	if len(s.buf) > 0 {
		s.w.WriteByte(byte(len(s.buf)))
		s.w.Write(s.buf)
		s.buf = s.buf[:0]
	}
}

type bmpSpec struct {
	Width, Height int
	HeaderOnly    bool // the 54-byte header alone
}

// writeBMP writes an uncompressed 24-bit bottom-up BMP of black pixels (rows padded to 4 bytes).
func writeBMP(path string, s bmpSpec) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	stride := (s.Width*3 + 3) &^ 3
	size := int64(stride) * int64(s.Height)
	h := []byte("BM")
	h = binary.LittleEndian.AppendUint32(h, uint32(54+size))
	h = binary.LittleEndian.AppendUint32(h, 0)
	h = binary.LittleEndian.AppendUint32(h, 54)
	h = binary.LittleEndian.AppendUint32(h, 40)
	h = binary.LittleEndian.AppendUint32(h, uint32(s.Width))
	h = binary.LittleEndian.AppendUint32(h, uint32(s.Height))
	h = binary.LittleEndian.AppendUint16(h, 1)
	h = binary.LittleEndian.AppendUint16(h, 24)
	h = binary.LittleEndian.AppendUint32(h, 0) // BI_RGB
	h = binary.LittleEndian.AppendUint32(h, uint32(size))
	h = binary.LittleEndian.AppendUint32(h, 2835)
	h = binary.LittleEndian.AppendUint32(h, 2835)
	h = binary.LittleEndian.AppendUint32(h, 0)
	h = binary.LittleEndian.AppendUint32(h, 0)
	w.Write(h)
	if !s.HeaderOnly {
		row := make([]byte, stride)
		for range s.Height {
			w.Write(row)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type webpSpec struct {
	Width, Height int // at most 16384 each
	HeaderOnly    bool
}

// writeWebP writes a lossless (VP8L) WebP whose five prefix codes each hold one symbol, so every pixel
// (opaque black) takes no bits at all: any size up to 16384x16384 is a few dozen bytes.
func writeWebP(path string, s webpSpec) error {
	var b lsbWriter
	b.put(0x2f, 8) // VP8L signature
	b.put(uint32(s.Width-1), 14)
	b.put(uint32(s.Height-1), 14)
	b.put(0, 1) // alpha not used
	b.put(0, 3) // version 0
	if !s.HeaderOnly {
		b.put(0, 1) // no transform
		b.put(0, 1) // no colour cache
		b.put(0, 1) // no meta prefix codes
		for i := 0; i < 5; i++ {
			// A simple code of one symbol: green, red, blue 0; alpha 255; distance 0.
			b.put(1, 1)
			b.put(0, 1)
			if i == 3 {
				b.put(1, 1)
				b.put(255, 8)
			} else {
				b.put(0, 1)
				b.put(0, 1)
			}
		}
	}
	data := b.bytes()
	chunk := []byte("VP8L")
	chunk = binary.LittleEndian.AppendUint32(chunk, uint32(len(data)))
	chunk = append(chunk, data...)
	if len(data)%2 == 1 {
		chunk = append(chunk, 0)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(chunk)))
	out = append(out, "WEBP"...)
	return os.WriteFile(path, append(out, chunk...), 0o644)
}

// lsbWriter packs bits least significant first, as VP8L reads them.
type lsbWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (b *lsbWriter) put(v uint32, n int) {
	b.acc |= uint64(v) & (1<<uint(n) - 1) << b.nbits
	b.nbits += uint(n)
	for b.nbits >= 8 {
		b.out = append(b.out, byte(b.acc))
		b.acc >>= 8
		b.nbits -= 8
	}
}

func (b *lsbWriter) bytes() []byte {
	if b.nbits > 0 {
		return append(b.out, byte(b.acc))
	}
	return b.out
}
