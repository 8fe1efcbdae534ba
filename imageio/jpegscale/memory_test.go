package jpegscale

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/procstat"
)

// TestPeakMemory measures the peak RSS (VmHWM) of decoding a 6000x4000 JPEG to >= 256x256
// against a 640x480 one, each in a fresh child process. Opt-in (it encodes 24 MP):
//
//	JPEGSCALE_MEM=1 go test -run TestPeakMemory -v ./imageio/jpegscale/
//
// Progressive variants are made with /usr/bin/python3 Pillow when available.
func TestPeakMemory(t *testing.T) {
	if os.Getenv("JPEGSCALE_MEM") == "" {
		t.Skip("set JPEGSCALE_MEM=1 to measure")
	}
	dir := t.TempDir()
	files := map[string]string{}
	for _, sz := range [][2]int{{640, 480}, {6000, 4000}} {
		name := fmt.Sprintf("%dx%d.jpg", sz[0], sz[1])
		p := filepath.Join(dir, name)
		writePhotoLike(t, p, sz[0], sz[1])
		files[name] = p
		pp := filepath.Join(dir, fmt.Sprintf("%dx%d.progressive.jpg", sz[0], sz[1]))
		cmd := exec.Command("/usr/bin/python3", "-c",
			"import sys; from PIL import Image; Image.open(sys.argv[1]).save(sys.argv[2], quality=90, progressive=True)", p, pp)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("no progressive variant: %v %s", err, out)
		} else {
			files[filepath.Base(pp)] = pp
		}
	}
	for _, name := range []string{"640x480.jpg", "6000x4000.jpg", "640x480.progressive.jpg", "6000x4000.progressive.jpg"} {
		p, ok := files[name]
		if !ok {
			continue
		}
		for _, mode := range []string{"stream", "bytes", "go-image/jpeg"} {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMemProbe$")
			cmd.Env = append(os.Environ(), "JPEGSCALE_PROBE="+p, "JPEGSCALE_MODE="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", name, mode, err, out)
			}
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "PROBE") {
					t.Logf("%-26s %-14s %s", name, mode, strings.TrimPrefix(l, "PROBE "))
				}
			}
		}
	}
}

// TestMemProbe is the child: decode one file, print VmHWM and heap figures.
func TestMemProbe(t *testing.T) {
	p := os.Getenv("JPEGSCALE_PROBE")
	if p == "" {
		t.Skip("child of TestPeakMemory")
	}
	runtime.GC()
	base := vmHWM()
	var w, h, s int
	switch os.Getenv("JPEGSCALE_MODE") {
	case "stream":
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, sc, err := Decode(bufio.NewReader(f), 256, 256)
		if err != nil {
			t.Fatal(err)
		}
		w, h, s = img.W, img.H, sc
	case "bytes":
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		img, sc, err := Decode(bytes.NewReader(data), 256, 256)
		if err != nil {
			t.Fatal(err)
		}
		w, h, s = img.W, img.H, sc
	default:
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := jpeg.Decode(bufio.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		w, h, s = m.Bounds().Dx(), m.Bounds().Dy(), 1
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("PROBE out %dx%d (1/%d)  VmHWM %.1f MiB (+%.1f over start)  TotalAlloc %.1f MiB\n",
		w, h, s, float64(vmHWM())/(1<<20), float64(vmHWM()-base)/(1<<20), float64(ms.TotalAlloc)/(1<<20))
}

func vmHWM() int64 {
	n, _ := procstat.PeakRSS()
	return n
}

// writePhotoLike encodes a w x h 4:2:0 JPEG with photo-like content (smooth colour,
// textured luma) at quality 90.
func writePhotoLike(t *testing.T, path string, w, h int) {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			m.Y[y*m.YStride+x] = uint8((x*7 + y*3 + (x*y)%23) % 256)
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			m.Cb[y*m.CStride+x] = uint8(64 + x*128/w)
			m.Cr[y*m.CStride+x] = uint8(64 + y*128/h)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
