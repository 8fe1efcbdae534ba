//go:build unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// crashOnAGoroutine sets up the process as runMain does, then panics where no recover can reach.
func crashOnAGoroutine() {
	syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}) // no core file from the test
	setCrashTraceback()
	go func() {
		var m map[string]int
		m["unrecoverable"]++ // a panic on a goroutine of its own
	}()
	select {}
}

// TestCrashIsNotAUsageError: a crash the program cannot recover from ends the process by SIGABRT, not
// with exit status 2, which scripts read as a usage error.
func TestCrashIsNotAUsageError(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envAsMain+"=crash")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the crashing process exited cleanly: %v\n%s", err, out)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("crash: %v (exit status %d), want death by SIGABRT\n%.2000s", err, ws.ExitStatus(), out)
	}
	if !strings.Contains(string(out), "assignment to entry in nil map") {
		t.Errorf("the crash report is missing: %.2000s", out)
	}
}
