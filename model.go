package wanwu

import (
	"sync"
	"time"

	"github.com/wanwu-ai/wanwu/compiled"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/memory"
	"github.com/wanwu-ai/wanwu/runtime"
)

// Model is a loaded, compiled classifier.
type Model struct {
	// Name is the catalog name, or the file name without extension.
	Name string
	// Path is the model file.
	Path string
	// Format is "onnx", "tflite" or "wanwu" (a compiled model file, package compiled).
	Format string
	// compiled is the mapped compiled model file when Format is "wanwu".
	compiled *compiled.File

	labels    *labels.Set
	pre       imageio.Preprocess
	basePre   imageio.Preprocess // before fitting to an input size
	precision string
	outQuant  *quant  // dequantization of the output, for integer outputs
	outProbs  bool    // the model already ends in a softmax
	beta      float64 // the softmax's beta where scoreFromLogits took the softmax out of the graph (0: 1)

	mu   sync.Mutex
	g    *graph.Graph
	prog *runtime.Program
	// shared holds what every program of the model shares: derived weights, one arena, one worker
	// pool (runtime.Shared); Close and Release drop it with the programs.
	shared *runtime.Shared
	// batches caches programs compiled for batch sizes > 1 (ClassifyBatch); Close and Release drop them.
	batches map[int]*batchProgram
	// estimates caches runtime.Estimate of the program for each batch size (PredictBatches).
	estimates map[int]runtime.Stats
	// budget is the budget the configuration was chosen under (Bytes 0: none); ClassifyBatch compiles
	// a program for a larger batch only when the model with it still fits.
	budget      memory.Budget
	memLimit    bool  // WithMemoryLimit: raise the Go memory limit with the batch programs' prediction
	memLimitSet int64 // the limit WithMemoryLimit set (0: none)

	keep      []int    // kept class indices after head pruning (nil: all), for mapping outputs back
	unmatched []string // WithOnly queries that matched no class (others did), for a warning
	// srcHeap is what the source graph holds on the Go heap beside the program: the pruned head's copied
	// rows (needed to compile again) and a label file's table. A converted (int8/fp16) program keeps its
	// own head, so these add to its predicted peak; an fp32 program reads the copied rows itself.
	headCopy, labelBytes int64
	chosen               memory.Config
	ropts                runtime.Options // what prog was compiled with, to compile it again after a release
	stats                runtime.Stats
	closed               bool

	releaseAfter time.Duration
	idle         *time.Timer
	lastUse      time.Time
	releases     int
	logf         func(format string, a ...any) // nil: quiet
	winograd     bool                          // Options.Winograd of every program compiled
	resize       int                           // WithResize (0: the model's own ratio)
}

type quant struct {
	scale float32
	zero  int32
}
