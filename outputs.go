package wanwu

import (
	"fmt"
	"math"
	"os"
	"slices"
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

// shapeOnly are the ops that may stand between a classifier's softmax and the graph output without
// changing a score: they only reshape (no dequantization, whose scale is the softmax's, not the logits').
var shapeOnly = map[string]bool{"Reshape": true, "Squeeze": true, "Unsqueeze": true, "Flatten": true, "Identity": true}

// scoreFromLogits turns a softmax at the end of the graph (reached from the first output through
// shapeOnly ops, over the class axis) into an Identity, so the program outputs the logits and Go takes the
// softmax in float64, returning the softmax's beta (1 when there was none to turn). A quantized softmax
// rounds every class under half of its 1/256 step to exactly 0: a subset of those (a server's ?only=) then
// has nothing to renormalise. The softmax of the logits is exact over any subset, as head pruning is.
func scoreFromLogits(g *graph.Graph) (beta float64, turned bool) {
	prod := g.Producers()
	v := g.Outputs[0]
	for n := prod[v]; n != nil; n = prod[v] {
		if shapeOnly[n.Op] && len(n.Inputs) > 0 {
			v = n.Inputs[0]
			continue
		}
		if n.Op != "Softmax" && n.Op != "QLinearSoftmax" {
			return 1, false
		}
		x := n.Input(0)
		if x == nil || len(x.Shape) < 2 {
			return 1, false
		}
		rank := int64(len(x.Shape))
		axis := n.Int("axis", -1)
		if axis < 0 {
			axis += rank
		}
		for _, d := range x.Shape[1 : rank-1] { // every axis but the batch's and the classes' has one element
			if d != 1 {
				return 1, false
			}
		}
		if axis != rank-1 && !(rank == 2 && axis == 1) {
			return 1, false
		}
		beta = float64(n.Float("beta", 1))
		n.Op, n.Inputs, n.Attrs = "Identity", n.Inputs[:1], nil
		return beta, true
	}
	return 1, false
}

// MinScore is the least score a prediction after the first needs to be listed: 0.05 %, below which the
// text output's one decimal prints 0.0 %. A top-K list is never padded with such classes, so it may hold
// fewer than K.
const MinScore = 0.0005

// Meaningful drops the predictions after the first that score under MinScore (preds best first). The first
// stays whatever its score: a photo always gets an answer.
func Meaningful(preds []Prediction) []Prediction {
	for i := 1; i < len(preds); i++ {
		if preds[i].Score < MinScore {
			return preds[:i]
		}
	}
	return preds
}

// predictions is the topK of scores, named, with indices of the full label set. The background class
// (index 0 of the 1001-class TFLite models) is never listed, and classes under MinScore are not listed
// after the first, unless topK asks for every class: then the whole distribution comes back, as the
// server's subsets need.
func (m *Model) predictions(scores []float64, topK int) []Prediction {
	all := topK >= len(scores)
	bg := -1 // position of the background class in scores
	if m.labels != nil && m.labels.Background() >= 0 {
		bg = m.labels.Background()
		if m.keep != nil {
			if i, ok := slices.BinarySearch(m.keep, bg); ok {
				bg = i
			} else {
				bg = -1
			}
		}
	}
	preds := topKOf(scores, topK+1)
	if !all {
		preds = slices.DeleteFunc(preds, func(p Prediction) bool { return p.Index == bg })
		preds = Meaningful(preds[:min(topK, len(preds))])
	}
	preds = preds[:min(topK, len(preds))]
	for i := range preds {
		if m.keep != nil {
			preds[i].Index = m.keep[preds[i].Index]
		}
		if m.labels != nil {
			preds[i].Label = m.labels.Name(preds[i].Index, "zh")
			if m.labels.HasEnglish() {
				preds[i].LabelEn = m.labels.Name(preds[i].Index, "en")
			}
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
		if m.beta != 1 && m.beta != 0 {
			for i := range s {
				s[i] *= m.beta
			}
		}
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

// sidecarHasLabels reports whether the model's sidecar (<model>.json) has a "labels" list.
func sidecarHasLabels(model string) bool {
	sc, err := readSidecar(sidecarPath(model))
	return err == nil && len(sc.Labels) > 0 && string(sc.Labels) != "null"
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
	case entry == nil && sidecarHasLabels(m.Path):
		sc, err := readSidecar(sidecarPath(m.Path))
		if err != nil {
			return err
		}
		s, err := labels.Parse(sidecarPath(m.Path)+" (labels)", sc.Labels)
		if err != nil {
			return err
		}
		m.labels = withChinese(s)
		m.labelBytes = 4 * int64(len(sc.Labels)) // as for a label file
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
	if cfg.catsPath != "" {
		if m.labels == nil {
			return fmt.Errorf("%s: a categories file needs class names, and this model has none (give --labels)", m.Path)
		}
		s, err := labels.LoadCategories(cfg.catsPath, m.labels)
		if err != nil {
			return err
		}
		m.labels = s
	}
	if m.labels != nil && classes > 0 && m.labels.Len() != classes {
		return fmt.Errorf("%s: the model scores %d classes but the label set has %d", m.Path, classes, m.labels.Len())
	}
	return nil
}
