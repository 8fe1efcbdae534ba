//go:build linux

package imageio

import (
	"encoding/json"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/internal/procstat"
	"github.com/wanwu-ai/wanwu/tensor"
)

type memReport struct {
	W, H             int
	FileBytes        int64
	AllocBytes       uint64  // all heap allocation during decode+preprocess
	BaseRSS, PeakRSS int64   // process max RSS before and after (bytes)
	Millis           float64 // wall time of decode+preprocess
}

// TestPeakMemory measures decode+preprocess (224 centre crop, f32) of a 640x480 and a 6000x4000
// JPEG, each in a fresh child process so that ru_maxrss belongs to that image alone.
// It takes several seconds, so it runs only with WANWU_MEASURE=1:
//
//	WANWU_MEASURE=1 go test -run TestPeakMemory -v ./imageio
func TestPeakMemory(t *testing.T) {
	if p := os.Getenv("WANWU_MEMPROBE"); p != "" {
		memProbeChild(p)
		return
	}
	if os.Getenv("WANWU_MEASURE") == "" {
		t.Skip("set WANWU_MEASURE=1 to measure peak memory")
	}
	dir := t.TempDir()
	for _, sz := range [][2]int{{640, 480}, {6000, 4000}} {
		path := filepath.Join(dir, "photo.jpg")
		writeSyntheticJPEG(t, path, sz[0], sz[1])
		cmd := exec.Command(os.Args[0], "-test.run=^TestPeakMemory$")
		cmd.Env = append(os.Environ(), "WANWU_MEMPROBE="+path)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var r memReport
		for _, line := range splitLines(out) {
			if json.Unmarshal(line, &r) == nil && r.W > 0 {
				break
			}
		}
		if r.W != sz[0] {
			t.Fatalf("no report in %s", out)
		}
		mb := func(b int64) float64 { return float64(b) / (1 << 20) }
		t.Logf("%dx%d JPEG (%.0f KB): %.0f ms, allocated %.1f MB, peak RSS %.1f MB (process baseline %.1f MB, +%.1f MB)",
			r.W, r.H, float64(r.FileBytes)/1024, r.Millis, mb(int64(r.AllocBytes)), mb(r.PeakRSS), mb(r.BaseRSS), mb(r.PeakRSS-r.BaseRSS))
	}
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, b[start:i])
			start = i + 1
		}
	}
	return append(out, b[start:])
}

func memProbeChild(path string) {
	st, _ := os.Stat(path)
	p, _ := Preprocess{Width: 224, Height: 224, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}.Normalized()
	dst := tensor.New(tensor.F32, p.Shape(1))
	runtime.GC()
	base := vmHWM()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	img, err := DecodeFile(path, DecodeOptions{})
	if err != nil {
		panic(err)
	}
	if err := p.Into(img, dst, 0); err != nil {
		panic(err)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	runtime.ReadMemStats(&after)
	json.NewEncoder(os.Stdout).Encode(memReport{W: img.W, H: img.H, FileBytes: st.Size(),
		AllocBytes: after.TotalAlloc - before.TotalAlloc, BaseRSS: base, PeakRSS: vmHWM(), Millis: ms})
}

// vmHWM is the process's peak RSS from /proc/self/status. (getrusage's ru_maxrss would include
// the parent's RSS at fork, which Linux carries across exec.)
func vmHWM() int64 {
	n, _ := procstat.PeakRSS()
	return n
}

// writeSyntheticJPEG encodes a photo-like gradient with texture (quality 90, 4:2:0).
func writeSyntheticJPEG(t *testing.T, path string, w, h int) {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	seed := uint32(1)
	for y := range h {
		for x := range w {
			seed = seed*1664525 + 1013904223
			m.Y[y*m.YStride+x] = uint8((x*255/w+y*255/h)/2) ^ uint8(seed>>29)
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			m.Cb[y*m.CStride+x] = uint8(x * 255 / ((w + 1) / 2))
			m.Cr[y*m.CStride+x] = uint8(y * 255 / ((h + 1) / 2))
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
}
