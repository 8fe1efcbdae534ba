package wanwu

import (
	"context"
	"errors"
	"time"

	"github.com/wanwu-ai/wanwu/imageio"
)

// Prediction is one class of a result.
type Prediction struct {
	Index   int     `json:"index"`
	Label   string  `json:"label"`
	LabelEn string  `json:"label_en"`
	Score   float64 `json:"score"`
}

// Result is what Classify returns for one photo.
type Result struct {
	Predictions []Prediction
	Elapsed     time.Duration
}

// Record is one photo's result in the JSON form that `wanwu classify --format json|jsonl` prints and
// POST /v1/classify returns (docs/api.md); a photo that failed has only File and Error.
type Record struct {
	File        string       `json:"file"`
	Model       string       `json:"model,omitempty"`
	InputSize   []int        `json:"input_size,omitempty"`
	Precision   string       `json:"precision,omitempty"`
	Predictions []Prediction `json:"predictions,omitempty"`
	ElapsedMS   *float64     `json:"elapsed_ms,omitempty"`
	Error       string       `json:"error,omitempty"`
}

// ErrClosed is returned by Classify after Close.
var ErrClosed = errors.New("wanwu: model is closed")

// Classify returns the topK most likely classes of img, best first.
func (m *Model) Classify(ctx context.Context, img *imageio.RGB, topK int) (Result, error) {
	start := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.readyLocked(); err != nil {
		return Result{}, err
	}
	all, err := m.runOneLocked(ctx, m.prog, []*imageio.RGB{img}, topK)
	if err != nil {
		return Result{}, err
	}
	preds := all[0]
	return Result{Predictions: preds, Elapsed: time.Since(start)}, nil
}
