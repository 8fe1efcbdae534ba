package imageio

import (
	"bytes"
	"fmt"
	"image"
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
	return h, nil
}

// ParseHeader reads the header at the start of an encoded image.
func ParseHeader(data []byte) (Header, error) {
	f := Sniff(data)
	if f == "" {
		return Header{}, fmt.Errorf("imageio: %w", ErrUnknownFormat)
	}
	h := Header{Format: f, FileBytes: int64(len(data)), Orientation: Orientation(f, data)}
	if f == JPEG {
		c, err := jpegscale.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return Header{}, decodeErr(f, "header", err)
		}
		h.Width, h.Height, h.Progressive, h.Components = c.Width, c.Height, c.Progressive, c.Components
		return h, nil
	}
	var cfg image.Config
	cfg, err := codecs[f].config(bytes.NewReader(data))
	if err != nil {
		return Header{}, decodeErr(f, "header", err)
	}
	h.Width, h.Height = cfg.Width, cfg.Height
	return h, nil
}

// DecodeCost predicts the bytes decoding the image holds at its peak, for DecodeOptions with the given
// MinWidth/MinHeight: the encoded file (read whole), the decoded RGB, and the decoder's working memory —
// for a JPEG at the DCT scale those bounds allow, the other formats' full-size image.Image.
func (h Header) DecodeCost(minW, minH int) int64 {
	w, ht := int64(h.Width), int64(h.Height)
	if h.Format != JPEG {
		// The decoder's image (RGBA/NRGBA: 4 bytes per pixel; 16-bit: 8) plus the packed RGB copy.
		return h.FileBytes + w*ht*(4+3)
	}
	scale := 1
	if minW > 0 || minH > 0 {
		if h.Orientation >= 5 {
			minW, minH = minH, minW
		}
		scale = jpegscale.ChooseScale(h.Width, h.Height, minW, minH)
	}
	sw, sh := jpegscale.ScaledSize(h.Width, h.Height, scale)
	cost := h.FileBytes + int64(sw)*int64(sh)*3
	if h.Orientation != 1 {
		cost += int64(sw) * int64(sh) * 3 // the rotated copy
	}
	comps := int64(max(h.Components, 1))
	if h.Progressive {
		// Coefficients the chosen scale needs (int16) plus an 8-byte mask, per 8×8 block per component.
		kept := map[int]int64{1: 64, 2: 49, 4: 25, 8: 1}[scale]
		blocks := (w + 7) / 8 * ((ht + 7) / 8) * comps
		cost += blocks * (kept*2 + 8)
	} else {
		// One MCU row of samples per component at the output scale (up to 16 source rows).
		cost += int64(sw) * 16 * comps
	}
	return cost
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
