package passes

import (
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
)

// TestCalibrationRoundTrip: what StoreCalibration writes LoadCalibration reads back exactly, names
// with spaces, quotes and newlines included, and Clone carries it.
func TestCalibrationRoundTrip(t *testing.T) {
	c := Calibration{"conv1/out": {Scale: 0.0123456789, ZP: 0}, "a b \"c\"\nd": {Scale: 3e-9, ZP: 255}, "x": {Scale: 1, ZP: 128}}
	g := &graph.Graph{}
	StoreCalibration(g, c)
	got, err := LoadCalibration(g.Clone())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(c) {
		t.Fatalf("%d entries, want %d", len(got), len(c))
	}
	for k, v := range c {
		if got[k] != v {
			t.Errorf("%q: %+v, want %+v", k, got[k], v)
		}
	}
	if none, err := LoadCalibration(&graph.Graph{}); none != nil || err != nil {
		t.Errorf("no calibration: %v, %v", none, err)
	}
}

func TestCalibrationCorrupt(t *testing.T) {
	for _, text := range []string{
		"", "v0\n", calibrationHeader + "\n0.1 3\n", calibrationHeader + "\n0.1 300 \"x\"\n",
		calibrationHeader + "\n-1 3 \"x\"\n", calibrationHeader + "\n0 3 \"x\"\n", calibrationHeader + "\nNaN 3 \"x\"\n",
		calibrationHeader + "\n0.1 3 x\n", calibrationHeader + "\n+Inf 3 \"x\"\n",
	} {
		g := &graph.Graph{Meta: map[string]string{CalibrationKey: text}}
		if _, err := LoadCalibration(g); err == nil || !strings.Contains(err.Error(), CalibrationKey) {
			t.Errorf("%q: got %v, want an error naming %s", text, err, CalibrationKey)
		}
	}
}
