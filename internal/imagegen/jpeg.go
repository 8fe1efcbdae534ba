package imagegen

import "encoding/binary"

// Scan is one progressive scan: components (indices into the frame), spectral band [Ss, Se]
// (zig-zag) and successive-approximation bits.
type Scan struct {
	Comps          []int
	Ss, Se, Ah, Al int
}

// JPEGOptions describes a flat JPEG: every block's AC coefficients are zero and only the first
// block of each component has a nonzero DC difference, so the entropy-coded data costs at most
// two bits a block (baseline) and end-of-band runs of 32767 blocks (progressive AC scans).
type JPEGOptions struct {
	W, H  int
	Comps int // 1 (gray) or 3 (YCbCr)
	// Subsample420 gives the luma 2x2 sampling factors (4:2:0); otherwise every component is 1x1.
	Subsample420 bool
	// Progressive writes SOF2 and Scans (nil: ProgressiveScans(Comps)); otherwise one baseline scan.
	Progressive bool
	Scans       []Scan
	// Level is each component's DC value (-1024..1023; 0 is mid-grey).
	Level [3]int
	// Orientation adds an APP1 EXIF block with this orientation (0: none).
	Orientation int
}

// ProgressiveScans is a libjpeg-like script: an interleaved DC scan, then each component's AC
// coefficients in two bands, then a refinement of each.
func ProgressiveScans(comps int) []Scan {
	all := make([]int, comps)
	for i := range all {
		all[i] = i
	}
	s := []Scan{{Comps: all, Ss: 0, Se: 0, Ah: 0, Al: 1}}
	for c := range comps {
		s = append(s, Scan{Comps: []int{c}, Ss: 1, Se: 5, Al: 1}, Scan{Comps: []int{c}, Ss: 6, Se: 63, Al: 1})
	}
	s = append(s, Scan{Comps: all, Ss: 0, Se: 0, Ah: 1, Al: 0})
	for c := range comps {
		s = append(s, Scan{Comps: []int{c}, Ss: 1, Se: 63, Ah: 1, Al: 0})
	}
	return s
}

// bitWriter writes MSB-first entropy-coded data with JPEG byte stuffing.
type bitWriter struct {
	out   []byte
	acc   uint32
	nbits uint
}

func (w *bitWriter) put(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.nbits++
		if w.nbits == 8 {
			b := byte(w.acc)
			w.out = append(w.out, b)
			if b == 0xFF {
				w.out = append(w.out, 0)
			}
			w.acc, w.nbits = 0, 0
		}
	}
}

func (w *bitWriter) flush() {
	for w.nbits != 0 {
		w.put(1, 1)
	}
}

func segment(marker byte, body []byte) []byte {
	b := []byte{0xFF, marker}
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)+2))
	return append(b, body...)
}

// Huffman tables: DC symbols 0 ("0") and 11 ("1"); AC symbols EOB (0x00, "0") and EOB1..EOB14
// (0x10..0xE0, five bits each).
var (
	dcBits = [16]byte{2}
	dcVals = []byte{0, 11}
	acBits = [16]byte{1, 0, 0, 0, 14}
	acVals = []byte{0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0}
)

// acCode is the code of EOBn (n >= 1): "1" followed by n-1 in four bits.
func acCode(n int) (uint32, uint) { return 0x10 | uint32(n-1), 5 }

// JPEG writes o.
func JPEG(o JPEGOptions) []byte {
	b := []byte{0xFF, 0xD8}
	b = append(b, segment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))...)
	if o.Orientation != 0 {
		b = append(b, segment(0xE1, append([]byte("Exif\x00\x00"), EXIF(o.Orientation)...))...)
	}
	q := make([]byte, 65)
	for i := 1; i < 65; i++ {
		q[i] = 1
	}
	b = append(b, segment(0xDB, q)...)
	sof := []byte{8, byte(o.H >> 8), byte(o.H), byte(o.W >> 8), byte(o.W), byte(o.Comps)}
	hv := make([][2]int, o.Comps)
	for c := range o.Comps {
		hv[c] = [2]int{1, 1}
		if c == 0 && o.Subsample420 && o.Comps > 1 {
			hv[c] = [2]int{2, 2}
		}
		sof = append(sof, byte(c+1), byte(hv[c][0]<<4|hv[c][1]), 0)
	}
	marker := byte(0xC0)
	if o.Progressive {
		marker = 0xC2
	}
	b = append(b, segment(marker, sof)...)
	dht := append([]byte{0x00}, dcBits[:]...)
	dht = append(dht, dcVals...)
	dht = append(dht, 0x10)
	dht = append(dht, acBits[:]...)
	dht = append(dht, acVals...)
	b = append(b, segment(0xC4, dht)...)

	hmax, vmax := hv[0][0], hv[0][1]
	mcuW, mcuH := (o.W+8*hmax-1)/(8*hmax), (o.H+8*vmax-1)/(8*vmax)
	scans := []Scan{{Comps: seq(o.Comps), Ss: 0, Se: 63}}
	if o.Progressive {
		scans = o.Scans
		if scans == nil {
			scans = ProgressiveScans(o.Comps)
		}
	}
	for _, s := range scans {
		sos := []byte{byte(len(s.Comps))}
		for _, c := range s.Comps {
			sos = append(sos, byte(c+1), 0x00)
		}
		if o.Progressive {
			sos = append(sos, byte(s.Ss), byte(s.Se), byte(s.Ah<<4|s.Al))
		} else {
			sos = append(sos, 0, 63, 0)
		}
		b = append(b, segment(0xDA, sos)...)
		var w bitWriter
		first := [3]bool{true, true, true}
		dcBlock := func(c int) {
			if s.Ah != 0 { // DC refinement: one bit a block
				w.put(0, 1)
				return
			}
			if first[c] && o.Level[c] != 0 {
				v := o.Level[c] >> s.Al
				w.put(1, 1) // category 11
				if v < 0 {
					v += 1<<11 - 1
				}
				w.put(uint32(v)&0x7FF, 11)
			} else {
				w.put(0, 1)
			}
			first[c] = false
		}
		switch {
		case !o.Progressive:
			for range mcuW * mcuH {
				for c := range o.Comps {
					for range hv[c][0] * hv[c][1] {
						dcBlock(c)
						w.put(0, 1) // EOB
					}
				}
			}
		case s.Ss == 0:
			if len(s.Comps) == 1 {
				c := s.Comps[0]
				bw, bh := compBlocks(o.W, o.H, hv[c], hmax, vmax)
				for range bw * bh {
					dcBlock(c)
				}
			} else {
				for range mcuW * mcuH {
					for _, c := range s.Comps {
						for range hv[c][0] * hv[c][1] {
							dcBlock(c)
						}
					}
				}
			}
		default: // AC band of one component: end-of-band runs over every block
			bw, bh := compBlocks(o.W, o.H, hv[s.Comps[0]], hmax, vmax)
			for left := bw * bh; left > 0; {
				n := 14
				for 1<<n > left {
					n--
				}
				run := min(left, 1<<(n+1)-1)
				if n == 0 {
					w.put(0, 1) // EOB: one block
				} else {
					code, l := acCode(n)
					w.put(code, l)
					w.put(uint32(run-1<<n), uint(n))
				}
				left -= run
			}
		}
		w.flush()
		b = append(b, w.out...)
	}
	return append(b, 0xFF, 0xD9)
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// compBlocks is a component's blocks in a non-interleaved scan (libjpeg's width_in_blocks).
func compBlocks(w, h int, hv [2]int, hmax, vmax int) (int, int) {
	cw := (w*hv[0] + hmax - 1) / hmax
	ch := (h*hv[1] + vmax - 1) / vmax
	return (cw + 7) / 8, (ch + 7) / 8
}
