//go:build !amd64 || !gc || purego

package f32

func dwPlaneRung() bool { return false }

func dwPlaneAsm(out, in, w []float32, tab []dwEnt, g *ConvGeom, nvec int, bias float32, clamp bool, lo, hi float32) bool {
	return false
}

func dwRowsAsm(out, in, w []float32, tab []dwEnt, g *ConvGeom, nvec int, bias float32, clamp bool, lo, hi float32, oy0, oy1 int) bool {
	return false
}

func maxRowsAsm(out, in []float32, p *DepthwisePlan, oy0, oy1 int) bool { return false }
