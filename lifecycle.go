package wanwu

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/procstat"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/memory"
	"github.com/wanwu-ai/wanwu/runtime"
)

// InputSize is the model's input height and width.
func (m *Model) InputSize() (h, w int) { return m.pre.Height, m.pre.Width }

// Precision is fp32, fp16, int8 or uint8.
func (m *Model) Precision() string { return m.precision }

// Labels is the label set (nil if the model's classes have no names).
func (m *Model) Labels() *labels.Set { return m.labels }

// Stats describes the compiled program's memory.
func (m *Model) Stats() runtime.Stats { return m.stats }

// Config is the configuration Load chose (precision, size, threads, classes) and its predicted peak RSS.
func (m *Model) Config() memory.Config { return m.chosen }

// Classes maps output positions to class indices of the full label set when the head was pruned
// (WithOnly, WithClasses); nil when every class is scored.
func (m *Model) Classes() []int { return m.keep }

// Unmatched lists the WithOnly queries that selected no class; Load fails only when none selects one, so
// a caller warns about these.
func (m *Model) Unmatched() []string { return m.unmatched }

// Close releases the program and the mapped model file.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.idle != nil {
		m.idle.Stop()
	}
	m.dropProgramsLocked()
	return m.g.Close()
}

// Releases counts how often the idle timer (WithReleaseAfter) has released the program.
func (m *Model) Releases() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.releases
}

// Release drops the compiled program now — its arena, packed weights and worker pool — and returns the
// freed memory to the operating system; the next Classify compiles it again. Pages of the mapped model
// file are released from the process too (they stay in the page cache).
func (m *Model) Release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releaseLocked()
}

func (m *Model) releaseLocked() {
	if m.prog == nil {
		return
	}
	rssBefore, _ := procstat.RSS()
	m.dropProgramsLocked()
	m.releases++
	defer func() {
		if m.logf != nil {
			rss, _ := procstat.RSS()
			m.logf("%s: idle for %s, released the program: RSS %s -> %s", m.Name, m.releaseAfter,
				memory.FormatSize(rssBefore), memory.FormatSize(rss))
		}
	}()
	debug.FreeOSMemory()
	// The mapped weights the program read at run time (an fp32 classifier head) leave the process too.
	if rel, ok := m.g.Backing.(graph.RangeReleaser); ok {
		for t := range constTensors(m.g) {
			rel.ReleaseRange(t.Data)
		}
	}
}

// readyLocked makes sure a program is compiled (again, after a release) and restarts the idle timer.
func (m *Model) readyLocked() error {
	if m.closed {
		return ErrClosed
	}
	if m.prog == nil {
		if m.shared == nil {
			shared, err := runtime.NewShared(m.ropts.Threads)
			if err != nil {
				return fmt.Errorf("%s: %w", m.Path, err)
			}
			m.shared, m.ropts.Shared = shared, shared
		}
		prog, err := runtime.Compile(m.g, m.ropts)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Path, err)
		}
		m.prog = prog
	}
	if m.releaseAfter > 0 {
		m.lastUse = time.Now()
		if m.idle == nil {
			m.idle = time.AfterFunc(m.releaseAfter, m.idleCheck)
		} else {
			m.idle.Reset(m.releaseAfter)
		}
	}
	return nil
}

// idleCheck runs when the idle timer fires; a Classify that started meanwhile has pushed lastUse on.
func (m *Model) idleCheck() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.prog == nil {
		return
	}
	if wait := m.releaseAfter - time.Since(m.lastUse); wait > 0 {
		m.idle.Reset(wait)
		return
	}
	m.releaseLocked()
}

// held adds to a prediction what the model holds outside the program (see Model.headCopy); conversion
// is the runtime.Options.Precision the program converts to ("" for none).
func (m *Model) held(b memory.Breakdown, conversion string) memory.Breakdown {
	extra := m.labelBytes
	if conversion != "" {
		extra += m.headCopy
	}
	b.Weights += extra
	b.Runtime += extra * memory.HeapSlackPercent / 100
	return b
}

// dropProgramsLocked closes every program and what they share (derived weights, arena, worker pool).
func (m *Model) dropProgramsLocked() {
	if m.prog != nil {
		m.prog.Close()
		m.prog = nil
	}
	m.closeBatchesLocked()
	if m.shared != nil {
		m.shared.Close()
		m.shared, m.ropts.Shared = nil, nil
	}
}
