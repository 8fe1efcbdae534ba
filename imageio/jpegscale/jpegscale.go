// Package jpegscale decodes JPEGs directly at 1/1, 1/2, 1/4 or 1/8 scale in bounded memory.
//
// It reproduces libjpeg-turbo's scaled decompression (what Pillow's Image.draft does): every
// block is Huffman-decoded, but only a reduced inverse DCT is computed — jidctint.c's 8x8
// at 1/1 and jidctred.c's 4x4, 2x2 and DC-only 1x1 outputs at 1/2, 1/4 and 1/8. Chroma is
// scaled up through the IDCT where libjpeg does so (4:2:0 chroma at 1/2 uses the full 8x8
// IDCT), otherwise upsampled at the scaled resolution with libjpeg's "fancy" triangle
// filters, then converted with jdcolor.c's fixed-point YCbCr->RGB. Grayscale, RGB and Adobe
// CMYK/YCCK (converted like Pillow's cmyk2rgb) come out as packed RGB too.
//
// Memory: a sequential JPEG whose first scan holds every component is decoded as a stream —
// only three MCU rows of scaled samples per component live at a time, plus the output.
// Progressive (and multi-scan sequential) JPEGs need every block's coefficients until the
// last scan; only the coefficients the chosen IDCT reads are kept, as int16 (1 per block at
// DC-only 1/8, 25 for 2x2, 49 for 4x4, 64 for 8x8), plus a 64-bit nonzero mask per block that
// successive-approximation refinement needs for the coefficients that were dropped.
package jpegscale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// Image is packed 8-bit RGB: pixel (x, y) channel c is Pix[(y*W+x)*3+c].
type Image struct {
	Pix  []uint8
	W, H int
}

// Config is what the headers say, up to the first scan header.
type Config struct {
	Width, Height int
	Components    int // 1 (gray), 3 (YCbCr or RGB) or 4 (CMYK or YCCK)
	Progressive   bool
	// Sampling holds each component's horizontal and vertical sampling factors.
	Sampling [4][2]int
	// FirstScanComponents is how many components the first scan codes (0 if the headers end
	// before it): a sequential JPEG whose first scan holds them all is decoded as a stream.
	FirstScanComponents int
}

// DefaultMaxPixels bounds the source image (width*height) when Options.MaxPixels is 0.
const DefaultMaxPixels = 100_000_000

// Work bounds: a hostile progressive JPEG of a few kilobytes can otherwise ask for thousands of
// passes over every block of a 100 MP frame.
const (
	// MaxScans is the most scans a JPEG may have: the limit libjpeg-turbo's own fuzz targets set
	// through TurboJPEG's TJPARAM_SCANLIMIT. Real encoders write 1 (sequential) to about 10-12.
	MaxScans = 500
	// MaxBlockVisits bounds the blocks all scans together may visit (a block is visited once by
	// every scan that codes its component): 64 passes over a 100 MP 4:2:0 frame, five times what
	// libjpeg's standard 10-scan progression needs, and about 2 s of CPU at worst on a 2024 core.
	MaxBlockVisits = 150_000_000
)

// Errors wrapped by the decoder, for errors.Is.
var (
	// ErrTooLarge is returned when the header declares more pixels than allowed.
	ErrTooLarge = errors.New("image too large")
	// ErrTooMuchWork is returned for more than MaxScans scans or MaxBlockVisits block visits.
	ErrTooMuchWork = errors.New("too much work")
)

// Options steers DecodeWith.
type Options struct {
	// MinWidth and MinHeight: the largest reduction is chosen whose output is at least this
	// large (see ChooseScale). Ignored when Scale is set.
	MinWidth, MinHeight int
	// Scale forces the reduction: 1, 2, 4 or 8; 0 lets MinWidth/MinHeight choose.
	Scale int
	// MaxPixels refuses sources with more than this many pixels before allocating anything;
	// 0 means DefaultMaxPixels, negative means no limit.
	MaxPixels int64
}

// Sink receives the decoded image row by row (each row once, top to bottom). The decoder skips
// colour conversion for rows outside Rows, and inverse DCTs for MCU rows that no needed row
// (or its upsampling context) touches.
type Sink interface {
	// Rows is the range of output rows the sink uses.
	Rows() (lo, hi int)
	// Row returns where output row y (3*W bytes of RGB) is to be written, or nil to skip it.
	Row(y int) []uint8
	// Commit takes row y once it is written.
	Commit(y int)
}

// ScaledSize is the output size at 1/scale: ceil(w/scale) x ceil(h/scale), as libjpeg computes.
func ScaledSize(w, h, scale int) (int, int) {
	return (w + scale - 1) / scale, (h + scale - 1) / scale
}

// ChooseScale returns the largest s in 8, 4, 2, 1 with ScaledSize(w, h, s) at least
// minW x minH (1 if even full size is smaller). A bound <= 0 constrains nothing, so
// ChooseScale(w, h, 0, 0) is 8.
func ChooseScale(w, h, minW, minH int) int {
	for _, s := range [...]int{8, 4, 2} {
		sw, sh := ScaledSize(w, h, s)
		if sw >= minW && sh >= minH {
			return s
		}
	}
	return 1
}

// Decode decodes a JPEG at the largest reduction whose output is still at least minW x minH
// (ChooseScale) and returns the image and the reduction chosen (1, 2, 4 or 8).
func Decode(r io.Reader, minW, minH int) (img *Image, scale int, err error) {
	return DecodeWith(r, Options{MinWidth: minW, MinHeight: minH})
}

// imageSink collects every row into an Image.
type imageSink struct{ img *Image }

func (s *imageSink) Rows() (int, int)  { return 0, s.img.H }
func (s *imageSink) Row(y int) []uint8 { return s.img.Pix[y*s.img.W*3 : (y+1)*s.img.W*3] }
func (s *imageSink) Commit(int)        {}

// DecodeWith decodes a JPEG as opts say; see Decode.
func DecodeWith(r io.Reader, opts Options) (*Image, int, error) {
	var is imageSink
	scale, err := decode(context.Background(), r, opts, func(w, h int) Sink {
		is.img = &Image{Pix: make([]uint8, w*h*3), W: w, H: h}
		return &is
	})
	if err != nil {
		return nil, 0, err
	}
	return is.img, scale, nil
}

// DecodeTo decodes the JPEG in data into the sink that newSink returns for the output size
// (called once, after the headers, before any pixel is decoded) and returns the reduction used.
// It checks ctx between MCU rows and scans and returns its error, wrapped, once it is done.
func DecodeTo(ctx context.Context, data []byte, opts Options, newSink func(w, h int) Sink) (scale int, err error) {
	return decode(ctx, bytes.NewReader(data), opts, newSink)
}

func decode(ctx context.Context, r io.Reader, opts Options, newSink func(w, h int) Sink) (int, error) {
	if opts.Scale != 0 && opts.Scale != 1 && opts.Scale != 2 && opts.Scale != 4 && opts.Scale != 8 {
		panic(fmt.Sprintf("jpegscale: Options.Scale %d is not 0, 1, 2, 4 or 8", opts.Scale))
	}
	d := &decoder{opts: opts, ctx: ctx, newSink: newSink}
	if err := d.decode(r, false); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("jpegscale: %w", err)
	}
	return d.scale, nil
}

// DecodeConfig reads the headers up to the first scan header. An error after the frame header
// is not reported: the Config then has FirstScanComponents 0.
func DecodeConfig(r io.Reader) (Config, error) {
	d := &decoder{}
	err := d.decode(r, true)
	if !d.sofDone {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Config{}, fmt.Errorf("jpegscale: %w", err)
	}
	c := Config{Width: d.width, Height: d.height, Components: d.nComp, Progressive: d.progressive,
		FirstScanComponents: d.firstScanComps}
	for i := range d.nComp {
		c.Sampling[i] = [2]int{d.comp[i].h, d.comp[i].v}
	}
	return c, nil
}
