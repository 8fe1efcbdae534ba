package server

import (
	"github.com/wanwu-ai/wanwu/imageio"
)

// decodeReservation predicts the peak bytes decoding an image with opts holds, from its header alone:
// imageio's own cost model (DCT-scaled JPEG decoding included) plus a fixed allowance for decoder tables
// and the preprocess scratch. For PNG it assumes 16-bit RGBA (8 bytes per pixel), the widest the
// decoder can produce, where imageio's model counts 4.
func decodeReservation(h imageio.Header, opts imageio.DecodeOptions) int64 {
	cost := h.DecodeCost(opts.MinWidth, opts.MinHeight)
	if h.Format == imageio.PNG {
		cost += int64(h.Width) * int64(h.Height) * 4
	}
	return cost + 1<<20
}

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
