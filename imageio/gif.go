package imageio

import (
	"compress/lzw"
	"context"
	"errors"
	"fmt"
	"io"
)

// A row-streaming decoder of a GIF's first frame, with image/gif's checks and pixels (a
// transparent index decodes black, as image/gif's palette entry for it is transparent black;
// TestGIFMatchesImageGIF compares the two): LZW output goes row by row to the sink, interlaced
// rows in their pass order (the resizer takes rows in any order), so a GIF costs the LZW
// tables and one row.
//
// Like image/gif, the first frame is returned alone, at its own size: a frame smaller than the
// logical screen is not padded (Pillow pads it).

// gifFrame is what the blocks before the first frame's pixels declare.
type gifFrame struct {
	screenW, screenH int
	w, h             int
	interlaced       bool
	palette          [256][3]uint8
	nPalette         int
	litWidth         int
	data             int // offset of the LZW data sub-blocks
}

type gifCursor struct {
	b   []byte
	pos int
}

func (c *gifCursor) byte() (byte, error) {
	if c.pos >= len(c.b) {
		return 0, io.ErrUnexpectedEOF
	}
	c.pos++
	return c.b[c.pos-1], nil
}

func (c *gifCursor) take(n int) ([]byte, error) {
	if len(c.b)-c.pos < n {
		return nil, io.ErrUnexpectedEOF
	}
	c.pos += n
	return c.b[c.pos-n : c.pos], nil
}

// skipBlocks skips data sub-blocks up to their terminator.
func (c *gifCursor) skipBlocks() error {
	for {
		n, err := c.byte()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := c.take(int(n)); err != nil {
			return err
		}
	}
}

// parseGIF reads the screen descriptor, then the extensions and descriptor of the first frame,
// with image/gif's checks.
func parseGIF(data []byte) (gifFrame, error) {
	var f gifFrame
	c := gifCursor{b: data}
	hdr, err := c.take(13)
	if err != nil {
		return f, fmt.Errorf("gif: reading header: %w", err)
	}
	if v := string(hdr[:6]); v != "GIF87a" && v != "GIF89a" {
		return f, fmt.Errorf("gif: can't recognize format %q", v)
	}
	f.screenW, f.screenH = int(hdr[6])|int(hdr[7])<<8, int(hdr[8])|int(hdr[9])<<8
	var global [][3]uint8
	if hdr[10]&0x80 != 0 {
		if global, err = c.colorTable(hdr[10]); err != nil {
			return f, err
		}
	}
	transparent := -1
	for {
		b, err := c.byte()
		if err != nil {
			return f, fmt.Errorf("gif: reading frames: %w", err)
		}
		switch b {
		case 0x21: // extension
			ext, err := c.byte()
			if err != nil {
				return f, fmt.Errorf("gif: reading extension: %w", err)
			}
			size := 0
			switch ext {
			case 0x01: // plain text
				size = 13
			case 0xF9: // graphic control
				gc, err := c.take(6)
				if err != nil {
					return f, fmt.Errorf("gif: can't read graphic control: %w", err)
				}
				if gc[0] != 4 {
					return f, fmt.Errorf("gif: invalid graphic control extension block size: %d", gc[0])
				}
				transparent = -1
				if gc[1]&1 != 0 {
					transparent = int(gc[4])
				}
				if gc[5] != 0 {
					return f, fmt.Errorf("gif: invalid graphic control extension block terminator: %d", gc[5])
				}
				continue
			case 0xFE: // comment
			case 0xFF: // application
				n, err := c.byte()
				if err != nil {
					return f, fmt.Errorf("gif: reading extension: %w", err)
				}
				size = int(n)
			default:
				return f, fmt.Errorf("gif: unknown extension 0x%.2x", ext)
			}
			if _, err := c.take(size); err != nil {
				return f, fmt.Errorf("gif: reading extension: %w", err)
			}
			if err := c.skipBlocks(); err != nil {
				return f, fmt.Errorf("gif: reading extension: %w", err)
			}
		case 0x2C: // image descriptor
			d, err := c.take(9)
			if err != nil {
				return f, fmt.Errorf("gif: can't read image descriptor: %w", err)
			}
			left, top := int(d[0])|int(d[1])<<8, int(d[2])|int(d[3])<<8
			f.w, f.h = int(d[4])|int(d[5])<<8, int(d[6])|int(d[7])<<8
			if left+f.w > f.screenW || top+f.h > f.screenH {
				return f, errors.New("gif: frame bounds larger than image bounds")
			}
			f.interlaced = d[8]&0x40 != 0
			pal := global
			if d[8]&0x80 != 0 {
				if pal, err = c.colorTable(d[8]); err != nil {
					return f, err
				}
			} else if global == nil {
				return f, errors.New("gif: no color table")
			}
			f.nPalette = copy(f.palette[:], pal)
			if transparent >= 0 {
				// image/gif makes the entry transparent black, and grows a short palette with
				// such entries up to the transparent index.
				f.palette[transparent] = [3]uint8{}
				f.nPalette = max(f.nPalette, transparent+1)
			}
			lw, err := c.byte()
			if err != nil {
				return f, fmt.Errorf("gif: reading image data: %w", err)
			}
			if lw < 2 || lw > 8 {
				return f, fmt.Errorf("gif: pixel size in decode out of range: %d", lw)
			}
			f.litWidth, f.data = int(lw), c.pos
			return f, nil
		case 0x3B: // trailer
			return f, errors.New("gif: missing image data")
		default:
			return f, fmt.Errorf("gif: unknown block type: 0x%.2x", b)
		}
	}
}

func (c *gifCursor) colorTable(fields byte) ([][3]uint8, error) {
	n := 1 << (1 + uint(fields&7))
	b, err := c.take(3 * n)
	if err != nil {
		return nil, fmt.Errorf("gif: reading color table: %w", err)
	}
	p := make([][3]uint8, n)
	for i := range p {
		p[i] = [3]uint8{b[3*i], b[3*i+1], b[3*i+2]}
	}
	return p, nil
}

// gifBlocks presents data sub-blocks as one byte stream (an io.ByteReader, which lzw reads
// without a bufio.Reader of its own).
type gifBlocks struct {
	c   gifCursor
	cur []byte
	err error
}

func (b *gifBlocks) fill() {
	if b.err != nil {
		return
	}
	n, err := b.c.byte()
	if err == nil && n == 0 {
		err = io.EOF
	}
	if err == nil {
		b.cur, err = b.c.take(int(n))
	}
	b.err = err
}

func (b *gifBlocks) ReadByte() (byte, error) {
	if len(b.cur) == 0 {
		b.fill()
		if b.err != nil {
			return 0, b.err
		}
	}
	v := b.cur[0]
	b.cur = b.cur[1:]
	return v, nil
}

func (b *gifBlocks) Read(p []byte) (int, error) {
	if len(p) == 0 || b.err != nil {
		return 0, b.err
	}
	if len(b.cur) == 0 {
		b.fill()
		if b.err != nil {
			return 0, b.err
		}
	}
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	return n, nil
}

// close allows what image/gif allows after the LZW data: at most one more sub-block of data
// (some encoders write a spare byte) before the terminator.
func (b *gifBlocks) close() error {
	if b.err == io.EOF {
		return nil
	} else if b.err != nil {
		return b.err
	}
	if len(b.cur) == 0 {
		b.fill()
		if b.err == io.EOF {
			return nil
		} else if b.err != nil {
			return b.err
		}
		if len(b.cur) > 1 {
			return errors.New("gif: too much image data")
		}
	}
	b.fill()
	if b.err == io.EOF {
		return nil
	} else if b.err != nil {
		return b.err
	}
	return errors.New("gif: too much image data")
}

// gifRows is the stored row each successive LZW row lands on.
func gifRow(i, h int, interlaced bool) int {
	if !interlaced {
		return i
	}
	for _, p := range [4]struct{ start, step int }{{0, 8}, {4, 8}, {2, 4}, {1, 2}} {
		n := (h - p.start + p.step - 1) / p.step
		if n < 0 {
			n = 0
		}
		if i < n {
			return p.start + i*p.step
		}
		i -= n
	}
	return -1
}

// decodeGIF streams the first frame of a GIF into s.
func decodeGIF(ctx context.Context, data []byte, s rowSink) error {
	f, err := parseGIF(data)
	if err != nil {
		return err
	}
	blocks := &gifBlocks{c: gifCursor{b: data, pos: f.data}}
	lz := lzw.NewReader(blocks, lzw.LSB, f.litWidth)
	defer lz.Close()
	idx := make([]uint8, f.w)
	for i := 0; i < f.h; i++ {
		if _, err := io.ReadFull(lz, idx); err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				return errors.New("gif: not enough image data")
			}
			return fmt.Errorf("gif: reading image data: %w", err)
		}
		if f.nPalette < 256 {
			for _, v := range idx {
				if int(v) >= f.nPalette {
					return errors.New("gif: invalid pixel value")
				}
			}
		}
		y := gifRow(i, f.h, f.interlaced)
		if dst := s.row(y); dst != nil {
			for x, v := range idx {
				e := f.palette[v]
				dst[3*x], dst[3*x+1], dst[3*x+2] = e[0], e[1], e[2]
			}
			s.commit(y)
		}
		if i&63 == 63 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	// Both the LZW stream and the sub-blocks should be exhausted (image/gif also accepts an LZW
	// stream without its end code).
	var one [1]byte
	if n, err := lz.Read(one[:]); n != 0 || (err != io.EOF && err != io.ErrUnexpectedEOF) {
		if err != nil {
			return fmt.Errorf("gif: reading image data: %w", err)
		}
		return errors.New("gif: too much image data")
	}
	return blocks.close()
}
