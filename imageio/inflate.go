package imageio

import (
	"errors"
	"hash"
	"hash/adler32"
	"io"
	"unsafe"
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

// inflater decompresses a zlib stream whose bytes come in slices from next (io.EOF at the end).
// Output is decoded into the 32 KiB history window and handed out from there in bulk.
type inflater struct {
	next  func() ([]byte, error)
	in    []byte
	bits  uint64
	nbits uint
	err   error

	hist  [inflateWindow]byte
	wr    int  // next write position in hist
	rd    int  // hist[rd:wr] is decoded but not yet read
	hfull bool // hist has wrapped: every distance up to the window is valid

	final     bool // the current block is the last
	state     int  // what decoding continues with
	stored    int  // bytes left in a stored block
	copyLen   int  // bytes left of a match
	copyDist  int
	lit, dist huffTable
	cl        huffTable // the code-length code of a dynamic block
	lens      [maxLitLenCodes + maxDistCodes]uint8
	adler     hash.Hash32
}

const (
	stateBlockStart = iota
	stateStored
	stateHuffman
	stateEnd
)

// inflaterBytes is what newInflater allocates: the inflater (a large object, whole pages) and
// its Adler-32 digest.
const inflaterBytes = (int64(unsafe.Sizeof(inflater{}))+8191)&^8191 + 64

func newInflater(next func() ([]byte, error)) *inflater {
	return &inflater{next: next, adler: adler32.New()}
}

// readerSource adapts an io.Reader to an inflater's input.
func readerSource(r io.Reader) func() ([]byte, error) {
	buf := make([]byte, 4096)
	return func() ([]byte, error) {
		n, err := r.Read(buf)
		if n > 0 {
			return buf[:n], nil
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return nil, err
	}
}

// byteIn returns the next input byte.
func (f *inflater) byteIn() (byte, error) {
	for len(f.in) == 0 {
		b, err := f.next()
		if err != nil {
			return 0, err
		}
		f.in = b
	}
	c := f.in[0]
	f.in = f.in[1:]
	return c, nil
}

// header reads and checks the two zlib header bytes.
func (f *inflater) header() error {
	var b [2]byte
	for i := range b {
		c, err := f.byteIn()
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
		if len(f.in) > 0 && f.nbits <= 56 {
			f.bits |= uint64(f.in[0]) << f.nbits
			f.in = f.in[1:]
			f.nbits += 8
			continue
		}
		c, err := f.byteIn()
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
	// Top up from the current input slice (never past it: the stream may end within it, and
	// what follows belongs to the container); a code the bits at hand do not settle is then
	// decoded bit by bit, which reads on exactly as far as it needs.
	for f.nbits <= 56 && len(f.in) > 0 {
		f.bits |= uint64(f.in[0]) << f.nbits
		f.in = f.in[1:]
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
	if !f.hfull && dist > f.wr {
		return errInflateCorrupt // distance too far back
	}
	f.copyLen, f.copyDist = length, dist
	return nil
}

// Read decompresses into p; at the end of the stream it checks the Adler-32 checksum and then
// returns io.EOF.
func (f *inflater) Read(p []byte) (int, error) {
	for {
		if f.rd < f.wr {
			n := copy(p, f.hist[f.rd:f.wr])
			f.rd += n
			return n, nil
		}
		if f.err != nil {
			return 0, f.err
		}
		if f.wr == len(f.hist) {
			f.wr, f.rd, f.hfull = 0, 0, true
		}
		start := f.wr
		err := f.decode()
		f.adler.Write(f.hist[start:f.wr])
		if err == errEndOfStream {
			err = f.trailer()
		}
		f.err = err
	}
}

// readFull fills p (io.ReadFull without its interface calls: PNG rows may be a few bytes).
func (f *inflater) readFull(p []byte) error {
	if len(p) <= f.wr-f.rd && len(p) <= 16 {
		// A short row: a plain loop beats memmove's call.
		h := f.hist[f.rd : f.rd+len(p)]
		for i := range p {
			p[i] = h[i]
		}
		f.rd += len(p)
		return nil
	}
	for len(p) > 0 {
		if f.rd < f.wr {
			n := copy(p, f.hist[f.rd:f.wr])
			f.rd += n
			p = p[n:]
			continue
		}
		if _, err := f.Read(p[:1]); err != nil {
			return err
		}
		p = p[1:]
	}
	return nil
}

var errEndOfStream = errors.New("end of deflate stream")

// decode decodes into hist[wr:] until it is full or the last block ends (errEndOfStream).
func (f *inflater) decode() error {
	for f.wr < len(f.hist) {
		if f.copyLen > 0 {
			f.copyOut()
			continue
		}
		switch f.state {
		case stateBlockStart:
			if err := f.startBlock(); err != nil {
				return err
			}
		case stateStored:
			if f.stored == 0 {
				f.state = f.afterBlock()
				continue
			}
			// Bytes buffered as bits first (whole bytes after the block header's alignment).
			for f.stored > 0 && f.nbits >= 8 && f.wr < len(f.hist) {
				f.hist[f.wr] = byte(f.bits)
				f.bits >>= 8
				f.nbits -= 8
				f.wr++
				f.stored--
			}
			for f.stored > 0 && f.wr < len(f.hist) {
				if len(f.in) == 0 {
					b, err := f.next()
					if err != nil {
						return noEOF(err)
					}
					f.in = b
				}
				n := copy(f.hist[f.wr:min(len(f.hist), f.wr+f.stored)], f.in)
				f.in = f.in[n:]
				f.wr += n
				f.stored -= n
			}
		case stateHuffman:
			for f.wr < len(f.hist) && f.copyLen == 0 {
				s, err := f.sym(&f.lit)
				if err != nil {
					return err
				}
				if s < 256 {
					f.hist[f.wr] = byte(s)
					f.wr++
					continue
				}
				if s == 256 {
					f.state = f.afterBlock()
					break
				}
				if err := f.match(s); err != nil {
					return err
				}
			}
		case stateEnd:
			return errEndOfStream
		}
	}
	return nil
}

// copyOut copies as much of the pending match as fits before the end of hist.
func (f *inflater) copyOut() {
	end := min(f.wr+f.copyLen, len(f.hist))
	dst := f.wr
	src := dst - f.copyDist
	if src < 0 { // the source starts in the part of the window written before it wrapped
		src += len(f.hist)
		dst += copy(f.hist[dst:end], f.hist[src:])
		src = 0
	}
	for dst < end {
		// Overlapping copies (distance < length) repeat the pattern, doubling each time.
		dst += copy(f.hist[dst:end], f.hist[src:dst])
	}
	f.copyLen -= end - f.wr
	f.wr = end
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
