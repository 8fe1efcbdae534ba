package compiled_test

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/wanwu-ai/wanwu/compiled"
)

// FuzzDecode feeds whole files to Decode: a truncated or corrupt file must be an error, never a
// panic. Seeds (testdata/fuzz/FuzzDecode) are a tiny compiled program and damaged copies of it.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if cf, err := compiled.Decode("fuzz.wanwu", data); err == nil {
			checkDecoded(t, cf)
		}
	})
}

// FuzzDescription fuzzes the JSON description behind a valid header and checksum (a random byte
// change elsewhere fails the checksum first), so the checks of every index, offset and size are
// what is exercised. The data is the description; the seeds are the tiny program's.
func FuzzDescription(f *testing.F) {
	f.Fuzz(func(t *testing.T, desc []byte) {
		data := withDescription(desc)
		if cf, err := compiled.Decode("fuzz.wanwu", data); err == nil {
			checkDecoded(t, cf)
		}
	})
}

// withDescription is a file of 16 KiB of data sections followed by desc, with a header that
// matches: what the description says about the sections is then all that can be wrong.
func withDescription(desc []byte) []byte {
	const dataEnd = 4096 + 16384
	data := make([]byte, dataEnd+len(desc))
	copy(data, []byte{0x89, 'W', 'A', 'N', 'W', 'U', '\r', '\n'})
	binary.LittleEndian.PutUint32(data[8:], compiled.FormatVersion)
	binary.LittleEndian.PutUint64(data[16:], dataEnd)
	binary.LittleEndian.PutUint64(data[24:], uint64(len(desc)))
	binary.LittleEndian.PutUint64(data[32:], uint64(len(data)))
	sum := sha256.Sum256(desc)
	copy(data[40:72], sum[:])
	copy(data[dataEnd:], desc)
	return data
}

// checkDecoded checks what Decode accepted is consistent: every constant has the bytes its shape
// needs, and every packing names a constant.
func checkDecoded(t *testing.T, cf *compiled.File) {
	for _, n := range cf.Graph.Nodes {
		for _, v := range n.Inputs {
			if v.IsConst() {
				if want, err := v.Const.Shape.Bytes(v.Const.DType); err != nil || len(v.Const.Data) != want {
					t.Fatalf("constant %q %s%v has %d bytes", v.Name, v.Const.DType, v.Const.Shape, len(v.Const.Data))
				}
			}
		}
	}
	for _, pw := range cf.Prepacked {
		if pw.Weight == nil {
			t.Fatal("a packing without its weight")
		}
	}
	cf.Graph.Close()
}
