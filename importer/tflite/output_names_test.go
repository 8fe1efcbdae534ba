package tflite

import (
	"strings"
	"testing"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tools/tflitegen"
)

// Graph outputs carry the model's tensor names whatever the importer adds behind them (the NCHW to
// NHWC transpose of a 4-D output): MediaPipe's pose landmark model names its heatmap "Identity_2",
// and `wanwu run` writes Identity_2.npy for it.
func TestOutputNamesAreTheModels(t *testing.T) {
	m := &tflitegen.Model{}
	x := m.Act("input_1", 1, 4, 4, 2)
	heat := m.Act("Identity_2", 1, 4, 4, 2)
	m.AddOp(fb.BuiltinOperatorRELU, nil, shp(x), heat)
	flat := m.Act("Identity", 1, 32)
	m.AddOp(fb.BuiltinOperatorRESHAPE, tflitegen.Reshape{NewShape: []int32{1, 32}}, shp(heat, m.ConstI32("shape", shp(2), []int32{1, 32})), flat)
	// The input listed as an output too, and the heatmap twice: each keeps a name of its own.
	m.Inputs, m.Outputs = shp(x), shp(heat, flat, x, heat)
	g, err := Decode(m.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// The last two cannot take the model's names (the input has it; the first copy has it), so they
	// keep the importer's suffixed ones.
	want := []string{"Identity_2", "Identity", "input_1_", "Identity_2_"}
	if len(g.Outputs) != len(want) {
		t.Fatalf("%d outputs, want %d", len(g.Outputs), len(want))
	}
	seen := map[string]bool{}
	for i, o := range g.Outputs {
		if exact := i < 2; exact && o.Name != want[i] || !exact && !strings.HasPrefix(o.Name, want[i]) {
			t.Errorf("output %d named %q, want %q", i, o.Name, want[i])
		}
		if seen[o.Name] {
			t.Errorf("output name %q used twice", o.Name)
		}
		seen[o.Name] = true
	}
	if g.Inputs[0].Name != "input_1" {
		t.Errorf("input named %q, want input_1", g.Inputs[0].Name)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
}
