package hostile

import (
	"bufio"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
)

// pngSpec describes a PNG written row by row, never holding the image: every sample is 0 (black).
type pngSpec struct {
	Width, Height int
	BitDepth      int  // 8 or 16
	ColorType     byte // 0 gray, 2 RGB, 6 RGBA
	Interlaced    bool // Adam7
	HeaderOnly    bool // IHDR and IEND, no IDAT
}

func (s pngSpec) channels() int {
	switch s.ColorType {
	case 2:
		return 3
	case 6:
		return 4
	}
	return 1
}

// adam7 are the Adam7 passes: x0, y0, dx, dy.
var adam7 = [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}

// writePNG writes s to path, streaming the rows through zlib at its fastest level (rows of zeros
// compress about 1000:1 even so).
func writePNG(path string, s pngSpec) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.Write([]byte("\x89PNG\r\n\x1a\n"))
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(s.Width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(s.Height))
	ihdr[8], ihdr[9] = byte(s.BitDepth), s.ColorType
	if s.Interlaced {
		ihdr[12] = 1
	}
	writeChunk(w, "IHDR", ihdr[:])
	if !s.HeaderOnly {
		cw := &chunkWriter{w: w, typ: "IDAT"}
		z, _ := zlib.NewWriterLevel(cw, flate.BestSpeed)
		passes := [][4]int{{0, 0, 1, 1}}
		if s.Interlaced {
			passes = adam7[:]
		}
		bpp := s.channels() * s.BitDepth / 8
		for _, p := range passes {
			pw := (s.Width - p[0] + p[2] - 1) / p[2]
			ph := (s.Height - p[1] + p[3] - 1) / p[3]
			if pw <= 0 || ph <= 0 {
				continue
			}
			// Every row is filter type 0 (None) and zero samples: the pass is that many zero bytes.
			zeros := make([]byte, 1<<20)
			for left := int64(ph) * int64(1+pw*bpp); left > 0; left -= int64(len(zeros)) {
				if _, err := z.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
					return err
				}
			}
		}
		if err := z.Close(); err != nil {
			return err
		}
		cw.flush()
	}
	writeChunk(w, "IEND", nil)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeChunk(w io.Writer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.Write([]byte(typ))
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}

// chunkWriter cuts a stream into chunks of one type (IDAT) of at most 1 MiB.
type chunkWriter struct {
	w   io.Writer
	typ string
	buf []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), 1<<20-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == 1<<20 {
			c.flush()
		}
	}
	return n, nil
}

func (c *chunkWriter) flush() {
	if len(c.buf) > 0 {
		writeChunk(c.w, c.typ, c.buf)
		c.buf = c.buf[:0]
	}
}
