package onnx

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestLoadRSS reports the memory cost of Load for a real model named by $WANWU_RSS_MODEL, e.g.
//
//	WANWU_RSS_MODEL=/tmp/peers-a/models/resnet50.onnx go test -run TestLoadRSS -v ./importer/onnx/
//
// Load must not copy weights: anonymous (Go heap) memory grows by far less than the weight bytes.
// With WANWU_RSS_TOUCH=1 it then reads every weight, which only faults in file-backed pages of the
// mapping (RssFile), never anonymous memory.
func TestLoadRSS(t *testing.T) {
	path := os.Getenv("WANWU_RSS_MODEL")
	if path == "" {
		t.Skip("set WANWU_RSS_MODEL to a model file to measure")
	}
	runtime.GC()
	before := procStatus(t)
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	after := procStatus(t)
	weights := 0
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in.IsConst() {
				weights += len(in.Const.Data)
			}
		}
	}
	fi, _ := os.Stat(path)
	t.Logf("%s: %d nodes, file %.1f MiB, constant bytes referenced %.1f MiB", path, len(g.Nodes), mib(int(fi.Size())), mib(weights))
	t.Logf("before Load: VmHWM %s  RssAnon %s  RssFile %s", before["VmHWM"], before["RssAnon"], before["RssFile"])
	t.Logf("after Load:  VmHWM %s  RssAnon %s  RssFile %s", after["VmHWM"], after["RssAnon"], after["RssFile"])
	if grown := kb(after["RssAnon"]) - kb(before["RssAnon"]); grown*1024 > int64(fi.Size())/4 {
		t.Errorf("anonymous memory grew by %d kB during Load of a %d-byte model: weights were copied", grown, fi.Size())
	}
	if os.Getenv("WANWU_RSS_TOUCH") == "" {
		return
	}
	var sum byte
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in.IsConst() {
				for _, b := range in.Const.Data {
					sum += b
				}
			}
		}
	}
	touched := procStatus(t)
	t.Logf("after reading every weight byte (sum %d): VmHWM %s  RssAnon %s  RssFile %s", sum, touched["VmHWM"], touched["RssAnon"], touched["RssFile"])
}

func procStatus(t *testing.T) map[string]string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func kb(s string) int64 {
	var v int64
	for _, c := range s {
		if c >= '0' && c <= '9' {
			v = v*10 + int64(c-'0')
		} else if c != ' ' {
			break
		}
	}
	return v
}

func mib(n int) float64 { return float64(n) / (1 << 20) }
