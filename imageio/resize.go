package imageio

import "math"

// This file reproduces Pillow's Image.resize(size, Image.BILINEAR) for 8-bit images
// (libImaging/Resample.c, Pillow 9): a separable triangle filter whose support grows with the
// downscale factor (so downscaling antialiases), coefficients normalised per output sample and
// quantised to 22 fractional bits, the horizontal pass first, uint8 rounding between passes.
// torchvision's Resize on PIL images calls exactly this.
//
// Unlike Pillow, nothing here is sized by the source: the vertical pass is streamed (resizer.go)
// and the coefficients of an axis whose filter is very wide (a 50,000,000-row image squeezed to
// 224 rows has 446,000 taps per output) are computed when needed instead of tabulated.

const precisionBits = 32 - 8 - 2

// maxTableTaps bounds the coefficient table of one axis (4 bytes a tap); wider filters are
// evaluated on the fly from each output's centre and normaliser.
const maxTableTaps = 1 << 16

// axis holds the quantised coefficients of output samples [first, first+n) of a resize from
// in to out samples: sample i reads inputs start[i] .. start[i]+count[i]-1 with weights coef(i, j).
type axis struct {
	start, count []int32
	ksize        int
	k            []int32 // n*ksize quantised weights, unless lazy
	lazy         bool
	// Lazy evaluation recomputes Pillow's weights from these, in the same float order.
	center, ww []float64
	ss         float64
	hint       int // readers' last answer
}

// prepare computes Pillow's precompute_coeffs + normalize_coeffs_8bpc for the outputs in the
// window only; a resize followed by a crop equals resizing just the cropped outputs.
//
// With antialias false the filter keeps support 1 however much it downscales: a plain bilinear
// interpolation between the two nearest pixels (half-pixel centres), as Coral's pipelines resize.
func (a *axis) prepare(in, out, first, n int, antialias bool) {
	scale, support := filterScale(in, out, antialias)
	ksize := int(math.Ceil(support))*2 + 1
	a.ksize = ksize
	a.ss = 1 / support
	a.hint = 0
	a.start = grow(a.start, n)
	a.count = grow(a.count, n)
	a.center = grow(a.center, n)
	a.ww = grow(a.ww, n)
	lazy := int64(n)*int64(ksize) > maxTableTaps
	a.lazy = lazy
	if !lazy {
		a.k = grow(a.k, n*ksize)
	}
	for i := range n {
		center, xmin, end := window(in, scale, support, first+i)
		xmax := end - xmin
		ww := 0.0
		for x := range xmax {
			ww += a.weight(x, xmin, center)
		}
		a.start[i], a.count[i], a.center[i], a.ww[i] = int32(xmin), int32(xmax), center, ww
		if !lazy {
			k := a.k[i*ksize : (i+1)*ksize]
			for x := range k {
				if x < xmax {
					k[x] = a.quantise(i, x)
				} else {
					k[x] = 0
				}
			}
		}
	}
}

// window is Pillow's input range [xmin, end) of output i, whose centre is center.
func window(in int, scale, support float64, i int) (center float64, xmin, end int) {
	center = (float64(i) + 0.5) * scale
	xmin = max(int(center-support+0.5), 0) // C's (int) truncates toward zero
	end = min(int(center+support+0.5), in)
	return center, xmin, end
}

// filterScale is Pillow's support for an in→out resize (bilinear support is 1, widened by the
// downscale factor when antialiasing).
func filterScale(in, out int, antialias bool) (scale, support float64) {
	scale = float64(in) / float64(out)
	support = max(scale, 1)
	if !antialias {
		support = 1
	}
	return scale, support
}

// axisSpan is the range of inputs outputs [first, first+n) read, without preparing them.
func axisSpan(in, out, first, n int, antialias bool) (lo, hi int) {
	scale, support := filterScale(in, out, antialias)
	_, lo, _ = window(in, scale, support, first)
	_, _, hi = window(in, scale, support, first+n-1)
	return lo, hi
}

// weight is Pillow's bilinear filter at input xmin+x for an output centred at center.
func (a *axis) weight(x, xmin int, center float64) float64 {
	v := math.Abs((float64(x+xmin) - center + 0.5) * a.ss)
	if v < 1 {
		return 1 - v
	}
	return 0
}

// quantise is tap x of output i, normalised and rounded to precisionBits as Pillow does.
func (a *axis) quantise(i, x int) int32 {
	v := a.weight(x, int(a.start[i]), a.center[i])
	if ww := a.ww[i]; ww != 0 {
		v /= ww
	}
	if v < 0 {
		return int32(-0.5 + v*(1<<precisionBits))
	}
	return int32(0.5 + v*(1<<precisionBits))
}

// coef is tap j of output i.
func (a *axis) coef(i, j int) int32 {
	if !a.lazy {
		return a.k[i*a.ksize+j]
	}
	return a.quantise(i, j)
}

// span is the range of inputs any output reads.
func (a *axis) span() (lo, hi int) {
	n := len(a.start)
	return int(a.start[0]), int(a.start[n-1] + a.count[n-1])
}

// readers returns the outputs [lo, hi) that read input y (empty when none does). Starts and
// ends both grow with the output index, so they are a contiguous run; its first output is
// found from the previous call's, in amortised constant time when rows come in order (or in
// reverse order, as in bottom-up BMPs).
func (a *axis) readers(y int) (lo, hi int) {
	n := len(a.start)
	lo = min(a.hint, n)
	end := func(i int) int { return int(a.start[i] + a.count[i]) }
	for lo > 0 && end(lo-1) > y {
		lo--
	}
	for lo < n && end(lo) <= y {
		lo++
	}
	a.hint = lo
	hi = lo
	for hi < n && int(a.start[hi]) <= y {
		hi++
	}
	return lo, hi
}

// nextRead is the first input at or after y that some output reads, or -1 when none does.
func (a *axis) nextRead(y int) int {
	lo, _ := a.readers(y)
	if lo == len(a.start) {
		return -1
	}
	return max(y, int(a.start[lo]))
}

// prevRead is the last input at or before y that some output reads, or -1 when none does.
func (a *axis) prevRead(y int) int {
	lo, hi := a.readers(y)
	if hi > lo {
		return y
	}
	if lo == 0 { // every output starts after y
		return -1
	}
	return int(a.start[lo-1]+a.count[lo-1]) - 1
}

// axisBytes is what prepare allocates for n outputs of an in→out resize (see prepare).
func axisBytes(in, out, n int, antialias bool) int64 {
	_, support := filterScale(in, out, antialias)
	ksize := int64(math.Ceil(support))*2 + 1
	b := 2*heapBytes(int64(n)*4) + 2*heapBytes(int64(n)*8)
	if int64(n)*ksize <= maxTableTaps {
		b += heapBytes(int64(n) * ksize * 4)
	}
	return b
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func clip8(v int32) uint8 {
	if v >= 256<<precisionBits {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v >> precisionBits)
}

// resampleRow is the horizontal pass over one source row: src holds input pixels from column
// x0 on; dst gets len(h.start) RGB pixels, rounded to uint8 as Pillow rounds between passes.
func resampleRow(src []uint8, x0 int, h *axis, dst []uint8) {
	ow := len(h.start)
	for x := range ow {
		n := int(h.count[x])
		s := src[(int(h.start[x])-x0)*3:]
		r, g, b := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
		if !h.lazy {
			k := h.k[x*h.ksize : x*h.ksize+n]
			for j, c := range k {
				p := s[3*j : 3*j+3]
				r += int32(p[0]) * c
				g += int32(p[1]) * c
				b += int32(p[2]) * c
			}
		} else {
			for j := range n {
				c := h.quantise(x, j)
				p := s[3*j : 3*j+3]
				r += int32(p[0]) * c
				g += int32(p[1]) * c
				b += int32(p[2]) * c
			}
		}
		dst[3*x], dst[3*x+1], dst[3*x+2] = clip8(r), clip8(g), clip8(b)
	}
}

// Resize returns img resized to w×h exactly as Pillow's Image.resize((w, h), BILINEAR) does.
func Resize(img *RGB, w, h int) *RGB {
	out := NewRGB(w, h)
	var rz resizer
	rz.init(img.W, img.H, w, h, 0, 0, w, h, true)
	rz.pushImage(img)
	for i := range h {
		rz.outRow(i, out.Pix[i*w*3:(i+1)*w*3])
	}
	return out
}
