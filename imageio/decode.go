package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"io"
	"os"
	"strconv"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"github.com/wanwu-ai/wanwu/imageio/jpegscale"
)

// RGB is a decoded image as packed 8-bit RGB: pixel (x, y) channel c is Pix[(y*W+x)*3+c].
type RGB struct {
	Pix  []uint8
	W, H int
	// resized is set by DecodeResized: the pixels are already those Preprocess.Into would
	// resample to for this geometry, so Into only normalises them.
	resized geometry
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
	// MinWidth and MinHeight (after EXIF orientation), when set, let a JPEG decode at 1/2, 1/4 or 1/8
	// scale in the DCT domain (as Pillow's draft mode does) as long as the result stays at least this
	// large. A 24 MP photo for a 224×224 model then costs about as much as a small one; the pixels are
	// those of a box-filtered downscale rather than of the full decode. 0 means full size.
	MinWidth, MinHeight int
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

// JPEG is not here: it goes through jpegscale, which can decode at reduced scale.
var codecs = map[Format]codec{
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
	if f == JPEG {
		return decodeJPEG(data, opts)
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
	return toRGB(img, orient), nil
}

// decodeJPEG decodes at the largest DCT-domain reduction opts.MinWidth/MinHeight allow (full size when
// they are 0), bit-exact with libjpeg-turbo (Pillow) at every scale, then applies the EXIF orientation.
func decodeJPEG(data []byte, opts DecodeOptions) (*RGB, error) {
	cfg, err := jpegscale.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, decodeErr(JPEG, "header", err)
	}
	if err := CheckSize(cfg.Width, cfg.Height, opts.MaxPixels); err != nil {
		return nil, fmt.Errorf("imageio: %s: %w", JPEG, err)
	}
	orient := 1
	if !opts.IgnoreOrientation {
		orient = Orientation(JPEG, data)
	}
	jo := jpegscale.Options{Scale: 1, MaxPixels: -1} // the size check above already ran
	if opts.MinWidth > 0 || opts.MinHeight > 0 {
		jo.Scale, jo.MinWidth, jo.MinHeight = 0, opts.MinWidth, opts.MinHeight
		if orient >= 5 { // the stored image is transposed relative to what the model sees
			jo.MinWidth, jo.MinHeight = jo.MinHeight, jo.MinWidth
		}
	}
	img, _, err := jpegscale.DecodeWith(bytes.NewReader(data), jo)
	if err != nil {
		return nil, decodeErr(JPEG, "data", err)
	}
	m := &RGB{Pix: img.Pix, W: img.W, H: img.H}
	if orient == 1 {
		return m, nil
	}
	s := newSink(m.W, m.H, orient)
	for y := 0; y < m.H; y++ {
		copy(s.row(y), m.Pix[y*m.W*3:(y+1)*m.W*3])
		s.commit(y)
	}
	return s.dst, nil
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
