package imageio

import (
	"errors"
	"hash"
	"hash/adler32"
	"io"
)

// A zlib (RFC 1950) / DEFLATE (RFC 1951) decompressor whose memory is fixed: 32 KiB of history
// and two decoding tables, allocated once per stream. compress/flate allocates new overflow
// tables for every dynamic Huffman block (up to ~290 KiB a block, garbage at once), so the bytes
// a PNG decode allocates would grow with the file; here they do not, and Header.Cost is exact.
// It accepts and refuses what compress/flate and compress/zlib do (complete Huffman codes only,
// but a lone one-bit code; no preset dictionary; the Adler-32 checksum verified), which
// TestInflateMatchesFlate and FuzzInflate check against them.

var (
	errInflateCorrupt = errors.New("zlib: corrupt deflate data")
	errZlibHeader     = errors.New("zlib: invalid header")
	errZlibDictionary = errors.New("zlib: invalid dictionary")
	errZlibChecksum   = errors.New("zlib: invalid checksum")
)

const (
	inflateWindow  = 1 << 15
	huffFastBits   = 10
	maxCodeLen     = 15
	maxLitLenCodes = 286
	maxDistCodes   = 30
)

// huffTable decodes one canonical Huffman code: codes up to huffFastBits long by a table
// lookup on the next bits (entry = symbol<<4 | length, 0 for a longer or unused code), longer
// ones bit by bit from the per-length counts (as zlib's puff.c does).
type huffTable struct {
	fast   [1 << huffFastBits]uint16
	count  [maxCodeLen + 1]uint16
	symbol [288]uint16 // symbols ordered by code
	empty  bool
}

// build makes the table for code lengths lens (0 = unused), refusing over-subscribed and (but
// for a single one-bit code) incomplete codes as compress/flate does.
func (h *huffTable) build(lens []uint8) bool {
	h.count = [maxCodeLen + 1]uint16{}
	for _, l := range lens {
		h.count[l]++
	}
	h.count[0] = 0
	maxLen := 0
	for l := maxCodeLen; l > 0; l-- {
		if h.count[l] != 0 {
			maxLen = l
			break
		}
	}
	h.fast = [1 << huffFastBits]uint16{}
	h.empty = maxLen == 0
	if h.empty {
		return true // usable only if never read, as compress/flate allows
	}
	left := 1
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return false // over-subscribed
		}
	}
	if left != 0 && !(maxLen == 1 && h.count[1] == 1) {
		return false // incomplete
	}
	var offs [maxCodeLen + 2]uint16
	for l := 1; l <= maxCodeLen; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	var next [maxCodeLen + 1]int
	code := 0
	for l := 1; l <= maxCodeLen; l++ {
		next[l] = code
		code = (code + int(h.count[l])) << 1
	}
	for sym, l := range lens {
		if l == 0 {
			continue
		}
		h.symbol[offs[l]] = uint16(sym)
		offs[l]++
		c := next[l]
		next[l]++
		if int(l) <= huffFastBits {
			// Deflate packs codes most-significant bit first into an LSB-first stream:
			// index the table by the bit-reversed code.
			r := 0
			for i := 0; i < int(l); i++ {
				r |= (c >> i & 1) << (int(l) - 1 - i)
			}
			for i := r; i < len(h.fast); i += 1 << l {
				h.fast[i] = uint16(sym)<<4 | uint16(l)
			}
		}
	}
	return true
}

// inflater decompresses a zlib stream read byte by byte from src.
type inflater struct {
	src   io.ByteReader
	bits  uint64
	nbits uint
	err   error

	hist  [inflateWindow]byte
	hpos  int  // next write position in hist
	hfull bool // hist has wrapped: every distance up to the window is valid

	final     bool // the current block is the last
	state     int  // what the next read continues
	stored    int  // bytes left in a stored block
	copyLen   int  // bytes left of a match
	copyDist  int
	lit, dist huffTable
	cl        huffTable // the code-length code of a dynamic block
	lens      [maxLitLenCodes + maxDistCodes]uint8
	adler     hash.Hash32
	done      bool
}

const (
	stateBlockStart = iota
	stateStored
	stateHuffman
	stateEnd
)

// inflaterBytes is what newInflater allocates.
const inflaterBytes = 40 << 10

func newInflater(src io.ByteReader) *inflater {
	return &inflater{src: src, adler: adler32.New()}
}

// header reads and checks the two zlib header bytes.
func (f *inflater) header() error {
	var b [2]byte
	for i := range b {
		c, err := f.src.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		b[i] = c
	}
	h := uint(b[0])<<8 | uint(b[1])
	if b[0]&0x0f != 8 || b[0]>>4 > 7 || h%31 != 0 {
		return errZlibHeader
	}
	if b[1]&0x20 != 0 {
		return errZlibDictionary // a preset dictionary: PNG never uses one
	}
	return nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// need makes at least n (<= 32) bits available.
func (f *inflater) need(n uint) error {
	for f.nbits < n {
		c, err := f.src.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		f.bits |= uint64(c) << f.nbits
		f.nbits += 8
	}
	return nil
}

func (f *inflater) take(n uint) (int, error) {
	if err := f.need(n); err != nil {
		return 0, err
	}
	v := int(f.bits & (1<<n - 1))
	f.bits >>= n
	f.nbits -= n
	return v, nil
}

// sym decodes one symbol of h.
func (f *inflater) sym(h *huffTable) (int, error) {
	if h.empty {
		return 0, errInflateCorrupt
	}
	// Fill up to huffFastBits bits if the stream has them; near its end fewer may remain.
	for f.nbits < huffFastBits {
		c, err := f.src.ReadByte()
		if err != nil {
			break
		}
		f.bits |= uint64(c) << f.nbits
		f.nbits += 8
	}
	if e := h.fast[f.bits&(1<<huffFastBits-1)]; e != 0 && uint(e&15) <= f.nbits {
		n := uint(e & 15)
		f.bits >>= n
		f.nbits -= n
		return int(e >> 4), nil
	}
	// Bit by bit over the canonical code (puff.c's decode).
	code, first, index := 0, 0, 0
	for l := 1; l <= maxCodeLen; l++ {
		b, err := f.take(1)
		if err != nil {
			return 0, err
		}
		code |= b
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first]), nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, errInflateCorrupt
}

var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder  = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// startBlock reads a block header.
func (f *inflater) startBlock() error {
	hdr, err := f.take(3)
	if err != nil {
		return err
	}
	f.final = hdr&1 == 1
	switch hdr >> 1 {
	case 0: // stored
		f.bits >>= f.nbits % 8
		f.nbits -= f.nbits % 8
		n, err := f.take(16)
		if err != nil {
			return err
		}
		nn, err := f.take(16)
		if err != nil {
			return err
		}
		if uint16(nn) != ^uint16(n) {
			return errInflateCorrupt
		}
		f.stored, f.state = n, stateStored
		return nil
	case 1: // fixed codes: 288 literal/length and 32 distance symbols, the last two of each unused
		var l [288 + 32]uint8
		for i := range 288 {
			switch {
			case i < 144:
				l[i] = 8
			case i < 256:
				l[i] = 9
			case i < 280:
				l[i] = 7
			default:
				l[i] = 8
			}
		}
		for i := 288; i < len(l); i++ {
			l[i] = 5
		}
		f.lit.build(l[:288])
		f.dist.build(l[288:])
		f.state = stateHuffman
		return nil
	case 2:
		if err := f.dynamic(); err != nil {
			return err
		}
		f.state = stateHuffman
		return nil
	}
	return errInflateCorrupt
}

// dynamic reads the code lengths of a dynamic block (RFC 1951 3.2.7).
func (f *inflater) dynamic() error {
	v, err := f.take(14)
	if err != nil {
		return err
	}
	nlit, ndist, nclen := v&31+257, v>>5&31+1, v>>10+4
	if nlit > maxLitLenCodes || ndist > maxDistCodes {
		return errInflateCorrupt
	}
	var cl [19]uint8
	for i := range nclen {
		b, err := f.take(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(b)
	}
	clh := &f.cl
	if !clh.build(cl[:]) {
		return errInflateCorrupt
	}
	lens := f.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		s, err := f.sym(clh)
		if err != nil {
			return err
		}
		if s < 16 {
			lens[i] = uint8(s)
			i++
			continue
		}
		var rep int
		var val uint8
		switch s {
		case 16:
			if i == 0 {
				return errInflateCorrupt
			}
			val = lens[i-1]
			rep, err = f.take(2)
			rep += 3
		case 17:
			rep, err = f.take(3)
			rep += 3
		default:
			rep, err = f.take(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+rep > len(lens) {
			return errInflateCorrupt
		}
		for ; rep > 0; rep-- {
			lens[i] = val
			i++
		}
	}
	if !f.lit.build(lens[:nlit]) || !f.dist.build(lens[nlit:]) {
		return errInflateCorrupt
	}
	return nil
}

// put appends b to the history.
func (f *inflater) put(b byte) {
	f.hist[f.hpos] = b
	if f.hpos++; f.hpos == inflateWindow {
		f.hpos, f.hfull = 0, true
	}
}

// afterBlock is the state once a block ends.
func (f *inflater) afterBlock() int {
	if f.final {
		return stateEnd
	}
	return stateBlockStart
}

// match reads the length's extra bits and the distance of length symbol s.
func (f *inflater) match(s int) error {
	if s > 285 {
		return errInflateCorrupt
	}
	s -= 257
	extra, err := f.take(uint(lenExtra[s]))
	if err != nil {
		return err
	}
	length := int(lenBase[s]) + extra
	d, err := f.sym(&f.dist)
	if err != nil {
		return err
	}
	if d >= maxDistCodes {
		return errInflateCorrupt
	}
	extra, err = f.take(uint(dstExtra[d]))
	if err != nil {
		return err
	}
	dist := int(dstBase[d]) + extra
	if avail := f.hpos; !f.hfull && dist > avail {
		return errInflateCorrupt // distance too far back
	}
	f.copyLen, f.copyDist = length, dist
	return nil
}

// Read decompresses into p; at the end of the stream it checks the Adler-32 checksum and then
// returns io.EOF.
func (f *inflater) Read(p []byte) (int, error) {
	n, summed := 0, 0
	for n < len(p) && f.err == nil {
		if f.copyLen > 0 {
			src := f.hpos - f.copyDist
			if src < 0 {
				src += inflateWindow
			}
			for f.copyLen > 0 && n < len(p) {
				b := f.hist[src]
				if src++; src == inflateWindow {
					src = 0
				}
				f.put(b)
				p[n] = b
				n++
				f.copyLen--
			}
			continue
		}
		switch f.state {
		case stateBlockStart:
			f.err = f.startBlock()
		case stateStored:
			if f.stored == 0 {
				f.state = f.afterBlock()
				continue
			}
			c, err := f.src.ReadByte()
			if err != nil {
				f.err = noEOF(err)
				break
			}
			f.put(c)
			p[n] = c
			n++
			f.stored--
		case stateHuffman:
			s, err := f.sym(&f.lit)
			switch {
			case err != nil:
				f.err = err
			case s < 256:
				f.put(byte(s))
				p[n] = byte(s)
				n++
			case s == 256:
				f.state = f.afterBlock()
			default:
				f.err = f.match(s)
			}
		case stateEnd:
			f.adler.Write(p[summed:n])
			summed = n
			f.err = f.trailer()
		}
	}
	f.adler.Write(p[summed:n])
	if n > 0 && f.err == io.EOF {
		return n, nil
	}
	return n, f.err
}

// trailer checks the Adler-32 checksum after the last block and ends the stream.
func (f *inflater) trailer() error {
	f.bits >>= f.nbits % 8
	f.nbits -= f.nbits % 8
	var sum uint32
	for range 4 {
		b, err := f.take(8)
		if err != nil {
			return err
		}
		sum = sum<<8 | uint32(b)
	}
	if sum != f.adler.Sum32() {
		return errZlibChecksum
	}
	return io.EOF
}
