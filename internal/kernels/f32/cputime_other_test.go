//go:build !linux

package f32

import "time"

func threadCPU() time.Duration { return 0 }
