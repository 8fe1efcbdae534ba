package imageio

import (
	"image"
	"image/color"
)

// sink receives source rows of a w×h image and stores them in dst with an EXIF orientation
// applied, so that rotating costs no second full-size buffer.
type sink struct {
	dst     *RGB
	w, h    int
	orient  int
	scratch []uint8
}

func newSink(w, h, orient int) *sink {
	s := &sink{w: w, h: h, orient: orient}
	if orient >= 5 { // transposing orientations swap the sides
		s.dst = NewRGB(h, w)
	} else {
		s.dst = NewRGB(w, h)
	}
	if orient != 1 && orient != 4 {
		s.scratch = make([]uint8, 3*w)
	}
	return s
}

// row returns the 3*w bytes where source row y is to be written; commit(y) then places it.
func (s *sink) row(y int) []uint8 {
	switch s.orient {
	case 1:
		return s.dst.Pix[y*3*s.w : (y+1)*3*s.w]
	case 4: // FLIP_TOP_BOTTOM
		y = s.h - 1 - y
		return s.dst.Pix[y*3*s.w : (y+1)*3*s.w]
	}
	return s.scratch
}

// commit places the scratch row of source row y; the mappings are Pillow's exif_transpose:
// 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90.
func (s *sink) commit(y int) {
	w, h, src, pix := s.w, s.h, s.scratch, s.dst.Pix
	var base, step int // destination of source pixel x is base + x*step (in pixels)
	switch s.orient {
	case 1, 4:
		return
	case 2:
		base, step = y*w+w-1, -1
	case 3:
		base, step = (h-1-y)*w+w-1, -1
	case 5: // (x, y) -> (y, x) in an h-wide image
		base, step = y, h
	case 6: // (x, y) -> (h-1-y, x)
		base, step = h-1-y, h
	case 7: // (x, y) -> (h-1-y, w-1-x)
		base, step = (w-1)*h+h-1-y, -h
	case 8: // (x, y) -> (y, w-1-x)
		base, step = (w-1)*h+y, -h
	}
	for x := 0; x < w; x++ {
		d := (base + x*step) * 3
		pix[d], pix[d+1], pix[d+2] = src[3*x], src[3*x+1], src[3*x+2]
	}
}

// toRGB converts a decoded image the way Pillow's convert("RGB") treats the same file, applying
// the EXIF orientation.
func toRGB(img image.Image, orient int) *RGB {
	b := img.Bounds()
	s := newSink(b.Dx(), b.Dy(), orient)
	emitImage(img, s)
	return s.dst
}

// emitImage hands the rows of img to s, converted as Pillow's convert("RGB") does: alpha is
// dropped from the straight colour, palettes are looked up, CMYK uses Pillow's cmyk2rgb, and
// WebP chroma is upsampled and converted as libwebp (which Pillow uses) does. Rows s does not
// use are not converted.
func emitImage(img image.Image, s rowSink) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.YCbCr:
		webpYCbCr(s, m, w, h) // only lossy WebP decodes to YCbCr here: JPEG goes through jpegscale
	case *image.NYCbCrA:
		webpYCbCr(s, &m.YCbCr, w, h)
	case *image.Gray:
		for y := 0; y < h; y++ {
			row, src := s.row(y), m.Pix[y*m.Stride:]
			if row == nil {
				continue
			}
			for x := 0; x < w; x++ {
				v := src[x]
				row[3*x], row[3*x+1], row[3*x+2] = v, v, v
			}
			s.commit(y)
		}
	case *image.Gray16:
		// Pillow 9 opens these as mode "I;16" and convert("RGB") clips every value above 255 to
		// white, which destroys the image; we keep the high byte, as Pillow does for 16-bit RGB(A).
		for y := 0; y < h; y++ {
			row, src := s.row(y), m.Pix[y*m.Stride:]
			if row == nil {
				continue
			}
			for x := 0; x < w; x++ {
				v := src[2*x]
				row[3*x], row[3*x+1], row[3*x+2] = v, v, v
			}
			s.commit(y)
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row, src := s.row(y), m.Pix[y*m.Stride:]
			if row == nil {
				continue
			}
			for x := 0; x < w; x++ {
				row[3*x], row[3*x+1], row[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
			}
			s.commit(y)
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row, src := s.row(y), m.Pix[y*m.Stride:]
			if row == nil {
				continue
			}
			for x := 0; x < w; x++ {
				row[3*x], row[3*x+1], row[3*x+2] = src[8*x], src[8*x+2], src[8*x+4]
			}
			s.commit(y)
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row, src := s.row(y), m.Pix[y*m.Stride:]
			if row == nil {
				continue
			}
			for x := 0; x < w; x++ {
				p := src[4*x : 4*x+4]
				row[3*x], row[3*x+1], row[3*x+2] = unpremul(p[0], p[3]), unpremul(p[1], p[3]), unpremul(p[2], p[3])
			}
			s.commit(y)
		}
	case *image.RGBA64:
		for y := 0; y < h; y++ {
			row, src := s.row(y), m.Pix[y*m.Stride:]
			if row == nil {
				continue
			}
			for x := 0; x < w; x++ {
				a := uint8(src[8*x+6])
				row[3*x], row[3*x+1], row[3*x+2] = unpremul(src[8*x], a), unpremul(src[8*x+2], a), unpremul(src[8*x+4], a)
			}
			s.commit(y)
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row, src := s.row(y), m.Pix[y*m.Stride:]
			if row == nil {
				continue
			}
			for x := 0; x < w; x++ {
				row[3*x], row[3*x+1], row[3*x+2] = cmykToRGB(src[4*x], src[4*x+1], src[4*x+2], src[4*x+3])
			}
			s.commit(y)
		}
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			if i < 256 {
				n := color.NRGBAModel.Convert(c).(color.NRGBA)
				lut[i] = [3]uint8{n.R, n.G, n.B}
			}
		}
		for y := 0; y < h; y++ {
			row, src := s.row(y), m.Pix[y*m.Stride:]
			if row == nil {
				continue
			}
			for x := 0; x < w; x++ {
				e := lut[src[x]]
				row[3*x], row[3*x+1], row[3*x+2] = e[0], e[1], e[2]
			}
			s.commit(y)
		}
	default:
		for y := 0; y < h; y++ {
			row := s.row(y)
			if row == nil {
				continue
			}
			for x := 0; x < w; x++ {
				n := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				row[3*x], row[3*x+1], row[3*x+2] = n.R, n.G, n.B
			}
			s.commit(y)
		}
	}
}

// unpremul recovers straight colour from premultiplied c with alpha a (rounded).
func unpremul(c, a uint8) uint8 {
	switch a {
	case 255:
		return c
	case 0:
		return 0
	}
	return uint8(min((int(c)*255+int(a)/2)/int(a), 255))
}

// cmykToRGB is Pillow's cmyk2rgb: channel = (255-k) - round(c*(255-k)/255) via MULDIV255.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := 255 - int(k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(nk - ((t>>8)+t)>>8)
	}
	return f(c), f(m), f(y)
}

// webpYCbCr converts lossy WebP (4:2:0, BT.601 studio range) as libwebp's default decoder does:
// the "fancy" upsampler of dsp/upsampling.c and the 14-bit fixed-point VP8YUVToRGB of dsp/yuv.h.
// Go's image.YCbCr would apply the full-range JPEG formula here, which washes colours out.
func webpYCbCr(s rowSink, m *image.YCbCr, w, h int) {
	cw, ch := (w+1)/2, (h+1)/2
	u := make([]uint8, w+1)
	v := make([]uint8, w+1)
	for y := 0; y < h; y++ {
		// Row y takes chroma row y/2 as "near" and the neighbour on its side as "far";
		// row 0 and the last row of an even-height image mirror their row, as EmitFancyRGB does.
		cy := y >> 1
		fy := cy - 1
		if y&1 == 1 {
			fy = cy + 1
		}
		fy = min(max(fy, 0), ch-1)
		row := s.row(y)
		if row == nil {
			continue
		}
		webpUpsampleRow(u, m.Cb[cy*m.CStride:cy*m.CStride+cw], m.Cb[fy*m.CStride:fy*m.CStride+cw], w)
		webpUpsampleRow(v, m.Cr[cy*m.CStride:cy*m.CStride+cw], m.Cr[fy*m.CStride:fy*m.CStride+cw], w)
		yrow := m.Y[y*m.YStride:]
		for x := 0; x < w; x++ {
			yy := mulHi(int32(yrow[x]), 19077)
			U, V := int32(u[x]), int32(v[x])
			row[3*x] = clipVP8(yy + mulHi(V, 26149) - 14234)
			row[3*x+1] = clipVP8(yy - mulHi(U, 6419) - mulHi(V, 13320) + 8708)
			row[3*x+2] = clipVP8(yy + mulHi(U, 33050) - 17685)
		}
		s.commit(y)
	}
}

// webpUpsampleRow is one output row of libwebp's UPSAMPLE_FUNC, near being the chroma row
// closest to it: weights 9/16, 3/16, 3/16, 1/16 computed through its two "diagonal" averages.
func webpUpsampleRow(out, n, f []uint8, w int) {
	out[0] = uint8((3*int32(n[0]) + int32(f[0]) + 2) >> 2)
	for i := 1; i <= (w-1)>>1; i++ {
		sum := int32(n[i-1]) + int32(n[i]) + int32(f[i-1]) + int32(f[i]) + 8
		d1 := (sum + 2*(int32(n[i])+int32(f[i-1]))) >> 3
		d2 := (sum + 2*(int32(n[i-1])+int32(f[i]))) >> 3
		out[2*i-1] = uint8((d1 + int32(n[i-1])) >> 1)
		out[2*i] = uint8((d2 + int32(n[i])) >> 1)
	}
	if w&1 == 0 {
		l := (w - 1) >> 1
		out[w-1] = uint8((3*int32(n[l]) + int32(f[l]) + 2) >> 2)
	}
}

func mulHi(v, c int32) int32 { return (v * c) >> 8 }

func clipVP8(v int32) uint8 {
	if v&^16383 == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}
