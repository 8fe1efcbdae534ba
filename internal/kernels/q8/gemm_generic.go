package q8

// gemmGeneric is the portable kernel: four rows of a at a time so each loaded b element feeds four
// accumulators (the register blocking an asm kernel would widen).
func gemmGeneric(m, n, k int, a []int16, lda int, b []uint8, ldb int, c []int32, ldc int) {
	i := 0
	for ; i+4 <= m; i += 4 {
		c0 := c[i*ldc : i*ldc+n]
		c1 := c[(i+1)*ldc : (i+1)*ldc+n]
		c2 := c[(i+2)*ldc : (i+2)*ldc+n]
		c3 := c[(i+3)*ldc : (i+3)*ldc+n]
		clear(c0)
		clear(c1)
		clear(c2)
		clear(c3)
		a0 := a[i*lda : i*lda+k]
		a1 := a[(i+1)*lda : (i+1)*lda+k]
		a2 := a[(i+2)*lda : (i+2)*lda+k]
		a3 := a[(i+3)*lda : (i+3)*lda+k]
		for p := 0; p < k; p++ {
			w0, w1, w2, w3 := int32(a0[p]), int32(a1[p]), int32(a2[p]), int32(a3[p])
			br := b[p*ldb : p*ldb+n]
			c0 := c0[:len(br)]
			c1 := c1[:len(br)]
			c2 := c2[:len(br)]
			c3 := c3[:len(br)]
			for j, bv := range br {
				x := int32(bv)
				c0[j] += w0 * x
				c1[j] += w1 * x
				c2[j] += w2 * x
				c3[j] += w3 * x
			}
		}
	}
	for ; i < m; i++ {
		cr := c[i*ldc : i*ldc+n]
		clear(cr)
		ar := a[i*lda : i*lda+k]
		for p, w := range ar {
			if w == 0 {
				continue
			}
			wv := int32(w)
			br := b[p*ldb : p*ldb+n]
			cr := cr[:len(br)]
			for j, bv := range br {
				cr[j] += wv * int32(bv)
			}
		}
	}
}

func dotGeneric(a []int16, b []uint8) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += int32(a[i]) * int32(b[i])
		s1 += int32(a[i+1]) * int32(b[i+1])
		s2 += int32(a[i+2]) * int32(b[i+2])
		s3 += int32(a[i+3]) * int32(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}
