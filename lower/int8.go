package lower

import "github.com/wanwu-ai/wanwu/internal/kernels/q8"

// What callers above the lowering (calibration, the facade's precision choice) need of the int8
// kernels goes through here, so that only ops and lower import internal/kernels.

// StaticConvBehind reports whether, on this CPU, statically quantized convolutions run slower than
// the dynamically quantized ones (no AVX-512 VNNI, but AVX2), so a caller may prefer dynamic int8.
func StaticConvBehind() bool { return q8.StaticConvBehind() }

// MinMax returns the smallest and largest value of x (x non-empty), as calibration observes a range.
func MinMax(x []float32) (lo, hi float32) { return q8.MinMax(x) }

// QuantParams returns the u8 quantization of [lo, hi] widened to hold 0, the one the int8 kernels
// use: x ≈ scale * (q - zp).
func QuantParams(lo, hi float32) (scale float32, zp uint8) { return q8.Params(lo, hi) }
