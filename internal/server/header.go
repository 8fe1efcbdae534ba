package server

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"github.com/wanwu-ai/wanwu/imageio"
)

// header is what the first bytes of an image say, before any pixel is decoded.
type header struct {
	format imageio.Format
	w, h   int
}

// probe reads only the image header. Its answer sizes the decode reservation; imageio repeats the check
// with its own decoders, so a header the standard decoders misread can only make the request fail, not
// bypass the budget (imageio refuses pixel counts above its limit, too).
func probe(data []byte) (header, error) {
	f := imageio.Sniff(data)
	configs := map[imageio.Format]func(io.Reader) (image.Config, error){
		imageio.JPEG: jpeg.DecodeConfig, imageio.PNG: png.DecodeConfig, imageio.GIF: gif.DecodeConfig,
		imageio.BMP: bmp.DecodeConfig, imageio.WebP: webp.DecodeConfig,
	}
	cfg, ok := configs[f]
	if !ok {
		return header{}, fmt.Errorf("%w (first bytes % x); supported: JPEG, PNG, GIF, BMP, WebP",
			imageio.ErrUnknownFormat, data[:min(len(data), 8)])
	}
	c, err := cfg(bytes.NewReader(data))
	if err != nil {
		return header{format: f}, fmt.Errorf("%s: %w: bad header: %v", f, imageio.ErrInvalid, err)
	}
	return header{format: f, w: c.Width, h: c.Height}, nil
}

// decodeBytes predicts the peak bytes that decoding needs beyond the encoded data: the decoder's own image
// (per format, at its widest sample type) plus the packed RGB result, which exist together while the one
// is converted into the other, plus a fixed allowance for tables and the preprocess scratch.
func (h header) decodeBytes(data []byte) int64 {
	px := int64(h.w) * int64(h.h)
	var perPixel int64
	switch h.format {
	case imageio.JPEG:
		perPixel = 3 // YCbCr 4:4:4 or CMYK at worst
		if progressiveJPEG(data) {
			perPixel += 6 // progressive: int16 DCT coefficients of all three components are kept
		}
	case imageio.PNG:
		perPixel = 8 // up to 16-bit RGBA
	case imageio.GIF:
		perPixel = 1 // paletted
	case imageio.BMP:
		perPixel = 4 // RGBA
	case imageio.WebP:
		perPixel = 3 // YCbCr 4:2:0 plus alpha, rounded up
	}
	return px*(perPixel+3) + 1<<20
}

// progressiveJPEG reports whether a JPEG's frame header is SOF2 (progressive). It walks the markers up to
// the first SOF; anything malformed counts as progressive, the larger estimate.
func progressiveJPEG(b []byte) bool {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return true
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		switch {
		case m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE:
			return true
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return false
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		i += 2 + n
	}
	return true
}
