//go:build !unix

package main

import "os"

// crashOnAGoroutine: the SIGABRT test runs on Unix only.
func crashOnAGoroutine() { os.Exit(0) }
