package ops

import (
	"fmt"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
)

// TestPlanConvSplit checks the thread split of ResNet-50 and MobileNetV2 layers: one thread gets one
// item per widest tile and no row parts; two threads get work within 25% of an even share, which the
// old rules (column tiles only, rows only when tiles ran out) missed on the 14×14 and 7×7 stages.
func TestPlanConvSplit(t *testing.T) {
	for _, c := range []struct {
		mg, ohw, k int
		direct     bool
	}{
		{64, 3136, 576, false}, {256, 196, 2304, false}, {512, 49, 4608, false}, {64, 12544, 147, false},
		{256, 196, 1024, true}, {1024, 196, 256, true}, {2048, 49, 512, true}, {512, 49, 2048, true},
		{96, 196, 576, true}, {160, 49, 960, true}, {1280, 49, 320, true}, {24, 3136, 144, true},
		{7, 13, 9, false}, {1, 1, 1, true},
	} {
		t.Run(fmt.Sprintf("m%d_n%d_k%d_direct%v", c.mg, c.ohw, c.k, c.direct), func(t *testing.T) {
			maxCols := convTileCols
			colBytes := 4 * c.k // input bytes per output pixel: 1×1, or C of a 3×3's C·9
			if !c.direct {
				colBytes = 4 * max(c.k/9, 1)
			}
			one := planConvSplit(1, c.mg, c.ohw, c.k, colBytes, 1, maxCols, c.direct)
			panels := (c.ohw + f32.NR - 1) / f32.NR
			if one.msplit != 1 || one.tiles != (panels*f32.NR+maxCols-1)/maxCols {
				t.Errorf("1 thread: %+v, want the widest tiles and no row split", one)
			}
			two := planConvSplit(1, c.mg, c.ohw, c.k, colBytes, 2, maxCols, c.direct)
			rowPanels := (c.mg + f32.MR - 1) / f32.MR
			if two.tiles < 1 || two.tiles > panels || two.msplit < 1 || two.msplit > rowPanels {
				t.Fatalf("2 threads: %+v out of range (%d panels, %d row panels)", two, panels, rowPanels)
			}
			if (panels+two.tiles-1)/two.tiles*f32.NR > maxCols {
				t.Fatalf("2 threads: %+v makes tiles wider than %d", two, maxCols)
			}
			// Balance is about the multiply-adds (bytes read twice are the price of a split, not its share).
			lastCols := c.ohw - (panels-1)*f32.NR
			busiest := splitCost(1, rowPanels, panels, lastCols, two.tiles, two.msplit, c.k, 0, 2, c.direct)
			total := splitCost(1, rowPanels, panels, lastCols, one.tiles, one.msplit, c.k, 0, 1, c.direct)
			// (Layers whose whole work is a few items' fixed cost cannot be split evenly.)
			// 1.25: a pixel split of 7 panels as 3 | 4, which reads half the input per thread, may beat a
			// perfectly even split by output channels that reads all of it twice (conv_split.go).
			if rowPanels*panels >= 4 && total > 40*convItemMACs && float64(busiest) > 1.25*float64(total)/2 {
				t.Errorf("2 threads: %+v, busiest slot %d against an even share of %d", two, busiest, total/2)
			}
		})
	}
}

// TestPlanConvSplitHuge plans layers far larger than memory allows (the planner prices them before
// refusing): the plan must come back at once, with the widest tiles, and every tile in range.
func TestPlanConvSplitHuge(t *testing.T) {
	for _, c := range []struct{ units, mg, ohw int }{
		{1, 64, 1 << 40}, {8, 256, 1 << 24}, {1 << 20, 32, 12544},
	} {
		done := make(chan convSplit, 1)
		go func() { done <- planConvSplit(c.units, c.mg, c.ohw, 147, 48, 2, convTileCols, false) }()
		select {
		case s := <-done:
			panels := (c.ohw + f32.NR - 1) / f32.NR
			if want := (panels*f32.NR + convTileCols - 1) / convTileCols; s.tiles != want || s.msplit != 1 {
				t.Errorf("%+v: %+v, want %d tiles and no row split", c, s, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%+v: no plan after 10 s", c)
		}
	}
}
