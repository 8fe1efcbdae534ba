package imageio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

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
	// ErrTooMuchWork (wrapped with ErrInvalid) refuses a JPEG with more than jpegscale.MaxScans
	// scans or jpegscale.MaxBlockVisits block visits: a decompression-time bomb.
	ErrTooMuchWork = jpegscale.ErrTooMuchWork
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

// Decode reads an encoded image (at most MaxBytes) and decodes it; see DecodeBytes.
func Decode(r io.Reader, opts DecodeOptions) (*RGB, error) {
	data, err := readLimited(r, opts)
	if err != nil {
		return nil, err
	}
	return DecodeBytes(data, opts)
}

// readLimited reads all of r, refusing more than opts.MaxBytes.
func readLimited(r io.Reader, opts DecodeOptions) ([]byte, error) {
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
	return data, nil
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

// DecodeBytes is DecodeContext without cancellation.
func DecodeBytes(data []byte, opts DecodeOptions) (*RGB, error) {
	return DecodeContext(context.Background(), data, opts)
}

// DecodeContext decodes a JPEG, PNG, GIF (first frame), BMP or WebP image into packed RGB the
// way Pillow's Image.open(...).convert("RGB") does, then applies the EXIF orientation as
// ImageOps.exif_transpose does (unless opts.IgnoreOrientation). The header is checked against
// opts.MaxPixels before any pixel memory is allocated, and decoding stops with ctx's error
// (wrapped) soon after ctx is done. Header.DecodeCost bounds what it allocates.
func DecodeContext(ctx context.Context, data []byte, opts DecodeOptions) (*RGB, error) {
	h, err := checkedHeader(data, opts)
	if err != nil {
		return nil, err
	}
	w, ht := h.decodedSize(opts)
	s := newSink(w, ht, h.Orientation)
	if err := decodeRows(ctx, data, &h, opts, s); err != nil {
		return nil, err
	}
	return s.dst, nil
}

// checkedHeader parses the header and applies the size limit and orientation option.
func checkedHeader(data []byte, opts DecodeOptions) (Header, error) {
	h, err := ParseHeader(data)
	if err != nil {
		return Header{}, err
	}
	if err := CheckSize(h.Width, h.Height, opts.MaxPixels); err != nil {
		return Header{}, fmt.Errorf("imageio: %s: %w", h.Format, err)
	}
	if h.Format == GIF {
		// image/gif decodes the first frame alone, at its size, which may be smaller.
		if err := CheckSize(h.frameW, h.frameH, opts.MaxPixels); err != nil {
			return Header{}, fmt.Errorf("imageio: %s: first frame: %w", h.Format, err)
		}
	}
	if opts.IgnoreOrientation {
		h.Orientation = 1
	}
	return h, nil
}

// jpegScale is the DCT reduction a JPEG decodes at under opts (1 for other formats).
func (h *Header) jpegScale(opts DecodeOptions) int {
	if h.Format != JPEG || (opts.MinWidth <= 0 && opts.MinHeight <= 0) {
		return 1
	}
	minW, minH := opts.MinWidth, opts.MinHeight
	if h.Orientation >= 5 { // the stored image is transposed relative to what the model sees
		minW, minH = minH, minW
	}
	return jpegscale.ChooseScale(h.Width, h.Height, minW, minH)
}

// decodedSize is the stored size decoding produces: a JPEG's DCT-scaled size, a GIF's first
// frame, the declared size otherwise.
func (h *Header) decodedSize(opts DecodeOptions) (w, ht int) {
	switch h.Format {
	case JPEG:
		return jpegscale.ScaledSize(h.Width, h.Height, h.jpegScale(opts))
	case GIF:
		return h.frameW, h.frameH
	}
	return h.Width, h.Height
}

// decodeRows decodes data (whose header is h) into s, row by row.
func decodeRows(ctx context.Context, data []byte, h *Header, opts DecodeOptions, s rowSink) error {
	if err := ctx.Err(); err != nil {
		return decodeErr(h.Format, "data", err)
	}
	var err error
	switch h.Format {
	case JPEG:
		jo := jpegscale.Options{Scale: h.jpegScale(opts), MaxPixels: -1} // the size check already ran
		_, err = jpegscale.DecodeTo(ctx, data, jo, func(w, ht int) jpegscale.Sink { return jpegSink{s} })
	case PNG:
		err = decodePNG(ctx, data, s)
	case GIF:
		err = decodeGIF(ctx, data, s)
	case BMP:
		err = decodeBMP(ctx, data, s)
	case WebP:
		err = decodeWebP(ctx, data, s)
	}
	if err != nil {
		return decodeErr(h.Format, "data", err)
	}
	return nil
}

// jpegSink adapts a rowSink to jpegscale's.
type jpegSink struct{ s rowSink }

func (j jpegSink) Rows() (int, int)  { return j.s.rows() }
func (j jpegSink) Row(y int) []uint8 { return j.s.row(y) }
func (j jpegSink) Commit(y int)      { j.s.commit(y) }

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
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("imageio: %s: decoding stopped: %w", f, err)
	case errors.Is(err, jpegscale.ErrTooMuchWork):
		return fmt.Errorf("imageio: %s: %w: %w", f, ErrInvalid, err)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("imageio: %s: %w (%v)", f, ErrTruncated, err)
	}
	return fmt.Errorf("imageio: %s: %w: bad %s: %v", f, ErrInvalid, part, err)
}
