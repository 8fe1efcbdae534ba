package wanwu

import (
	"cmp"
	"context"
	"fmt"
	goruntime "runtime"
	"slices"
	"strings"

	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/memory"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// precisions are the weight precisions the engine can run a float model in, most accurate first
// (memory.PrecisionRank): fp32 is the model as it is; fp16 stores Conv/Gemm/MatMul weights as IEEE
// half, widened to f32 in the kernels; int8 quantizes weights per output channel at load and
// activations dynamically per layer (docs/precision.md). Both convert streaming through the mapped
// model, releasing each float tensor's pages once converted. A precision is only offered for a model
// when runtime.Estimate accepts it.
var precisions = []string{"fp32", "fp16", "int8"}

// Precisions lists the precisions the engine offers for float models, most accurate first.
func Precisions() []string { return slices.Clone(precisions) }

// runPrecision is how runtime.Options asks for a configuration's precision p: a conversion to fp16 or
// int8 for a float model, "" (the model as it is) for fp32 and for any model stored in half or
// quantized precision (configurations name those by the stored precision).
func (m *Model) runPrecision(p string) string {
	if p == "fp32" || !slices.Contains(precisions, p) || m.storedPrecision() != "fp32" || m.compiled != nil {
		return ""
	}
	return p
}

// PlanSizes are the input sizes considered for models whose spatial size is dynamic.
var PlanSizes = []int{224, 192, 160, 128}

// candidatePrecisions are the precisions to consider: the stored one for quantized or half models,
// else every registered precision (or just the one asked for).
func (m *Model) candidatePrecisions(asked string) ([]string, error) {
	stored := m.storedPrecision()
	if stored != "fp32" || m.compiled != nil {
		if asked != "" && asked != "auto" && asked != stored {
			return nil, fmt.Errorf("%s: the model stores %s weights; --precision %s is not possible", m.Path, stored, asked)
		}
		return []string{"fp32"}, nil // as stored: no conversion
	}
	if asked == "" || asked == "auto" {
		return Precisions(), nil
	}
	if !slices.Contains(precisions, asked) {
		return nil, fmt.Errorf("%s: precision %q is not supported; choose one of %s or auto", m.Path, asked, strings.Join(Precisions(), ", "))
	}
	return []string{asked}, nil
}

// candidates is the one list of configurations that both Load (chooseConfig) and PlanConfigs consider,
// best first (memory.SortByQuality): each precision the model may run in (the asked or stored one
// only, when there is one) × each input size (the asked size; else, for a dynamic input, the model's
// default size and the PlanSizes below it) × batch 1, on the configured threads; fp32 and fp16 from
// a model file with Winograd allowed twice, with Winograd and then without (its weights' memory,
// before a lower precision or size). Nothing is estimated yet.
func (m *Model) candidates(cfg config, ii inputInfo) ([]memory.Config, error) {
	precs, err := m.candidatePrecisions(cfg.precision)
	if err != nil {
		return nil, err
	}
	sizes := []int{ii.baseSize}
	if cfg.size != 0 {
		sizes = []int{cfg.size}
	} else if ii.dynamic {
		for _, s := range PlanSizes {
			if s < ii.baseSize {
				sizes = append(sizes, s)
			}
		}
	}
	if m.resize > 0 { // a crop cannot be larger than the photo resized
		fit := slices.DeleteFunc(slices.Clone(sizes), func(s int) bool { return s > m.resize })
		if len(fit) == 0 || (!ii.dynamic && len(fit) < len(sizes)) {
			return nil, fmt.Errorf("%s: --resize %d is smaller than the %dx%d input it is cropped to", m.Path, m.resize, sizes[len(sizes)-1], sizes[len(sizes)-1])
		}
		sizes = fit
	}
	threads := cfg.threads
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	var cs []memory.Config
	for _, p := range precs {
		for _, s := range sizes {
			// int8 converts every Conv's weights to a path without Winograd.
			c := memory.Config{Precision: p, Size: s, Batch: max(cfg.batch, 1), Threads: threads, Winograd: m.winograd && p != "int8"}
			cs = append(cs, c)
			if c.Winograd && m.compiled == nil {
				c.Winograd = false
				cs = append(cs, c)
			}
		}
	}
	memory.SortByQuality(cs)
	return cs, nil
}

// budgetOf is the budget a configuration resolves to: WithBudget's, the detected one
// (WithDetectedBudget), or none (Bytes 0).
func budgetOf(cfg config) (memory.Budget, error) {
	if cfg.autoBudget {
		return memory.DetectBudget()
	}
	return memory.Budget{Bytes: cfg.budget, Source: cfg.budgetSrc}, nil
}

// chooseConfig returns the configuration to compile: without a budget the first candidate (the most
// accurate, not estimated: configure predicts it from the compiled program); under one, the choice of
// choose, the one function behind PlanConfigs too.
func (m *Model) chooseConfig(cfg config, ii inputInfo) (memory.Config, error) {
	cfg.batch = 0 // Load compiles batch 1; batch programs come later (ClassifyBatch, PrepareBatch)
	budget, err := budgetOf(cfg)
	if err != nil {
		return memory.Config{}, err
	}
	if budget.Bytes <= 0 && !cfg.autoBudget {
		cands, err := m.candidates(cfg, ii)
		if err != nil {
			return memory.Config{}, err
		}
		return cands[0], nil
	}
	m.budget = budget
	plan, err := m.choose(context.Background(), cfg, ii, budget.Bytes, true)
	if err != nil {
		return memory.Config{}, err
	}
	if plan.Chosen == nil {
		return memory.Config{}, &memory.NoFitError{Model: m.Name, Budget: budget, Smallest: plan.Smallest()}
	}
	if cfg.logf != nil {
		cfg.logf("budget %s (%s)", memory.FormatSize(budget.Bytes), budget.Source)
	}
	return *plan.Chosen, nil
}

// choose predicts the candidates, best first, and chooses the most accurate that fits budget
// (memory.Choose): Load (chooseConfig) and PlanConfigs both choose here, so `wanwu plan` marks what
// `wanwu classify` runs. With firstFit it stops predicting at the first candidate that fits (Load needs
// no more); the choice is the same, since the candidates come best first. A candidate the engine cannot
// run (a precision a model does not support) is left out; none left is the best one's error.
func (m *Model) choose(ctx context.Context, cfg config, ii inputInfo, budget int64, firstFit bool) (memory.Plan, error) {
	cands, err := m.candidates(cfg, ii)
	if err != nil {
		return memory.Plan{}, err
	}
	var all []memory.Config
	var firstErr error
	for _, c := range cands {
		if err := ctx.Err(); err != nil {
			return memory.Plan{}, err
		}
		pc, err := m.predict(ii, c, cfg.photo)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		if n := len(all); n > 0 && !pc.Winograd && all[n-1].Winograd && sameShape(all[n-1], pc) && all[n-1].PredictedPeakBytes == pc.PredictedPeakBytes {
			continue // no layer of this model runs Winograd: one candidate
		}
		all = append(all, pc)
		if firstFit && pc.PredictedPeakBytes <= budget {
			break
		}
	}
	if len(all) == 0 {
		return memory.Plan{}, firstErr
	}
	return memory.Choose(m.Name, all, budget), nil
}

// sameShape reports whether a and b differ at most in Winograd.
func sameShape(a, b memory.Config) bool {
	a.Winograd, a.PredictedPeakBytes, a.Breakdown = b.Winograd, b.PredictedPeakBytes, b.Breakdown
	return a == b
}

// predict estimates configuration c's peak RSS (memory.Predict) without compiling weights or
// allocating the arena.
func (m *Model) predict(ii inputInfo, c memory.Config, photo *imageio.Header) (memory.Config, error) {
	// A batch of N is what `wanwu serve --max-batch N` holds: a program for each batch size up to N,
	// sharing the weights and one arena (as Model.PredictBatches).
	var stats []runtime.Stats
	opts := runtime.Options{Threads: c.Threads, Precision: m.runPrecision(c.Precision), Winograd: c.Winograd}
	for n := 1; n <= c.Batch; n++ {
		opts.InputShapes = map[string]tensor.Shape{ii.name: ii.shapeFor(c.Size, n)}
		st, err := runtime.Estimate(m.g, opts)
		if err != nil {
			return memory.Config{}, fmt.Errorf("%s: %s at %d, batch %d: %w", m.Path, c.Precision, c.Size, n, err)
		}
		if outs := st.Steps; n == 1 && len(outs) > 0 {
			c.Labels = outs[len(outs)-1].Shape.NumElements()
		}
		stats = append(stats, st)
	}
	pre := preprocessFor(m.basePre, ii.shapeFor(c.Size, 1), ii.hAxis, m.resize)
	c.Breakdown = m.held(memory.Predict(runtime.Union(stats...), m.decodeCost(photo, pre)), opts.Precision)
	c.Resize = shorterSide(pre)
	c.PredictedPeakBytes = c.Breakdown.Total()
	if c.Precision == "fp32" {
		c.Precision = m.storedPrecision() // a half, quantized or compiled file runs as stored
	}
	return c, nil
}

// ModelLabels returns the label set a model would classify with under opts (WithLabelFile,
// WithCategoryFile ...), without compiling it.
func ModelLabels(ctx context.Context, model string, opts ...Option) (*labels.Set, error) {
	m, _, err := open(ctx, model, newConfig(opts))
	if err != nil {
		return nil, err
	}
	m.g.Close()
	if m.labels == nil {
		return nil, fmt.Errorf("%s: the model has no class names (give --labels)", m.Path)
	}
	return m.labels, nil
}

// PlanConfigs predicts every candidate configuration of a model (each precision the engine runs it in
// and, for a dynamic input size, the model's default size and each of PlanSizes below it), ranks them
// and chooses under budget exactly as Load does with WithBudget(budget). It does not compile weights or
// allocate arenas. Options as for Load (WithOnly, WithThreads, WithPhotoPixels ...).
func PlanConfigs(ctx context.Context, model string, budget int64, opts ...Option) (memory.Plan, error) {
	cfg := newConfig(opts)
	if err := runtime.CheckThreads(cfg.threads); err != nil {
		return memory.Plan{}, fmt.Errorf("wanwu: %w", err)
	}
	m, ii, err := open(ctx, model, cfg)
	if err != nil {
		return memory.Plan{}, err
	}
	defer m.g.Close()
	if cfg.batch > 1 && !m.BatchDynamic() {
		return memory.Plan{}, fmt.Errorf("%s: the model's batch is fixed at 1; it cannot run batches of %d", m.Path, cfg.batch)
	}
	p, err := m.choose(ctx, cfg, ii, budget, false)
	if err != nil {
		return memory.Plan{}, err
	}
	for _, u := range m.unmatched {
		p.Warnings = append(p.Warnings, fmt.Sprintf("--only: no class matches %q; ignored", u))
	}
	return p, nil
}
