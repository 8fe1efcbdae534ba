package jpegscale

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestGoldenPillowDraft compares every fixture at every scale with what Pillow's
// Image.draft (libjpeg-turbo's scaled decompression) produced (tools/jpegscale_golden).
func TestGoldenPillowDraft(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "manifest.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fs := strings.Fields(line)
		name := fs[0]
		var v [5]int
		for i := range v {
			v[i], _ = strconv.Atoi(fs[1+i])
		}
		w, h, s, ow, oh := v[0], v[1], v[2], v[3], v[4]
		t.Run(name+"/1:"+fs[3], func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", name+".s"+fs[3]+".rgb"))
			if err != nil {
				t.Fatal(err)
			}
			// Ask for the size Pillow produced: ChooseScale must land on the same reduction.
			img, scale, err := Decode(bytes.NewReader(data), ow, oh)
			if err != nil {
				t.Fatal(err)
			}
			if scale != s || img.W != ow || img.H != oh {
				t.Fatalf("%dx%d: got scale %d %dx%d, want %d %dx%d", w, h, scale, img.W, img.H, s, ow, oh)
			}
			if d, at := maxDiff(img.Pix, want); d != 0 {
				x, y := at/3%ow, at/3/ow
				t.Errorf("max |diff| %d vs Pillow draft, first worst at (%d,%d) ch %d: got %d want %d",
					d, x, y, at%3, img.Pix[at], want[at])
			}
		})
		n++
	}
	if n < 40 {
		t.Fatalf("only %d golden cases", n)
	}
}

// maxDiff returns the largest per-byte difference and where it first occurs.
func maxDiff(a, b []uint8) (int, int) {
	if len(a) != len(b) {
		return 256, 0
	}
	m, at := 0, 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d > m {
			m, at = d, i
		}
	}
	return m, at
}
