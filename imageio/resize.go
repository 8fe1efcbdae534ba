package imageio

import "math"

// This file reproduces Pillow's Image.resize(size, Image.BILINEAR) for 8-bit images
// (libImaging/Resample.c, Pillow 9): a separable triangle filter whose support grows with the
// downscale factor (so downscaling antialiases), coefficients normalised per output sample and
// quantised to 22 fractional bits, the horizontal pass first, uint8 rounding between passes.
// torchvision's Resize on PIL images calls exactly this.

const precisionBits = 32 - 8 - 2

// axis holds the quantised coefficients of output samples [first, first+n) of a resize from
// in to out samples: sample i reads inputs start[i] .. start[i]+count[i]-1 with weights k[i*ksize:].
type axis struct {
	start, count []int32
	k            []int32
	ksize        int
}

// prepare computes Pillow's precompute_coeffs + normalize_coeffs_8bpc for the outputs in the
// window only; a resize followed by a crop equals resizing just the cropped outputs.
//
// With antialias false the filter keeps support 1 however much it downscales: a plain bilinear
// interpolation between the two nearest pixels (half-pixel centres), as Coral's pipelines resize.
func (a *axis) prepare(in, out, first, n int, antialias bool) {
	scale := float64(in) / float64(out)
	filterscale := max(scale, 1)
	if !antialias {
		filterscale = 1
	}
	support := filterscale // bilinear support is 1
	a.ksize = int(math.Ceil(support))*2 + 1
	a.start = grow(a.start, n)
	a.count = grow(a.count, n)
	a.k = grow(a.k, n*a.ksize)
	var w [64]float64 // ksize <= 64 covers downscales up to 31x; larger ones use the heap
	var ws []float64
	if a.ksize <= len(w) {
		ws = w[:a.ksize]
	} else {
		ws = make([]float64, a.ksize)
	}
	for i := range n {
		center := (float64(first+i) + 0.5) * scale
		ss := 1 / filterscale
		xmin := int(center - support + 0.5) // C's (int) truncates toward zero
		xmin = max(xmin, 0)
		xmax := min(int(center+support+0.5), in) - xmin
		ww := 0.0
		for x := range xmax {
			v := math.Abs((float64(x+xmin) - center + 0.5) * ss)
			if v < 1 {
				v = 1 - v
			} else {
				v = 0
			}
			ws[x] = v
			ww += v
		}
		k := a.k[i*a.ksize : (i+1)*a.ksize]
		for x := range k {
			v := 0.0
			if x < xmax {
				v = ws[x]
				if ww != 0 {
					v /= ww
				}
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		a.start[i], a.count[i] = int32(xmin), int32(xmax)
	}
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

// resampleH runs the horizontal pass over source rows [y0, y1) of img into tmp (rows of
// len(h.start) RGB pixels).
func resampleH(img *RGB, h *axis, y0, y1 int, tmp []uint8) {
	ow := len(h.start)
	for y := y0; y < y1; y++ {
		src := img.Pix[y*img.W*3 : (y+1)*img.W*3]
		dst := tmp[(y-y0)*ow*3 : (y-y0+1)*ow*3]
		for x := range ow {
			k := h.k[x*h.ksize : x*h.ksize+int(h.count[x])]
			s := src[int(h.start[x])*3:]
			r, g, b := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
			for j, c := range k {
				p := s[3*j : 3*j+3]
				r += int32(p[0]) * c
				g += int32(p[1]) * c
				b += int32(p[2]) * c
			}
			dst[3*x], dst[3*x+1], dst[3*x+2] = clip8(r), clip8(g), clip8(b)
		}
	}
}

// resampleVRow computes output row i of the vertical pass from tmp, whose first row is source
// row y0, into row (3 bytes per pixel).
func resampleVRow(tmp []uint8, v *axis, i, y0 int, row []uint8) {
	stride := len(row)
	k := v.k[i*v.ksize : i*v.ksize+int(v.count[i])]
	base := (int(v.start[i]) - y0) * stride
	for x := range stride {
		s := int32(1 << (precisionBits - 1))
		off := base + x
		for _, c := range k {
			s += int32(tmp[off]) * c
			off += stride
		}
		row[x] = clip8(s)
	}
}

// Resize returns img resized to w×h exactly as Pillow's Image.resize((w, h), BILINEAR) does.
func Resize(img *RGB, w, h int) *RGB {
	out := NewRGB(w, h)
	var ax, ay axis
	ax.prepare(img.W, w, 0, w, true)
	ay.prepare(img.H, h, 0, h, true)
	y0 := int(ay.start[0])
	y1 := int(ay.start[h-1] + ay.count[h-1])
	tmp := make([]uint8, (y1-y0)*w*3)
	resampleH(img, &ax, y0, y1, tmp)
	for i := range h {
		resampleVRow(tmp, &ay, i, y0, out.Pix[i*w*3:(i+1)*w*3])
	}
	return out
}
