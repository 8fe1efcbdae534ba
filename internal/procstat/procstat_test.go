package procstat

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	status := "Name:\twanwu\nVmPeak:\t 1000 kB\nVmHWM:\t   41234 kB\nVmRSS:\t   40000 kB\n"
	s, err := Parse(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := lookup(s, "VmHWM"); err != nil || got != 41234*1024 {
		t.Errorf("VmHWM: got %d, %v; want %d", got, err, 41234*1024)
	}
	if got, err := lookup(s, "VmRSS"); err != nil || got != 40000*1024 {
		t.Errorf("VmRSS: got %d, %v; want %d", got, err, 40000*1024)
	}
	for _, bad := range []string{"Name:\tx\n", "VmHWM:\t12 MB\n", "VmHWM:\tlots kB\n"} {
		s, err := Parse(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lookup(s, "VmHWM"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestReal(t *testing.T) {
	if _, err := Status(); err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	// This process has touched memory, so its RSS is positive and its high-water mark (read after it)
	// is not below it.
	rss, err := RSS()
	if err != nil || rss <= 0 {
		t.Fatalf("RSS() = %d, %v", rss, err)
	}
	peak, err := PeakRSS()
	if err != nil || peak < rss {
		t.Errorf("PeakRSS() = %d, %v; RSS before it %d", peak, err, rss)
	}
}
