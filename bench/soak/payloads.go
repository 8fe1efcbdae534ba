package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// payload is one request body of a kind.
type payload struct {
	kind, ctype string
	body        []byte
}

// Hostile kinds sent by the drivers; each is answered with a 4xx (or, for the tall and wide images and
// the scan bomb once imageio bounds them, possibly a 200), never a crash or a 5xx other than admission 503.
// slow and short are not bodies but behaviours (see slowUpload).
const (
	kindGood      = "good"      // a photo from -images, raw with its type
	kindCorrupt   = "corrupt"   // a photo cut in half or with bytes scrambled
	kindOversized = "oversized" // a body over --max-body
	kindBombPNG   = "bomb_png"  // header-only PNG declaring 30000x30000 (over --max-pixels)
	kindBombBMP   = "bomb_bmp"  // 54-byte BMP header declaring 10000x10000, no pixel data
	kindBombJPEG  = "bomb_jpeg" // JPEG frame header declaring 60000x60000, no scan
	kindTall      = "tall_png"  // a valid 1x1,000,000 PNG (2 KB)
	kindWide      = "wide_png"  // a valid 1,000,000x1 PNG (1 KB)
	kindScanBomb  = "scan_bomb" // progressive 2048x2048 JPEG with 1000 scans (26 KB, tens of seconds of CPU)
	kindSlow      = "slow"      // 200 kB announced, sent 1 kB every 300 ms
	kindShort     = "short"     // Content-Length 100000, 1000 bytes sent, then the client waits
)

// buildPayloads loads the good photos from dir and derives every other kind. maxBody is the server's
// body limit (the oversized body exceeds it by 1 MiB).
func buildPayloads(dir string, maxBody int64) (map[string][]payload, error) {
	ps := map[string][]payload{}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		ext := strings.ToLower(filepath.Ext(f))
		ctype := map[string]string{".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".bmp": "image/bmp"}[ext]
		if ctype == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ps[kindGood] = append(ps[kindGood], payload{kindGood, ctype, b})
		cut := append([]byte(nil), b[:len(b)/2]...)
		ps[kindCorrupt] = append(ps[kindCorrupt], payload{kindCorrupt, ctype, cut})
		scr := append([]byte(nil), b...)
		r := rand.New(rand.NewPCG(uint64(len(b)), 1))
		for i := 64; i < len(scr); i += 97 {
			scr[i] = byte(r.Uint32())
		}
		ps[kindCorrupt] = append(ps[kindCorrupt], payload{kindCorrupt, ctype, scr})
	}
	if len(ps[kindGood]) == 0 {
		return nil, fmt.Errorf("no photos in %s", dir)
	}
	big := make([]byte, maxBody+1<<20)
	copy(big, ps[kindGood][0].body)
	ps[kindOversized] = []payload{{kindOversized, "image/jpeg", big}}
	ps[kindBombPNG] = []payload{{kindBombPNG, "image/png", hugePNG(30000, 30000)}}
	ps[kindBombBMP] = []payload{{kindBombBMP, "image/bmp", headerBMP(10000, 10000)}}
	ps[kindBombJPEG] = []payload{{kindBombJPEG, "image/jpeg", headerJPEG(60000, 60000)}}
	ps[kindTall] = []payload{{kindTall, "image/png", grayPNG(1, 1_000_000)}}
	ps[kindWide] = []payload{{kindWide, "image/png", grayPNG(1_000_000, 1)}}
	ps[kindScanBomb] = []payload{{kindScanBomb, "image/jpeg", scanBomb(2048, 2048, 1000)}}
	// Behaviours: the body is what the slow and short clients start to send.
	ps[kindSlow] = []payload{{kindSlow, "image/jpeg", ps[kindGood][0].body}}
	ps[kindShort] = []payload{{kindShort, "image/jpeg", ps[kindGood][0].body}}
	return ps, nil
}

// hugePNG is a PNG signature and IHDR declaring w×h with 8-bit RGB and no data: refused from the header.
func hugePNG(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	b = append(b, byte(w>>24), byte(w>>16), byte(w>>8), byte(w), byte(h>>24), byte(h>>16), byte(h>>8), byte(h), 8, 2, 0, 0, 0)
	crc := crc32.ChecksumIEEE(b[12:])
	return append(b, byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc))
}

// headerBMP is a 54-byte BMP header (24-bit, w×h) with no pixel data.
func headerBMP(w, h int32) []byte {
	b := make([]byte, 54)
	copy(b, "BM")
	rowBytes := (int64(w)*3 + 3) &^ 3
	binary.LittleEndian.PutUint32(b[2:], uint32(54+rowBytes*int64(h)))
	binary.LittleEndian.PutUint32(b[10:], 54)
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	binary.LittleEndian.PutUint16(b[26:], 1)
	binary.LittleEndian.PutUint16(b[28:], 24)
	return b
}

// jpegSegment is a marker segment: 0xFF marker, length, payload.
func jpegSegment(marker byte, payload []byte) []byte {
	n := len(payload) + 2
	return append([]byte{0xff, marker, byte(n >> 8), byte(n)}, payload...)
}

// headerJPEG is a baseline JPEG up to its frame header declaring w×h (3 components), with no scan.
func headerJPEG(w, h int) []byte {
	b := []byte{0xff, 0xd8}
	b = append(b, jpegSegment(0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...))...)
	b = append(b, jpegSegment(0xc0, []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0})...)
	return append(b, 0xff, 0xd9)
}

// grayPNG is a valid all-black 8-bit greyscale PNG of w×h (tiny once compressed).
func grayPNG(w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// bitWriter writes JPEG entropy-coded bits, most significant first, stuffing a 0 after each 0xFF byte.
type bitWriter struct {
	out []byte
	acc uint32
	n   uint
}

func (w *bitWriter) put(v uint32, bits uint) {
	for i := int(bits) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		if w.n++; w.n == 8 {
			w.out = append(w.out, byte(w.acc))
			if byte(w.acc) == 0xff {
				w.out = append(w.out, 0)
			}
			w.acc, w.n = 0, 0
		}
	}
}

// bytes pads the last byte with 1 bits (as encoders do) and returns the data.
func (w *bitWriter) bytes() []byte {
	for w.n != 0 {
		w.put(1, 1)
	}
	return w.out
}

// scanBomb is a progressive greyscale JPEG of w×h (w*h/64 a multiple of 2 or 3 after the long runs):
// a DC scan of zeros, then scans AC scans that each code one end-of-band run over every block in a few
// bytes. A decoder without a cap on scans walks every block once per scan: 1000 scans of a 2048x2048
// image cost a plain decoder tens of seconds of CPU for 26 KB.
func scanBomb(w, h, scans int) []byte {
	b := []byte{0xff, 0xd8}
	b = append(b, jpegSegment(0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...))...)
	b = append(b, jpegSegment(0xc2, []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 1, 1, 0x11, 0})...)
	// DC table 0: the 1-bit code 0 is category 0 (no difference).
	b = append(b, jpegSegment(0xc4, []byte{0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})...)
	// AC table 0: code 0 is EOBRUN class 14 (16384 + 14 bits), code 10 is class 1 (2 + 1 bit).
	b = append(b, jpegSegment(0xc4, []byte{0x10, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe0, 0x10})...)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	b = append(b, jpegSegment(0xda, []byte{1, 1, 0x00, 0, 0, 0})...)
	b = append(b, make([]byte, (blocks+7)/8)...)
	var bw bitWriter
	left := blocks
	for left >= 32767+2 || left == 32767 {
		bw.put(0, 1)
		bw.put(0x3fff, 14)
		left -= 32767
	}
	for left >= 2 {
		run := min(left, 3)
		bw.put(2, 2)
		bw.put(uint32(run-2), 1)
		left -= run
	}
	if left != 0 {
		panic("scanBomb: block count leaves a run of 1")
	}
	data := bw.bytes()
	for i := 0; i < scans; i++ {
		b = append(b, jpegSegment(0xda, []byte{1, 1, 0x00, 1, 63, 0})...)
		b = append(b, data...)
	}
	return append(b, 0xff, 0xd9)
}
