package q8

// AddRQ holds TFLite's quantized Add (reference_ops::Add for uint8, left shift 20) for u8 inputs:
//
//	s = A.Apply((a - ZA) << 20) + B.Apply((b - ZB) << 20)
//	y = O.Byte(Out.Apply(s))
//
// A, B and Out must have Add == 0.
type AddRQ struct {
	A, B, Out RQ
	ZA, ZB    int32
	O         RQOut
}

// AddU8 sets y[i] from a[i] and b[i] (same length, no broadcasting) as AddRQ describes.
func AddU8(y, a, b []byte, p *AddRQ) {
	n := len(y)
	if len(a) < n || len(b) < n {
		panic("q8: AddU8 slice too short")
	}
	if p.A.Add != 0 || p.B.Add != 0 || p.Out.Add != 0 {
		panic("q8: AddU8 with a nonzero RQ.Add")
	}
	if n == 0 {
		return
	}
	if useVNNI {
		addU8AVX512(&y[0], &a[0], &b[0], n, p)
		return
	}
	d := 0
	if useAVX2 && n >= 8 {
		d = n &^ 7
		addU8AVX2(&y[0], &a[0], &b[0], d, p)
	}
	for i := d; i < n; i++ {
		s := p.A.Apply((int32(a[i])-p.ZA)<<20) + p.B.Apply((int32(b[i])-p.ZB)<<20)
		y[i] = p.O.Byte(p.Out.Apply(s))
	}
}
