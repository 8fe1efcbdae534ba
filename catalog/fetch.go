package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/wanwu-ai/wanwu/internal/userfile"
)

// Home is the model cache: $WANWU_HOME, else ~/.cache/wanwu (the XDG cache dir).
func Home() (string, error) {
	if h := os.Getenv("WANWU_HOME"); h != "" {
		return h, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("catalog: no cache directory (set WANWU_HOME): %w", err)
	}
	return filepath.Join(dir, "wanwu"), nil
}

// Fetcher provisions catalog files. The zero value reads the environment.
type Fetcher struct {
	Home string // cache dir; "" = Home()
	// Mirror lists directories or base URLs (separated by commas or spaces) tried in order before
	// upstream; "" = $WANWU_MIRROR. A mirror holds the files flat, under their catalog file names.
	Mirror string
	Client *http.Client
	// Progress receives a progress bar for downloads (usually os.Stderr when it is a terminal); nil = silent.
	Progress io.Writer
}

// CachedPath is where e lives in the cache, whether or not it is there yet.
func (f *Fetcher) CachedPath(e Entry) (string, error) {
	home := f.Home
	if home == "" {
		var err error
		if home, err = Home(); err != nil {
			return "", err
		}
	}
	return filepath.Join(home, e.File), nil
}

// Cached reports whether a verified copy of e is in the cache.
func (f *Fetcher) Cached(e Entry) bool {
	p, err := f.CachedPath(e)
	if err != nil {
		return false
	}
	return verifyFile(p, e) == nil
}

// Fetch returns the path of a verified local copy of e, trying the cache, then the mirror, then upstream.
// A file whose sha256 does not match is refused (and never left in the cache).
func (f *Fetcher) Fetch(ctx context.Context, e Entry) (string, error) {
	dst, err := f.CachedPath(e)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dst); err == nil {
		if err := verifyFile(dst, e); err == nil {
			return dst, nil
		} else {
			// A corrupt cache entry is replaced rather than trusted.
			os.Remove(dst)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("catalog: cache: %w", err)
	}
	mirror := f.Mirror
	if mirror == "" {
		mirror = os.Getenv("WANWU_MIRROR")
	}
	var tried []string
	for _, m := range strings.FieldsFunc(mirror, func(r rune) bool { return r == ',' || r == ' ' }) {
		src := mirrorSource(m, e.File)
		err := f.copyVerified(ctx, src, dst, e)
		if err == nil {
			return dst, nil
		}
		var mm *MismatchError
		if errors.As(err, &mm) {
			return "", err
		}
		tried = append(tried, err.Error())
	}
	if err := f.copyVerified(ctx, e.URL, dst, e); err != nil {
		tried = append(tried, err.Error())
		return "", fmt.Errorf("catalog: could not provision %s: %s; offline, put %s in a folder and set WANWU_MIRROR to it "+
			"(several folders comma-separated), or copy it into the cache %s (WANWU_HOME moves the cache)",
			e.File, strings.Join(tried, "; "), e.File, filepath.Dir(dst))
	}
	return dst, nil
}

func mirrorSource(mirror, file string) string {
	if strings.HasPrefix(mirror, "http://") || strings.HasPrefix(mirror, "https://") {
		return strings.TrimRight(mirror, "/") + "/" + file
	}
	return filepath.Join(mirror, file)
}

// MismatchError reports a file whose checksum differs from the catalog's.
type MismatchError struct {
	Source, Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("catalog: %s: sha256 mismatch: got %s, want %s (refusing a file that is not the catalog's)", e.Source, e.Got, e.Want)
}

func (f *Fetcher) copyVerified(ctx context.Context, src, dst string, e Entry) error {
	var r io.ReadCloser
	size := e.Size
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return err
		}
		c := f.Client
		if c == nil {
			c = http.DefaultClient
		}
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("download %s: %w", src, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("download %s: %s", src, resp.Status)
		}
		if resp.ContentLength > 0 {
			size = resp.ContentLength
		}
		r = resp.Body
	} else {
		if _, err := userfile.CheckRegular(src); err != nil {
			return fmt.Errorf("mirror: %w", err)
		}
		file, err := os.Open(src)
		if err != nil {
			return fmt.Errorf("mirror: %w", err)
		}
		r = file
	}
	defer r.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+e.File+".part-*")
	if err != nil {
		return fmt.Errorf("catalog: cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	var w io.Writer = io.MultiWriter(tmp, h)
	if f.Progress != nil {
		bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(f.Progress),
			progressbar.OptionSetDescription("fetching "+e.File), progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish())
		w = io.MultiWriter(w, bar)
	}
	// The catalog knows each file's size: a source that goes on past it (a device, an endless response)
	// is cut there and fails the checksum rather than filling the disk.
	if e.Size > 0 {
		r = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(r, e.Size+1), r}
	}
	if _, err := io.Copy(w, r); err != nil {
		tmp.Close()
		return fmt.Errorf("fetch %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
		return &MismatchError{Source: src, Want: e.SHA256, Got: got}
	}
	return os.Rename(tmp.Name(), dst)
}

func verifyFile(path string, e Entry) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	if st, err := file.Stat(); err == nil && e.Size > 0 && st.Size() != e.Size {
		return &MismatchError{Source: path, Want: e.SHA256, Got: fmt.Sprintf("(size %d, want %d)", st.Size(), e.Size)}
	}
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
		return &MismatchError{Source: path, Want: e.SHA256, Got: got}
	}
	return nil
}

// Resolve finds the model file a user named. The rule, the same for every subcommand:
//
//   - A bare catalog name (no path separator: "mobilenet_v2_1.0_224_quant", or its file name
//     "mobilenet_v2_1.0_224_quant.tflite") always means the catalog model, fetched into the cache and
//     verified by sha256 — even when a file of that name is in the working directory, so a stray or
//     planted file can never stand in for it unverified. To use such a file, name it as a path: ./name.
//   - Anything else is a path, which must be a regular file (a directory, a named pipe or a device is
//     refused without being opened).
//
// entry is the catalog entry (nil for a file the catalog does not know; a catalog file given by path keeps
// its entry, and with it its preprocessing).
func (f *Fetcher) Resolve(ctx context.Context, model string) (path string, entry *Entry, err error) {
	bare := !strings.ContainsAny(model, `/`+string(filepath.Separator))
	if e, err := Model(model); err == nil && bare {
		p, err := f.Fetch(ctx, e)
		if err != nil {
			if st, serr := os.Stat(model); serr == nil && st.Mode().IsRegular() {
				err = fmt.Errorf("%w (a bare catalog name means the verified catalog model; to use the file %s in this directory instead, write ./%s)", err, model, model)
			}
			return "", nil, err
		}
		return p, &e, nil
	}
	st, err := os.Stat(model)
	if err != nil {
		if bare && !strings.Contains(model, ".") {
			_, cerr := Model(model)
			return "", nil, fmt.Errorf("%w, and there is no file of that name", cerr)
		}
		return "", nil, fmt.Errorf("%s: no such model file", model)
	}
	if st.IsDir() {
		return "", nil, fmt.Errorf("%s: is a directory, not a model file", model)
	}
	if !st.Mode().IsRegular() {
		return "", nil, &userfile.NotRegularError{Path: model, Mode: st.Mode()}
	}
	if e, err := Model(filepath.Base(model)); err == nil {
		entry = &e
	}
	return model, entry, nil
}
