package wanwu

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/tensor"
)

// basePreprocess decides preprocessing: explicit option > sidecar <model>.json > catalog > defaults by
// format. A sidecar or catalog size becomes the default input size of a dynamic model.
func (m *Model) basePreprocess(entry *catalog.Entry, cfg config, ii *inputInfo) (imageio.Preprocess, error) {
	var pre imageio.Preprocess
	switch {
	case cfg.pre != nil:
		pre = *cfg.pre
	case m.compiled != nil:
		pre = m.compiled.Info.Preprocess
	default:
		sidecar := sidecarPath(m.Path)
		if sc, err := readSidecar(sidecar); err != nil {
			return pre, err
		} else if sc.Preprocess != nil {
			p, err := imageio.LoadConfig(sidecar)
			if err != nil {
				return pre, err
			}
			pre = p
		} else if entry != nil {
			cp := entry.Preprocess
			pre = imageio.Preprocess{Resize: cp.Resize, Filter: cp.Filter, Mean: cp.Mean, Std: cp.Std}
		} else if m.Format == "tflite" {
			// TFLite classifiers are trained on whole photos squeezed to the input size.
			pre = imageio.Preprocess{Resize: "stretch", Filter: "bilinear", Std: [3]float32{1, 1, 1}}
		} else {
			// torchvision's ImageNet evaluation transform.
			pre = imageio.Preprocess{Resize: "shorter_crop",
				Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
		}
	}
	if ii.dynamic && pre.Height > 0 && pre.Height == pre.Width {
		ii.baseSize = pre.Height
	}
	pre.Layout = ii.layout
	switch ii.dtype {
	case tensor.F32:
		pre.DType = "f32"
	case tensor.U8:
		pre.DType = "u8"
	case tensor.I8:
		pre.DType = "i8"
	default:
		return pre, fmt.Errorf("%s: input %q has element type %s; want f32, u8 or i8", m.Path, ii.name, ii.dtype)
	}
	return pre, nil
}

// shorterSide is the side photos are resized to before the centre crop, 0 when they are not cropped so.
func shorterSide(p imageio.Preprocess) int {
	if p.Resize != "shorter_crop" && p.Resize != "" {
		return 0
	}
	if p.ResizeShorter == 0 {
		return max(p.Width, p.Height) * 256 / 224
	}
	return p.ResizeShorter
}

// preprocessFor fits the preprocessing to an input size: the crop is the size, and the shorter side
// before it is resize when given (WithResize), else keeps the configured ratio (resize_shorter/height of a
// sidecar), or N·256/224 by default.
func preprocessFor(base imageio.Preprocess, shape tensor.Shape, hAxis, resize int) imageio.Preprocess {
	p := base
	p.Height, p.Width = shape[hAxis], shape[hAxis+1]
	if p.Resize == "shorter_crop" || p.Resize == "" {
		if resize > 0 {
			p.ResizeShorter = resize
		} else if base.ResizeShorter > 0 && base.Height > 0 {
			p.ResizeShorter = (base.ResizeShorter*max(p.Height, p.Width) + base.Height/2) / base.Height
		} else {
			p.ResizeShorter = 0 // max(H,W)*256/224
		}
	}
	return p
}
