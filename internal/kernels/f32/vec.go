package f32

// Fill sets every element of x to v.
func Fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

// ScaleShift computes x[i] = x[i]*a + b over x (BatchNormalization's per-channel affine map); out may be x.
func ScaleShift(out, x []float32, a, b float32) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = v*a + b
	}
}

// Relu clamps negative elements of x to zero in place.
func Relu(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// addGeneric is Add's portable loop (and the tail of the vector one).
func addGeneric(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// mulGeneric is Mul's portable loop (and the tail of the vector one).
func mulGeneric(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// scaleGeneric is Scale's portable loop (and the tail of the vector one).
func scaleGeneric(dst, a []float32, s float32) {
	a = a[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * s
	}
}
