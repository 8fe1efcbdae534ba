package imageio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"io"

	"golang.org/x/image/vp8"
	"golang.org/x/image/vp8l"
)

// WebP: the RIFF container is walked here (with golang.org/x/image/webp's ordering checks) so
// that an ALPH chunk is skipped rather than decoded (RGB output drops alpha: for a lossy image
// with alpha that saves a lossless decode of the alpha plane, 5 bytes a pixel); the VP8 and VP8L
// bitstreams are decoded by golang.org/x/image, which holds the whole frame.

var (
	errWebP        = errors.New("webp: invalid format")
	errWebPNoImage = errors.New("webp: invalid format: no image data")
)

// webpInfo is what the chunks before the bitstream declare.
type webpInfo struct {
	w, h     int
	lossless bool
	chunk    []byte // the VP8 or VP8L bitstream
}

// parseWebP finds the image bitstream and reads its size.
func parseWebP(data []byte) (webpInfo, error) {
	var info webpInfo
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return info, errWebP
	}
	total := int64(binary.LittleEndian.Uint32(data[4:])) - 4 // the form type counts
	if total < 0 {
		return info, errWebP
	}
	pos := 12
	seenVP8X, wantAlpha, seenAlpha := false, false, false
	var vw, vh int
	for {
		if total == 0 {
			if seenVP8X {
				info.w, info.h = vw, vh
			}
			return info, errWebPNoImage
		}
		if total < 8 {
			return info, errors.New("riff: short chunk header")
		}
		if len(data)-pos < 8 {
			if seenVP8X {
				info.w, info.h = vw, vh
			}
			return info, io.ErrUnexpectedEOF
		}
		id := string(data[pos : pos+4])
		n := int64(binary.LittleEndian.Uint32(data[pos+4:]))
		total -= 8
		if n > total {
			return info, errors.New("riff: list subchunk too long")
		}
		if int64(len(data)-pos-8) < n {
			if seenVP8X {
				info.w, info.h = vw, vh
			}
			if id == "VP8L" && !seenAlpha {
				// The start of a lossless bitstream is enough to pre-parse it (ParseHeader).
				info.chunk, info.lossless = data[pos+8:], true
				if c, err := vp8l.DecodeConfig(bytes.NewReader(info.chunk)); err == nil {
					info.w, info.h = c.Width, c.Height
				}
			}
			return info, io.ErrUnexpectedEOF
		}
		body := data[pos+8 : pos+8+int(n)]
		pad := n & 1
		total -= n + pad
		pos += 8 + int(n+pad)
		switch id {
		case "ALPH":
			if !wantAlpha || seenAlpha {
				return info, errWebP
			}
			seenAlpha = true
		case "VP8 ":
			if wantAlpha && !seenAlpha {
				return info, errWebP
			}
			d := vp8.NewDecoder()
			d.Init(bytes.NewReader(body), len(body))
			fh, err := d.DecodeFrameHeader()
			if err != nil {
				return info, err
			}
			if seenVP8X && (fh.Width != vw || fh.Height != vh) {
				return info, errWebP
			}
			info.w, info.h, info.chunk = fh.Width, fh.Height, body
			return info, nil
		case "VP8L":
			if seenAlpha {
				return info, errWebP
			}
			c, err := vp8l.DecodeConfig(bytes.NewReader(body))
			if err != nil {
				return info, err
			}
			if seenVP8X && (c.Width != vw || c.Height != vh) {
				return info, errWebP
			}
			info.w, info.h, info.chunk, info.lossless = c.Width, c.Height, body, true
			return info, nil
		case "VP8X":
			if seenVP8X || n != 10 {
				return info, errWebP
			}
			seenVP8X = true
			wantAlpha = body[0]&0x10 != 0
			vw = int(body[4]) | int(body[5])<<8 | int(body[6])<<16 + 1
			vh = int(body[7]) | int(body[8])<<8 | int(body[9])<<16 + 1
			if int64(vw)*int64(vh) > 1<<31-1 {
				return info, errWebP
			}
		}
	}
}

// ctxReader checks a context every 64 KiB read, so that a library decoder reading from it
// stops soon after the context is done.
type ctxReader struct {
	r   *bytes.Reader
	ctx context.Context
	n   int
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c *ctxReader) ReadByte() (byte, error) {
	if c.n++; c.n >= 1<<16 {
		c.n = 0
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
	}
	return c.r.ReadByte()
}

// decodeWebP decodes the frame and hands its rows to s.
func decodeWebP(ctx context.Context, data []byte, s rowSink) error {
	info, err := parseWebP(data)
	if err != nil {
		return err
	}
	if info.lossless {
		return decodeVP8L(ctx, info.chunk, s)
	}
	var img image.Image
	r := &ctxReader{r: bytes.NewReader(info.chunk), ctx: ctx}
	{
		d := vp8.NewDecoder()
		d.Init(r, len(info.chunk))
		if _, err = d.DecodeFrameHeader(); err == nil {
			// Not cancellable once the partitions are read: about 1 s at 100 MP.
			img, err = d.DecodeFrame()
		}
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b := img.Bounds(); b.Dx() != info.w || b.Dy() != info.h {
		return errWebP
	}
	emitImage(img, s)
	return nil
}
