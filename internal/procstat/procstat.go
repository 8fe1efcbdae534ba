// Package procstat reads this process's memory figures (VmHWM, VmRSS, RssAnon, ...) from
// /proc/self/status, for benchmarks, metrics and memory tests.
package procstat

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Status returns the fields of /proc/self/status measured in kB, in bytes, by name ("VmHWM",
// "VmRSS", "RssAnon", "RssFile", ...). It fails where there is no /proc (not Linux).
func Status() (map[string]int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse reads a /proc/<pid>/status listing; fields not of the form "Name: <n> kB" are left out.
func Parse(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		out[name] = kb << 10
	}
	return out, sc.Err()
}

// PeakRSS is the process's high-water resident set size (VmHWM) in bytes.
func PeakRSS() (int64, error) { return field("VmHWM") }

// RSS is the process's resident set size now (VmRSS) in bytes.
func RSS() (int64, error) { return field("VmRSS") }

func field(name string) (int64, error) {
	s, err := Status()
	if err != nil {
		return 0, err
	}
	return lookup(s, name)
}

func lookup(s map[string]int64, name string) (int64, error) {
	v, ok := s[name]
	if !ok {
		return 0, fmt.Errorf("procstat: no %s line in kB in /proc/self/status", name)
	}
	return v, nil
}

// MemTotal is the machine's memory (/proc/meminfo MemTotal) in bytes.
func MemTotal() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	m, err := Parse(f)
	if err != nil {
		return 0, err
	}
	return lookup(m, "MemTotal")
}
