package plan

import (
	"fmt"
	"strings"
)

// Dump renders a plan as text, one buffer per line in input order, then the arena size:
//
//	#0   offset        0  size      4096  steps 0-3
//	arena 8192 bytes
//
// names, when given, label the lines (len(names) == len(bufs)).
func Dump(bufs []Buffer, p Plan, names []string) string {
	var b strings.Builder
	for i, buf := range bufs {
		label := fmt.Sprintf("#%d", i)
		if i < len(names) && names[i] != "" {
			label = names[i]
		}
		fmt.Fprintf(&b, "%-4s offset %10d  size %10d  steps %d-%d\n", label, p.Offsets[i], buf.Size, buf.First, buf.Last)
	}
	fmt.Fprintf(&b, "arena %d bytes\n", p.ArenaSize)
	return b.String()
}
