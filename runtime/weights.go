package runtime

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"sync"
	"unsafe"
	"weak"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// weightID names a weight by where it comes from, so that the same weight in several programs is
// recognised — shared when they are compiled with one Shared, and counted once by Union — although each
// program holds its own tensor headers:
//   - a constant of the source graph: its address and length (the mapped file or the importer's copy);
//   - a constant an optimization pass made (Conv+BN folding, constant folding): its content;
//   - a conversion or a kernel's packing of a weight: the weight's id and the derivation.
//
// Ids are 128-bit hashes (address ids excepted) under seeds chosen per process, so distinct weights
// never meet by accident and nobody can make them meet by design.
type weightID struct{ a, b uint64 }

var idSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// addrID names a source constant by its bytes' address and length.
func addrID(t *tensor.Tensor) weightID {
	return weightID{uint64(uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))), uint64(len(t.Data)) | 1<<63}
}

// contentID names a derived constant by its element type, shape and bytes.
func contentID(t *tensor.Tensor) weightID {
	var id [2]uint64
	for i, seed := range idSeeds {
		var h maphash.Hash
		h.SetSeed(seed)
		var hdr [8]byte
		hdr[0] = byte(t.DType)
		h.Write(hdr[:1])
		for _, d := range t.Shape {
			binary.LittleEndian.PutUint64(hdr[:], uint64(d))
			h.Write(hdr[:])
		}
		h.Write(t.Data)
		id[i] = h.Sum64()
	}
	return weightID{id[0], id[1] &^ (1 << 63)}
}

// deriveID names output i of derivation kind applied to the weight parent.
func deriveID(parent weightID, kind string, i int) weightID {
	var id [2]uint64
	for j, seed := range idSeeds {
		var h maphash.Hash
		h.SetSeed(seed)
		var b [24]byte
		binary.LittleEndian.PutUint64(b[0:], parent.a)
		binary.LittleEndian.PutUint64(b[8:], parent.b)
		binary.LittleEndian.PutUint64(b[16:], uint64(i))
		h.Write(b[:])
		h.WriteString(kind)
		id[j] = h.Sum64()
	}
	return weightID{id[0], id[1] &^ (1 << 63)}
}

// weightUse is one weight a program holds: Stats lists them so Union can count each weight once.
type weightUse struct {
	id     weightID
	bytes  int
	packed bool // a kernel's repacked copy (Breakdown.Packed) rather than a constant the program reads
	mapped bool // pages of the memory-mapped model file, outside the Go heap
}

// product is what a derivation made from one weight: its byte slices and their ids.
type product struct {
	bufs [][]byte
	ids  []weightID
}

type productKey struct {
	parent weightID
	kind   string
}

// weightStore keeps the weights derived while compiling (conversions, packings, copies out of the
// mapped file) so every program compiled with the same store reads one copy. A store without a Shared
// lives for one compile.
type weightStore struct {
	mu       sync.Mutex
	products map[productKey]*product
	// ids names the bytes products hold, by address, for Stats.
	ids map[uintptr]weightID
	// canon is the first tensor seen with each derived content: later compiles read that one while any
	// program still holds it (a packed weight's folded copy is dropped, and then not kept alive here).
	canon map[weightID]weak.Pointer[tensor.Tensor]
	// bytes is what the products hold (virtual bytes included, for an estimate's store).
	bytes int64
	// frees unmaps an estimate's virtual bytes.
	frees []func()
}

func newWeightStore() *weightStore {
	return &weightStore{products: map[productKey]*product{}, ids: map[uintptr]weightID{},
		canon: map[weightID]weak.Pointer[tensor.Tensor]{}}
}

// product returns the derivation kind of the weight parent, calling build the first time only.
func (s *weightStore) product(parent weightID, kind string, build func() [][]byte) [][]byte {
	key := productKey{parent, kind}
	s.mu.Lock()
	p := s.products[key]
	s.mu.Unlock()
	if p != nil {
		return p.bufs
	}
	bufs := build()
	p = &product{bufs: bufs}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.products[key]; q != nil {
		return q.bufs
	}
	for i, b := range bufs {
		id := deriveID(parent, kind, i)
		p.ids = append(p.ids, id)
		if len(b) > 0 {
			s.ids[uintptr(unsafe.Pointer(unsafe.SliceData(b)))] = id
			s.bytes += int64(len(b))
		}
	}
	s.products[key] = p
	return bufs
}

// has reports whether the store holds derivation kind of the weight parent.
func (s *weightStore) has(parent weightID, kind string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.products[productKey{parent, kind}] != nil
}

// canonical returns the tensor first registered under id when a program still holds it, else
// registers t.
func (s *weightStore) canonical(id weightID, t *tensor.Tensor) *tensor.Tensor {
	s.mu.Lock()
	defer s.mu.Unlock()
	if wp, ok := s.canon[id]; ok {
		if c := wp.Value(); c != nil && c.DType == t.DType && len(c.Data) == len(t.Data) && c.Shape.Equal(t.Shape) {
			return c
		}
	}
	s.canon[id] = weak.Make(t)
	return t
}

func (s *weightStore) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.frees {
		f()
	}
	s.frees = nil
	s.products, s.ids, s.canon, s.bytes = map[productKey]*product{}, map[uintptr]weightID{}, map[weightID]weak.Pointer[tensor.Tensor]{}, 0
}

// weightCtx is one compile's view of a store: it names constants (weightID), converts through the
// store (lower.Memo) and gives kernels their packed weights (ops.WeightCache).
type weightCtx struct {
	store    *weightStore
	estimate bool
	src      map[*tensor.Tensor]bool // the source graph's constants
	mapped   bool                    // the source graph's constants view a mapped file (graph.RangeReleaser)
	ids      map[*tensor.Tensor]weightID
	nonce    weightID // names what only this program holds
	// node is the node whose kernel is being compiled; packs records what its kernel took from the store.
	node  int
	packs map[int][]weightUse
	// taken are the packings node's kernel took (packingsOf); absent marks weights that exist only
	// packed (Options.Prepacked); err is the first packing that could not be had.
	taken  []takenPack
	absent map[*tensor.Tensor]bool
	// storePacked marks the constants kernels packed through the store (Packed).
	storePacked map[*tensor.Tensor]bool
	err         error
}

var nonces struct {
	sync.Mutex
	n uint64
}

func newWeightCtx(store *weightStore, src *graph.Graph, estimate bool) *weightCtx {
	c := &weightCtx{store: store, estimate: estimate, src: map[*tensor.Tensor]bool{}, ids: map[*tensor.Tensor]weightID{},
		packs: map[int][]weightUse{}, absent: map[*tensor.Tensor]bool{}, storePacked: map[*tensor.Tensor]bool{}}
	_, c.mapped = src.Backing.(graph.RangeReleaser)
	nonces.Lock()
	nonces.n++
	c.nonce = deriveID(weightID{}, "program", int(nonces.n))
	nonces.Unlock()
	for _, n := range src.Nodes {
		for _, v := range n.Inputs {
			if v.IsConst() {
				c.src[v.Const] = true
			}
		}
	}
	for _, v := range src.Outputs {
		if v.IsConst() {
			c.src[v.Const] = true
		}
	}
	return c
}

// id names constant t (see weightID).
func (c *weightCtx) id(t *tensor.Tensor) weightID {
	if id, ok := c.ids[t]; ok {
		return id
	}
	var id weightID
	c.store.mu.Lock()
	pid, isProduct := c.store.ids[uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))]
	c.store.mu.Unlock()
	switch {
	case len(t.Data) == 0:
		id = addrID(t)
	case isProduct:
		id = pid
	case c.src[t]:
		id = addrID(t)
	default:
		id = contentID(t)
	}
	c.ids[t] = id
	return id
}

// use is constant t as Stats lists it. A source constant of at most smallConst bytes counts as a heap
// copy: Compile copies those out of the mapped file (weightReleaser), so an Estimate must too.
func (c *weightCtx) use(t *tensor.Tensor) weightUse {
	return weightUse{id: c.id(t), bytes: len(t.Data), mapped: c.mapped && c.src[t] && len(t.Data) > smallConst}
}

// canonicalize makes the constants of g that passes derived (not the source graph's) read the copy an
// earlier program of the store already holds, when one does.
func (c *weightCtx) canonicalize(g *graph.Graph) {
	swap := func(v *graph.Value) {
		if !v.IsConst() || c.src[v.Const] || len(v.Const.Data) == 0 {
			return
		}
		id := c.id(v.Const)
		if t := c.store.canonical(id, v.Const); t != v.Const {
			v.Const = t
			c.ids[t] = id
		}
	}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			swap(v)
		}
	}
	for _, v := range g.Outputs {
		swap(v)
	}
}

// memo is the lower.Memo of this compile.
func (c *weightCtx) memo(src *tensor.Tensor, kind string, build func() [][]byte) [][]byte {
	return c.store.product(c.id(src), kind, build)
}

// virtual returns n reserved bytes that are never written, freed with the store.
func (c *weightCtx) virtual(n int) []byte {
	b, free := virtualBytes(n)
	c.store.mu.Lock()
	c.store.frees = append(c.store.frees, free)
	c.store.mu.Unlock()
	return b
}

// copyOf is the bytes of source constant t copied onto the heap, once per store.
func (c *weightCtx) copyOf(t *tensor.Tensor) []byte {
	return c.store.product(c.id(t), "copy", func() [][]byte { return [][]byte{append([]byte(nil), t.Data...)} })[0]
}

// Available reports whether w can be had in layout: a weight with its data in any (it is packed on
// demand), one that exists only packed (a compiled model file) only in the layouts given for it.
func (c *weightCtx) Available(w *tensor.Tensor, layout string) bool {
	return !c.absent[w] || c.store.has(c.id(w), layout)
}

// Packed implements ops.WeightCache.
func (c *weightCtx) Packed(w *tensor.Tensor, layout string, n int, fill func(dst []byte)) []byte {
	parent := c.id(w)
	if c.absent[w] && !c.store.has(parent, layout) {
		// Nothing to fill it from; the zeros only let the kernel's Compile return before build fails.
		if c.err == nil {
			c.err = missingPacking(layout)
		}
		return make([]byte, n)
	}
	b := c.store.product(parent, layout, func() [][]byte {
		if c.estimate {
			return [][]byte{c.virtual(n)}
		}
		b := alignedBytes(n)
		fill(b)
		return [][]byte{b}
	})[0]
	if len(b) != n {
		// A packing handed in (Options.Prepacked) of the wrong size: a file that lies about its packings.
		if c.err == nil {
			c.err = fmt.Errorf("packing %q takes %d bytes, the one given has %d", layout, n, len(b))
		}
		return make([]byte, n)
	}
	c.packs[c.node] = append(c.packs[c.node], weightUse{id: deriveID(parent, layout, 0), bytes: n, packed: true})
	c.taken = append(c.taken, takenPack{w: w, layout: layout, data: b})
	c.storePacked[w] = true
	return b
}

// Footprint is the memory a set of programs compiled with one Shared holds together (Union): each
// weight once, however many programs read it, and one arena, the largest program's.
type Footprint struct {
	// ConstBytes is the constants the programs read: mapped file pages, heap copies, converted weights.
	ConstBytes int64
	// MappedBytes is the part of ConstBytes that is pages of the memory-mapped model file: resident,
	// but outside the Go heap (and so outside a Go memory limit), like the arena.
	MappedBytes int64
	// PackedBytes is the kernels' repacked copies of weights.
	PackedBytes int64
	// ArenaBytes is the largest program's arena (the Shared's one arena is that large).
	ArenaBytes int64
	// Programs counts the programs; Steps sums their kernel invocations (each holds headers and state).
	Programs, Steps int
	// Threads is the worker pool's size: threads-1 worker goroutines, each with its own stack.
	Threads int
}

// Union is the footprint of programs compiled with one Shared, from their Stats (Program.Stats or
// Estimate: a weight is named the same way in both, so estimated and compiled programs mix). For one
// program it is that program's memory.
func Union(stats ...Stats) Footprint {
	var f Footprint
	seen := map[weightID]bool{}
	for _, st := range stats {
		f.Programs++
		f.Steps += st.NumSteps
		f.ArenaBytes = max(f.ArenaBytes, int64(st.ArenaBytes))
		f.Threads = max(f.Threads, st.Threads)
		for _, u := range st.weights {
			if seen[u.id] {
				continue
			}
			seen[u.id] = true
			if u.packed {
				f.PackedBytes += int64(u.bytes)
			} else {
				f.ConstBytes += int64(u.bytes)
			}
			if u.mapped {
				f.MappedBytes += int64(u.bytes)
			}
		}
	}
	return f
}
