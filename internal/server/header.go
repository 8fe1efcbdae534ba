package server

import (
	"github.com/wanwu-ai/wanwu/imageio"
)

// decodeReservation predicts the peak bytes decoding an image into m's input holds, from its header
// alone: imageio's cost model for the streaming decode and resize (the model's DecodeCost, which
// imageio's tests hold to what the allocator counts) plus a small allowance for the request's own
// decoding bookkeeping (context, error values).
func decodeReservation(m Model, h imageio.Header) int64 {
	return m.DecodeCost(h) + decodeAllowance
}

// decodeAllowance is decodeReservation's margin beyond imageio's prediction.
const decodeAllowance = 64 << 10

// knownImageType reports whether a Content-Type names a format the server decodes: a body that says so
// but is not one is a corrupt image (400); any other image/* type is unsupported (415).
func knownImageType(mt string) bool {
	switch mt {
	case "image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/gif", "image/bmp", "image/x-bmp",
		"image/x-ms-bmp", "image/webp":
		return true
	}
	return false
}
