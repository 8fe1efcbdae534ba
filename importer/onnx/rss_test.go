package onnx

import (
	"os"
	"runtime"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/procstat"
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
	t.Logf("before Load: VmHWM %.1f MiB  RssAnon %.1f MiB  RssFile %.1f MiB", mib(int(before["VmHWM"])), mib(int(before["RssAnon"])), mib(int(before["RssFile"])))
	t.Logf("after Load:  VmHWM %.1f MiB  RssAnon %.1f MiB  RssFile %.1f MiB", mib(int(after["VmHWM"])), mib(int(after["RssAnon"])), mib(int(after["RssFile"])))
	if grown := after["RssAnon"] - before["RssAnon"]; grown > int64(fi.Size())/4 {
		t.Errorf("anonymous memory grew by %d bytes during Load of a %d-byte model: weights were copied", grown, fi.Size())
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
	t.Logf("after reading every weight byte (sum %d): VmHWM %.1f MiB  RssAnon %.1f MiB  RssFile %.1f MiB", sum, mib(int(touched["VmHWM"])), mib(int(touched["RssAnon"])), mib(int(touched["RssFile"])))
}

func procStatus(t *testing.T) map[string]int64 {
	s, err := procstat.Status()
	if err != nil {
		t.Skip(err)
	}
	return s
}

func mib(n int) float64 { return float64(n) / (1 << 20) }
