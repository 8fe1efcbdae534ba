//go:build !unix

package jpegscale

import "time"

var processStart = time.Now()

// cpuTime is the wall time since the test binary started, where getrusage is missing (Windows): only
// for building and vetting the tests there; the CPU bounds are meant for Unix.
func cpuTime() time.Duration { return time.Since(processStart) }
