package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/wanwu-ai/wanwu/imageio/internal/jpeg"
	"image"
	"image/gif"
	"image/png"
	"io"
	"os"
	"strconv"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// RGB is a decoded image as packed 8-bit RGB: pixel (x, y) channel c is Pix[(y*W+x)*3+c].
type RGB struct {
	Pix  []uint8
	W, H int
}

// NewRGB allocates a black w×h image.
func NewRGB(w, h int) *RGB { return &RGB{Pix: make([]uint8, w*h*3), W: w, H: h} }

// At returns the channels of pixel (x, y).
func (m *RGB) At(x, y int) (r, g, b uint8) {
	i := (y*m.W + x) * 3
	return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
}

// Defaults for DecodeOptions fields left zero.
const (
	DefaultMaxPixels = 100_000_000 // 100 MP: a 12000×8000 photo; 300 MB as RGB
	DefaultMaxBytes  = 256 << 20   // encoded size accepted from an io.Reader
)

// DecodeOptions bounds and steers decoding. The zero value is ready to use.
type DecodeOptions struct {
	// MaxPixels refuses images whose header declares more than this many pixels
	// (width*height), before any pixel memory is allocated. 0 means DefaultMaxPixels.
	MaxPixels int64
	// MaxBytes bounds how much Decode reads from its io.Reader. 0 means DefaultMaxBytes.
	MaxBytes int64
	// IgnoreOrientation leaves pixels as stored instead of applying the EXIF orientation.
	IgnoreOrientation bool
}

// Errors that Decode wraps, for errors.Is.
var (
	ErrUnknownFormat = errors.New("unknown image format")
	ErrTooLarge      = errors.New("image too large")
	ErrTruncated     = errors.New("truncated image data")
	ErrInvalid       = errors.New("invalid image")
)

// Format names a supported container, sniffed from content.
type Format string

const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
	BMP  Format = "bmp"
	WebP Format = "webp"
)

// Sniff identifies the format from the first bytes ("" if none matches); file extensions are never consulted.
func Sniff(b []byte) Format {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return JPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a")):
		return GIF
	case bytes.HasPrefix(b, []byte("BM")):
		return BMP
	case len(b) >= 15 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:15], []byte("WEBPVP8")):
		return WebP
	}
	return ""
}

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var codecs = map[Format]codec{
	JPEG: {jpeg.DecodeConfig, jpeg.Decode},
	PNG:  {png.DecodeConfig, png.Decode},
	GIF:  {gif.DecodeConfig, gif.Decode}, // gif.Decode returns the first frame only
	BMP:  {bmp.DecodeConfig, bmp.Decode},
	WebP: {webp.DecodeConfig, webp.Decode},
}

// Decode reads an encoded image (at most MaxBytes) and decodes it; see DecodeBytes.
func Decode(r io.Reader, opts DecodeOptions) (*RGB, error) {
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("imageio: reading image: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("imageio: %w: encoded data exceeds the %d-byte limit", ErrTooLarge, limit)
	}
	return DecodeBytes(data, opts)
}

// DecodeFile decodes the image file at path; errors name the path.
func DecodeFile(path string, opts DecodeOptions) (*RGB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	defer f.Close()
	m, err := Decode(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// DecodeBytes decodes a JPEG, PNG, GIF (first frame), BMP or WebP image into packed RGB the way
// Pillow's Image.open(...).convert("RGB") does, then applies the EXIF orientation as
// ImageOps.exif_transpose does (unless opts.IgnoreOrientation). The header is checked against
// opts.MaxPixels before any pixel memory is allocated.
func DecodeBytes(data []byte, opts DecodeOptions) (*RGB, error) {
	f := Sniff(data)
	if f == "" {
		return nil, fmt.Errorf("imageio: %w (first bytes % x); supported: JPEG, PNG, GIF, BMP, WebP",
			ErrUnknownFormat, data[:min(len(data), 8)])
	}
	c := codecs[f]
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, decodeErr(f, "header", err)
	}
	if err := CheckSize(cfg.Width, cfg.Height, opts.MaxPixels); err != nil {
		return nil, fmt.Errorf("imageio: %s: %w", f, err)
	}
	orient := 1
	if !opts.IgnoreOrientation {
		orient = Orientation(f, data)
	}
	img, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, decodeErr(f, "data", err)
	}
	// Defence in depth: a decoder must not produce more pixels than its header promised.
	if b := img.Bounds(); b.Dx() > cfg.Width || b.Dy() > cfg.Height || b.Empty() {
		return nil, fmt.Errorf("imageio: %s: %w: decoded %dx%d, header said %dx%d",
			f, ErrInvalid, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	return toRGB(img, f, orient), nil
}

// CheckSize reports whether a w×h image is acceptable under maxPixels (0 = DefaultMaxPixels).
func CheckSize(w, h int, maxPixels int64) error {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: header declares %dx%d", ErrInvalid, w, h)
	}
	if px := int64(w) * int64(h); px > maxPixels {
		return fmt.Errorf("%w: %dx%d = %.1f MP exceeds the %s MP limit", ErrTooLarge, w, h,
			float64(px)/1e6, strconv.FormatFloat(float64(maxPixels)/1e6, 'f', -1, 64))
	}
	return nil
}

func decodeErr(f Format, part string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("imageio: %s: %w (%v)", f, ErrTruncated, err)
	}
	return fmt.Errorf("imageio: %s: %w: bad %s: %v", f, ErrInvalid, part, err)
}
