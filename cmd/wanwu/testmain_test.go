package main

import (
	"os"
	"strconv"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/procstat"
)

// The test binary doubles as the wanwu command, so tests can run it in a fresh process (for its own
// peak memory, exit status and crashes) without building bin/wanwu:
//
//	WANWU_TEST_AS_MAIN=1 wanwu.test classify ...
//
// With WANWU_TEST_HWM_FILE set, the process writes its VmHWM (bytes) there as it exits. The kernel's
// rusage cannot give it: a child forked from the test process inherits the parent's high-water mark.
const (
	envAsMain  = "WANWU_TEST_AS_MAIN"
	envHWMFile = "WANWU_TEST_HWM_FILE"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envAsMain) {
	case "1":
		code := runMain()
		if f := os.Getenv(envHWMFile); f != "" {
			if hwm, err := procstat.PeakRSS(); err == nil {
				os.WriteFile(f, []byte(strconv.FormatInt(hwm, 10)), 0o644)
			}
		}
		os.Exit(code)
	case "crash":
		crashOnAGoroutine()
	}
	os.Exit(m.Run())
}
