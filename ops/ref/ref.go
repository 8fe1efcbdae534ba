// Package ref holds naive, obviously-correct reference implementations of the compute-heavy operators.
// They are slow on purpose (plain nested loops, float64 accumulation) and serve as test oracles for the
// optimised kernels in ops and internal/kernels.
package ref

import "math"

// Conv2D parameters. Pads are [top, left, bottom, right]; zero strides/dilations/group mean 1.
type Conv2D struct {
	Group            int
	Strides          [2]int
	Dilations        [2]int
	Pads             [4]int
	CeilMode         bool // pools only
	CountIncludePad  bool // AveragePool only
	KernelH, KernelW int  // pools only (Conv takes the kernel size from W)
}

func (p *Conv2D) norm() {
	if p.Group == 0 {
		p.Group = 1
	}
	for i := range 2 {
		if p.Strides[i] == 0 {
			p.Strides[i] = 1
		}
		if p.Dilations[i] == 0 {
			p.Dilations[i] = 1
		}
	}
}

// OutSize is the ONNX output length of one spatial axis: floor (or ceil) of
// (in + padBegin + padEnd - dil*(k-1) - 1)/stride + 1; in ceil mode a last window that would start
// past the input and the leading pad is dropped.
func OutSize(in, k, stride, dil, padBegin, padEnd int, ceil bool) int {
	span := in + padBegin + padEnd - dil*(k-1) - 1
	if span < 0 {
		return 0
	}
	out := span/stride + 1
	if ceil && span%stride != 0 {
		out++
		if (out-1)*stride >= in+padBegin {
			out--
		}
	}
	return out
}

// Conv computes a grouped, strided, padded, dilated 2-D convolution of x (N×C×H×W) with
// w (M×C/group×KH×KW) and optional bias (M), returning y and its shape.
func Conv(x []float32, xs [4]int, w []float32, ws [4]int, bias []float32, p Conv2D) ([]float32, [4]int) {
	p.norm()
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	m, cg, kh, kw := ws[0], ws[1], ws[2], ws[3]
	if cg*p.Group != c || m%p.Group != 0 {
		panic("ref: Conv channel/group mismatch")
	}
	oh := OutSize(h, kh, p.Strides[0], p.Dilations[0], p.Pads[0], p.Pads[2], false)
	ow := OutSize(wd, kw, p.Strides[1], p.Dilations[1], p.Pads[1], p.Pads[3], false)
	y := make([]float32, n*m*oh*ow)
	mg := m / p.Group
	for b := 0; b < n; b++ {
		for oc := 0; oc < m; oc++ {
			g := oc / mg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					if bias != nil {
						s = float64(bias[oc])
					}
					for ic := 0; ic < cg; ic++ {
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy := oy*p.Strides[0] - p.Pads[0] + ky*p.Dilations[0]
								ix := ox*p.Strides[1] - p.Pads[1] + kx*p.Dilations[1]
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								xv := x[((b*c+g*cg+ic)*h+iy)*wd+ix]
								wv := w[((oc*cg+ic)*kh+ky)*kw+kx]
								s += float64(xv) * float64(wv)
							}
						}
					}
					y[((b*m+oc)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return y, [4]int{n, m, oh, ow}
}

// Pool computes MaxPool (max == true) or AveragePool of x (N×C×H×W).
// Max ignores padding; Average divides by the number of taps inside the input, or with
// CountIncludePad by the number of taps inside the padded input (taps past the end pad, which
// ceil mode can create, never count).
func Pool(max bool, x []float32, xs [4]int, p Conv2D) ([]float32, [4]int) {
	p.norm()
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	kh, kw := p.KernelH, p.KernelW
	oh := OutSize(h, kh, p.Strides[0], p.Dilations[0], p.Pads[0], p.Pads[2], p.CeilMode)
	ow := OutSize(wd, kw, p.Strides[1], p.Dilations[1], p.Pads[1], p.Pads[3], p.CeilMode)
	y := make([]float32, n*c*oh*ow)
	for b := 0; b < n*c; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				best := math.Inf(-1)
				var sum float64
				var cnt, cntPad int
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						iy := oy*p.Strides[0] - p.Pads[0] + ky*p.Dilations[0]
						ix := ox*p.Strides[1] - p.Pads[1] + kx*p.Dilations[1]
						if iy < h+p.Pads[2] && ix < wd+p.Pads[3] {
							cntPad++
						}
						if iy < 0 || iy >= h || ix < 0 || ix >= wd {
							continue
						}
						v := float64(x[(b*h+iy)*wd+ix])
						best = math.Max(best, v)
						sum += v
						cnt++
					}
				}
				var out float64
				switch {
				case max:
					out = best
				case p.CountIncludePad:
					out = sum / float64(cntPad)
				default:
					out = sum / float64(cnt)
				}
				y[(b*oh+oy)*ow+ox] = float32(out)
			}
		}
	}
	return y, [4]int{n, c, oh, ow}
}

// Gemm computes alpha*op(A)*op(B) + beta*C for row-major A (m×k, or k×m if transA), B (k×n, or n×k
// if transB); c is m×n (already broadcast) or nil.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) []float32 {
	y := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*m+i]
				} else {
					av = a[i*k+p]
				}
				if transB {
					bv = b[j*k+p]
				} else {
					bv = b[p*n+j]
				}
				s += float64(av) * float64(bv)
			}
			s *= float64(alpha)
			if c != nil {
				s += float64(beta) * float64(c[i*n+j])
			}
			y[i*n+j] = float32(s)
		}
	}
	return y
}

// BatchNorm computes inference-mode batch normalisation of x (N×C×spatial):
// y = scale*(x-mean)/sqrt(var+eps) + bias.
func BatchNorm(x []float32, n, c, spatial int, scale, bias, mean, variance []float32, eps float32) []float32 {
	y := make([]float32, len(x))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for i := 0; i < spatial; i++ {
				idx := (b*c+ch)*spatial + i
				v := (float64(x[idx]) - float64(mean[ch])) / math.Sqrt(float64(variance[ch])+float64(eps))
				y[idx] = float32(v*float64(scale[ch]) + float64(bias[ch]))
			}
		}
	}
	return y
}
