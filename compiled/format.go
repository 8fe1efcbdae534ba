// Package compiled writes and maps compiled model files (.wanwu): a program's optimized graph with the
// weights compiling derived (converted fp16/int8 weights, folded constants, kernel packings), so a
// later load maps them and runs without converting or packing anything.
//
// The file is a 4 KiB header page, then the data sections (constants and packings, each aligned to a
// page when it is a page or more, to 64 bytes otherwise, so the kernels can use them where they lie),
// then a JSON description of the graph and the model. The header holds the magic, the format version,
// the file's size (a truncated file is refused by it) and the description's place and SHA-256 (a
// corrupt one is refused by it). The data sections are not hashed: that would read every weight page
// at load, the cost the file exists to avoid; every offset and size in the description is checked
// against the file and the tensors' shapes instead.
package compiled

import (
	"encoding/binary"

	"github.com/wanwu-ai/wanwu/imageio"
)

// FormatVersion is the version of the layout this package writes and reads; a file of another
// version is refused (convert the model again). It also moves when the packings the kernels take
// change under files already written: 2 since strided 1×1 convolutions run as stride-1 ones on their
// compacted input (a 7×7 one then wants the direct kernels' packing, which version 1 files lack); 3
// since Winograd is on by default and runs on the direct schedule (its U packing, which version 2
// files lack: they were converted without it or with the tiles-on-lanes packing).
const FormatVersion = 3

// Ext is the extension of compiled model files.
const Ext = ".wanwu"

// magic starts every compiled model file; like PNG's, its CR LF and high byte catch text-mode copies.
var magic = [8]byte{0x89, 'W', 'A', 'N', 'W', 'U', '\r', '\n'}

// headerSize is the header page: the data sections start after it.
const headerSize = 4096

// pageAlign and smallAlign are the alignments of large and small data sections.
const (
	pageAlign  = 4096
	smallAlign = 64
)

// header is the binary start of the file, little-endian: magic, version, reserved, description
// offset and length, file size, description SHA-256.
type header struct {
	version          uint32
	metaOff, metaLen uint64
	fileSize         uint64
	metaSum          [32]byte
}

const headerBytes = 8 + 4 + 4 + 8 + 8 + 8 + 32

func (h header) marshal() []byte {
	b := make([]byte, headerSize)
	copy(b, magic[:])
	binary.LittleEndian.PutUint32(b[8:], h.version)
	binary.LittleEndian.PutUint64(b[16:], h.metaOff)
	binary.LittleEndian.PutUint64(b[24:], h.metaLen)
	binary.LittleEndian.PutUint64(b[32:], h.fileSize)
	copy(b[40:72], h.metaSum[:])
	return b
}

func unmarshalHeader(b []byte) header {
	var h header
	h.version = binary.LittleEndian.Uint32(b[8:])
	h.metaOff = binary.LittleEndian.Uint64(b[16:])
	h.metaLen = binary.LittleEndian.Uint64(b[24:])
	h.fileSize = binary.LittleEndian.Uint64(b[32:])
	copy(h.metaSum[:], b[40:72])
	return h
}

// IsCompiled reports whether head, the first bytes of a file, start a compiled model file.
func IsCompiled(head []byte) bool {
	return len(head) >= len(magic) && [8]byte(head[:8]) == magic
}

// Info is what a compiled model file records about the model beside its program.
type Info struct {
	// Name is the model's name (catalog name or source file name).
	Name string `json:"name"`
	// Source is the model file it was converted from.
	Source Source `json:"source"`
	// SourceFormat is "onnx" or "tflite".
	SourceFormat string `json:"source_format"`
	// Precision is the precision the program runs in: fp32, fp16, int8 or uint8.
	Precision string `json:"precision"`
	// Calibrated says int8 activations were calibrated (static int8).
	Calibrated bool `json:"calibrated,omitempty"`
	// Winograd says 3×3 convolutions may run as Winograd (the packings depend on it).
	Winograd bool `json:"winograd,omitempty"`
	// Preprocess turns photos into the input the program was compiled for.
	Preprocess imageio.Preprocess `json:"preprocess"`
	// Labels names the classes; nil when the model has none.
	Labels *Labels `json:"labels,omitempty"`
	// Keep lists the class indices a pruned head kept (--only at conversion); nil: all.
	Keep []int `json:"keep,omitempty"`
}

// Source identifies the model file a compiled file was made from. Size and ModTime let a load skip
// hashing an unchanged source (as make and git's index do); a changed one is hashed and compared.
type Source struct {
	// Path is the source's absolute path when converted.
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mod_time_ns"`
}

// Labels are the class names: a built-in set by name, or the names themselves (English and Chinese
// alike, as for a user label file).
type Labels struct {
	Builtin string   `json:"builtin,omitempty"` // "imagenet" or "imagenet1001"
	Names   []string `json:"names,omitempty"`
	// Table is the set as a label table (labels.Set.Table): Chinese and English names and categories.
	Table string `json:"table,omitempty"`
}
