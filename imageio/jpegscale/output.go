package jpegscale

// Colour conversions from the decoded components to RGB.
const (
	convGray  = iota // 1 component
	convYCbCr        // JFIF YCbCr
	convRGB          // Adobe transform 0 or component ids 'R','G','B'
	convCMYK         // Adobe CMYK, stored inverted
	convYCCK         // Adobe YCCK
)

// reconstruct dequantizes block (bx, by) of c, runs the IDCT of c's output size and stores
// the samples in c's strip ring.
func (d *decoder) reconstruct(c *component, b *block, bx, by int) {
	for u := range b {
		// libjpeg's coefficients are 16-bit (JCOEF); wrap corrupt values the same way.
		b[u] = int32(int16(b[u])) * c.qt[u]
	}
	var px [64]uint8
	ss := c.ss
	switch ss {
	case 8:
		idct8(b, &px)
	case 4:
		idct4(b, &px)
	case 2:
		idct2(b, &px)
	default:
		idct1(b, &px)
	}
	row0 := by * ss
	for r := range ss {
		dst := c.strip[((row0+r)%c.ringRows)*c.stride+bx*ss:]
		copy(dst[:ss], px[r*ss:r*ss+ss])
	}
}

// stripDone is called once MCU row m has been reconstructed: strip m-1 can now be upsampled
// (its lower context row is in strip m), and the last strip right away.
func (d *decoder) stripDone(m int) {
	if m > 0 {
		d.emit(m - 1)
	}
	if m == d.myy-1 {
		d.emit(m)
	}
}

// renderBuffered reconstructs a buffered (progressive or multi-scan) image MCU row by MCU
// row from the stored coefficients, through the same strips as a streaming decode.
func (d *decoder) renderBuffered() error {
	var b block
	for m := 0; m < d.myy; m++ {
		if m&7 == 0 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		if !d.mcuRowNeeded(m) {
			d.stripDone(m)
			continue
		}
		for i := 0; i < d.nComp; i++ {
			c := &d.comp[i]
			if !c.latched {
				// Never scanned: its coefficients stay zero; use the current table.
				for zig := range blockSize {
					c.qt[unzig[zig]] = d.quant[c.tq][zig]
				}
				c.latched = true
			}
			for by := m * c.v; by < (m+1)*c.v; by++ {
				for bx := 0; bx < c.blocksWide; bx++ {
					c.coef.load(by*c.blocksWide+bx, &b)
					d.reconstruct(c, &b, bx, by)
				}
			}
		}
		d.stripDone(m)
	}
	return nil
}

// row returns row r of c's samples (which must still be in the ring).
func (c *component) row(r int) []uint8 {
	i := (r % c.ringRows) * c.stride
	return c.strip[i : i+c.stride]
}

// upsample returns component i's samples for output row y, upsampled as libjpeg-turbo's
// jdsample.c does: h2v1 / h2v2 "fancy" triangle filters (for components at least 3 samples
// wide) and h1v2 fancy when min_DCT_scaled_size > 1, plain replication otherwise.
func (d *decoder) upsample(i, y int) []uint8 {
	c := &d.comp[i]
	cy := y / c.vr
	near := c.row(cy)
	if c.hr == 1 && c.vr == 1 {
		return near
	}
	out := d.rows[i]
	// far is the neighbouring input row on y's side, edges replicated (jdmainct.c context rows).
	far := func() []uint8 {
		fy := cy - 1
		if y&1 == 1 {
			fy = cy + 1
		}
		return c.row(min(max(fy, 0), c.dh-1))
	}
	cw := c.dw
	switch {
	case c.hr == 2 && c.vr == 1 && d.fancy && cw > 2: // h2v1_fancy_upsample
		out[0] = near[0]
		out[1] = uint8((int32(near[0])*3 + int32(near[1]) + 2) >> 2)
		for x := 1; x < cw-1; x++ {
			v := int32(near[x]) * 3
			out[2*x] = uint8((v + int32(near[x-1]) + 1) >> 2)
			out[2*x+1] = uint8((v + int32(near[x+1]) + 2) >> 2)
		}
		l := cw - 1
		out[2*l] = uint8((int32(near[l])*3 + int32(near[l-1]) + 1) >> 2)
		out[2*l+1] = near[l]
		return out
	case c.hr == 1 && c.vr == 2 && d.fancy: // h1v2_fancy_upsample
		f := far()
		bias := int32(1 + y&1)
		for x := 0; x < cw; x++ {
			out[x] = uint8((3*int32(near[x]) + int32(f[x]) + bias) >> 2)
		}
		return out
	case c.hr == 2 && c.vr == 2 && d.fancy && cw > 2: // h2v2_fancy_upsample
		f := far()
		t := func(x int) int32 { return 3*int32(near[x]) + int32(f[x]) }
		t0, t1 := t(0), t(1)
		out[0] = uint8((t0*4 + 8) >> 4)
		out[1] = uint8((t0*3 + t1 + 7) >> 4)
		last, this := t0, t1
		for x := 1; x < cw-1; x++ {
			next := t(x + 1)
			out[2*x] = uint8((this*3 + last + 8) >> 4)
			out[2*x+1] = uint8((this*3 + next + 7) >> 4)
			last, this = this, next
		}
		l := cw - 1
		out[2*l] = uint8((this*3 + last + 8) >> 4)
		out[2*l+1] = uint8((this*4 + 7) >> 4)
		return out
	}
	for x := 0; x < d.outW; x++ { // int_upsample / h2v1_upsample / h2v2_upsample
		out[x] = near[x/c.hr]
	}
	return out
}

// emit writes the output rows of MCU row m.
func (d *decoder) emit(m int) {
	rowsPer := d.vmax * d.minSS
	w := d.outW
	for y := max(m*rowsPer, d.sinkLo); y < min((m+1)*rowsPer, d.outH, d.sinkHi); y++ {
		dst := d.sink.Row(y)
		if dst == nil {
			continue
		}
		switch d.colorConv {
		case convGray:
			g := d.upsample(0, y)
			for x := 0; x < w; x++ {
				v := g[x]
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		case convYCbCr:
			yy, cb, cr := d.upsample(0, y), d.upsample(1, y), d.upsample(2, y)
			for x := 0; x < w; x++ {
				dst[3*x], dst[3*x+1], dst[3*x+2] = yccToRGB(yy[x], cb[x], cr[x])
			}
		case convRGB:
			r, g, b := d.upsample(0, y), d.upsample(1, y), d.upsample(2, y)
			for x := 0; x < w; x++ {
				dst[3*x], dst[3*x+1], dst[3*x+2] = r[x], g[x], b[x]
			}
		case convCMYK, convYCCK:
			c0, c1, c2, k := d.upsample(0, y), d.upsample(1, y), d.upsample(2, y), d.upsample(3, y)
			for x := 0; x < w; x++ {
				var c, m, ye uint8
				if d.colorConv == convCMYK {
					// Adobe stores CMYK inverted (255 = no ink).
					c, m, ye = 255-c0[x], 255-c1[x], 255-c2[x]
				} else {
					// YCCK: YCbCr->RGB gives the inverted CMY, which un-inverts it (libjpeg's
					// ycck_cmyk_convert followed by Pillow's CMYK;I), leaving K to invert.
					c, m, ye = yccToRGB(c0[x], c1[x], c2[x])
				}
				dst[3*x], dst[3*x+1], dst[3*x+2] = cmykToRGB(c, m, ye, 255-k[x])
			}
		}
		d.sink.Commit(y)
	}
}

// Fixed-point constants of libjpeg's jdcolor.c (SCALEBITS 16).
const (
	fix140200 = 91881  // FIX(1.40200)
	fix177200 = 116130 // FIX(1.77200)
	fix071414 = 46802  // FIX(0.71414)
	fix034414 = 22554  // FIX(0.34414)
)

// yccToRGB is jdcolor.c's ycc_rgb_convert (JFIF full-range BT.601).
func yccToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy, b, r := int32(y), int32(cb)-128, int32(cr)-128
	R := yy + (fix140200*r+1<<15)>>16
	G := yy + (-fix034414*b-fix071414*r+1<<15)>>16
	B := yy + (fix177200*b+1<<15)>>16
	return clamp8(R), clamp8(G), clamp8(B)
}

func clamp8(v int32) uint8 {
	return uint8(min(max(v, 0), 255))
}

// cmykToRGB is Pillow's cmyk2rgb (channel = (255-k) - c*(255-k)/255, rounded via MULDIV255),
// on CMYK with 0 = no ink.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := 255 - int(k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(nk - ((t>>8)+t)>>8)
	}
	return f(c), f(m), f(y)
}
