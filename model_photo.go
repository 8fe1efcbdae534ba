package wanwu

import (
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/memory"
	"github.com/wanwu-ai/wanwu/runtime"
)

// PhotoPeak predicts the process's peak memory while this model classifies the photo whose header is h:
// the chosen configuration's prediction (Config().PredictedPeakBytes) with h's decoding cost in place of
// the photo Load sized it for. A caller under a budget refuses a photo whose PhotoPeak is over it, so one
// outsized file fails alone instead of taking the process past the budget.
func (m *Model) PhotoPeak(h imageio.Header) int64 {
	return m.held(memory.Predict(runtime.Union(m.stats), m.decodeCost(&h, m.pre)), m.ropts.Precision).Total()
}
