package jpegscale

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/internal/imagegen"
)

// longProgression is a valid progression of n scans for one component: the DC scan, then
// coefficient by coefficient a first pass at Al = 13 and its 13 refinements.
func longProgression(n int) []imagegen.Scan {
	s := []imagegen.Scan{{Comps: []int{0}, Ss: 0, Se: 0}}
	for k := 1; k < 64 && len(s) < n; k++ {
		s = append(s, imagegen.Scan{Comps: []int{0}, Ss: k, Se: k, Al: 13})
		for al := 12; al >= 0 && len(s) < n; al-- {
			s = append(s, imagegen.Scan{Comps: []int{0}, Ss: k, Se: k, Ah: al + 1, Al: al})
		}
	}
	return s
}

// discard is a Sink that keeps nothing.
type discard struct{ row []uint8 }

func (d *discard) Rows() (int, int) { return 0, 1 << 30 }
func (d *discard) Row(int) []uint8  { return d.row }
func (d *discard) Commit(int)       {}
func newDiscard(w, h int) Sink      { return &discard{row: make([]uint8, 3*w)} }
func decodeDiscard(data []byte) error {
	_, err := DecodeTo(context.Background(), data, Options{Scale: 8}, newDiscard)
	return err
}

// TestScanBombs: progressive JPEGs of a few kilobytes asking for hundreds of passes over a
// large frame are refused (scan cap, block-visit budget, progression checks) within about 2 s
// of CPU, and a legitimate progression of the same frame still decodes.
func TestScanBombs(t *testing.T) {
	for _, c := range []struct {
		name    string
		o       imagegen.JPEGOptions
		want    error  // nil: decodes
		wantMsg string // substring of the error
	}{
		{"100MP valid progression of 883 scans", imagegen.JPEGOptions{W: 10000, H: 10000, Comps: 1, Progressive: true,
			Scans: longProgression(1000)}, ErrTooMuchWork, "visit more than"},
		{"1MP valid progression of 883 scans", imagegen.JPEGOptions{W: 1000, H: 1000, Comps: 1, Progressive: true,
			Scans: longProgression(1000)}, ErrTooMuchWork, "more than 500 scans"},
		{"1MP progression of 500 scans", imagegen.JPEGOptions{W: 1000, H: 1000, Comps: 1, Progressive: true,
			Scans: longProgression(500)}, nil, ""},
		{"100MP standard progression", imagegen.JPEGOptions{W: 10000, H: 10000, Comps: 3, Subsample420: true, Progressive: true}, nil, ""},
		{"repeated AC scan", imagegen.JPEGOptions{W: 4000, H: 4000, Comps: 1, Progressive: true, Scans: append(
			longProgression(2), longProgression(2)[1])}, nil, "bogus progression"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := imagegen.JPEG(c.o)
			start := cpuTime()
			err := decodeDiscard(data)
			used := cpuTime() - start
			t.Logf("%d bytes, %d scans: %v of CPU, err %v", len(data), len(c.o.Scans), used, err)
			switch {
			case c.wantMsg == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), c.wantMsg)):
				t.Fatalf("err = %v, want %q", err, c.wantMsg)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if used > 3*time.Second { // 2 s on an idle core; allow for a shared machine
				t.Errorf("took %v of CPU", used)
			}
		})
	}
}

// TestBogusProgressions: every inconsistency libjpeg's jdphuff.c checks is refused.
func TestBogusProgressions(t *testing.T) {
	dc := imagegen.Scan{Comps: []int{0}, Ss: 0, Se: 0}
	for _, c := range []struct {
		name  string
		scans []imagegen.Scan
		want  string
	}{
		{"DC band with Se > 0", []imagegen.Scan{{Comps: []int{0}, Ss: 0, Se: 5}}, "spectral selection"},
		{"Ss > Se", []imagegen.Scan{dc, {Comps: []int{0}, Ss: 9, Se: 3}}, "spectral selection"},
		{"Se past 63", []imagegen.Scan{dc, {Comps: []int{0}, Ss: 1, Se: 64}}, "spectral selection"},
		{"Al past 13", []imagegen.Scan{{Comps: []int{0}, Ss: 0, Se: 0, Al: 14}}, "successive approximation"},
		{"Ah not Al+1", []imagegen.Scan{{Comps: []int{0}, Al: 3}, {Comps: []int{0}, Ah: 3, Al: 1}}, "successive approximation"},
		{"AC before DC", []imagegen.Scan{{Comps: []int{0}, Ss: 1, Se: 63}}, "before its DC scan"},
		{"refinement out of order", []imagegen.Scan{{Comps: []int{0}, Al: 2}, {Comps: []int{0}, Ah: 1, Al: 0}}, "bogus progression"},
		{"refinement before first pass", []imagegen.Scan{dc, {Comps: []int{0}, Ss: 1, Se: 63, Ah: 1, Al: 0}}, "bogus progression"},
		{"first pass twice", []imagegen.Scan{dc, dc}, "bogus progression"},
	} {
		data := imagegen.JPEG(imagegen.JPEGOptions{W: 64, H: 64, Comps: 1, Progressive: true, Scans: c.scans})
		if err := decodeDiscard(data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	// Two components: an AC scan must code one component only.
	data := imagegen.JPEG(imagegen.JPEGOptions{W: 64, H: 64, Comps: 3, Progressive: true, Scans: []imagegen.Scan{
		{Comps: []int{0, 1, 2}}, {Comps: []int{0, 1}, Ss: 1, Se: 63}}})
	if err := decodeDiscard(data); err == nil || !strings.Contains(err.Error(), "more than one component") {
		t.Errorf("interleaved AC scan: %v", err)
	}
}

// TestCancel: a done context stops a large decode between MCU rows, baseline and progressive.
func TestCancel(t *testing.T) {
	for _, prog := range []bool{false, true} {
		data := imagegen.JPEG(imagegen.JPEGOptions{W: 10000, H: 10000, Comps: 3, Subsample420: true, Progressive: prog})
		ctx, cancel := context.WithCancel(context.Background())
		rows := 0
		start := time.Now()
		_, err := DecodeTo(ctx, data, Options{Scale: 1}, func(w, h int) Sink {
			return &cancelAfter{discard: discard{row: make([]uint8, 3*w)}, n: &rows, at: 50, cancel: cancel}
		})
		if !prog && !errors.Is(err, context.Canceled) {
			t.Fatalf("progressive=%v: err = %v, want context.Canceled", prog, err)
		}
		if prog && !errors.Is(err, context.Canceled) {
			t.Fatalf("progressive: err = %v", err)
		}
		t.Logf("progressive=%v: stopped after %d rows, %v", prog, rows, time.Since(start))
		if rows > 50+64 {
			t.Errorf("progressive=%v: %d rows after cancelling at 50", prog, rows)
		}
	}
	// A context done before the first scan stops the decode at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := imagegen.JPEG(imagegen.JPEGOptions{W: 64, H: 64, Comps: 1, Progressive: true})
	if _, err := DecodeTo(ctx, data, Options{Scale: 1}, newDiscard); !errors.Is(err, context.Canceled) {
		t.Errorf("done context: %v", err)
	}
}

type cancelAfter struct {
	discard
	n      *int
	at     int
	cancel func()
}

func (c *cancelAfter) Commit(int) {
	if *c.n++; *c.n == c.at {
		c.cancel()
	}
}
