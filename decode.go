package wanwu

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/memory"
)

// Photos reach the model through imageio's streaming path: decoded straight into the model's
// resize, so that a photo costs about the model's input whatever its size for the formats that
// allow it, and the memory prediction (decodeCost) is what imageio.Header.Cost says.

// decodeCost predicts what classifying photo (the default photo when nil) holds at its peak for
// pre, as ClassifyFile decodes it: the file read whole, what DecodeResized allocates (decoding
// streamed into the resize where the format allows, imageio.Header.Cost) and its result.
func (m *Model) decodeCost(photo *imageio.Header, pre imageio.Preprocess) int64 {
	if photo == nil {
		return memory.DecodeBytes(memory.DefaultPhotoPixels, 1, 0)
	}
	w, h := pre.MinSize()
	return photo.FileBytes + photo.Cost(pre, imageio.DecodeOptions{MinWidth: w, MinHeight: h}) +
		int64(pre.Width)*int64(pre.Height)*3
}

// DecodeOptions are the decoding bounds for this model's photos: JPEGs decode at the smallest DCT scale
// that still covers the model's resize, so a 24 MP photo costs about as much as a small one.
func (m *Model) DecodeOptions() imageio.DecodeOptions {
	w, h := m.pre.MinSize()
	return imageio.DecodeOptions{MinWidth: w, MinHeight: h}
}

// ClassifyFile reads a photo (at most imageio.DefaultMaxBytes) and classifies it as
// ClassifyBytes does; errors name the file.
func (m *Model) ClassifyFile(ctx context.Context, path string, topK int) (Result, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("imageio: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, imageio.DefaultMaxBytes+1))
	f.Close()
	if err == nil && len(data) > imageio.DefaultMaxBytes {
		err = fmt.Errorf("imageio: %w: the file exceeds the %d-byte limit", imageio.ErrTooLarge, imageio.DefaultMaxBytes)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", path, err)
	}
	res, err := m.ClassifyBytes(ctx, data, topK)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", path, err)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// ClassifyBytes decodes an encoded photo (JPEG, PNG, GIF, BMP or WebP) and classifies it. The
// photo is decoded straight into the model's resize (DecodeResized), so its memory is bounded by
// the model's input rather than by the photo for the formats that allow it (imageio.Header.Cost
// predicts it); decoding stops with ctx's error when ctx is done.
func (m *Model) ClassifyBytes(ctx context.Context, data []byte, topK int) (Result, error) {
	start := time.Now()
	img, err := m.DecodeResized(ctx, data)
	if err != nil {
		return Result{}, err
	}
	res, err := m.Classify(ctx, img, topK)
	if err != nil {
		return Result{}, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// DecodeResized decodes an encoded photo into the model's input size (imageio.Preprocess.
// DecodeResized with DecodeOptions): a few hundred kilobytes to hold until Classify or
// ClassifyBatch, which then only normalise it. A server can decode photos as they arrive and batch
// them later without holding any at full size.
func (m *Model) DecodeResized(ctx context.Context, data []byte) (*imageio.RGB, error) {
	return m.pre.DecodeResized(ctx, data, m.DecodeOptions())
}

// DecodeCost predicts what DecodeResized allocates for a photo with header h, its result included
// (not the encoded bytes): what a server reserves before decoding.
func (m *Model) DecodeCost(h imageio.Header) int64 {
	return m.decodeCost(&h, m.pre) - h.FileBytes
}
