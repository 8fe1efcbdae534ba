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
	"errors"
	"fmt"
	"io"
)

// Image is packed 8-bit RGB: pixel (x, y) channel c is Pix[(y*W+x)*3+c].
type Image struct {
	Pix  []uint8
	W, H int
}

// Config is what the frame header says.
type Config struct {
	Width, Height int
	Components    int // 1 (gray), 3 (YCbCr or RGB) or 4 (CMYK or YCCK)
	Progressive   bool
}

// DefaultMaxPixels bounds the source image (width*height) when Options.MaxPixels is 0.
const DefaultMaxPixels = 100_000_000

// ErrTooLarge is returned (wrapped) when the header declares more pixels than allowed.
var ErrTooLarge = errors.New("image too large")

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

// DecodeWith decodes a JPEG as opts say; see Decode.
func DecodeWith(r io.Reader, opts Options) (*Image, int, error) {
	if opts.Scale != 0 && opts.Scale != 1 && opts.Scale != 2 && opts.Scale != 4 && opts.Scale != 8 {
		panic(fmt.Sprintf("jpegscale: Options.Scale %d is not 0, 1, 2, 4 or 8", opts.Scale))
	}
	d := &decoder{opts: opts}
	if err := d.decode(r, false); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, fmt.Errorf("jpegscale: %w", err)
	}
	return d.out, d.scale, nil
}

// DecodeConfig reads the header up to the frame header.
func DecodeConfig(r io.Reader) (Config, error) {
	d := &decoder{}
	if err := d.decode(r, true); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Config{}, fmt.Errorf("jpegscale: %w", err)
	}
	return Config{Width: d.width, Height: d.height, Components: d.nComp, Progressive: d.progressive}, nil
}
