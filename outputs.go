package wanwu

import (
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/tensor"
)

// withChinese swaps an embedded English ImageNet label file (with or without "background" first) for the
// built-in set, which has the Chinese names.
func withChinese(s *labels.Set) *labels.Set {
	for _, known := range []*labels.Set{labels.ImageNet(), labels.ImageNetWithBackground()} {
		if s.Len() != known.Len() {
			continue
		}
		same := true
		for i := 0; i < s.Len() && same; i++ {
			same = s.English(i) == known.English(i)
		}
		if same {
			return known
		}
	}
	return s
}

// GraphPrecision names the precision a graph's weights are stored in: int8 or uint8 for quantized graphs
// (by the QLinearConv/QLinearMatMul weight type), fp16 for half weights, fp32 otherwise.
func GraphPrecision(g *graph.Graph) string {
	p := "fp32"
	for _, n := range g.Nodes {
		if n.Op == "QLinearConv" || n.Op == "QLinearMatMul" {
			if w := n.Input(3); w != nil && w.DType == tensor.I8 {
				return "int8"
			}
			p = "uint8"
		}
		if n.Op == "Conv" || n.Op == "Gemm" || n.Op == "MatMul" {
			if w := n.Input(1); w != nil && w.DType == tensor.F16 {
				p = "fp16"
			}
		}
	}
	return p
}

// outputSemantics finds how to read the first output: the quantization of an integer output, and whether
// the model ends in a softmax already (then its scores are shown as they are).
func outputSemantics(g *graph.Graph) (*quant, bool) {
	prod := g.Producers()
	v := g.Outputs[0]
	var q *quant
	for n := prod[v]; n != nil; n = prod[n.Inputs[0]] {
		// y_scale, y_zero_point input positions of the ops that produce quantized outputs.
		scaleAt := map[string]int{"QuantizeLinear": 1, "QLinearConv": 6, "QLinearMatMul": 6, "QLinearAdd": 6,
			"QLinearMul": 6, "QLinearSoftmax": 3, "QLinearSigmoid": 3, "QLinearGlobalAveragePool": 3,
			"QLinearAveragePool": 3}
		if q == nil && (v.DType == tensor.U8 || v.DType == tensor.I8) {
			if i, ok := scaleAt[n.Op]; ok {
				q = &quant{scale: 1}
				if s := n.Input(i); s.IsConst() {
					q.scale = s.Const.F32()[0]
				}
				if z := n.Input(i + 1); z.IsConst() {
					q.zero = int32(z.Const.Ints()[0])
				}
			}
		}
		switch n.Op {
		case "Softmax", "QLinearSoftmax":
			return q, true
		case "Reshape", "Squeeze", "Flatten", "Identity", "DequantizeLinear", "QuantizeLinear", "Unsqueeze":
			if len(n.Inputs) == 0 {
				return q, false
			}
			continue
		}
		return q, false
	}
	return q, false
}

// predictions is the topK of scores, named, with indices of the full label set.
func (m *Model) predictions(scores []float64, topK int) []Prediction {
	preds := topKOf(scores, topK)
	for i := range preds {
		if m.keep != nil {
			preds[i].Index = m.keep[preds[i].Index]
		}
		if m.labels != nil {
			preds[i].Label = m.labels.Name(preds[i].Index, "zh")
			preds[i].LabelEn = m.labels.Name(preds[i].Index, "en")
		} else {
			preds[i].Label = fmt.Sprintf("#%d", preds[i].Index)
			preds[i].LabelEn = preds[i].Label
		}
	}
	return preds
}

// scores turns the output into probabilities; for a pruned head, over the kept classes only.
func (m *Model) scores(out *tensor.Tensor) []float64 {
	n := out.NumElements()
	s := make([]float64, n)
	switch out.DType {
	case tensor.F32:
		for i, v := range out.F32() {
			s[i] = float64(v)
		}
	case tensor.U8, tensor.I8:
		q := m.outQuant
		if q == nil {
			q = &quant{scale: 1}
		}
		for i := 0; i < n; i++ {
			var raw int32
			if out.DType == tensor.U8 {
				raw = int32(out.Data[i])
			} else {
				raw = int32(int8(out.Data[i]))
			}
			s[i] = float64(q.scale) * float64(raw-q.zero)
		}
	default:
		panic("wanwu: unexpected output type " + out.DType.String())
	}
	if !m.outProbs {
		softmax(s)
	}
	return s
}

func softmax(s []float64) {
	mx := math.Inf(-1)
	for _, v := range s {
		mx = max(mx, v)
	}
	sum := 0.0
	for i, v := range s {
		s[i] = math.Exp(v - mx)
		sum += s[i]
	}
	for i := range s {
		s[i] /= sum
	}
}

func topKOf(s []float64, k int) []Prediction {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
	if k > len(idx) {
		k = len(idx)
	}
	out := make([]Prediction, k)
	for i := range out {
		out[i] = Prediction{Index: idx[i], Score: s[idx[i]]}
	}
	return out
}

// chooseLabels picks the label set for a model scoring classes classes (-1: not known before compiling).
func (m *Model) chooseLabels(entry *catalog.Entry, cfg config, classes int) error {
	switch {
	case cfg.labels != nil:
		m.labels = cfg.labels
	case cfg.labelsPath != "":
		s, err := labels.Load(cfg.labelsPath)
		if err != nil {
			return err
		}
		m.labels = s
		// A loaded table holds each name, its lower-cased form and their headers: about 4x the file
		// (measured: 2.3 MiB for a 54k-line, 0.6 MB file). The built-in 1000 classes are in the base.
		if st, err := os.Stat(cfg.labelsPath); err == nil {
			m.labelBytes = 4 * st.Size()
		}
	case m.compiled != nil:
		s, err := compiledLabels(m.Path, m.compiled.Info.Labels)
		if err != nil {
			return err
		}
		m.labels = s
	case entry != nil && entry.Labels == "imagenet1001":
		m.labels = labels.ImageNetWithBackground()
	case m.g.Meta["labels"] != "":
		s, err := labels.Parse(m.Path+" (embedded labels)", []byte(m.g.Meta["labels"]))
		if err != nil {
			return err
		}
		m.labels = withChinese(s)
	case classes == 1001:
		m.labels = labels.ImageNetWithBackground()
	case classes == 1000:
		m.labels = labels.ImageNet()
	}
	if m.labels != nil && classes > 0 && m.labels.Len() != classes {
		return fmt.Errorf("%s: the model scores %d classes but the label set has %d", m.Path, classes, m.labels.Len())
	}
	return nil
}
