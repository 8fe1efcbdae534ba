//go:build unix

// Package hostile writes a corpus of hostile inputs for the wanwu command line — tall and wide images of
// every format, header-only "bombs", progressive-JPEG scan bombs and bogus progressions, an interlaced
// 16-bit PNG, named pipes, /dev/zero, models with absurd input sizes or hostile output names, label and
// --only files that never end — into a folder at test time, so no large file is committed. Each file is
// generated to stay small on disk (a 100 MP image is at most a few hundred KiB) however large it claims
// to be. cmd/wanwu's TestHostileCorpus runs each case in a fresh process under a memory budget.
package hostile

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Kind says how a case is used.
type Kind string

const (
	Photo   Kind = "photo"   // classified: wanwu classify PATH
	Model   Kind = "model"   // classify --model PATH, plan --model PATH, inspect PATH, run --model PATH
	Outputs Kind = "outputs" // a model with hostile output names: wanwu run --model PATH
	Labels  Kind = "labels"  // classify --labels PATH
	Only    Kind = "only"    // classify --only-file PATH
	Tensor  Kind = "tensor"  // run --input x=PATH
)

// Case is one hostile input.
type Case struct {
	Name  string
	Kind  Kind
	Path  string
	About string
	// Reasons are lower-case words, one of which an error about this case must contain to say why it
	// failed (when it may fail).
	Reasons []string
	// MustFail marks an input no correct program classifies or reads (no pixel data, over the pixel limit,
	// not a regular file); the others may also succeed.
	MustFail bool
	// OutputNames are an Outputs model's output names in graph order; output i holds x + i.
	OutputNames []string
	// InputShape is the shape of a good input for a Model or Outputs case's graph input "x".
	InputShape []int
	// InputBytes is what a Model case's declared input holds (float64: it may be past int64); 0 unknown.
	InputBytes float64
}

// Reasons an error may give, by family.
var (
	notRegular  = []string{"not a regular file"}
	tooLarge    = []string{"budget", "too large", "exceeds", "limit", "does not fit"}
	damaged     = []string{"truncated", "budget", "too large", "invalid", "eof", "not enough", "missing", "short"}
	progression = []string{"scan", "progress", "spectral", "successive", "invalid", "bogus", "budget", "too large", "limit", "truncated"}
	hugeModel   = []string{"overflow", "too large", "does not fit", "exceeds", "budget", "limit", "out of range"}
)

// MaxPixels is the decoder's default pixel limit (imageio.DefaultMaxPixels) the tall and wide cases reach.
const MaxPixels = 100_000_000

// Write writes every case into dir (which must exist) and returns them, photos first.
func Write(dir string) ([]Case, error) {
	var cases []Case
	add := func(c Case, write func(path string) error) error {
		c.Path = filepath.Join(dir, c.Name)
		if err := write(c.Path); err != nil {
			return fmt.Errorf("hostile: %s: %w", c.Name, err)
		}
		cases = append(cases, c)
		return nil
	}
	png := func(name, about string, s pngSpec, mustFail bool, reasons []string) error {
		return add(Case{Name: name, Kind: Photo, About: about, Reasons: reasons, MustFail: mustFail},
			func(p string) error { return writePNG(p, s) })
	}
	jpg := func(name, about string, s jpegSpec, mustFail bool, reasons []string) error {
		return add(Case{Name: name, Kind: Photo, About: about, Reasons: reasons, MustFail: mustFail},
			func(p string) error { return writeJPEG(p, s) })
	}
	var errs []error
	try := func(err error) { errs = append(errs, err) }

	// Tall and wide images up to the pixel limit; formats whose dimensions are 16-bit stop at their maximum.
	try(png("png_1x1000000.png", "PNG 1x1,000,000 RGB", pngSpec{Width: 1, Height: 1_000_000, BitDepth: 8, ColorType: 2}, false, tooLarge))
	try(png("png_1x50000000.png", "PNG 1x50,000,000 RGB", pngSpec{Width: 1, Height: 50_000_000, BitDepth: 8, ColorType: 2}, false, tooLarge))
	try(png("png_1x100000000.png", "PNG 1x100,000,000 RGB (the pixel limit)", pngSpec{Width: 1, Height: MaxPixels, BitDepth: 8, ColorType: 2}, false, tooLarge))
	try(png("png_100000000x1.png", "PNG 100,000,000x1 RGB (the pixel limit)", pngSpec{Width: MaxPixels, Height: 1, BitDepth: 8, ColorType: 2}, false, tooLarge))
	try(png("png_1x100000001.png", "PNG 1x100,000,001, one pixel over the limit, with its data", pngSpec{Width: 1, Height: MaxPixels + 1, BitDepth: 8, ColorType: 2}, true, tooLarge))
	try(png("png_adam7_16bit_10mp.png", "PNG 3163x3163 RGBA 16-bit Adam7-interlaced (10 MP)", pngSpec{Width: 3163, Height: 3163, BitDepth: 16, ColorType: 6, Interlaced: true}, false, tooLarge))
	try(png("png_adam7_16bit_1x10000000.png", "PNG 1x10,000,000 RGB 16-bit Adam7-interlaced", pngSpec{Width: 1, Height: 10_000_000, BitDepth: 16, ColorType: 2, Interlaced: true}, false, tooLarge))
	try(png("png_header_only_10000x10000.png", "PNG header (IHDR, IEND) declaring 10000x10000, no IDAT", pngSpec{Width: 10000, Height: 10000, BitDepth: 8, ColorType: 2, HeaderOnly: true}, true, damaged))

	try(jpg("jpeg_baseline_1x65535.jpg", "baseline JPEG 1x65535", jpegSpec{Width: 1, Height: 65535}, false, tooLarge))
	try(jpg("jpeg_baseline_65535x1.jpg", "baseline JPEG 65535x1", jpegSpec{Width: 65535, Height: 1}, false, tooLarge))
	try(jpg("jpeg_progressive_1x65535.jpg", "progressive JPEG 1x65535", jpegSpec{Width: 1, Height: 65535, Progressive: true}, false, tooLarge))
	try(jpg("jpeg_progressive_65535x1.jpg", "progressive JPEG 65535x1", jpegSpec{Width: 65535, Height: 1, Progressive: true}, false, tooLarge))
	try(jpg("jpeg_baseline_10000x10000.jpg", "baseline JPEG 10000x10000 (100 MP), flat grey", jpegSpec{Width: 10000, Height: 10000}, false, tooLarge))
	try(jpg("jpeg_progressive_10000x10000.jpg", "progressive JPEG 10000x10000 (100 MP), flat grey", jpegSpec{Width: 10000, Height: 10000, Progressive: true}, false, tooLarge))
	try(jpg("jpeg_header_only_10000x10000.jpg", "baseline JPEG headers (DQT, SOF0 10000x10000, DHT, SOS), no data", jpegSpec{Width: 10000, Height: 10000, HeaderOnly: true}, true, damaged))
	try(jpg("jpeg_progressive_header_only.jpg", "progressive JPEG headers declaring 10000x10000, no data", jpegSpec{Width: 10000, Height: 10000, Progressive: true, HeaderOnly: true}, true, damaged))

	// Scan bombs: every AC scan walks all 262,144 blocks of a 4096x4096 image for a few bytes.
	try(jpg("jpeg_scan_bomb_valid.jpg", "progressive JPEG 4096x4096, 883 scans, each a valid successive-approximation step",
		jpegSpec{Width: 4096, Height: 4096, Progressive: true, Scans: validScanBomb()}, false, progression))
	try(jpg("jpeg_scan_bomb_4000.jpg", "progressive JPEG 4096x4096, a DC scan then the same AC scan 4000 times",
		jpegSpec{Width: 4096, Height: 4096, Progressive: true, Scans: repeatedScans(4000)}, false, progression))
	for _, b := range bogusProgressions() {
		try(jpg(b.name, b.about, jpegSpec{Width: 512, Height: 512, Progressive: true, Scans: b.scans}, false, progression))
	}

	gif := func(name, about string, s gifSpec, mustFail bool, reasons []string) {
		try(add(Case{Name: name, Kind: Photo, About: about, Reasons: reasons, MustFail: mustFail}, func(p string) error { return writeGIF(p, s) }))
	}
	gif("gif_1x65535.gif", "GIF 1x65535", gifSpec{Width: 1, Height: 65535}, false, tooLarge)
	gif("gif_65535x1.gif", "GIF 65535x1", gifSpec{Width: 65535, Height: 1}, false, tooLarge)
	gif("gif_65535x1525.gif", "GIF 65535x1525 (99.9 MP)", gifSpec{Width: 65535, Height: 1525}, false, tooLarge)
	gif("gif_header_only_10000x10000.gif", "GIF header and image descriptor declaring 10000x10000, no data", gifSpec{Width: 10000, Height: 10000, HeaderOnly: true}, true, damaged)

	bmp := func(name, about string, s bmpSpec, mustFail bool, reasons []string) {
		try(add(Case{Name: name, Kind: Photo, About: about, Reasons: reasons, MustFail: mustFail}, func(p string) error { return writeBMP(p, s) }))
	}
	bmp("bmp_1x1000000.bmp", "BMP 1x1,000,000 24-bit (4 MB: BMP does not compress)", bmpSpec{Width: 1, Height: 1_000_000}, false, tooLarge)
	bmp("bmp_1000000x1.bmp", "BMP 1,000,000x1 24-bit (3 MB)", bmpSpec{Width: 1_000_000, Height: 1}, false, tooLarge)
	bmp("bmp_header_only_10000x10000.bmp", "the issue's 54-byte BMP header declaring 10000x10000, no pixels", bmpSpec{Width: 10000, Height: 10000, HeaderOnly: true}, true, damaged)

	webp := func(name, about string, s webpSpec, mustFail bool, reasons []string) {
		try(add(Case{Name: name, Kind: Photo, About: about, Reasons: reasons, MustFail: mustFail}, func(p string) error { return writeWebP(p, s) }))
	}
	webp("webp_lossless_1x16384.webp", "lossless WebP 1x16384", webpSpec{Width: 1, Height: 16384}, false, tooLarge)
	webp("webp_lossless_16384x1.webp", "lossless WebP 16384x1", webpSpec{Width: 16384, Height: 1}, false, tooLarge)
	webp("webp_lossless_16384x6103.webp", "lossless WebP 16384x6103 (100 MP) in a few dozen bytes", webpSpec{Width: 16384, Height: 6103}, false, tooLarge)
	webp("webp_lossless_header_only.webp", "lossless WebP header declaring 16384x6103, no image data", webpSpec{Width: 16384, Height: 6103, HeaderOnly: true}, true, damaged)
	try(add(Case{Name: "webp_lossy_header_only.webp", Kind: Photo, About: "lossy (VP8) WebP key-frame header declaring 16383x16383, no data", Reasons: damaged, MustFail: true},
		writeVP8HeaderOnly))

	// Files that are not files: a named pipe nobody writes, and /dev/zero under an image name.
	fifo := func(name string, kind Kind, about string, reasons []string) {
		try(add(Case{Name: name, Kind: kind, About: about, Reasons: reasons, MustFail: true},
			func(p string) error { return syscall.Mkfifo(p, 0o644) }))
	}
	zero := func(name string, kind Kind, about string, reasons []string) {
		try(add(Case{Name: name, Kind: kind, About: about, Reasons: reasons, MustFail: true},
			func(p string) error { return os.Symlink("/dev/zero", p) }))
	}
	fifo("fifo.jpg", Photo, "a named pipe with no writer, named like a photo", notRegular)
	zero("zero.png", Photo, "a symbolic link to /dev/zero, named like a photo", notRegular)

	// Models.
	huge := func(name, about string, side int64) {
		try(add(Case{Name: name, Kind: Model, About: about, Reasons: hugeModel, MustFail: true, InputShape: []int{1, 3, 2, 2},
			InputBytes: 3 * 4 * float64(side) * float64(side)},
			func(p string) error { return writeHugeInputModel(p, side) }))
	}
	huge("model_input_2p31.onnx", "ONNX model whose input is [1,3,2^31,2^31] (its byte size overflows int64)", 1<<31)
	huge("model_input_65536.onnx", "ONNX model whose input is [1,3,65536,65536] (48 GiB, no overflow)", 65536)
	fifo("model_fifo.onnx", Model, "a named pipe named like a model", notRegular)
	zero("model_zero.tflite", Model, "/dev/zero named like a model", notRegular)
	names := hostileOutputNames()
	try(add(Case{Name: "model_output_names.onnx", Kind: Outputs, About: "outputs named " + summarize(names), OutputNames: names, InputShape: []int{1, 4}},
		func(p string) error { return WriteOutputNamesModel(p, names) }))

	// Label, --only-file and tensor inputs that never end or never start.
	zero("labels_zero.txt", Labels, "--labels is /dev/zero", []string{"nul byte", "limit"})
	fifo("labels_fifo.txt", Labels, "--labels is a named pipe with no writer", []string{"no labels", "empty"})
	zero("only_zero.txt", Only, "--only-file is /dev/zero", []string{"nul byte", "limit"})
	fifo("only_fifo.txt", Only, "--only-file is a named pipe with no writer", []string{"no class names", "empty"})
	zero("tensor_zero.pb", Tensor, "run --input x=/dev/zero (as a TensorProto)", []string{"not a tensorproto", "limit"})
	zero("tensor_zero.npy", Tensor, "run --input x=/dev/zero (as a .npy)", []string{"bad magic", "limit"})
	fifo("tensor_fifo.pb", Tensor, "run --input x= a named pipe with no writer", []string{"empty", "truncated"})

	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return cases, nil
}

// validScanBomb is a progression libjpeg accepts, as long as it can be: the DC in 14 successive-
// approximation steps, then each of the 63 AC coefficients alone in 14 steps (883 scans).
func validScanBomb() []scan {
	scans := []scan{{0, 0, 0, 13}}
	for al := 12; al >= 0; al-- {
		scans = append(scans, scan{0, 0, byte(al + 1), byte(al)})
	}
	for k := byte(1); k <= 63; k++ {
		scans = append(scans, scan{k, k, 0, 13})
		for al := 12; al >= 0; al-- {
			scans = append(scans, scan{k, k, byte(al + 1), byte(al)})
		}
	}
	return scans
}

func repeatedScans(n int) []scan {
	scans := []scan{{0, 0, 0, 0}}
	for range n {
		scans = append(scans, scan{1, 63, 0, 0})
	}
	return scans
}

type bogus struct {
	name, about string
	scans       []scan
}

// bogusProgressions break the rules of ITU T.81 G.1.1.1 that libjpeg's jdinput/jdphuff check.
func bogusProgressions() []bogus {
	return []bogus{
		{"jpeg_bogus_ac_before_dc.jpg", "progressive JPEG whose first scan is AC (no DC scan before it)", []scan{{1, 63, 0, 0}, {0, 0, 0, 0}}},
		{"jpeg_bogus_ss_after_se.jpg", "progressive JPEG with a scan of Ss=10 > Se=5", []scan{{0, 0, 0, 0}, {10, 5, 0, 0}}},
		{"jpeg_bogus_se_64.jpg", "progressive JPEG with a scan ending at coefficient 64", []scan{{0, 0, 0, 0}, {1, 64, 0, 0}}},
		{"jpeg_bogus_dc_and_ac.jpg", "progressive JPEG mixing DC and AC in one scan (Ss=0, Se=63)", []scan{{0, 63, 0, 0}}},
		{"jpeg_bogus_refine_first.jpg", "progressive JPEG refining (Ah=2, Al=1) coefficients never sent", []scan{{0, 0, 0, 0}, {1, 63, 2, 1}}},
		{"jpeg_bogus_al_14.jpg", "progressive JPEG with successive approximation Al=14 (over 13)", []scan{{0, 0, 0, 14}, {1, 63, 0, 14}}},
		{"jpeg_bogus_ah_al_gap.jpg", "progressive JPEG refining from Ah=5 to Al=1 (steps of more than one bit)", []scan{{0, 0, 0, 5}, {0, 0, 5, 1}, {1, 63, 0, 0}}},
	}
}

// hostileOutputNames are output names that must not escape --output-dir, nor share a file.
func hostileOutputNames() []string {
	long := strings.Repeat("很长的名字", 20) // 300 bytes of UTF-8
	return []string{
		"..", ".", "a/b", "a:b", "a_b", "A_B", "../../escaped", "/absolute", `back\slash`, "nul\x00byte", "CON",
		long, long + "-second", strings.Repeat("x", 300), "plain",
	}
}

func summarize(names []string) string {
	var parts []string
	for _, n := range names {
		if len(n) > 20 {
			n = fmt.Sprintf("%.12s... (%d bytes)", n, len(n))
		}
		parts = append(parts, fmt.Sprintf("%q", n))
	}
	return strings.Join(parts, ", ")
}

// writeVP8HeaderOnly writes a lossy WebP whose key-frame header declares 16383x16383 and nothing follows.
func writeVP8HeaderOnly(path string) error {
	frame := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a} // key frame, version 0, shown, first partition 16 bytes
	frame = binary.LittleEndian.AppendUint16(frame, 16383)
	frame = binary.LittleEndian.AppendUint16(frame, 16383)
	chunk := append([]byte("VP8 "), binary.LittleEndian.AppendUint32(nil, uint32(len(frame)))...)
	chunk = append(chunk, frame...)
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(chunk)))...)
	out = append(out, "WEBP"...)
	return os.WriteFile(path, append(out, chunk...), 0o644)
}
