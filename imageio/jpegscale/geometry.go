package jpegscale

// geometry is the layout setup derives from the frame header and scale, shared with Cost so
// the prediction and the allocation cannot drift apart.
type geometry struct {
	mxx, myy   int // MCUs per row and MCU rows
	outW, outH int
	comp       [maxComponents]compGeometry
}

type compGeometry struct {
	ss                     int // IDCT output size
	hr, vr                 int // upsampling ratios
	dw, dh                 int // libjpeg's downsampled_width/height at the scale
	blocksWide, blocksHigh int
	upRow                  int // bytes of the upsampled-row buffer (0 when not upsampled)
}

func newGeometry(w, h, nComp int, sampling [4][2]int, scale int) (geometry, error) {
	var g geometry
	minSS := 8 / scale
	hmax, vmax := sampling[0][0], sampling[0][1]
	g.mxx = (w + 8*hmax - 1) / (8 * hmax)
	g.myy = (h + 8*vmax - 1) / (8 * vmax)
	g.outW, g.outH = ScaledSize(w, h, scale)
	for i := range nComp {
		ch, cv := sampling[i][0], sampling[i][1]
		// jdmaster.c: scale chroma up through the IDCT rather than by upsampling, while the
		// IDCT size stays <= 8 and the ratio stays an integer.
		ss := minSS
		for ss < 8 && (hmax*minSS)%(ch*ss*2) == 0 && (vmax*minSS)%(cv*ss*2) == 0 {
			ss *= 2
		}
		if (hmax*minSS)%(ch*ss) != 0 || (vmax*minSS)%(cv*ss) != 0 {
			return g, errUnsupportedSubsamplingRatio
		}
		c := &g.comp[i]
		c.ss = ss
		c.hr, c.vr = hmax*minSS/(ch*ss), vmax*minSS/(cv*ss)
		c.dw = (w*ch*ss + hmax*8 - 1) / (hmax * 8)
		c.dh = (h*cv*ss + vmax*8 - 1) / (vmax * 8)
		c.blocksWide, c.blocksHigh = g.mxx*ch, g.myy*cv
		if c.hr != 1 || c.vr != 1 {
			c.upRow = max(g.outW, c.dw*c.hr) + 8
		}
	}
	return g, nil
}

// Cost is the heap a decode of a JPEG with this Config at 1/scale allocates besides the sink
// (the output image of DecodeWith, the caller's rows for DecodeTo) and the encoded bytes: the
// decoder itself, three MCU rows of samples per component, the upsampling rows and, when the
// coefficients must be buffered (progressive, or a first scan without every component), the
// coefficients the scale's IDCT reads. A Config whose first scan is unknown is costed as
// buffered. It is exact up to the decoder's fixed part (decoderBytes).
func (c Config) Cost(scale int) int64 {
	g, err := newGeometry(c.Width, c.Height, c.Components, c.Sampling, scale)
	if err != nil {
		return decoderBytes
	}
	buffered := c.Progressive || c.FirstScanComponents < c.Components
	n := int64(decoderBytes)
	for i := range c.Components {
		gc := g.comp[i]
		ss := int64(gc.ss)
		n += heapBytes(3 * int64(c.Sampling[i][1]) * ss * int64(gc.blocksWide) * ss) // strip ring
		if gc.upRow > 0 {
			n += heapBytes(int64(gc.upRow))
		}
		if buffered {
			n += coefStoreBytes(gc.ss, gc.blocksWide*gc.blocksHigh, c.Progressive)
		}
	}
	return n
}

// heapBytes is what the Go heap takes for an n-byte allocation: small sizes round up to a size
// class (at most 1/8 more), large ones to whole 8 KiB pages.
func heapBytes(n int64) int64 {
	if n <= 32<<10 {
		return n + n/8 + 16
	}
	return (n + 8191) &^ 8191
}

// decoderBytes bounds the decoder's fixed allocations: the decoder struct with its Huffman and
// quantisation tables and input buffer (about 14 KiB), and a bytes.Reader.
const decoderBytes = 20 << 10
