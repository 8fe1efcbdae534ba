// Copyright 2009 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.
//
// Adapted for wanwu from Go's image/jpeg/reader.go: the marker parsing and byte-stuffed
// input are Go's; frame/scan bookkeeping was extended for scaled, bounded-memory output.

package jpegscale

import (
	"context"
	"io"
)

// A FormatError reports that the input is not a valid JPEG.
type FormatError string

func (e FormatError) Error() string { return "invalid JPEG format: " + string(e) }

// An UnsupportedError reports that the input uses a valid but unimplemented JPEG feature.
type UnsupportedError string

func (e UnsupportedError) Error() string { return "unsupported JPEG feature: " + string(e) }

var errUnsupportedSubsamplingRatio = UnsupportedError("luma/chroma subsampling ratio")

// component is a frame component (section B.2.2) plus the state of its scaled reconstruction.
type component struct {
	h  int   // Horizontal sampling factor.
	v  int   // Vertical sampling factor.
	c  uint8 // Component identifier.
	tq uint8 // Quantization table destination selector.

	ss         int       // DCT output size per block side at the chosen scale: 8, 4, 2 or 1
	qt         block     // quantization table latched at the component's first scan (natural order)
	latched    bool      // qt is set
	coef       coefStore // buffered (progressive / multi-scan) coefficients, else empty
	strip      []uint8   // ring of sample rows at scaled resolution, ringRows x stride
	stride     int       // bytes per strip row: blocks per row * ss
	ringRows   int       // rows in the ring: 3 MCU rows of this component
	dw, dh     int       // libjpeg's downsampled_width/height at the chosen scale
	hr, vr     int       // upsampling ratios to the output grid
	blocksWide int       // blocks per row of this component in the MCU-padded frame
	blocksHigh int       // block rows of this component in the MCU-padded frame
}

const (
	dcTable = 0
	acTable = 1
	maxTc   = 1
	maxTh   = 3
	maxTq   = 3

	maxComponents = 4
	blockSize     = 64
)

// block holds 64 coefficients (or, transiently, samples), in natural order.
type block [blockSize]int32

const (
	sof0Marker = 0xc0 // Start Of Frame (Baseline Sequential).
	sof1Marker = 0xc1 // Start Of Frame (Extended Sequential).
	sof2Marker = 0xc2 // Start Of Frame (Progressive).
	sof3Marker = 0xc3 // Start Of Frame (Lossless).
	dhtMarker  = 0xc4 // Define Huffman Table.
	dacMarker  = 0xcc // Define Arithmetic Conditioning.
	rst0Marker = 0xd0 // ReSTart (0).
	rst7Marker = 0xd7 // ReSTart (7).
	soiMarker  = 0xd8 // Start Of Image.
	eoiMarker  = 0xd9 // End Of Image.
	sosMarker  = 0xda // Start Of Scan.
	dqtMarker  = 0xdb // Define Quantization Table.
	dnlMarker  = 0xdc // Define Number of Lines.
	driMarker  = 0xdd // Define Restart Interval.
	comMarker  = 0xfe // COMment.

	app0Marker  = 0xe0
	app14Marker = 0xee
	app15Marker = 0xef
)

// See https://www.sno.phy.queensu.ca/~phil/exiftool/TagNames/JPEG.html#Adobe
const (
	adobeTransformUnknown = 0
	adobeTransformYCbCr   = 1
	adobeTransformYCbCrK  = 2
)

// unzig maps from the zig-zag ordering to the natural ordering.
var unzig = [blockSize]int{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// bits holds the unprocessed bits that have been taken from the byte-stream.
// The n least significant bits of a form the unread bits, to be read in MSB to
// LSB order.
type bits struct {
	a uint32 // accumulator.
	m uint32 // mask. m==1<<(n-1) when n>0, with m==0 when n==0.
	n int32  // the number of unread bits in a.
}

type decoder struct {
	r    io.Reader
	bits bits
	// bytes is a byte buffer, similar to a bufio.Reader, except that it
	// has to be able to unread more than 1 byte, due to byte stuffing.
	// Byte stuffing is specified in section F.1.2.3.
	bytes struct {
		buf         [4096]byte
		i, j        int
		nUnreadable int
	}
	width, height int

	ri    int // Restart Interval.
	nComp int

	baseline    bool
	progressive bool

	jfif                bool
	adobeTransformValid bool
	adobeTransform      uint8
	eobRun              uint16 // End-of-Band run, specified in section G.1.2.2.

	comp  [maxComponents]component
	huff  [maxTc + 1][maxTh + 1]huffman
	quant [maxTq + 1]block // Quantization tables, in zig-zag order.
	tmp   [2 * blockSize]byte

	opts           Options
	ctx            context.Context
	newSink        func(w, h int) Sink
	sink           Sink
	outW           int
	outH           int
	sinkLo         int // output rows the sink uses
	sinkHi         int
	sofDone        bool // the frame header was read without error
	firstScanComps int
	scans          int   // SOS markers seen
	visits         int64 // blocks visited by all scans
	// coefBits is libjpeg's progression state: per component and zig-zag coefficient, the Al
	// of the last scan that coded it, -1 before any.
	coefBits  [maxComponents][blockSize]int8
	scale     int  // 1, 2, 4 or 8, chosen at the first SOS
	started   bool // output and per-component buffers are set up
	buffered  bool // coefficients are kept for all blocks (progressive or multi-scan)
	done      bool // a streaming scan has produced the whole image
	hmax      int  // max sampling factors (= component 0's)
	vmax      int
	mxx, myy  int                    // MCUs per row and MCU rows
	minSS     int                    // libjpeg's min_DCT_scaled_size = 8/scale
	fancy     bool                   // libjpeg's do_fancy (min_DCT_scaled_size > 1)
	rows      [maxComponents][]uint8 // one upsampled row per component
	emitted   int                    // output strips (MCU rows) written
	colorConv int                    // conversion, see output.go
}

// processSOF reads the frame header, specified in section B.2.2. The accepted sampling
// factors are those Go's image/jpeg accepts.
func (d *decoder) processSOF(n int) error {
	if d.nComp != 0 {
		return FormatError("multiple SOF markers")
	}
	switch n {
	case 6 + 3*1: // Grayscale image.
		d.nComp = 1
	case 6 + 3*3: // YCbCr or RGB image.
		d.nComp = 3
	case 6 + 3*4: // YCbCrK or CMYK image.
		d.nComp = 4
	default:
		return UnsupportedError("number of components")
	}
	if err := d.readFull(d.tmp[:n]); err != nil {
		return err
	}
	if d.tmp[0] != 8 {
		return UnsupportedError("precision (only 8-bit samples)")
	}
	d.height = int(d.tmp[1])<<8 + int(d.tmp[2])
	d.width = int(d.tmp[3])<<8 + int(d.tmp[4])
	if int(d.tmp[5]) != d.nComp {
		return FormatError("SOF has wrong length")
	}
	if d.width == 0 || d.height == 0 {
		// Height 0 means "defined by a DNL marker", which neither Go nor we support.
		return UnsupportedError("zero image dimension (DNL)")
	}
	for i := 0; i < d.nComp; i++ {
		d.comp[i].c = d.tmp[6+3*i]
		for j := 0; j < i; j++ {
			if d.comp[i].c == d.comp[j].c {
				return FormatError("repeated component identifier")
			}
		}
		d.comp[i].tq = d.tmp[8+3*i]
		if d.comp[i].tq > maxTq {
			return FormatError("bad Tq value")
		}
		hv := d.tmp[7+3*i]
		h, v := int(hv>>4), int(hv&0x0f)
		if h < 1 || 4 < h || v < 1 || 4 < v {
			return FormatError("luma/chroma subsampling ratio")
		}
		if h == 3 || v == 3 {
			return errUnsupportedSubsamplingRatio
		}
		switch d.nComp {
		case 1:
			// A single component is non-interleaved by definition (section A.2): its MCU is
			// one block whatever H and V say.
			h, v = 1, 1
		case 3:
			switch i {
			case 0:
				if v == 4 {
					return errUnsupportedSubsamplingRatio
				}
			case 1:
				if d.comp[0].h%h != 0 || d.comp[0].v%v != 0 {
					return errUnsupportedSubsamplingRatio
				}
			case 2:
				if d.comp[1].h != h || d.comp[1].v != v {
					return errUnsupportedSubsamplingRatio
				}
			}
		case 4:
			switch i {
			case 0:
				if hv != 0x11 && hv != 0x22 {
					return errUnsupportedSubsamplingRatio
				}
			case 1, 2:
				if hv != 0x11 {
					return errUnsupportedSubsamplingRatio
				}
			case 3:
				if d.comp[0].h != h || d.comp[0].v != v {
					return errUnsupportedSubsamplingRatio
				}
			}
		}
		d.comp[i].h = h
		d.comp[i].v = v
	}
	return nil
}

// processDQT reads quantization tables, specified in section B.2.4.1.
func (d *decoder) processDQT(n int) error {
loop:
	for n > 0 {
		n--
		x, err := d.readByte()
		if err != nil {
			return err
		}
		tq := x & 0x0f
		if tq > maxTq {
			return FormatError("bad Tq value")
		}
		switch x >> 4 {
		default:
			return FormatError("bad Pq value")
		case 0:
			if n < blockSize {
				break loop
			}
			n -= blockSize
			if err := d.readFull(d.tmp[:blockSize]); err != nil {
				return err
			}
			for i := range d.quant[tq] {
				d.quant[tq][i] = int32(d.tmp[i])
			}
		case 1:
			if n < 2*blockSize {
				break loop
			}
			n -= 2 * blockSize
			if err := d.readFull(d.tmp[:2*blockSize]); err != nil {
				return err
			}
			for i := range d.quant[tq] {
				d.quant[tq][i] = int32(d.tmp[2*i])<<8 | int32(d.tmp[2*i+1])
			}
		}
	}
	if n != 0 {
		return FormatError("DQT has wrong length")
	}
	return nil
}

// processDRI reads the restart interval, specified in section B.2.4.4.
func (d *decoder) processDRI(n int) error {
	if n != 2 {
		return FormatError("DRI has wrong length")
	}
	if err := d.readFull(d.tmp[:2]); err != nil {
		return err
	}
	d.ri = int(d.tmp[0])<<8 + int(d.tmp[1])
	return nil
}

func (d *decoder) processApp0Marker(n int) error {
	if n < 5 {
		return d.ignore(n)
	}
	if err := d.readFull(d.tmp[:5]); err != nil {
		return err
	}
	n -= 5
	d.jfif = d.tmp[0] == 'J' && d.tmp[1] == 'F' && d.tmp[2] == 'I' && d.tmp[3] == 'F' && d.tmp[4] == '\x00'
	if n > 0 {
		return d.ignore(n)
	}
	return nil
}

func (d *decoder) processApp14Marker(n int) error {
	if n < 12 {
		return d.ignore(n)
	}
	if err := d.readFull(d.tmp[:12]); err != nil {
		return err
	}
	n -= 12
	if d.tmp[0] == 'A' && d.tmp[1] == 'd' && d.tmp[2] == 'o' && d.tmp[3] == 'b' && d.tmp[4] == 'e' {
		d.adobeTransformValid = true
		d.adobeTransform = d.tmp[11]
	}
	if n > 0 {
		return d.ignore(n)
	}
	return nil
}

// isRGB reports whether a 3-component image stores RGB rather than YCbCr (as Go and libjpeg's
// jdapimin.c decide).
func (d *decoder) isRGB() bool {
	if d.jfif {
		return false
	}
	if d.adobeTransformValid && d.adobeTransform == adobeTransformUnknown {
		return true
	}
	return d.comp[0].c == 'R' && d.comp[1].c == 'G' && d.comp[2].c == 'B'
}

// decode reads a JPEG stream from r. With configOnly it stops at the frame header.
func (d *decoder) decode(r io.Reader, configOnly bool) error {
	d.r = r
	if err := d.readFull(d.tmp[:2]); err != nil {
		return err
	}
	if d.tmp[0] != 0xff || d.tmp[1] != soiMarker {
		return FormatError("missing SOI marker")
	}
	for {
		err := d.readFull(d.tmp[:2])
		if err != nil {
			return err
		}
		for d.tmp[0] != 0xff {
			// Extraneous bytes between segments are skipped, as Go and libjpeg do.
			d.tmp[0] = d.tmp[1]
			d.tmp[1], err = d.readByte()
			if err != nil {
				return err
			}
		}
		marker := d.tmp[1]
		if marker == 0 {
			continue // "\xff\x00" outside a scan: extraneous data.
		}
		for marker == 0xff {
			// Fill bytes (section B.1.1.2).
			marker, err = d.readByte()
			if err != nil {
				return err
			}
		}
		if marker == eoiMarker {
			break
		}
		if rst0Marker <= marker && marker <= rst7Marker {
			continue // a stray restart marker after the last entropy-coded segment
		}
		if err = d.readFull(d.tmp[:2]); err != nil {
			return err
		}
		n := int(d.tmp[0])<<8 + int(d.tmp[1]) - 2
		if n < 0 {
			return FormatError("short segment length")
		}
		switch marker {
		case sof0Marker, sof1Marker, sof2Marker:
			d.baseline = marker == sof0Marker
			d.progressive = marker == sof2Marker
			err = d.processSOF(n)
			d.sofDone = err == nil
			for i := range d.coefBits {
				for z := range d.coefBits[i] {
					d.coefBits[i][z] = -1 // no coefficient coded yet
				}
			}
		case sof3Marker, 0xc5, 0xc6, 0xc7:
			return UnsupportedError("lossless or hierarchical JPEG")
		case 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf, dacMarker:
			return UnsupportedError("arithmetic coding (only Huffman-coded JPEGs are supported)")
		case dhtMarker:
			err = d.processDHT(n)
		case dqtMarker:
			err = d.processDQT(n)
		case sosMarker:
			if configOnly {
				if d.nComp == 0 {
					return FormatError("missing SOF marker")
				}
				if n >= 1 {
					c, err := d.readByte()
					if err != nil {
						return err
					}
					d.firstScanComps = int(c)
				}
				return nil
			}
			err = d.processSOS(n)
		case driMarker:
			err = d.processDRI(n)
		case app0Marker:
			err = d.processApp0Marker(n)
		case app14Marker:
			err = d.processApp14Marker(n)
		default:
			if app0Marker <= marker && marker <= app15Marker || marker == comMarker {
				err = d.ignore(n)
			} else if marker < 0xc0 {
				err = FormatError("unknown marker")
			} else {
				err = UnsupportedError("unknown marker")
			}
		}
		if err != nil {
			return err
		}
	}
	if configOnly {
		return FormatError("missing SOF marker")
	}
	if !d.started {
		return FormatError("missing SOS marker")
	}
	if d.buffered {
		return d.renderBuffered()
	}
	if !d.done {
		return FormatError("scan ended before the last MCU row")
	}
	return nil
}
