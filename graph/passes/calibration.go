package passes

import (
	"bufio"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/wanwu-ai/wanwu/graph"
)

// ActivationQuant is the static u8 quantization of one activation tensor: x ≈ Scale·(q − ZP),
// q in 0..255 (ZP = 0 for tensors that are never negative, such as ReLU outputs).
type ActivationQuant struct {
	Scale float32
	ZP    uint8
}

// Calibration maps activation value names (of the optimized graph: fused activations keep their
// output's name) to their quantization.
type Calibration map[string]ActivationQuant

// CalibrationKey is the graph.Meta entry a calibration is stored under, so it travels with the graph
// (Clone copies Meta) into Compile and into a converted model file.
const CalibrationKey = "wanwu.int8.activations"

const calibrationHeader = "wanwu-int8-activations v1"

// StoreCalibration records c in g.Meta (replacing any earlier one): a header line, then one line
// per tensor, "scale zp quoted-name", sorted by name.
func StoreCalibration(g *graph.Graph, c Calibration) {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(calibrationHeader + "\n")
	for _, n := range names {
		q := c[n]
		fmt.Fprintf(&b, "%s %d %s\n", strconv.FormatFloat(float64(q.Scale), 'g', -1, 32), q.ZP, strconv.Quote(n))
	}
	if g.Meta == nil {
		g.Meta = map[string]string{}
	}
	g.Meta[CalibrationKey] = b.String()
}

// LoadCalibration reads the calibration stored in g; nil without error when there is none.
func LoadCalibration(g *graph.Graph) (Calibration, error) {
	text, ok := g.Meta[CalibrationKey]
	if !ok {
		return nil, nil
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	if !sc.Scan() || sc.Text() != calibrationHeader {
		return nil, fmt.Errorf("passes: %s: missing header %q", CalibrationKey, calibrationHeader)
	}
	c := Calibration{}
	for line := 2; sc.Scan(); line++ {
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("passes: %s line %d: want \"scale zp name\"", CalibrationKey, line)
		}
		s, err1 := strconv.ParseFloat(f[0], 32)
		zp, err2 := strconv.ParseUint(f[1], 10, 8)
		name, err3 := strconv.Unquote(f[2])
		if err1 != nil || err2 != nil || err3 != nil || !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("passes: %s line %d: bad entry %q", CalibrationKey, line, sc.Text())
		}
		c[name] = ActivationQuant{Scale: float32(s), ZP: uint8(zp)}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("passes: %s: %w", CalibrationKey, err)
	}
	return c, nil
}
