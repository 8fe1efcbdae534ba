package imageio

import (
	"context"
	"fmt"

	"github.com/wanwu-ai/wanwu/tensor"
)

// DecodeInto decodes data as DecodeContext does and writes it, preprocessed as Into would, as
// item batchIndex of dst, without ever holding the decoded image when the format allows: rows go
// from the decoder through the EXIF orientation into the streaming resize, so the memory is
// bounded by the output for BMP, GIF, non-interlaced PNG and sequential JPEG whatever their
// size (Header.Cost bounds it for every format). The result equals Into(DecodeContext(...)) bit
// for bit. opts is used as given: pass MinWidth/MinHeight (p.MinSize()) to let a JPEG decode at
// a reduced DCT scale. Errors are DecodeContext's, and Into's for a bad dst.
func (p Preprocess) DecodeInto(ctx context.Context, data []byte, opts DecodeOptions, dst *tensor.Tensor, batchIndex int) error {
	p, err := p.Normalized()
	if err != nil {
		return fmt.Errorf("imageio: preprocess: %w", err)
	}
	if err := p.check(dst, batchIndex); err != nil {
		return err
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	if err := p.decodeResize(ctx, data, opts, &sc.rz); err != nil {
		return err
	}
	sc.row = grow(sc.row, 3*p.Width)
	p.store(dst, batchIndex, sc.row, sc.rz.outRow)
	return nil
}

// DecodeResized is DecodeInto without the normalisation: it returns the Width×Height RGB image
// the resize produces. Into recognises it (for the same geometry) and only normalises it, so a
// server can decode photos as they arrive, hold a few kilobytes per photo, and batch them later.
func (p Preprocess) DecodeResized(ctx context.Context, data []byte, opts DecodeOptions) (*RGB, error) {
	p, err := p.Normalized()
	if err != nil {
		return nil, fmt.Errorf("imageio: preprocess: %w", err)
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	if err := p.decodeResize(ctx, data, opts, &sc.rz); err != nil {
		return nil, err
	}
	out := NewRGB(p.Width, p.Height)
	for i := range p.Height {
		sc.rz.outRow(i, out.Pix[i*p.Width*3:(i+1)*p.Width*3])
	}
	out.resized = p.geometry()
	return out, nil
}

// decodeResize decodes data into rz, prepared for p's geometry.
func (p Preprocess) decodeResize(ctx context.Context, data []byte, opts DecodeOptions, rz *resizer) error {
	h, err := checkedHeader(data, opts)
	if err != nil {
		return err
	}
	w, ht := h.decodedSize(opts)
	if h.Orientation >= 5 {
		p.initResizer(rz, ht, w)
		s := newBoxSink(rz, w, ht, h.Orientation)
		if err := decodeRows(ctx, data, &h, opts, s); err != nil {
			return err
		}
		s.finish()
		return nil
	}
	p.initResizer(rz, w, ht)
	return decodeRows(ctx, data, &h, opts, newStreamSink(rz, w, ht, h.Orientation))
}
