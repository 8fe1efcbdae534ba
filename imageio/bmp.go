package imageio

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
)

// A row-streaming BMP decoder for what golang.org/x/image/bmp reads (uncompressed 1, 2, 4, 8, 24
// and 32 bits per pixel; BITMAPINFOHEADER, V4 and V5 headers), with the same header checks and
// the same pixels, which TestBMPMatchesXImage verifies: rows go straight from the file to the
// sink, bottom-up or top-down, so a BMP costs one row however large it is.

var errBMPUnsupported = errors.New("bmp: unsupported BMP image")

// bmpInfo is what a BMP header declares.
type bmpInfo struct {
	w, h    int
	bpp     int
	topDown bool
	offset  int
	palette [][3]uint8
}

// parseBMPHeader reads the file and info headers (and the palette) as x/image/bmp does.
func parseBMPHeader(data []byte) (bmpInfo, error) {
	const (
		fileHeaderLen   = 14
		infoHeaderLen   = 40
		v4InfoHeaderLen = 108
		v5InfoHeaderLen = 124
	)
	var b bmpInfo
	if len(data) < fileHeaderLen+4 {
		return b, io.ErrUnexpectedEOF
	}
	if string(data[:2]) != "BM" {
		return b, errors.New("bmp: invalid format")
	}
	offset := binary.LittleEndian.Uint32(data[10:])
	infoLen := binary.LittleEndian.Uint32(data[14:])
	if infoLen != infoHeaderLen && infoLen != v4InfoHeaderLen && infoLen != v5InfoHeaderLen {
		return b, errBMPUnsupported
	}
	if len(data) < fileHeaderLen+int(infoLen) {
		return b, io.ErrUnexpectedEOF
	}
	h := data[fileHeaderLen : fileHeaderLen+int(infoLen)]
	width := int(int32(binary.LittleEndian.Uint32(h[4:])))
	height := int(int32(binary.LittleEndian.Uint32(h[8:])))
	if height < 0 {
		height, b.topDown = -height, true
	}
	if width < 0 || height < 0 || (width == 0) != (height == 0) {
		return b, errBMPUnsupported
	}
	planes, bpp := binary.LittleEndian.Uint16(h[12:]), binary.LittleEndian.Uint16(h[14:])
	compression := binary.LittleEndian.Uint32(h[16:])
	// BI_BITFIELDS with the default masks is plain BGRA.
	if compression == 3 && infoLen > infoHeaderLen &&
		binary.LittleEndian.Uint32(h[40:]) == 0xff0000 && binary.LittleEndian.Uint32(h[44:]) == 0xff00 &&
		binary.LittleEndian.Uint32(h[48:]) == 0xff && binary.LittleEndian.Uint32(h[52:]) == 0xff000000 {
		compression = 0
	}
	if planes != 1 || compression != 0 {
		return b, errBMPUnsupported
	}
	b.w, b.h, b.bpp = width, height, int(bpp)
	switch bpp {
	case 1, 2, 4, 8:
		used := binary.LittleEndian.Uint32(h[32:])
		if used == 0 {
			used = 1 << bpp
		} else if used > 1<<bpp {
			return b, errBMPUnsupported
		}
		if offset != fileHeaderLen+infoLen+used*4 {
			return b, errBMPUnsupported
		}
		pal := data[fileHeaderLen+int(infoLen):]
		if len(pal) < int(used)*4 {
			return b, io.ErrUnexpectedEOF
		}
		b.palette = make([][3]uint8, used)
		for i := range b.palette {
			b.palette[i] = [3]uint8{pal[4*i+2], pal[4*i+1], pal[4*i]} // stored BGR0
		}
	case 24, 32:
		if offset != fileHeaderLen+infoLen {
			return b, errBMPUnsupported
		}
	default:
		return b, errBMPUnsupported
	}
	b.offset = int(offset)
	return b, nil
}

// rowBytes is one stored row, padded to 4 bytes.
func (b *bmpInfo) rowBytes() int {
	return ((b.bpp*b.w+7)/8 + 3) &^ 3
}

// decodeBMP streams a BMP's rows into s.
func decodeBMP(ctx context.Context, data []byte, s rowSink) error {
	b, err := parseBMPHeader(data)
	if err != nil {
		return err
	}
	pix := data[b.offset:]
	stride := b.rowBytes()
	for i := 0; i < b.h; i++ {
		if len(pix) < stride {
			return io.ErrUnexpectedEOF
		}
		src := pix[:stride]
		pix = pix[stride:]
		y := b.h - 1 - i
		if b.topDown {
			y = i
		}
		dst := s.row(y)
		if dst == nil {
			if b.bpp <= 8 && len(b.palette) < 1<<b.bpp && !b.validIndices(src) {
				return errors.New("bmp: invalid palette index")
			}
			continue
		}
		switch b.bpp {
		case 24, 32:
			n := b.bpp / 8
			for x := 0; x < b.w; x++ {
				p := src[x*n:]
				dst[3*x], dst[3*x+1], dst[3*x+2] = p[2], p[1], p[0]
			}
		default:
			per := 8 / b.bpp
			mask := uint8(1<<b.bpp - 1)
			for x := 0; x < b.w; x++ {
				v := src[x/per] >> (8 - b.bpp*(x%per+1)) & mask
				if int(v) >= len(b.palette) {
					return errors.New("bmp: invalid palette index")
				}
				e := b.palette[v]
				dst[3*x], dst[3*x+1], dst[3*x+2] = e[0], e[1], e[2]
			}
		}
		s.commit(y)
		if i&63 == 63 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// validIndices reports whether every palette index of a stored row is in the palette (checked
// even for rows the sink skips, so that a file decodes or fails the same way whatever is kept).
func (b *bmpInfo) validIndices(src []uint8) bool {
	per := 8 / b.bpp
	mask := uint8(1<<b.bpp - 1)
	for x := 0; x < b.w; x++ {
		if int(src[x/per]>>(8-b.bpp*(x%per+1))&mask) >= len(b.palette) {
			return false
		}
	}
	return true
}
