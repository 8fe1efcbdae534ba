package hostile

import (
	"bufio"
	"encoding/binary"
	"math/bits"
	"os"
)

// JPEGs of one grey component whose every coefficient is 0 (a flat mid-grey image), written block by
// block without holding the image: a baseline block costs 2 bits (DC category 0, end of block), a
// progressive AC scan a few bits per 32,767 blocks (EOB runs), so a 100 MP file stays small and a scan
// costs the decoder a pass over every block for almost no bytes.

// scan is one SOS of a progressive JPEG: spectral selection Ss..Se, successive approximation Ah/Al.
type scan struct{ Ss, Se, Ah, Al byte }

type jpegSpec struct {
	Width, Height int
	Progressive   bool
	Scans         []scan // progressive only; nil: a DC scan and one AC scan
	HeaderOnly    bool   // stop after the first SOS header: no entropy-coded data, no EOI
}

// Huffman tables: DC {0: "0", 1: "10"}; baseline AC {EOB: "0", 0x01: "10"}; progressive AC holds the 15
// EOBn symbols (0x00, 0x10, ... 0xE0), 4 bits each (codes 0000 to 1110).
var (
	dcTable     = huffTable{class: 0, counts: [16]byte{1, 1}, symbols: []byte{0, 1}}
	acBaseline  = huffTable{class: 1, counts: [16]byte{1, 1}, symbols: []byte{0x00, 0x01}}
	acEOBRuns   = huffTable{class: 1, counts: [16]byte{0, 0, 0, 15}, symbols: []byte{0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0}}
	defaultScan = []scan{{0, 0, 0, 0}, {1, 63, 0, 0}}
)

type huffTable struct {
	class   byte
	counts  [16]byte
	symbols []byte
}

func writeJPEG(path string, s jpegSpec) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.Write([]byte{0xFF, 0xD8})
	// DQT: table 0, every step 1.
	segment(w, 0xDB, append([]byte{0x00}, repeat(1, 64)...))
	sof := byte(0xC0)
	ac := acBaseline
	if s.Progressive {
		sof, ac = 0xC2, acEOBRuns
	}
	frame := []byte{8, 0, 0, 0, 0, 1, 1, 0x11, 0}
	binary.BigEndian.PutUint16(frame[1:], uint16(s.Height))
	binary.BigEndian.PutUint16(frame[3:], uint16(s.Width))
	segment(w, sof, frame)
	for _, t := range []huffTable{dcTable, ac} {
		segment(w, 0xC4, append(append([]byte{t.class << 4}, t.counts[:]...), t.symbols...))
	}
	blocks := ((s.Width + 7) / 8) * ((s.Height + 7) / 8)
	scans := []scan{{0, 63, 0, 0}}
	if s.Progressive {
		scans = s.Scans
		if scans == nil {
			scans = defaultScan
		}
	}
	for _, sc := range scans {
		segment(w, 0xDA, []byte{1, 1, 0x00, sc.Ss, sc.Se, sc.Ah<<4 | sc.Al})
		if s.HeaderOnly {
			break
		}
		var bw bitWriter
		bw.w = w
		switch {
		case !s.Progressive:
			for range blocks {
				bw.put(0b00, 2) // DC: category 0; AC: end of block
			}
		case sc.Ss == 0:
			if sc.Ah == 0 {
				for range blocks {
					bw.put(0, 1) // DC difference category 0
				}
			} else {
				for range blocks {
					bw.put(0, 1) // DC refinement: the next bit of each DC, 0
				}
			}
		default:
			for left := blocks; left > 0; {
				run := min(left, 32767)
				r := bits.Len(uint(run)) - 1
				bw.put(uint32(r), 4) // EOBr: code r of the 4-bit table
				bw.put(uint32(run-1<<r), r)
				left -= run
			}
		}
		bw.flush()
	}
	if !s.HeaderOnly {
		w.Write([]byte{0xFF, 0xD9})
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func segment(w *bufio.Writer, marker byte, payload []byte) {
	w.Write([]byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)})
	w.Write(payload)
}

func repeat(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// bitWriter writes entropy-coded bits MSB first, stuffing a 0 after every 0xFF byte.
type bitWriter struct {
	w     *bufio.Writer
	acc   uint64
	nbits uint
}

func (b *bitWriter) put(v uint32, n int) {
	b.acc = b.acc<<uint(n) | uint64(v)&(1<<uint(n)-1)
	b.nbits += uint(n)
	for b.nbits >= 8 {
		c := byte(b.acc >> (b.nbits - 8))
		b.w.WriteByte(c)
		if c == 0xFF {
			b.w.WriteByte(0)
		}
		b.nbits -= 8
	}
}

// flush pads the last byte with 1 bits, as the standard asks.
func (b *bitWriter) flush() {
	if b.nbits > 0 {
		b.put(1<<(8-b.nbits)-1, int(8-b.nbits))
	}
}
