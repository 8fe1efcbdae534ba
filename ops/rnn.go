package ops

import (
	"math"
	"strings"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// RNN, GRU and LSTM (ONNX opset 14: CRNN text recognisers and other sequence heads). X is
// [seq, batch, input] ([batch, seq, input] with layout=1); W [dirs, G·hidden, input], R
// [dirs, G·hidden, hidden], B [dirs, 2·G·hidden] (input then recurrent biases), sequence_lens
// [batch], initial_h (and LSTM's initial_c) [dirs, batch, hidden], LSTM's peepholes P [dirs, 3·hidden].
// Gates in ONNX's order: LSTM i, o, f, c; GRU z, r, h; RNN one. direction forward, reverse or
// bidirectional; activations Sigmoid, Tanh, Relu (defaults: RNN Tanh; GRU Sigmoid, Tanh; LSTM
// Sigmoid, Tanh, Tanh); clip; LSTM input_forget; GRU linear_before_reset. Outputs Y
// [seq, dirs, batch, hidden] (layout=1: [batch, seq, dirs, hidden]) and Y_h (Y_c) [dirs, batch,
// hidden] ([batch, dirs, hidden]); steps past a batch entry's sequence length give zeros in Y and
// leave its state as it was.

type rnnKernel struct {
	op                             string // "RNN", "GRU", "LSTM"
	seq, batch, in, hid, dirs, g   int
	layout                         int
	reverse                        []bool // per direction
	f, gAct, hAct                  []func(float64) float64
	clip                           float64
	inputForget, linearBeforeReset bool
	// scratch: gates for one batch entry, the state of every batch entry
	gates, h, c, hNew []float64
}

func (k *rnnKernel) ScratchBytes() int { return 0 }

func activation(name string) func(float64) float64 {
	switch strings.ToLower(name) {
	case "sigmoid":
		return func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	case "tanh":
		return math.Tanh
	case "relu":
		return func(v float64) float64 { return math.Max(v, 0) }
	}
	return nil
}

func (k *rnnKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, w, r := elems[float32](in[0]), elems[float32](in[1]), elems[float32](in[2])
	get := func(i int) []float32 {
		if i < len(in) && in[i] != nil {
			return elems[float32](in[i])
		}
		return nil
	}
	b, h0, p := get(3), get(5), get(7)
	var c0 []float32
	if k.op == "LSTM" {
		c0 = get(6)
	}
	var lens []int32
	if len(in) > 4 && in[4] != nil {
		lens = elems[int32](in[4])
	}
	var y, yh, yc []float32
	if len(out) > 0 && out[0] != nil {
		y = elems[float32](out[0])
		clear(y)
	}
	if len(out) > 1 && out[1] != nil {
		yh = elems[float32](out[1])
	}
	if len(out) > 2 && out[2] != nil {
		yc = elems[float32](out[2])
	}
	G, H, I := k.g, k.hid, k.in
	for d := 0; d < k.dirs; d++ {
		wd, rd := w[d*G*H*I:][:G*H*I], r[d*G*H*H:][:G*H*H]
		var wb, rb, pd []float32
		if b != nil {
			wb, rb = b[d*2*G*H:][:G*H], b[d*2*G*H+G*H:][:G*H]
		}
		if p != nil {
			pd = p[d*3*H:][:3*H]
		}
		for bi := 0; bi < k.batch; bi++ {
			st := k.stateIndex(d, bi)
			for j := 0; j < H; j++ {
				k.h[bi*H+j], k.c[bi*H+j] = 0, 0
				if h0 != nil {
					k.h[bi*H+j] = float64(h0[st+j])
				}
				if c0 != nil {
					k.c[bi*H+j] = float64(c0[st+j])
				}
			}
		}
		for step := 0; step < k.seq; step++ {
			for bi := 0; bi < k.batch; bi++ {
				n := k.seq
				if lens != nil {
					n = int(lens[bi])
				}
				if step >= n {
					continue // past this entry's sequence: state kept, Y stays zero
				}
				t := step
				if k.reverse[d] {
					t = n - 1 - step
				}
				xt := x[k.xIndex(t, bi):][:I]
				hPrev := k.h[bi*H : (bi+1)*H]
				// gates[q] = W_q·x + Wb_q, and for every gate but GRU's h (before reset), + R_q·h + Rb_q.
				for q := 0; q < G*H; q++ {
					s := 0.0
					for i, v := range xt {
						s += float64(wd[q*I+i]) * float64(v)
					}
					if wb != nil {
						s += float64(wb[q])
					}
					if !(k.op == "GRU" && q >= 2*H && !k.linearBeforeReset) {
						s += k.recur(rd, rb, q, hPrev)
					}
					k.gates[q] = s
				}
				hn := k.hNew[:H]
				switch k.op {
				case "RNN":
					for j := 0; j < H; j++ {
						hn[j] = k.f[d](k.clipped(k.gates[j]))
					}
				case "GRU":
					for j := 0; j < H; j++ {
						z := k.f[d](k.clipped(k.gates[j]))
						rr := k.f[d](k.clipped(k.gates[H+j]))
						var hh float64
						if k.linearBeforeReset {
							// gates[2H+j] holds W_h·x + Wb_h + R_h·h + Rb_h: reset only the recurrent part.
							rec := k.recur(rd, rb, 2*H+j, hPrev)
							hh = k.gAct[d](k.clipped(k.gates[2*H+j] - rec + rr*rec))
						} else {
							// R_h · (r ⊙ h_prev) + Rb_h, with r of every unit.
							s := 0.0
							for i := 0; i < H; i++ {
								ri := k.f[d](k.clipped(k.gates[H+i]))
								s += float64(rd[(2*H+j)*H+i]) * ri * hPrev[i]
							}
							if rb != nil {
								s += float64(rb[2*H+j])
							}
							hh = k.gAct[d](k.clipped(k.gates[2*H+j] + s))
						}
						hn[j] = (1-z)*hh + z*hPrev[j]
					}
				case "LSTM":
					cPrev := k.c[bi*H : (bi+1)*H]
					for j := 0; j < H; j++ {
						gi, gof, gf, gc := k.gates[j], k.gates[H+j], k.gates[2*H+j], k.gates[3*H+j]
						if pd != nil {
							gi += float64(pd[j]) * cPrev[j]
							gf += float64(pd[2*H+j]) * cPrev[j]
						}
						it := k.f[d](k.clipped(gi))
						ft := k.f[d](k.clipped(gf))
						if k.inputForget {
							ft = 1 - it
						}
						ct := ft*cPrev[j] + it*k.gAct[d](k.clipped(gc))
						if pd != nil {
							gof += float64(pd[H+j]) * ct
						}
						ot := k.f[d](k.clipped(gof))
						hn[j] = ot * k.hAct[d](ct)
						cPrev[j] = ct // each unit's c depends only on its own previous c
					}
				}
				copy(hPrev, hn)
				if y != nil {
					yo := k.yIndex(t, d, bi)
					for j := 0; j < H; j++ {
						y[yo+j] = float32(hn[j])
					}
				}
			}
		}
		for bi := 0; bi < k.batch; bi++ {
			st := k.stateIndex(d, bi)
			for j := 0; j < H; j++ {
				if yh != nil {
					yh[st+j] = float32(k.h[bi*H+j])
				}
				if yc != nil {
					yc[st+j] = float32(k.c[bi*H+j])
				}
			}
		}
	}
	return nil
}

// recur is R_q·h + Rb_q for gate row q.
func (k *rnnKernel) recur(rd, rb []float32, q int, h []float64) float64 {
	s := 0.0
	for i, v := range h {
		s += float64(rd[q*k.hid+i]) * v
	}
	if rb != nil {
		s += float64(rb[q])
	}
	return s
}

func (k *rnnKernel) clipped(v float64) float64 {
	if k.clip > 0 {
		return math.Min(math.Max(v, -k.clip), k.clip)
	}
	return v
}

func (k *rnnKernel) xIndex(t, b int) int {
	if k.layout == 1 {
		return (b*k.seq + t) * k.in
	}
	return (t*k.batch + b) * k.in
}

func (k *rnnKernel) yIndex(t, d, b int) int {
	if k.layout == 1 {
		return ((b*k.seq+t)*k.dirs + d) * k.hid
	}
	return ((t*k.dirs+d)*k.batch + b) * k.hid
}

func (k *rnnKernel) stateIndex(d, b int) int {
	if k.layout == 1 {
		return (b*k.dirs + d) * k.hid
	}
	return (d*k.batch + b) * k.hid
}

// rnnGates is the number of gates of each op.
var rnnGates = map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}

func rnnDims(n *graph.Node) (seq, batch, dirs, hid int, err error) {
	x := n.Inputs[0].Shape
	if len(x) != 3 {
		return 0, 0, 0, 0, errf(n, "X must be 3-D, is %s", x)
	}
	seq, batch = x[0], x[1]
	if n.Int("layout", 0) == 1 {
		seq, batch = x[1], x[0]
	}
	dirs = 1
	if n.Str("direction", "forward") == "bidirectional" {
		dirs = 2
	}
	hid = int(n.Int("hidden_size", 0))
	if hid < 1 {
		if w := n.Inputs[1].Shape; len(w) == 3 {
			hid = w[1] / rnnGates[n.Op]
		}
	}
	if hid < 1 {
		return 0, 0, 0, 0, errf(n, "hidden_size unknown")
	}
	return seq, batch, dirs, hid, nil
}

func inferRNN(n *graph.Node) error {
	// Not needInputs: Y (output 0) is often left out, and only Y_h kept.
	if len(n.Inputs) < 3 || n.Inputs[0] == nil || n.Inputs[1] == nil || n.Inputs[2] == nil {
		return errf(n, "needs X, W and R")
	}
	if n.Inputs[0].Shape == nil {
		for i := range n.Outputs {
			setOut(n, i, n.Inputs[0].DType, nil)
		}
		return nil
	}
	seq, batch, dirs, hid, err := rnnDims(n)
	if err != nil {
		return err
	}
	y, st := tensor.Shape{seq, dirs, batch, hid}, tensor.Shape{dirs, batch, hid}
	if n.Int("layout", 0) == 1 {
		y, st = tensor.Shape{batch, seq, dirs, hid}, tensor.Shape{batch, dirs, hid}
	}
	setOut(n, 0, n.Inputs[0].DType, y)
	setOut(n, 1, n.Inputs[0].DType, st)
	setOut(n, 2, n.Inputs[0].DType, st.Clone())
	return nil
}

func compileRNN(n *graph.Node) (Kernel, error) {
	for i, v := range n.Inputs {
		if v != nil && v.DType != tensor.F32 && i != 4 {
			return nil, errf(n, "input %d is %s (float32 only)", i, v.DType)
		}
	}
	if sl := n.Input(4); sl != nil && sl.DType != tensor.I32 {
		return nil, errf(n, "sequence_lens must be int32, is %s", sl.DType)
	}
	seq, batch, dirs, hid, err := rnnDims(n)
	if err != nil {
		return nil, err
	}
	g := rnnGates[n.Op]
	in := n.Inputs[0].Shape[2]
	if w := n.Inputs[1].Shape; !w.Equal(tensor.Shape{dirs, g * hid, in}) {
		return nil, errf(n, "W %s, want [%d %d %d]", w, dirs, g*hid, in)
	}
	if r := n.Inputs[2].Shape; !r.Equal(tensor.Shape{dirs, g * hid, hid}) {
		return nil, errf(n, "R %s, want [%d %d %d]", r, dirs, g*hid, hid)
	}
	k := &rnnKernel{op: n.Op, seq: seq, batch: batch, in: in, hid: hid, dirs: dirs, g: g, layout: int(n.Int("layout", 0)),
		clip: float64(n.Float("clip", 0)), inputForget: n.Int("input_forget", 0) != 0,
		linearBeforeReset: n.Int("linear_before_reset", 0) != 0,
		gates:             make([]float64, g*hid), h: make([]float64, batch*hid), c: make([]float64, batch*hid), hNew: make([]float64, hid)}
	switch dir := n.Str("direction", "forward"); dir {
	case "forward":
		k.reverse = []bool{false}
	case "reverse":
		k.reverse = []bool{true}
	case "bidirectional":
		k.reverse = []bool{false, true}
	default:
		return nil, errf(n, "unknown direction %q", dir)
	}
	defaults := map[string][]string{"RNN": {"Tanh"}, "GRU": {"Sigmoid", "Tanh"}, "LSTM": {"Sigmoid", "Tanh", "Tanh"}}[n.Op]
	names := defaults
	if a, ok := n.Attrs["activations"]; ok && len(a.Strings) > 0 {
		names = a.Strings
	}
	per := len(defaults)
	if len(names) != per && len(names) != per*dirs {
		return nil, errf(n, "%d activations for %d directions of %d", len(names), dirs, per)
	}
	for d := 0; d < dirs; d++ {
		pick := func(i int) (func(float64) float64, error) {
			name := names[i]
			if len(names) == per*dirs {
				name = names[d*per+i]
			}
			f := activation(name)
			if f == nil {
				return nil, errf(n, "unsupported activation %q (Sigmoid, Tanh, Relu)", name)
			}
			return f, nil
		}
		fs := make([]func(float64) float64, per)
		for i := range fs {
			if fs[i], err = pick(i); err != nil {
				return nil, err
			}
		}
		k.f = append(k.f, fs[0])
		if per > 1 {
			k.gAct = append(k.gAct, fs[1])
		}
		if per > 2 {
			k.hAct = append(k.hAct, fs[2])
		}
	}
	return k, nil
}

func init() {
	for _, op := range []string{"RNN", "GRU", "LSTM"} {
		Register(op, &Def{Infer: inferRNN, Compile: compileRNN})
	}
}
