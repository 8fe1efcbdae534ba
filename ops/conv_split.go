package ops

import "github.com/wanwu-ai/wanwu/internal/kernels/f32"

// How a GEMM convolution's work is cut into items for the thread slots. An item is one image and
// group, one column tile (a run of NR-wide panels of output pixels) and one row part (a run of MR-row
// panels of output channels); slot s runs the contiguous items [s*items/slots, (s+1)*items/slots).
//
// Column tiles cost packing: every item packs (im2col) its tile's B block for all K rows, so splitting
// rows makes threads pack the same columns twice. Row parts cost nothing extra when the micro-kernel
// reads B in place (1×1 stride-1 convolutions). planConvSplit picks the tile and row-part counts that
// minimise the busiest slot's estimated cost, so that small layers (ResNet's 14×14 and 7×7 stages,
// MobileNet's 7×7 ones: 7 and 2 column panels) still keep every thread busy.

// convPackMACs is the cost of packing one element of B in multiply-adds (fitted on MobileNetV2's
// 14×14 and 7×7 1×1 convs when they were packed); convItemMACs the fixed cost of an item (its k-loop
// bookkeeping, the im2col table), in multiply-adds too.
//
// Bytes count too, in multiply-adds per byte a slot reads: its rows of W (convReadAMACs) and its columns
// of the input (convReadBMACs, dearer: the previous layer's threads wrote them, so about half sit in the
// other core's cache, which reads at about a third of the local speed). Measured on 2 threads,
// interleaved, with the input written by both threads first: MobileNetV2's 576→96 1×1 at 14×14 takes
// 92 µs split by output channels (every thread reads all 450 KB of input) against 73 µs split by
// pixels (each reads half, and all 221 KB of W); ResNet-50's 2048→512 1×1 at 7×7 (4 MB of W, 400 KB
// of input) 339 against 387 µs the other way round.
const (
	convPackMACs  = 40
	convItemMACs  = 30000
	convReadAMACs = 5
	convReadBMACs = 10
)

// convSplit is a plan: tiles column tiles of at most tileCols pixels and msplit row parts.
type convSplit struct {
	tiles, msplit int
}

// planConvSplit chooses the split of a convolution with units = batch × groups independent GEMMs of
// mg rows, ohw columns and depth k over slots threads; maxCols caps a tile's width (its packed block
// lives in a slot's scratch) and direct says B needs no packing.
//
// bColBytes is the input bytes one output pixel's column reads (k·4 for a 1×1 convolution).
func planConvSplit(units, mg, ohw, k, bColBytes, slots, maxCols int, direct bool) convSplit {
	panels := (ohw + f32.NR - 1) / f32.NR
	lastCols := ohw - (panels-1)*f32.NR
	rowPanels := (mg + f32.MR - 1) / f32.MR
	minTiles := (panels*f32.NR + maxCols - 1) / maxCols
	best, bestCost, bestItems := convSplit{tiles: minTiles, msplit: 1}, int64(-1), 0
	// With many items per slot even the plain split is balanced to within 1/64 of the work, and the
	// search (each candidate costed item by item) would take time in proportion to the image.
	if slots <= 1 || units*minTiles >= 64*slots {
		return best
	}
	for tiles := minTiles; tiles <= min(panels, max(minTiles, 1)*2*slots); tiles++ {
		for ms := 1; ms <= min(rowPanels, 2*slots); ms++ {
			cost := splitCost(units, rowPanels, panels, lastCols, tiles, ms, k, bColBytes, slots, direct)
			items := units * tiles * ms
			// Fewer items win ties within 1%: less bookkeeping and better locality.
			if bestCost < 0 || cost*100 < bestCost*99 || (cost <= bestCost && items < bestItems) {
				best, bestCost, bestItems = convSplit{tiles: tiles, msplit: ms}, cost, items
			}
		}
	}
	return best
}

// splitCost is the estimated cost (multiply-adds) of the busiest slot under a split; the last of the
// panels holds lastCols columns.
func splitCost(units, rowPanels, panels, lastCols, tiles, ms, k, bColBytes, slots int, direct bool) int64 {
	items := units * tiles * ms
	var worst int64
	for s := 0; s < slots; s++ {
		var c int64
		for it := s * items / slots; it < (s+1)*items/slots; it++ {
			mp := it % ms
			t := it / ms % tiles
			rows := ((mp+1)*rowPanels/ms - mp*rowPanels/ms) * f32.MR
			cols := ((t+1)*panels/tiles - t*panels/tiles) * f32.NR
			if t == tiles-1 {
				cols += f32.PanelCols(lastCols) - f32.NR
			}
			c += int64(rows*cols*k) + convItemMACs + int64(convReadAMACs*rows*k*4+convReadBMACs*cols*bColBytes)
			if !direct {
				c += int64(convPackMACs * k * cols)
			}
		}
		worst = max(worst, c)
	}
	return worst
}
