package ref

// ConvTranspose computes a grouped 2-D transposed convolution of x (N×C×H×W) with w
// (C×M/group×KH×KW) and optional bias (M) into an oh×ow output whose leading pads are p.Pads[0]
// (top) and p.Pads[1] (left; trailing pads are implied by oh, ow). Written as a gather: output
// pixel o receives input pixel i through tap k where o = i*stride - pad + k*dilation.
func ConvTranspose(x []float32, xs [4]int, w []float32, ws [4]int, bias []float32, p Conv2D, oh, ow int) []float32 {
	p.norm()
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	mg, kh, kw := ws[1], ws[2], ws[3]
	if ws[0] != c || c%p.Group != 0 {
		panic("ref: ConvTranspose channel/group mismatch")
	}
	cg, m := c/p.Group, mg*p.Group
	y := make([]float32, n*m*oh*ow)
	for b := 0; b < n; b++ {
		for oc := 0; oc < m; oc++ {
			g, om := oc/mg, oc%mg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					if bias != nil {
						s = float64(bias[oc])
					}
					for ky := 0; ky < kh; ky++ {
						ty := oy + p.Pads[0] - ky*p.Dilations[0]
						if ty < 0 || ty%p.Strides[0] != 0 || ty/p.Strides[0] >= h {
							continue
						}
						for kx := 0; kx < kw; kx++ {
							tx := ox + p.Pads[1] - kx*p.Dilations[1]
							if tx < 0 || tx%p.Strides[1] != 0 || tx/p.Strides[1] >= wd {
								continue
							}
							iy, ix := ty/p.Strides[0], tx/p.Strides[1]
							for ic := g * cg; ic < (g+1)*cg; ic++ {
								s += float64(x[((b*c+ic)*h+iy)*wd+ix]) * float64(w[((ic*mg+om)*kh+ky)*kw+kx])
							}
						}
					}
					y[((b*m+oc)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return y
}
