package imageio

import (
	"bytes"
	"compress/zlib"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
)

// inflateAll decompresses a zlib stream with the inflater, reading in uneven pieces.
func inflateAll(data []byte) ([]byte, error) {
	f := newInflater(readerSource(bytes.NewReader(data)))
	if err := f.header(); err != nil {
		return nil, err
	}
	var out []byte
	buf := make([]byte, 777)
	for {
		n, err := f.Read(buf[:1+len(out)%777])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func zlibAll(data []byte) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func compressed(raw []byte, level int) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, level)
	w.Write(raw)
	w.Close()
	return b.Bytes()
}

// inflateInputs are streams of every block type: stored, fixed and dynamic Huffman, long and
// short matches, the 32 KiB window's far end, skewed alphabets with 15-bit codes.
func inflateInputs() [][]byte {
	rng := rand.New(rand.NewPCG(7, 8))
	var raws [][]byte
	raws = append(raws, nil, []byte("a"), bytes.Repeat([]byte("abc"), 100000))
	noise := make([]byte, 200000)
	for i := range noise {
		noise[i] = byte(rng.IntN(256))
	}
	raws = append(raws, noise)
	skew := make([]byte, 300000)
	for i := range skew {
		skew[i] = byte(rng.ExpFloat64() * 9) // long codes for rare bytes
	}
	raws = append(raws, skew)
	far := append(append(bytes.Clone(noise[:40000]), make([]byte, 100)...), noise[:40000]...)
	raws = append(raws, far)
	var out [][]byte
	for _, raw := range raws {
		for _, level := range []int{zlib.HuffmanOnly, zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression} {
			out = append(out, compressed(raw, level))
		}
	}
	return out
}

func TestInflateMatchesFlate(t *testing.T) {
	for i, data := range inflateInputs() {
		want, werr := zlibAll(data)
		got, gerr := inflateAll(data)
		if werr != nil || gerr != nil || !bytes.Equal(got, want) {
			t.Fatalf("stream %d: got %d bytes, %v; compress/zlib %d bytes, %v", i, len(got), gerr, len(want), werr)
		}
	}
	// Damaged streams: both fail, or both give the same bytes.
	rng := rand.New(rand.NewPCG(1, 1))
	for i, data := range inflateInputs() {
		if len(data) > 20000 {
			data = data[:20000]
		}
		for range 40 {
			bad := bytes.Clone(data)
			switch rng.IntN(3) {
			case 0:
				bad[rng.IntN(len(bad))] ^= byte(1 << rng.IntN(8))
			case 1:
				bad = bad[:rng.IntN(len(bad))]
			default:
				bad[2+rng.IntN(len(bad)-2)] = byte(rng.IntN(256))
			}
			want, werr := zlibAll(bad)
			got, gerr := inflateAll(bad)
			if (werr == nil) != (gerr == nil) || werr == nil && !bytes.Equal(got, want) {
				t.Fatalf("damaged stream %d: got %v; compress/zlib %v", i, gerr, werr)
			}
		}
	}
}

// TestInflateAllocatesOnce: the inflater's memory does not grow with the stream (compress/flate
// allocates new tables for every dynamic block).
func TestInflateAllocatesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under -race")
	}
	raw := make([]byte, 8<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range raw {
		raw[i] = byte(rng.ExpFloat64() * 20)
	}
	data := compressed(raw, zlib.DefaultCompression)
	measure := func(f func()) uint64 {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		f()
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	buf := make([]byte, 4096)
	ours := measure(func() {
		f := newInflater(readerSource(bytes.NewReader(data)))
		f.header()
		for {
			if _, err := f.Read(buf); err != nil {
				break
			}
		}
	})
	theirs := measure(func() {
		r, _ := zlib.NewReader(bytes.NewReader(data))
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
	})
	if int64(ours) > inflaterBytes+8192 { // + readerSource's buffer and closure
		t.Errorf("inflating %d bytes allocated %d, more than inflaterBytes %d", len(data), ours, inflaterBytes)
	}
	t.Logf("allocated: inflater %d bytes, compress/zlib %d bytes", ours, theirs)
}

// FuzzInflate: on any input the inflater and compress/zlib agree (error or the same bytes).
func FuzzInflate(f *testing.F) {
	for _, d := range inflateInputs() {
		if len(d) < 4096 {
			f.Add(d)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := zlibAll(data)
		got, gerr := inflateAll(data)
		if (werr == nil) != (gerr == nil) || werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("inflater: %d bytes, %v; compress/zlib: %d bytes, %v", len(got), gerr, len(want), werr)
		}
	})
}
