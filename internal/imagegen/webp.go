package imagegen

import "encoding/binary"

// WebPOptions describes a lossless WebP (VP8L).
type WebPOptions struct {
	W, H int
	// Pixel gives the samples (R, G, B, A as c = 0..3); nil writes a constant image, whose
	// Huffman codes all have one symbol, so that its pixels cost no bits at all.
	Pixel Pixel
	// Orientation adds a VP8X header and an EXIF chunk with this orientation (0: none).
	Orientation int
}

// lsbWriter writes VP8L's LSB-first bit stream.
type lsbWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (w *lsbWriter) put(v uint32, n uint) {
	w.acc |= uint64(v) << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

func (w *lsbWriter) bytes() []byte {
	if w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc, w.nbits = 0, 0
	}
	return w.out
}

// WebP writes o: no transforms, no colour cache, one Huffman group of either constant (simple,
// one-symbol) codes or complete 8-bit codes over the 256 literals.
func WebP(o WebPOptions) []byte {
	var w lsbWriter
	w.put(0x2f, 8)
	w.put(uint32(o.W-1), 14)
	w.put(uint32(o.H-1), 14)
	w.put(0, 1) // alpha hint
	w.put(0, 3) // version
	w.put(0, 1) // no transform
	w.put(0, 1) // no colour cache
	w.put(0, 1) // no meta Huffman image
	constant := o.Pixel == nil
	for tree, alphabet := range []int{280, 256, 256, 256, 40} {
		if constant || tree == 4 {
			// Simple code, one symbol given in 8 bits: green 0x80, red 0x40, blue 0xC0, alpha
			// 0xFF, distance 0.
			sym := []uint32{0x80, 0x40, 0xC0, 0xFF, 0}[tree]
			w.put(1, 1)
			w.put(0, 1)
			w.put(1, 1)
			w.put(sym, 8)
			continue
		}
		// Normal code: code-length code with symbols 0 and 8, one bit each, in the order
		// 17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8 (12 entries).
		w.put(0, 1)
		w.put(12-4, 4)
		for _, s := range []int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8} {
			l := uint32(0)
			if s == 0 || s == 8 {
				l = 1
			}
			w.put(l, 3)
		}
		w.put(0, 1) // no max_symbol
		for i := range alphabet {
			// Canonical codes: symbol 0 is "0", symbol 8 is "1".
			if i < 256 {
				w.put(1, 1)
			} else {
				w.put(0, 1)
			}
		}
	}
	if !constant {
		for y := range o.H {
			for x := range o.W {
				for _, c := range []int{1, 0, 2, 3} { // green, red, blue, alpha
					v := uint32(o.Pixel(x, y, c) >> 8)
					// An 8-bit canonical code over all 256 symbols is the symbol itself, read
					// most significant bit first.
					for i := 7; i >= 0; i-- {
						w.put(v>>uint(i)&1, 1)
					}
				}
			}
		}
	}
	bits := w.bytes()
	var chunks []byte
	if o.Orientation != 0 {
		x := []byte{0x08, 0, 0, 0}
		x = append(x, byte(o.W-1), byte((o.W-1)>>8), byte((o.W-1)>>16), byte(o.H-1), byte((o.H-1)>>8), byte((o.H-1)>>16))
		chunks = append(chunks, riffChunk("VP8X", x)...)
	}
	chunks = append(chunks, riffChunk("VP8L", bits)...)
	if o.Orientation != 0 {
		chunks = append(chunks, riffChunk("EXIF", EXIF(o.Orientation))...)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(chunks)))
	out = append(out, "WEBP"...)
	return append(out, chunks...)
}

func riffChunk(id string, data []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}
