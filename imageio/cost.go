package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/wanwu-ai/wanwu/imageio/jpegscale"
)

// Header is what an image file declares before its pixels: enough to bound and to predict decoding.
type Header struct {
	Format      Format
	Width       int
	Height      int
	Progressive bool  // JPEG only
	Components  int   // JPEG only: 1, 3 or 4
	FileBytes   int64 // encoded size
	Orientation int   // EXIF orientation (1 when absent)
	// Interlaced is an Adam7 PNG or a GIF whose first frame is interlaced.
	Interlaced bool

	// What the cost model needs besides (zero when the header was not parsed from a file).
	jpeg           jpegscale.Config
	frameW, frameH int  // GIF: the first frame, which is what image/gif decodes
	lossless       bool // WebP: VP8L
	vp8l           vp8lStats
	vp8lParsed     bool
	// partial: the header was parsed from the start of a longer file (ReadHeader), so an EXIF
	// orientation stored further on (PNG and WebP allow it after the pixels) may have been missed.
	partial bool
	pngBits int // PNG: bits per pixel
}

// headerPeek is how much of a file ReadHeader reads: JPEG frame headers and EXIF blocks sit in the first
// few KiB, but an embedded thumbnail can push the frame header further.
const headerPeek = 256 << 10

// ReadHeader reads only the start of a file and returns its declared size and format.
func ReadHeader(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, fmt.Errorf("imageio: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Header{}, fmt.Errorf("imageio: %w", err)
	}
	buf := make([]byte, min(st.Size(), headerPeek))
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF {
		return Header{}, fmt.Errorf("%s: imageio: %w", path, err)
	}
	h, err := ParseHeader(buf[:n])
	if err != nil {
		return Header{}, fmt.Errorf("%s: %w", path, err)
	}
	h.FileBytes = st.Size()
	if int64(n) < st.Size() && h.Orientation == 1 && (h.Format == PNG || h.Format == WebP) {
		// PNG and WebP may store EXIF after the pixels: walk the chunk headers for it.
		if o, found := trailingOrientation(f, h.Format, st.Size()); found {
			h.Orientation = o
		} else {
			h.partial = o < 0 // the walk could not finish: assume the costliest
		}
	}
	return h, nil
}

// ParseHeader reads the header at the start of an encoded image.
func ParseHeader(data []byte) (Header, error) {
	f := Sniff(data)
	if f == "" {
		return Header{}, fmt.Errorf("imageio: %w (first bytes % x); supported: JPEG, PNG, GIF, BMP, WebP",
			ErrUnknownFormat, data[:min(len(data), 8)])
	}
	h := Header{Format: f, FileBytes: int64(len(data)), Orientation: Orientation(f, data)}
	switch f {
	case JPEG:
		c, err := jpegscale.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return Header{}, decodeErr(f, "header", err)
		}
		h.Width, h.Height, h.Progressive, h.Components, h.jpeg = c.Width, c.Height, c.Progressive, c.Components, c
	case PNG:
		p, err := parsePNGHeader(data)
		if err != nil {
			return Header{}, decodeErr(f, "header", err)
		}
		h.Width, h.Height, h.Interlaced, h.pngBits = p.w, p.h, p.interlaced, p.bpp
	case GIF:
		g, err := parseGIF(data)
		if errors.Is(err, io.ErrUnexpectedEOF) && g.screenW > 0 {
			// The first frame lies past what was read (ReadHeader reads the start of a file):
			// it is at most the logical screen.
			g.w, g.h, g.interlaced, err = g.screenW, g.screenH, false, nil
		}
		if err != nil {
			return Header{}, decodeErr(f, "header", err)
		}
		h.Width, h.Height, h.frameW, h.frameH, h.Interlaced = g.screenW, g.screenH, g.w, g.h, g.interlaced
	case BMP:
		b, err := parseBMPHeader(data)
		if err != nil {
			return Header{}, decodeErr(f, "header", err)
		}
		h.Width, h.Height = b.w, b.h
	case WebP:
		w, err := parseWebP(data)
		if (errors.Is(err, io.ErrUnexpectedEOF) || err == errWebPNoImage) && w.w > 0 {
			// Only the VP8X canvas was read: the bitstream's kind is unknown.
			w.lossless, err = true, nil
		}
		if err != nil {
			return Header{}, decodeErr(f, "header", err)
		}
		h.Width, h.Height, h.lossless = w.w, w.h, w.lossless
		if w.lossless && w.chunk != nil {
			h.vp8l, h.vp8lParsed = preparseVP8L(w.chunk)
		}
	}
	return h, nil
}

// heapBytes is what the Go heap takes for an n-byte allocation: small sizes round up to a size
// class (at most 1/8 more), large ones to whole 8 KiB pages.
func heapBytes(n int64) int64 {
	if n <= 32<<10 {
		return n + n/8 + 16
	}
	return (n + 8191) &^ 8191
}

// trailingOrientation walks the chunk headers of a PNG or WebP file of size bytes (reading 8
// bytes a chunk, skipping the data) for an eXIf/EXIF chunk and returns its orientation. found is
// false when there is none (o is then 1), or when the walk failed (o is then -1).
func trailingOrientation(f io.ReaderAt, format Format, size int64) (o int, found bool) {
	var hdr [8]byte
	pos, id := int64(8), "eXIf"
	if format == WebP {
		pos, id = 12, "EXIF"
	}
	for chunks := 0; pos+8 <= size; chunks++ {
		if chunks == 1<<16 {
			return -1, false
		}
		if _, err := f.ReadAt(hdr[:], pos); err != nil {
			return -1, false
		}
		var n int64
		var typ string
		if format == PNG {
			n, typ = int64(binary.BigEndian.Uint32(hdr[:])), string(hdr[4:])
		} else {
			n, typ = int64(binary.LittleEndian.Uint32(hdr[4:])), string(hdr[:4])
		}
		if typ == id {
			if n > 1<<20 || pos+8+n > size {
				return -1, false
			}
			b := make([]byte, n)
			if _, err := f.ReadAt(b, pos+8); err != nil {
				return -1, false
			}
			return tiffOrientation(bytes.TrimPrefix(b, []byte("Exif\x00\x00"))), true
		}
		if format == PNG {
			if typ == "IEND" {
				return 1, false
			}
			pos += 12 + n
		} else {
			pos += 8 + n + n&1
		}
	}
	return 1, false
}

// overheadBytes covers the small allocations of a decode besides its buffers: decoder and sink
// structs, closures, error values.
const overheadBytes = 16 << 10

// DecodeCost bounds the bytes DecodeContext allocates decoding the image with DecodeOptions of the
// given MinWidth/MinHeight, plus the encoded file (read whole): the RGB result, the decoder's
// working memory (see decoderBytes) and a row of scratch for a rotated result.
func (h Header) DecodeCost(minW, minH int) int64 {
	if h.partial && h.Orientation == 1 {
		return h.worstOrientation(func(h Header) int64 { return h.DecodeCost(minW, minH) })
	}
	opts := DecodeOptions{MinWidth: minW, MinHeight: minH}
	w, ht := h.decodedSize(opts)
	n := h.FileBytes + heapBytes(int64(w)*int64(ht)*3) + overheadBytes
	if h.Orientation != 1 && h.Orientation != 4 {
		n += heapBytes(int64(w) * 3) // the sink's row
	}
	return n + h.decoderBytes(opts, 0, ht)
}

// Cost bounds the bytes Preprocess.DecodeInto allocates for the image under p and opts (for
// DecodeResized add p.Width*p.Height*3, the result): the decoder's working memory (decoderBytes),
// the resize's coefficients and output accumulators, the row being decoded, and for the
// transposing orientations 5-8 the part of the source the resize reads. Not included: the
// encoded data and dst, which the caller holds. The formats decoded as a stream (BMP, GIF, PNG
// without interlacing, sequential JPEG) cost about the same whatever their height.
func (h Header) Cost(p Preprocess, opts DecodeOptions) int64 {
	p, err := p.Normalized()
	if err != nil {
		return 0
	}
	if h.Format == "" {
		return h.DecodeCost(opts.MinWidth, opts.MinHeight) - h.FileBytes
	}
	if h.partial && h.Orientation == 1 {
		return h.worstOrientation(func(h Header) int64 { return h.Cost(p, opts) })
	}
	w, ht := h.decodedSize(opts)
	if w <= 0 || ht <= 0 {
		return overheadBytes
	}
	ow, oh := w, ht
	if h.Orientation >= 5 {
		ow, oh = ht, w
	}
	g := p.plan(ow, oh)
	n := int64(overheadBytes) + g.bytes + heapBytes(int64(p.Width)*3)
	var lo, hi int
	if h.Orientation >= 5 {
		n += boxSinkBytes(w, ht, h.Orientation, g.x0, g.x1, g.y0, g.y1)
		_, _, lo, hi = boxSpan(w, ht, h.Orientation, g.x0, g.x1, g.y0, g.y1)
	} else {
		n += heapBytes(int64(w) * 3)
		lo, hi = g.y0, g.y1
		if h.Orientation == 3 || h.Orientation == 4 {
			lo, hi = ht-g.y1, ht-g.y0
		}
	}
	return n + h.decoderBytes(opts, lo, hi)
}

// worstOrientation is the largest cost over the EXIF orientations, for a header whose
// orientation may lie past what was read.
func (h Header) worstOrientation(cost func(Header) int64) int64 {
	h.partial = false
	var worst int64
	for o := 1; o <= 8; o++ {
		h.Orientation = o
		worst = max(worst, cost(h))
	}
	return worst
}

// decoderBytes bounds what a format's decoder allocates besides the sink, when the sink keeps the
// stored rows [lo, hi) of the decoded image.
func (h *Header) decoderBytes(opts DecodeOptions, lo, hi int) int64 {
	w, ht := h.decodedSize(opts)
	W, H := int64(w), int64(ht)
	switch h.Format {
	case JPEG:
		return h.jpeg.Cost(h.jpegScale(opts))
	case PNG:
		// The inflater, two rows of filter state at up to 8 bytes a pixel, and for Adam7 the kept
		// rows as RGB until the last pass.
		bits := int64(h.pngBits)
		if bits == 0 {
			bits = 64 // not parsed: the widest, 16-bit RGBA
		}
		n := int64(inflaterBytes) + 2*heapBytes(1+(bits*W+7)/8)
		if h.Interlaced || h.pngBits == 0 {
			n += heapBytes(int64(max(hi-lo, 0)) * W * 3)
		}
		return n
	case GIF:
		// compress/lzw's decoder (about 20 KiB), one row of palette indices, the colour tables.
		return 24<<10 + W + 2*256*3
	case BMP:
		return 256 * 3
	case WebP:
		if !h.lossless {
			// golang.org/x/image/vp8: the YCbCr frame padded to whole macroblocks, per-macroblock
			// filter parameters and the partitions read whole.
			mbw, mbh := (W+15)/16, (H+15)/16
			return mbw*mbh*256*3/2 + mbw*mbh*4 + mbw*32 + h.FileBytes + 4<<10
		}
		if h.vp8lParsed {
			return vp8lBytes(W, H, h.FileBytes, &h.vp8l)
		}
		return vp8lBytes(W, H, h.FileBytes, nil)
	}
	// Unknown: as much as the most expensive whole-image decoder, 8 bytes a pixel.
	return W * H * 8
}

// vp8lBytes bounds what decodeVP8L allocates for a w×h lossless WebP of fileBytes: the ring of
// entropy-decoded pixels LZ77 can reach, the transforms' images and rows, colour caches and the
// Huffman groups. With a pre-parse (st) these are known; without, the sub-images are at most a
// quarter-resolution image each, there are at most min(2600, tiles) groups (a tile is 4×4
// pixels or more), each a fixed part plus its codes' symbols, and all groups' symbols together
// at most 16 per byte of the file (a complete code takes half a bit a symbol at the least).
func vp8lBytes(w, h, fileBytes int64, st *vp8lStats) int64 {
	const fixed = 4<<10 + 4*64 // the decoder, closures
	if st != nil {
		cw := int64(st.width)
		ring := min(cw*h, max(vp8lMaxDistance, 7*cw+8)+cw+4096+1)
		return heapBytes(ring*4) + heapBytes(cw*4) + vp8lTransformBytes(w) + st.subBytes +
			heapBytes(int64(st.groups)*vp8lGroupSize) + st.symbolBytes + heapBytes(int64(st.cache)*4) + fixed
	}
	ring := min(w*h, max(vp8lMaxDistance, 7*w+8)+w+4096+1)
	tiles := ((w + 3) / 4) * ((h + 3) / 4)
	groups := min(tiles, vp8lMaxGroups)
	symbols := min(groups*vp8lMaxSymbolBytes, 32*fileBytes+vp8lMaxSymbolBytes*4)
	return heapBytes(ring*4) + heapBytes(w*4) + vp8lTransformBytes(w) + 3*heapBytes(tiles*4) +
		4*(8<<10) + heapBytes(groups*vp8lGroupSize) + 4*heapBytes(65536*4) + symbols + fixed
}

// MinSize is the smallest decoded size p's resize needs, for DecodeOptions.MinWidth/MinHeight: the
// input size when stretching, the shorter side before the crop otherwise (0, 0 if p is invalid).
func (p Preprocess) MinSize() (w, h int) {
	p, err := p.Normalized()
	if err != nil {
		return 0, 0
	}
	if p.Resize == "stretch" {
		return p.Width, p.Height
	}
	return p.ResizeShorter, p.ResizeShorter
}
