package f32

// Stride-2 convolutions read every other input column, which the packers would gather with
// permutes per kernel tap. Splitting the input once by row and column parity (four "phases") turns
// each tap into a stride-1 read of one phase: the stride-2 stem and 3×3 layers then pack with two
// masked loads per segment, and a 1×1 stride-2 layer becomes a plain 1×1 over phase (0, 0).

// PhaseDims is the height and width of the phases of an h×w plane (the even rows and columns; the
// odd phases are a row or column shorter when h or w is odd).
func PhaseDims(h, w int) (hq, wq int) { return (h + 1) / 2, (w + 1) / 2 }

// Polyphase2Len is the floats Polyphase2 writes per plane: four phases, or with all false phase (0, 0)
// only.
func Polyphase2Len(h, w int, all bool) int {
	hq, wq := PhaseDims(h, w)
	if all {
		return 4 * hq * wq
	}
	return hq * wq
}

// Polyphase2 splits plane (h×w) by parity: phase (py, px) starts at dst[(2*py+px)*hq*wq] and holds
// element (i, j) = plane[(2i+py)*w + 2j+px] at [i*wq+j]; with all false only phase (0, 0) is written,
// at dst[0:]. Positions past an odd plane's edge (the last row or column of an odd phase) are left
// as they were: Im2col's masks never read them.
func Polyphase2(dst, plane []float32, h, w int, all bool) {
	hq, wq := PhaseDims(h, w)
	plane = plane[:h*w]
	dst = dst[:Polyphase2Len(h, w, all)]
	for iy := 0; iy < h; iy++ {
		py, i := iy&1, iy>>1
		if py == 1 && !all {
			continue
		}
		row := plane[iy*w : (iy+1)*w]
		even := dst[(2*py)*hq*wq+i*wq:]
		even = even[:(w+1)/2]
		var odd []float32
		if all && w > 1 {
			odd = dst[(2*py+1)*hq*wq+i*wq:]
			odd = odd[:w/2]
		}
		deinterleave(even, odd, row)
	}
}

// deinterleave sets even[i] = src[2i] and (when odd is not nil) odd[i] = src[2i+1].
func deinterleave(even, odd, src []float32) {
	if deinterleaveAsm(even, odd, src) {
		return
	}
	for i := range even {
		even[i] = src[2*i]
	}
	for i := range odd {
		odd[i] = src[2*i+1]
	}
}

// SumPool2x2 sets out ((h/2)×(w/2)) to the sums of the 2×2 blocks of in (h×w, both even): the rows
// of a pair are added, then split into even and odd columns (as Polyphase2 does) and those added, all
// in vector kernels. buf holds at least w + w/2 floats.
func SumPool2x2(out, in []float32, h, w int, buf []float32) {
	ow := w / 2
	rows, odd := buf[:w], buf[w:w+ow]
	for oy := 0; oy < h/2; oy++ {
		Add(rows, in[2*oy*w:(2*oy+1)*w], in[(2*oy+1)*w:(2*oy+2)*w])
		o := out[oy*ow : (oy+1)*ow]
		deinterleave(o, odd, rows)
		Add(o, o, odd)
	}
}

// SubsampleRows sets dst[r*ldDst + i] = src[r*ldSrc + sw*i] for rows r < rows and columns i < ow:
// the input a 1×1 convolution of stride sw reads, compacted so that it runs as a stride-1 one
// (ops' conv subsample). Stride 2 goes through the vector kernel on AVX-512.
func SubsampleRows(dst, src []float32, rows, ow, sw, ldSrc, ldDst int) {
	if rows <= 0 || ow <= 0 {
		return
	}
	if sw < 1 || len(src) < (rows-1)*ldSrc+(ow-1)*sw+1 || len(dst) < (rows-1)*ldDst+ow {
		panic("f32: SubsampleRows operands out of range")
	}
	if sw == 2 && subsampleRowsAsm(dst, src, rows, ow, ldSrc, ldDst) {
		return
	}
	for r := 0; r < rows; r++ {
		d, s := dst[r*ldDst:r*ldDst+ow], src[r*ldSrc:]
		for i := range d {
			d[i] = s[i*sw]
		}
	}
}
