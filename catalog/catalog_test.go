package catalog

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
)

func TestFetchFromMirrorDirThenCache(t *testing.T) {
	mirror := filepath.Dir(testutil.Shared(t, "models", "mobilenet_v1_0.25_128_quant.tflite"))
	e, err := Model("mobilenet_v1_0.25_128_quant")
	if err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Home: t.TempDir(), Mirror: mirror}
	if f.Cached(e) {
		t.Fatal("empty cache reports the model as cached")
	}
	p, err := f.Fetch(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(p) != f.Home {
		t.Fatalf("fetched to %s, want inside the cache %s", p, f.Home)
	}
	if !f.Cached(e) {
		t.Fatal("model not cached after fetch")
	}
	// A second fetch must not need the mirror.
	f.Mirror = filepath.Join(t.TempDir(), "nowhere")
	if _, err := f.Fetch(context.Background(), e); err != nil {
		t.Fatalf("cache hit failed: %v", err)
	}
}

func TestFetchRefusesChecksumMismatch(t *testing.T) {
	mirror := t.TempDir()
	e, _ := Model("mobilenet_v1_0.25_128_quant")
	if err := os.WriteFile(filepath.Join(mirror, e.File), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Home: t.TempDir(), Mirror: mirror}
	_, err := f.Fetch(context.Background(), e)
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("got %v, want a sha256 mismatch error", err)
	}
	if !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("error does not say why: %v", err)
	}
	if entries, _ := os.ReadDir(f.Home); len(entries) != 0 {
		t.Fatalf("mismatching file left in the cache: %v", entries)
	}
}

func TestFetchReplacesCorruptCacheEntry(t *testing.T) {
	mirror := filepath.Dir(testutil.Shared(t, "images", "parrot.jpg"))
	e, _ := Sample("parrot")
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, e.File), []byte("truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The first mirror lacks the file; the second has it.
	f := &Fetcher{Home: home, Mirror: t.TempDir() + "," + mirror}
	if _, err := f.Fetch(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if !f.Cached(e) {
		t.Fatal("corrupt cache entry was not replaced")
	}
}

func TestFetchFromMirrorURL(t *testing.T) {
	dir := filepath.Dir(testutil.Shared(t, "images", "hot_dog.jpg"))
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	e, _ := Sample("hot_dog")
	f := &Fetcher{Home: t.TempDir(), Mirror: srv.URL}
	if _, err := f.Fetch(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func TestFetchReportsEverySourceTried(t *testing.T) {
	e, _ := Sample("cat")
	e.URL = "http://127.0.0.1:1/cat.bmp" // nothing listens on port 1
	f := &Fetcher{Home: t.TempDir(), Mirror: filepath.Join(t.TempDir(), "missing")}
	_, err := f.Fetch(context.Background(), e)
	if err == nil || !strings.Contains(err.Error(), "mirror") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("error should name the mirror and the upstream URL: %v", err)
	}
	// Offline, the user needs to know how to point wanwu at a copy: the variables and the cache folder.
	for _, want := range []string{"WANWU_MIRROR", "WANWU_HOME", f.Home} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestCatalogLookups(t *testing.T) {
	for _, name := range []string{DefaultModel, "tf2_mobilenet_v2_1.0_224_ptq.tflite"} {
		if _, err := Model(name); err != nil {
			t.Errorf("Model(%q): %v", name, err)
		}
	}
	if _, err := Model("resnet9000"); err == nil {
		t.Error("unknown model accepted")
	}
	for _, m := range Models() {
		if len(m.SHA256) != 64 || !strings.HasPrefix(m.URL, "https://") || m.InputSize == 0 {
			t.Errorf("incomplete catalog entry %+v", m)
		}
	}
}

// TestResolveRule: a bare catalog name means the verified catalog model even when a file of that name is
// in the working directory; ./name means the file; a named pipe is refused without being opened.
func TestResolveRule(t *testing.T) {
	mirror := filepath.Dir(testutil.Shared(t, "models", "mobilenet_v1_0.25_128_quant.tflite"))
	const name = "mobilenet_v1_0.25_128_quant"
	e, _ := Model(name)
	wd := t.TempDir()
	t.Chdir(wd)
	for _, planted := range []string{name, e.File} {
		if err := os.WriteFile(planted, []byte("planted, not the catalog's model"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := &Fetcher{Home: t.TempDir(), Mirror: mirror}
	for _, bare := range []string{name, e.File} {
		p, entry, err := f.Resolve(context.Background(), bare)
		if err != nil || entry == nil || entry.Name != name || filepath.Dir(p) != f.Home {
			t.Fatalf("Resolve(%q) = %q, %v, %v; want the verified copy in the cache", bare, p, entry, err)
		}
		if err := verifyFile(p, e); err != nil {
			t.Fatalf("Resolve(%q) gave an unverified file: %v", bare, err)
		}
	}
	p, entry, err := f.Resolve(context.Background(), "./"+e.File)
	if err != nil || p != "./"+e.File || entry == nil {
		t.Fatalf("Resolve(./%s) = %q, %v, %v; want the file itself (with its catalog preprocessing)", e.File, p, entry, err)
	}
	// Offline, the error says how to use the local file instead.
	offline := &Fetcher{Home: t.TempDir(), Mirror: filepath.Join(wd, "nowhere"), Client: &http.Client{Transport: failingTransport{}}}
	_, _, err = offline.Resolve(context.Background(), name)
	if err == nil || !strings.Contains(err.Error(), "write ./"+name) {
		t.Errorf("offline Resolve with a local file: %v, want the ./%s hint", err, name)
	}
	if _, _, err := f.Resolve(context.Background(), "no_such_model_v9"); err == nil || !strings.Contains(err.Error(), "no_such_model_v9") {
		t.Errorf("unknown name: %v", err)
	}
	if _, _, err := f.Resolve(context.Background(), "missing.onnx"); err == nil || !strings.Contains(err.Error(), "missing.onnx: no such model file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, _, err := f.Resolve(context.Background(), "/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("offline")
}
