package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tools/tflitegen"
)

// checkNoLeak fails if goroutines started during the test are still running shortly after it.
func checkNoLeak(t *testing.T) {
	t.Helper()
	before := goruntime.NumGoroutine()
	t.Cleanup(func() {
		var now int
		for i := 0; i < 50; i++ {
			if now = goruntime.NumGoroutine(); now <= before {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", before, now, buf[:goruntime.Stack(buf, true)])
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func encode(t *testing.T, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIFOrientation inserts an APP1 Exif segment holding only the orientation tag after SOI.
func withEXIFOrientation(jpg []byte, orient uint16) []byte {
	tiff := []byte("II*\x00\x08\x00\x00\x00")             // little-endian TIFF, IFD0 at 8
	tiff = binary.LittleEndian.AppendUint16(tiff, 1)      // one entry
	tiff = binary.LittleEndian.AppendUint16(tiff, 0x0112) // Orientation
	tiff = binary.LittleEndian.AppendUint16(tiff, 3)      // SHORT
	tiff = binary.LittleEndian.AppendUint32(tiff, 1)
	tiff = binary.LittleEndian.AppendUint16(tiff, orient)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // value padding + next IFD = 0
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// rotate90 turns an image a quarter turn clockwise (what a camera held sideways records, to be
// undone by EXIF orientation 8... here: the stored pixels are the upright photo turned clockwise,
// so orientation 8 (rotate 90 CW to display? no: 8 = rotate 270 CW) restores it).
func rotateCCW(src image.Image) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			// (x,y) -> (y, W-1-x): counter-clockwise quarter turn.
			dst.Set(y, b.Dx()-1-x, src.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return dst
}

// TestBadAndOddImages runs one classify over a folder of generated awkward images: the decodable ones
// must be classified (the real photo variants as a macaw), the broken ones must each get an error
// naming the file, and the run must exit 1 without losing any file.
func TestBadAndOddImages(t *testing.T) {
	checkNoLeak(t)
	dir := t.TempDir()
	parrotBytes := mustRead(t, testutil.Shared(t, "images", "parrot.jpg"))
	parrot, err := jpeg.Decode(bytes.NewReader(parrotBytes))
	if err != nil {
		t.Fatal(err)
	}
	pb := parrot.Bounds()
	imgdir := filepath.Join(testutil.RepoRoot(t), "imageio", "testdata", "images")
	// 16-bit PNG of the parrot.
	p16 := image.NewRGBA64(pb)
	for y := pb.Min.Y; y < pb.Max.Y; y++ {
		for x := pb.Min.X; x < pb.Max.X; x++ {
			r, g, b, _ := parrot.At(x, y).RGBA()
			p16.SetRGBA64(x, y, color.RGBA64{uint16(r), uint16(g), uint16(b), 0xFFFF})
		}
	}
	// Palette + alpha PNG: the parrot in the Plan 9 palette plus one transparent entry (top rows).
	pal := append(color.Palette{color.NRGBA{0, 0, 0, 0}}, palette.Plan9[:255]...)
	paletted := image.NewPaletted(pb, pal)
	for y := pb.Min.Y; y < pb.Max.Y; y++ {
		for x := pb.Min.X; x < pb.Max.X; x++ {
			if y < 8 {
				paletted.SetColorIndex(x, y, 0)
				continue
			}
			paletted.Set(x, y, parrot.At(x, y))
		}
	}
	// Animated GIF: frame 1 the parrot, frame 2 noise; the first frame is what counts.
	f1 := image.NewPaletted(pb, palette.Plan9)
	for y := pb.Min.Y; y < pb.Max.Y; y++ {
		for x := pb.Min.X; x < pb.Max.X; x++ {
			f1.Set(x, y, parrot.At(x, y))
		}
	}
	f2 := image.NewPaletted(pb, palette.Plan9)
	rnd := rand.New(rand.NewSource(1))
	rnd.Read(f2.Pix)
	gray := image.NewGray(pb)
	for y := pb.Min.Y; y < pb.Max.Y; y++ {
		for x := pb.Min.X; x < pb.Max.X; x++ {
			gray.Set(x, y, parrot.At(x, y))
		}
	}
	sideways := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, rotateCCW(parrot), &jpeg.Options{Quality: 92}) })
	bmpBytes := encode(t, func(b *bytes.Buffer) error { return bmp.Encode(b, parrot) })
	pngBytes := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, p16) })
	gifBytes := encode(t, func(b *bytes.Buffer) error {
		return gif.EncodeAll(b, &gif.GIF{Image: []*image.Paletted{f1, f2}, Delay: []int{10, 10}})
	})
	oneFrame := encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, f1, nil) })
	webp := mustRead(t, filepath.Join(imgdir, "lossy.webp"))
	hugePNG := func() []byte {
		ihdr := make([]byte, 13)
		binary.BigEndian.PutUint32(ihdr[0:], 100000)
		binary.BigEndian.PutUint32(ihdr[4:], 100000)
		ihdr[8], ihdr[9] = 8, 2
		var c bytes.Buffer
		binary.Write(&c, binary.BigEndian, uint32(13))
		c.WriteString("IHDR")
		c.Write(ihdr)
		crc := crc32IEEE(append([]byte("IHDR"), ihdr...))
		binary.Write(&c, binary.BigEndian, crc)
		return append([]byte("\x89PNG\r\n\x1a\n"), c.Bytes()...)
	}()
	hugeJPEG := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	hugeJPEG = append(hugeJPEG, 0xFF, 0xDB, 0x00, 0x43, 0x00)
	hugeJPEG = append(hugeJPEG, bytes.Repeat([]byte{1}, 64)...)
	hugeJPEG = append(hugeJPEG, 0xFF, 0xC0, 0x00, 0x11, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0)
	hugeBMP := make([]byte, 54)
	copy(hugeBMP, "BM")
	binary.LittleEndian.PutUint32(hugeBMP[10:], 54)
	binary.LittleEndian.PutUint32(hugeBMP[14:], 40)
	binary.LittleEndian.PutUint32(hugeBMP[18:], 100000)
	binary.LittleEndian.PutUint32(hugeBMP[22:], 100000)
	binary.LittleEndian.PutUint16(hugeBMP[26:], 1)
	binary.LittleEndian.PutUint16(hugeBMP[28:], 24)

	good := map[string][]byte{ // must be classified; macaw when the colours survive
		"parrot16.png":  pngBytes,
		"parrot.bmp":    bmpBytes,
		"animated.gif":  gifBytes,
		"exif8.jpg":     withEXIFOrientation(sideways, 8),
		"palette.png":   encode(t, func(b *bytes.Buffer) error { return png.Encode(b, paletted) }),
		"gray.jpg":      encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, gray, nil) }),
		"cmyk.jpg":      mustRead(t, filepath.Join(imgdir, "cmyk.jpg")),
		"photo.webp":    webp,
		"wrong-ext.png": parrotBytes, // a JPEG named .png: content decides
	}
	macaw := map[string]bool{"parrot16.png": true, "parrot.bmp": true, "animated.gif": true, "exif8.jpg": true, "wrong-ext.png": true}
	bad := map[string][]byte{ // must fail with an error naming the file
		"truncated.jpg":   parrotBytes[:len(parrotBytes)/3],
		"header-only.jpg": parrotBytes[:200],
		"truncated.png":   pngBytes[:len(pngBytes)/2],
		"truncated.gif":   oneFrame[:len(oneFrame)/2],
		"truncated.bmp":   bmpBytes[:len(bmpBytes)/2],
		"truncated.webp":  webp[:len(webp)/2],
		"corrupt.png":     corruptMiddle(pngBytes),
		"empty.jpg":       {},
		"text.jpg":        []byte("this is not a photo, just some text\n"),
		"huge.png":        hugePNG,
		"huge.jpg":        hugeJPEG,
		"huge.bmp":        hugeBMP,
		"random.gif":      randomBytes(4096, 2),
	}
	var files []string
	for name, data := range good {
		files = append(files, writeFile(t, dir, name, data))
	}
	for name, data := range bad {
		files = append(files, writeFile(t, dir, name, data))
	}
	os.WriteFile(filepath.Join(dir, "readme.txt"), []byte("not an image"), 0o644)
	// A folder and an explicitly named missing file in the same run.
	missing := filepath.Join(dir, "missing.jpg")
	out, stderr, code := runCLI(t, "classify", "--format", "json", "--top-k", "3", dir, missing)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d (stderr %q)", code, exitFailure, stderr)
	}
	var recs []record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("bad json %q: %v (stderr %q)", out, err, stderr)
	}
	seen := map[string]record{}
	for _, r := range recs {
		seen[filepath.Base(r.File)] = r
	}
	if want := len(good) + len(bad) + 1; len(recs) != want {
		t.Errorf("%d records, want %d", len(recs), want)
	}
	for name := range good {
		r, ok := seen[name]
		switch {
		case !ok:
			t.Errorf("%s: no record", name)
		case r.Error != "":
			t.Errorf("%s: error %q, want a classification", name, r.Error)
		case len(r.Predictions) < 1 || len(r.Predictions) > 3: // fewer when fewer are meaningful
			t.Errorf("%s: %d predictions", name, len(r.Predictions))
		case macaw[name] && r.Predictions[0].LabelEn != "macaw":
			t.Errorf("%s: top-1 %q, want macaw", name, r.Predictions[0].LabelEn)
		}
	}
	for name := range bad {
		r, ok := seen[name]
		switch {
		case !ok:
			t.Errorf("%s: no record", name)
		case r.Error == "" || len(r.Predictions) > 0:
			t.Errorf("%s: no error (%+v)", name, r)
		case !strings.Contains(r.Error, name):
			t.Errorf("%s: error %q does not name the file", name, r.Error)
		case strings.HasPrefix(name, "huge") && !strings.Contains(r.Error, "large"):
			t.Errorf("%s: error %q should say the image is too large", name, r.Error)
		}
		t.Logf("%s: %s", name, r.Error)
	}
	if r := seen["missing.jpg"]; r.Error == "" || !strings.Contains(r.Error, "missing.jpg") {
		t.Errorf("missing file: %+v", r)
	}
}

func crc32IEEE(b []byte) uint32 {
	// Small local CRC so the generator does not depend on imageio's test helpers.
	var tab [256]uint32
	for i := range tab {
		c := uint32(i)
		for k := 0; k < 8; k++ {
			if c&1 != 0 {
				c = 0xEDB88320 ^ c>>1
			} else {
				c >>= 1
			}
		}
		tab[i] = c
	}
	c := ^uint32(0)
	for _, x := range b {
		c = tab[byte(c)^x] ^ c>>8
	}
	return ^c
}

func corruptMiddle(b []byte) []byte {
	c := append([]byte(nil), b...)
	for i := len(c) / 2; i < len(c)/2+64 && i < len(c); i++ {
		c[i] ^= 0x5A
	}
	return c
}

func randomBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// tinyTFLite returns a float TFLite model; imageInput chooses a [1,32,32,3] image input (mean-pooled
// into 3 classes) or a rank-2 [1,10] input.
func tinyTFLite(imageInput bool, unsupported bool) []byte {
	m := &tflitegen.Model{}
	if imageInput {
		x := m.Act("image", 1, 32, 32, 3)
		p := m.Act("pooled", 1, 3)
		m.AddOp(fb.BuiltinOperatorMEAN, tflitegen.Reducer{}, []int32{x, m.ConstI32("axes", []int32{2}, []int32{1, 2})}, p)
		y := m.Act("probs", 1, 3)
		code := fb.BuiltinOperatorSOFTMAX
		if unsupported {
			code = fb.BuiltinOperatorLOG_SOFTMAX
		}
		m.AddOp(code, tflitegen.Softmax{Beta: 1}, []int32{p}, y)
		m.Inputs, m.Outputs = []int32{x}, []int32{y}
		return m.Bytes()
	}
	x := m.Act("features", 1, 10)
	w := m.ConstF32("w", []int32{5, 10}, make([]float32, 50))
	y := m.Act("logits", 1, 5)
	m.AddOp(fb.BuiltinOperatorFULLY_CONNECTED, tflitegen.FullyConnected{}, []int32{x, w, -1}, y)
	m.Inputs, m.Outputs = []int32{x}, []int32{y}
	return m.Bytes()
}

// TestBrokenModels: every broken model must fail with exit 1 and an error naming the model file and
// the reason, for classify, inspect and run alike.
func TestBrokenModels(t *testing.T) {
	checkNoLeak(t)
	dir := t.TempDir()
	onnxPath := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "mobilenet_v2_tiny", "model.onnx")
	onnxBytes := mustRead(t, onnxPath)
	tfl := mustRead(t, testutil.Shared(t, "models", "mobilenet_v1_0.25_128_quant.tflite"))
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(onnxBytes, &mp); err != nil {
		t.Fatal(err)
	}
	mp.Graph.Node[3].OpType = proto.String("FancyConv")
	unsupportedONNX, err := proto.Marshal(&mp)
	if err != nil {
		t.Fatal(err)
	}
	photo := testutil.Shared(t, "images", "parrot.jpg")
	cases := []struct {
		name   string
		data   []byte
		reason string // a word the error must contain (lower case)
	}{
		{"truncated.onnx", onnxBytes[:len(onnxBytes)/2], ""},
		{"truncated.tflite", tfl[:len(tfl)/2], ""},
		{"header.tflite", tfl[:64], ""},
		{"random.onnx", randomBytes(10000, 3), ""},
		{"random.tflite", randomBytes(10000, 4), ""},
		{"empty.onnx", []byte{}, ""},
		{"text.tflite", []byte("hello world, not a model\n"), ""},
		{"unsupported.onnx", unsupportedONNX, "fancyconv"},
		{"unsupported.tflite", tinyTFLite(true, true), "log_softmax"},
		{"rank2.tflite", tinyTFLite(false, false), "input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, c.name, c.data)
			for _, args := range [][]string{
				{"classify", "--model", p, photo},
				{"inspect", p},
				{"run", "--model", p, "--input", filepath.Join(filepath.Dir(onnxPath), "test_data_set_0", "input_0.pb"), "--output-dir", t.TempDir()},
			} {
				if c.name == "rank2.tflite" && args[0] != "classify" {
					continue // a valid model, just not an image classifier
				}
				out, stderr, code := runCLI(t, args...)
				if code != exitFailure {
					t.Errorf("%s: exit %d, want 1 (stdout %q stderr %q)", args[0], code, out, stderr)
				}
				if !strings.Contains(stderr, c.name) {
					t.Errorf("%s: stderr %q does not name the model file", args[0], stderr)
				}
				if c.reason != "" && !strings.Contains(strings.ToLower(stderr), c.reason) {
					t.Errorf("%s: stderr %q does not give the reason (%q)", args[0], stderr, c.reason)
				}
				t.Logf("%s: %s", args[0], strings.TrimSpace(stderr))
				if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
					t.Errorf("%s: stderr looks like a crash: %q", args[0], stderr)
				}
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		_, stderr, code := runCLI(t, "classify", "--model", dir, photo)
		if code != exitFailure || !strings.Contains(stderr, dir) {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("unknown catalog name", func(t *testing.T) {
		_, stderr, code := runCLI(t, "classify", "--model", "no_such_model_v9", photo)
		if code != exitFailure || !strings.Contains(stderr, "no_such_model_v9") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("float tflite image model works", func(t *testing.T) {
		p := writeFile(t, dir, "tiny_float.tflite", tinyTFLite(true, false))
		out, stderr, code := runCLI(t, "classify", "--format", "jsonl", "--model", p, photo)
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		var r record
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil || len(r.Predictions) != 3 {
			t.Fatalf("record %q: %v", out, err)
		}
	})
}

// TestBadFlagValues: every flag given a bad value is a usage error (exit 2) with a message naming it.
func TestBadFlagValues(t *testing.T) {
	checkNoLeak(t)
	photo := testutil.Shared(t, "images", "parrot.jpg")
	model := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "mobilenet_v2_tiny", "model.onnx")
	for _, c := range []struct {
		flag string
		args []string
	}{
		{"top-k", []string{"classify", "--top-k", "0", photo}},
		{"top-k", []string{"classify", "--top-k", "-3", photo}},
		{"top-k", []string{"classify", "--top-k", "five", photo}},
		{"lang", []string{"classify", "--lang", "fr", photo}},
		{"threads", []string{"classify", "--threads", "-1", photo}},
		{"threads", []string{"classify", "--threads", "many", photo}},
		{"format", []string{"classify", "--format", "yaml", photo}},
		{"size", []string{"classify", "--size", "7", photo}},
		{"size", []string{"classify", "--size", "-224", photo}},
		{"size", []string{"classify", "--size", "big", photo}},
		{"precision", []string{"classify", "--precision", "int3", photo}},
		{"budget", []string{"classify", "--budget", "lots", photo}},
		{"budget", []string{"classify", "--budget", "-5MiB", photo}},
		{"only-mode", []string{"classify", "--only-mode", "fuzzy", photo}},
		{"verbose", []string{"classify", "--verbose=maybe", photo}},
		{"model", []string{"classify", "--model", photo}}, // flag swallowed the only path: no images
		{"size", []string{"inspect", "--size", "-1", model}},
		{"size", []string{"inspect", "--size", "x", model}},
		{"batch", []string{"inspect", "--batch", "0", model}},
		{"batch", []string{"inspect", "--batch", "-2", model}},
		{"format", []string{"inspect", "--format", "xml", model}},
		{"threads", []string{"run", "--threads", "-1", "--model", model, "--input", "x.pb", "--output-dir", "o"}},
		{"threads", []string{"run", "--threads", "two", "--model", model, "--input", "x.pb", "--output-dir", "o"}},
		{"model", []string{"run", "--input", "x.pb", "--output-dir", "o"}},
		{"input", []string{"run", "--model", model, "--output-dir", "o"}},
		{"output-dir", []string{"run", "--model", model, "--input", "x.pb"}},
		// The shared flags are checked alike in every subcommand that has them.
		{"budget", []string{"classify", "--budget", "0", photo}},
		{"budget", []string{"plan", "--model", model, "--budget", "0"}},
		{"threads", []string{"plan", "--model", model, "--threads", "-1"}},
		{"size", []string{"plan", "--model", model, "--size", "7"}},
		{"size", []string{"bench", "--model", model, "--size", "7"}},
		{"size", []string{"inspect", "--size", "7", model}},
		{"only-mode", []string{"plan", "--model", model, "--only-mode", "fuzzy"}},
		{"precision", []string{"plan", "--model", model, "--precision", "int3"}},
		{"precision", []string{"serve", "--model", model, "--precision", "int3"}},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, stderr)
			continue
		}
		if c.flag != "model" && !strings.Contains(stderr, c.flag) {
			t.Errorf("%v: message %q does not name --%s", c.args, stderr, c.flag)
		}
	}
}
