package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestMapReleaseUnmap(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("wanwu 万物 "), 50000) // several pages
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := Map(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Fatal("mapped bytes differ from the file")
	}
	// Released pages read back unchanged, whatever the window; slices outside the region are ignored.
	for _, w := range []int{0, 4096, 64 << 10} {
		Release(data, data[5000:9000], w)
		Release(data, data, w)
		Release(data, want[:10], w)
		Release(data, nil, w)
		if !bytes.Equal(data, want) {
			t.Fatalf("window %d: bytes changed after Release", w)
		}
	}
	if err := Unmap(data); err != nil {
		t.Fatal(err)
	}

	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	if d, err := Map(empty); err != nil || d == nil || len(d) != 0 {
		t.Errorf("empty file: %v, %v; want an empty slice", d, err)
	} else if err := Unmap(d); err != nil {
		t.Error(err)
	}
	if _, err := Map(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestSpan(t *testing.T) {
	region := make([]byte, 10000)
	for _, c := range []struct {
		lo, hi, win int
		s, e        uintptr
		ok          bool
	}{
		{100, 200, 4096, 0, 4096, true},
		{4096, 4097, 4096, 4096, 8192, true},
		{5000, 9000, 4096, 4096, 10000, true}, // clipped to the region's end
		{0, 10000, 65536, 0, 10000, true},
		{300, 300, 4096, 0, 0, false}, // empty
	} {
		s, e, ok := span(region, region[c.lo:c.hi], uintptr(c.win))
		if s != c.s || e != c.e || ok != c.ok {
			t.Errorf("[%d:%d] window %d: %d..%d %v, want %d..%d %v", c.lo, c.hi, c.win, s, e, ok, c.s, c.e, c.ok)
		}
	}
	if _, _, ok := span(region, make([]byte, 10), 4096); ok {
		t.Error("a slice outside the region was accepted")
	}
}
