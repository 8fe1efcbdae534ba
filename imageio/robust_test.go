package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/tensor"
)

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// Headers declaring huge images, each valid up to where pixel data would begin.
func hugeHeaders() map[string][]byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	png := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)

	// JPEG: SOI, APP0 JFIF (without it DecodeConfig reads on to the scan), DQT, SOF0 65535x65535.
	jpg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	jpg = append(jpg, 0xFF, 0xDB, 0x00, 0x43, 0x00)
	jpg = append(jpg, bytes.Repeat([]byte{1}, 64)...)
	jpg = append(jpg, 0xFF, 0xC0, 0x00, 0x11, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3,
		1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0)

	gif := []byte("GIF89a")
	gif = binary.LittleEndian.AppendUint16(gif, 65535)
	gif = binary.LittleEndian.AppendUint16(gif, 65535)
	gif = append(gif, 0, 0, 0)

	bmp := make([]byte, 54)
	copy(bmp, "BM")
	binary.LittleEndian.PutUint32(bmp[10:], 54)
	binary.LittleEndian.PutUint32(bmp[14:], 40)
	binary.LittleEndian.PutUint32(bmp[18:], 100000)
	binary.LittleEndian.PutUint32(bmp[22:], 100000)
	binary.LittleEndian.PutUint16(bmp[26:], 1)
	binary.LittleEndian.PutUint16(bmp[28:], 24)

	// WebP VP8X canvas of 16384x16384 (its maximum).
	webp := []byte("RIFF\x00\x00\x00\x00WEBPVP8X")
	webp = binary.LittleEndian.AppendUint32(webp, 10)
	webp = append(webp, 0, 0, 0, 0, 0xFF, 0x3F, 0, 0xFF, 0x3F, 0)
	binary.LittleEndian.PutUint32(webp[4:], uint32(len(webp)-8))
	return map[string][]byte{"png": png, "jpeg": jpg, "gif": gif, "bmp": bmp, "webp": webp}
}

// TestRefuseHugeBeforeAllocating checks that a header promising billions of pixels is refused
// with ErrTooLarge at a cost of a few kilobytes, i.e. before any pixel buffer exists.
func TestRefuseHugeBeforeAllocating(t *testing.T) {
	for name, data := range hugeHeaders() {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeBytes(data, DecodeOptions{})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			t.Log(err)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const runs = 20
			for range runs {
				DecodeBytes(data, DecodeOptions{})
			}
			runtime.ReadMemStats(&after)
			perRun := (after.TotalAlloc - before.TotalAlloc) / runs
			if perRun > 64<<10 {
				t.Errorf("refusal allocated %d bytes per call", perRun)
			}
			t.Logf("refusal costs %d bytes, %d allocs per call", perRun, (after.Mallocs-before.Mallocs)/runs)
		})
	}
}

func TestSizeErrors(t *testing.T) {
	for _, c := range []struct {
		w, h  int
		limit int64
		want  string
		is    error
	}{
		{6000, 4000, 16_000_000, "6000x4000 = 24.0 MP exceeds the 16 MP limit", ErrTooLarge},
		{12000, 8334, 0, "12000x8334 = 100.0 MP exceeds the 100 MP limit", ErrTooLarge},
		{0, 10, 0, "header declares 0x10", ErrInvalid},
		{10, 0, 0, "header declares 10x0", ErrInvalid},
		{4000, 4000, 16_000_000, "", nil},
	} {
		err := CheckSize(c.w, c.h, c.limit)
		if c.is == nil {
			if err != nil {
				t.Errorf("%dx%d: unexpected %v", c.w, c.h, err)
			}
			continue
		}
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%dx%d limit %d: err = %v, want %q", c.w, c.h, c.limit, err, c.want)
		}
	}
	// The limit applies through DecodeBytes too, with the format named.
	data, _ := os.ReadFile("testdata/images/q420.jpg")
	_, err := DecodeBytes(data, DecodeOptions{MaxPixels: 1000})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "61x47 = 0.0 MP exceeds the 0.001 MP limit") {
		t.Errorf("err = %v", err)
	}
}

func TestUnknownAndEmpty(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("hello world, not an image"), []byte("RIFF....WAVEfmt ")} {
		_, err := DecodeBytes(data, DecodeOptions{})
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%q: err = %v, want ErrUnknownFormat", data, err)
		}
	}
	_, err := DecodeFile("testdata/no-such-file.png", DecodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "no-such-file.png") {
		t.Errorf("missing file: %v", err)
	}
	// DecodeFile names the path; the content decides the format, not the extension.
	tmp := filepath.Join(t.TempDir(), "really-a-png.jpg")
	src, _ := os.ReadFile("testdata/images/rgba.png")
	os.WriteFile(tmp, src, 0o644)
	if _, err := DecodeFile(tmp, DecodeOptions{}); err != nil {
		t.Errorf("PNG named .jpg: %v", err)
	}
	os.WriteFile(tmp, src[:len(src)/2], 0o644)
	if _, err := DecodeFile(tmp, DecodeOptions{}); err == nil || !strings.Contains(err.Error(), tmp) {
		t.Errorf("truncated file error should name %s: %v", tmp, err)
	}
	// Decode bounds what it reads from a stream.
	if _, err := Decode(bytes.NewReader(src), DecodeOptions{MaxBytes: 100}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBytes: %v", err)
	}
}

// TestTruncatedAndCorrupt cuts and damages every fixture: decoding must fail with an error,
// never panic, and a truncation must be reported as such where the decoder can tell.
func TestTruncatedAndCorrupt(t *testing.T) {
	files, _ := filepath.Glob("testdata/images/*")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for k := 1; k < 8; k++ {
			cut := data[:len(data)*k/8]
			if _, err := DecodeBytes(cut, DecodeOptions{}); err == nil {
				t.Errorf("%s cut to %d/%d bytes decoded without error", f, len(cut), len(data))
			}
		}
		// Flip bytes in the middle: an error or an image, but no panic.
		bad := bytes.Clone(data)
		for i := len(bad) / 3; i < len(bad)/3+16 && i < len(bad); i++ {
			bad[i] ^= 0x5A
		}
		if m, err := DecodeBytes(bad, DecodeOptions{}); err == nil && len(m.Pix) != m.W*m.H*3 {
			t.Errorf("%s corrupted: inconsistent image %dx%d with %d bytes", f, m.W, m.H, len(m.Pix))
		}
	}
	data, _ := os.ReadFile("testdata/images/q420.jpg")
	if _, err := DecodeBytes(data[:len(data)/2], DecodeOptions{}); !errors.Is(err, ErrTruncated) {
		t.Errorf("half a JPEG: %v, want ErrTruncated", err)
	}
}

func TestOrientationParsing(t *testing.T) {
	for o := 1; o <= 8; o++ {
		data, err := os.ReadFile(filepath.Join("testdata/images", "exif"+string(rune('0'+o))+".jpg"))
		if o == 1 {
			data, err = os.ReadFile("testdata/images/q444.jpg")
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := Orientation(JPEG, data); got != o {
			t.Errorf("exif%d.jpg: orientation %d", o, got)
		}
	}
	for _, c := range []struct {
		f    Format
		file string
		want int
	}{{PNG, "exif6.png", 6}, {WebP, "exif8.webp", 8}, {JPEG, "badexif.jpg", 1}, {PNG, "rgba.png", 1}} {
		data, _ := os.ReadFile(filepath.Join("testdata/images", c.file))
		if got := Orientation(c.f, data); got != c.want {
			t.Errorf("%s: %d, want %d", c.file, got, c.want)
		}
	}
	// IgnoreOrientation keeps the stored layout (29x19 rotated by 90° would be 19x29).
	m, err := DecodeFile("testdata/images/exif6.jpg", DecodeOptions{IgnoreOrientation: true})
	if err != nil || m.W != 29 || m.H != 19 {
		t.Errorf("IgnoreOrientation: %v %dx%d", err, m.W, m.H)
	}
	// Hand-made TIFF blocks: big-endian, wrong type, out-of-range value, looping offsets.
	be := []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x03\x00\x00")
	if got := tiffOrientation(be); got != 3 {
		t.Errorf("big-endian: %d", got)
	}
	long := bytes.Clone(be)
	long[13] = 4 // LONG instead of SHORT
	bigv := bytes.Clone(be)
	bigv[19] = 9
	short := be[:15]
	for _, b := range [][]byte{long, bigv, short, []byte("II*\x00\xff\xff\xff\xff")} {
		if got := tiffOrientation(b); got != 1 {
			t.Errorf("%q: %d, want 1", b, got)
		}
	}
}

func TestPreprocessErrorsAndAllocs(t *testing.T) {
	img, err := DecodeFile("testdata/images/q420.jpg", DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := Preprocess{Width: 16, Height: 12, Resize: "shorter_crop", ResizeShorter: 20, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}
	p, err = p.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	dst := tensor.New(tensor.F32, p.Shape(2))
	for _, c := range []struct {
		dst   *tensor.Tensor
		batch int
		want  string
	}{
		{tensor.New(tensor.U8, p.Shape(2)), 0, "destination is u8"},
		{tensor.New(tensor.F32, tensor.Shape{2, 12, 16, 3}), 0, "want f32[?,3,12,16]"},
		{dst, 2, "batch index 2 outside batch of 2"},
		{dst, -1, "batch index -1"},
	} {
		if err := p.Into(img, c.dst, c.batch); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
	if err := p.Into(&RGB{}, dst, 0); err == nil {
		t.Error("empty image accepted")
	}
	// Batch items are independent: item 1 equals a single-image batch's item 0; item 0 untouched.
	if err := p.Into(img, dst, 1); err != nil {
		t.Fatal(err)
	}
	one := tensor.New(tensor.F32, p.Shape(1))
	p.Into(img, one, 0)
	n := 3 * 12 * 16
	for i, v := range dst.F32()[:n] {
		if v != 0 {
			t.Fatalf("item 0 written at %d", i)
		}
	}
	for i, v := range one.F32() {
		if dst.F32()[n+i] != v {
			t.Fatalf("item 1 differs at %d", i)
		}
	}
	allocs := testing.AllocsPerRun(20, func() { p.Into(img, dst, 1) })
	if allocs >= 1 && !raceEnabled {
		t.Errorf("Into allocates %.1f times per call in steady state", allocs)
	}
}

// TestLayoutsAndDTypes checks NHWC/NCHW and u8/i8/f32 against each other on one photo.
func TestLayoutsAndDTypes(t *testing.T) {
	img, err := DecodeFile("testdata/images/rgb.bmp", DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := Preprocess{Width: 9, Height: 7, Resize: "stretch"}
	run := func(layout, dt string, mean, std [3]float32) *tensor.Tensor {
		p := base
		p.Layout, p.DType, p.Mean, p.Std = layout, dt, mean, std
		p, err := p.Normalized()
		if err != nil {
			t.Fatal(err)
		}
		d := tensor.New(p.TensorDType(), p.Shape(1))
		if err := p.Into(img, d, 0); err != nil {
			t.Fatal(err)
		}
		return d
	}
	ref := run("NHWC", "u8", [3]float32{}, [3]float32{}).U8()
	mean, std := [3]float32{0.1, 0.2, 0.3}, [3]float32{0.5, 0.25, 2}
	nchwU8 := run("NCHW", "u8", mean, std).U8()
	i8 := run("NHWC", "i8", mean, std).I8()
	f := run("NCHW", "f32", mean, std).F32()
	for y := range 7 {
		for x := range 9 {
			for c := range 3 {
				v := ref[(y*9+x)*3+c]
				chw := (c*7+y)*9 + x
				if nchwU8[chw] != v {
					t.Fatalf("NCHW u8 differs at %d,%d,%d", x, y, c)
				}
				if int(i8[(y*9+x)*3+c]) != int(v)-128 {
					t.Fatalf("i8 %d for pixel %d", i8[(y*9+x)*3+c], v)
				}
				want := (float32(v)/255 - mean[c]) / std[c]
				if f[chw] != want {
					t.Fatalf("f32 %v, want %v", f[chw], want)
				}
			}
		}
	}
}

func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		w, h, cw, ch, s   int
		rw, rh, left, top int
	}{
		{512, 341, 224, 224, 256, 384, 256, 80, 16},  // landscape: (384-224)/2 = 80
		{512, 929, 224, 224, 256, 256, 464, 16, 120}, // portrait, long side truncated: 256*929/512 = 464.5
		{101, 100, 10, 10, 11, 11, 11, 0, 0},         // 11.11 -> 11
		{200, 103, 10, 10, 11, 21, 11, 6, 0},         // (21-10)/2 = 5.5 rounds to even 6
		{200, 100, 10, 10, 11, 22, 11, 6, 0},         // (22-10)/2 = 6
		{100, 100, 10, 10, 13, 13, 13, 2, 2},         // 1.5 -> 2
		{100, 100, 10, 10, 15, 15, 15, 2, 2},         // 2.5 -> 2 (banker's rounding, as Python)
	} {
		p := Preprocess{Width: c.cw, Height: c.ch, ResizeShorter: c.s}
		p, _ = p.Normalized()
		rw, rh, l, tp := p.Geometry(c.w, c.h)
		if rw != c.rw || rh != c.rh || l != c.left || tp != c.top {
			t.Errorf("%dx%d -> %d/%dx%d: got %dx%d+%d+%d, want %dx%d+%d+%d", c.w, c.h, c.s, c.cw, c.ch,
				rw, rh, l, tp, c.rw, c.rh, c.left, c.top)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	p, err := LoadConfig(write("m.json", `{"labels": "zh", "preprocess": {"width": 224, "height": 224,
		"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Preprocess{Width: 224, Height: 224, Resize: "shorter_crop", ResizeShorter: 256, Filter: "antialias",
		Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}, Layout: "NCHW", DType: "f32"}
	if p != want {
		t.Errorf("got %+v\nwant %+v", p, want)
	}
	p, err = LoadConfig(write("q.json", `{"preprocess": {"width": 300, "height": 300, "resize": "stretch", "layout": "NHWC", "dtype": "u8"}}`))
	if err != nil || p.Std != [3]float32{1, 1, 1} || p.TensorDType() != tensor.U8 || !p.Shape(1).Equal(tensor.Shape{1, 300, 300, 3}) {
		t.Errorf("%+v %v", p, err)
	}
	for name, c := range map[string]struct{ body, want string }{
		"typo.json":    {`{"preprocess": {"widht": 224, "height": 224}}`, `unknown field "widht"`},
		"nosec.json":   {`{"width": 224}`, `no "preprocess" section`},
		"resize.json":  {`{"preprocess": {"width": 2, "height": 2, "resize": "fit"}}`, `resize "fit"`},
		"layout.json":  {`{"preprocess": {"width": 2, "height": 2, "layout": "CHW"}}`, `layout "CHW"`},
		"dtype.json":   {`{"preprocess": {"width": 2, "height": 2, "dtype": "f16"}}`, `dtype "f16"`},
		"std.json":     {`{"preprocess": {"width": 2, "height": 2, "std": [1, 0, 1]}}`, `std[1] = 0`},
		"size.json":    {`{"preprocess": {"width": 0, "height": 2}}`, `width and height must be positive`},
		"shorter.json": {`{"preprocess": {"width": 224, "height": 224, "resize_shorter": 200}}`, `resize_shorter 200 is smaller`},
		"syntax.json":  {`{"preprocess": {`, `unexpected end of JSON`},
	} {
		path := write(name, c.body)
		_, err := LoadConfig(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want %q naming the file", name, err, c.want)
		}
	}
}
