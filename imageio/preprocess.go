package imageio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/wanwu-ai/wanwu/tensor"
)

// Preprocess describes how one decoded image becomes one item of a model's input batch.
// Zero fields take the defaults named on each; Validate reports the rest.
type Preprocess struct {
	Width  int `json:"width"`  // model input width (required)
	Height int `json:"height"` // model input height (required)
	// Resize is "shorter_crop" (default: torchvision Resize(ResizeShorter) + CenterCrop) or
	// "stretch" (resize straight to Width×Height, ignoring the aspect ratio).
	Resize string `json:"resize,omitempty"`
	// ResizeShorter is the shorter side before the centre crop; 0 means max(Width,Height)*256/224.
	ResizeShorter int `json:"resize_shorter,omitempty"`
	// Filter is "antialias" (default: Pillow's bilinear, whose support widens when downscaling) or
	// "bilinear" (plain interpolation between the nearest pixels, what TFLite/Coral pipelines do).
	Filter string `json:"filter,omitempty"`
	// Mean and Std normalise f32 inputs: (pixel/255 - Mean[c]) / Std[c]. An all-zero Std means 1.
	Mean [3]float32 `json:"mean"`
	Std  [3]float32 `json:"std"`
	// Layout is "NCHW" (default) or "NHWC".
	Layout string `json:"layout,omitempty"`
	// DType is "f32" (default), "u8" (raw pixels) or "i8" (pixel-128).
	DType string `json:"dtype,omitempty"`
}

// Normalized returns p with its defaults filled in, or an error naming the bad field.
func (p Preprocess) Normalized() (Preprocess, error) {
	if p.Width <= 0 || p.Height <= 0 {
		return p, fmt.Errorf("width and height must be positive, got %dx%d", p.Width, p.Height)
	}
	if p.Resize == "" {
		p.Resize = "shorter_crop"
	}
	switch p.Resize {
	case "stretch":
	case "shorter_crop":
		if p.ResizeShorter == 0 {
			p.ResizeShorter = max(p.Width, p.Height) * 256 / 224
		}
		if p.ResizeShorter < max(p.Width, p.Height) {
			return p, fmt.Errorf("resize_shorter %d is smaller than the %dx%d crop", p.ResizeShorter, p.Width, p.Height)
		}
	default:
		return p, fmt.Errorf("resize %q: want \"stretch\" or \"shorter_crop\"", p.Resize)
	}
	if p.Filter == "" {
		p.Filter = "antialias"
	}
	if p.Filter != "antialias" && p.Filter != "bilinear" {
		return p, fmt.Errorf("filter %q: want \"antialias\" or \"bilinear\"", p.Filter)
	}
	if p.Layout == "" {
		p.Layout = "NCHW"
	}
	if p.Layout != "NCHW" && p.Layout != "NHWC" {
		return p, fmt.Errorf("layout %q: want \"NCHW\" or \"NHWC\"", p.Layout)
	}
	if p.DType == "" {
		p.DType = "f32"
	}
	if p.DType != "f32" && p.DType != "u8" && p.DType != "i8" {
		return p, fmt.Errorf("dtype %q: want \"f32\", \"u8\" or \"i8\"", p.DType)
	}
	if p.Std == [3]float32{} {
		p.Std = [3]float32{1, 1, 1}
	}
	for c, s := range p.Std {
		if !(s > 0 || s < 0) { // also rejects NaN
			return p, fmt.Errorf("std[%d] = %v: must be non-zero", c, s)
		}
	}
	return p, nil
}

// TensorDType is the element type Into writes.
func (p Preprocess) TensorDType() tensor.DType {
	switch p.DType {
	case "u8":
		return tensor.U8
	case "i8":
		return tensor.I8
	}
	return tensor.F32
}

// Shape is the input shape of a batch of n images.
func (p Preprocess) Shape(n int) tensor.Shape {
	if p.Layout == "NHWC" {
		return tensor.Shape{n, p.Height, p.Width, 3}
	}
	return tensor.Shape{n, 3, p.Height, p.Width}
}

// fits reports whether dst has the dtype and per-item shape Into writes (without allocating).
func (p Preprocess) fits(dst *tensor.Tensor) bool {
	s := dst.Shape
	if dst.DType != p.TensorDType() || len(s) != 4 {
		return false
	}
	if p.Layout == "NHWC" {
		return s[1] == p.Height && s[2] == p.Width && s[3] == 3
	}
	return s[1] == 3 && s[2] == p.Height && s[3] == p.Width
}

// Geometry returns the size the whole image is resized to and the top-left corner of the
// Width×Height window that is kept (torchvision's Resize(int) then CenterCrop).
func (p Preprocess) Geometry(w, h int) (rw, rh, left, top int) {
	if p.Resize == "stretch" {
		return p.Width, p.Height, 0, 0
	}
	// torchvision: the shorter side becomes s, the longer int(s*long/short) (truncated).
	s := p.ResizeShorter
	if w <= h {
		rw, rh = s, int(float64(s)*float64(h)/float64(w))
	} else {
		rw, rh = int(float64(s)*float64(w)/float64(h)), s
	}
	return rw, rh, roundHalfEven(rw - p.Width), roundHalfEven(rh - p.Height)
}

// roundHalfEven is Python's int(round(d / 2.0)) as CenterCrop computes its offsets.
func roundHalfEven(d int) int {
	q := d >> 1
	if d&1 == 1 && q&1 == 1 {
		q++
	}
	return q
}

type scratch struct {
	rz  resizer
	row []uint8
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// check validates dst and batchIndex for p (already normalized).
func (p Preprocess) check(dst *tensor.Tensor, batchIndex int) error {
	if !p.fits(dst) {
		return fmt.Errorf("imageio: preprocess: destination is %s%s, want %s%s", dst.DType, dst.Shape, p.TensorDType(), p.Shape(-1))
	}
	if batchIndex < 0 || batchIndex >= dst.Shape[0] {
		return fmt.Errorf("imageio: preprocess: batch index %d outside batch of %d", batchIndex, dst.Shape[0])
	}
	return nil
}

// Into resizes img as configured and writes it as item batchIndex of dst, whose dtype and shape
// must be p.TensorDType() and p.Shape(N) with N > batchIndex. Working buffers are pooled, so in a
// steady state it does not allocate. An image that DecodeResized made for the same geometry is
// only normalised.
func (p Preprocess) Into(img *RGB, dst *tensor.Tensor, batchIndex int) error {
	p, err := p.Normalized()
	if err != nil {
		return fmt.Errorf("imageio: preprocess: %w", err)
	}
	if err := p.check(dst, batchIndex); err != nil {
		return err
	}
	if img == nil || img.W <= 0 || img.H <= 0 || len(img.Pix) < img.W*img.H*3 {
		return fmt.Errorf("imageio: preprocess: empty or short image")
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.row = grow(sc.row, 3*p.Width)
	if img.resized == p.geometry() && img.W == p.Width && img.H == p.Height {
		p.store(dst, batchIndex, sc.row, func(i int, row []uint8) { copy(row, img.Pix[i*img.W*3:(i+1)*img.W*3]) })
		return nil
	}
	p.initResizer(&sc.rz, img.W, img.H)
	sc.rz.pushImage(img)
	p.store(dst, batchIndex, sc.row, sc.rz.outRow)
	return nil
}

// geometry is what decides the resized pixels (not their normalisation).
type geometry struct {
	w, h    int
	resize  string
	shorter int
	filter  string
}

func (p Preprocess) geometry() geometry {
	return geometry{p.Width, p.Height, p.Resize, p.ResizeShorter, p.Filter}
}

// initResizer prepares rz for a w×h (oriented) source under p's geometry.
func (p Preprocess) initResizer(rz *resizer, w, h int) {
	rw, rh, left, top := p.Geometry(w, h)
	rz.init(w, h, rw, rh, left, top, p.Width, p.Height, p.Filter == "antialias")
}

// store writes the Width×Height RGB rows that row(i, rowBuf) produces (rowBuf holds 3*Width
// bytes) into item batchIndex of dst.
func (p Preprocess) store(dst *tensor.Tensor, batchIndex int, rowBuf []uint8, row func(i int, buf []uint8)) {
	W, H := p.Width, p.Height
	var lut [3][256]float32
	if p.DType == "f32" {
		for c := range 3 {
			for v := range 256 {
				lut[c][v] = (float32(v)/255 - p.Mean[c]) / p.Std[c]
			}
		}
	}
	plane := W * H
	item := plane * 3
	for i := range H {
		row(i, rowBuf)
		row := rowBuf
		switch p.DType {
		case "f32":
			out := dst.F32()[batchIndex*item:][:item]
			if p.Layout == "NHWC" {
				o := out[i*W*3 : (i+1)*W*3]
				for x := range W {
					o[3*x], o[3*x+1], o[3*x+2] = lut[0][row[3*x]], lut[1][row[3*x+1]], lut[2][row[3*x+2]]
				}
			} else {
				r, g, b := out[i*W:(i+1)*W], out[plane+i*W:plane+(i+1)*W], out[2*plane+i*W:2*plane+(i+1)*W]
				for x := range W {
					r[x], g[x], b[x] = lut[0][row[3*x]], lut[1][row[3*x+1]], lut[2][row[3*x+2]]
				}
			}
		default:
			out := dst.Data[batchIndex*item:][:item]
			var bias uint8 // i8 = pixel-128, the same bits as pixel^0x80
			if p.DType == "i8" {
				bias = 0x80
			}
			if p.Layout == "NHWC" {
				o := out[i*W*3 : (i+1)*W*3]
				for x := range o {
					o[x] = row[x] ^ bias
				}
			} else {
				r, g, b := out[i*W:(i+1)*W], out[plane+i*W:plane+(i+1)*W], out[2*plane+i*W:2*plane+(i+1)*W]
				for x := range W {
					r[x], g[x], b[x] = row[3*x]^bias, row[3*x+1]^bias, row[3*x+2]^bias
				}
			}
		}
	}
}

// sidecar is the JSON file next to a model; sections other than "preprocess" belong to other
// packages and are ignored here.
type sidecar struct {
	Preprocess *json.RawMessage `json:"preprocess"`
}

// LoadConfig reads the "preprocess" section of a JSON sidecar (see the package doc) and
// returns it with defaults filled in; errors name the file.
func LoadConfig(path string) (Preprocess, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Preprocess{}, fmt.Errorf("imageio: %w", err)
	}
	p, err := ParseConfig(data)
	if err != nil {
		return Preprocess{}, fmt.Errorf("imageio: %s: %w", path, err)
	}
	return p, nil
}

// ParseConfig is LoadConfig on bytes.
func ParseConfig(data []byte) (Preprocess, error) {
	var s sidecar
	if err := json.Unmarshal(data, &s); err != nil {
		return Preprocess{}, err
	}
	if s.Preprocess == nil {
		return Preprocess{}, fmt.Errorf("no \"preprocess\" section")
	}
	var p Preprocess
	dec := json.NewDecoder(bytes.NewReader(*s.Preprocess))
	dec.DisallowUnknownFields() // a misspelt key must not silently fall back to a default
	if err := dec.Decode(&p); err != nil {
		return Preprocess{}, fmt.Errorf("preprocess: %w", err)
	}
	p, err := p.Normalized()
	if err != nil {
		return Preprocess{}, fmt.Errorf("preprocess: %w", err)
	}
	return p, nil
}
