package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/userfile"
	"github.com/wanwu-ai/wanwu/memory"
)

// How classify treats the photos it is given, so that one bad file fails alone and nothing blocks:
//   - Only regular files are opened. A named pipe, a device (/dev/zero) or a socket is refused without being
//     opened, named explicitly or met in a folder (a walk reports it as that file's error and goes on).
//   - The model's configuration is sized for the largest photo it can take (by header, among the first
//     sizingHeaders); a photo whose decoding would take the process past the budget (a header-only "bomb"
//     declaring 10000x10000, a 100 MP PNG under a small budget) is refused alone, by its header, before
//     its pixels are read.

// imageExts are the extensions picked up when walking a folder (files named explicitly are always tried).
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".gif": true, ".webp": true}

// sizingHeaders is how many photo headers are read to size the model, so a huge folder does not delay the
// start; later photos are still admitted one by one against the budget.
const sizingHeaders = 1000

// photo is one file to classify; err, when set, refuses it before it is opened.
type photo struct {
	path string
	err  error
}

// collectPhotos expands folders (recursively) into their image files; every path is checked to be a
// regular file without being opened, and one that is not, or cannot be read, keeps its place in the
// order with its error.
func collectPhotos(args []string) []photo {
	var files []photo
	for _, a := range args {
		st, err := os.Stat(a)
		switch {
		case err != nil:
			files = append(files, photo{a, err})
		case st.IsDir():
			files = walkPhotos(a, files)
		case !st.Mode().IsRegular():
			files = append(files, photo{a, &userfile.NotRegularError{Path: a, Mode: st.Mode()}})
		default:
			files = append(files, photo{a, nil})
		}
	}
	return files
}

func walkPhotos(dir string, files []photo) []photo {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			files = append(files, photo{p, err}) // an unreadable entry: reported as a failed file
			return nil
		}
		if d.IsDir() || !imageExts[strings.ToLower(filepath.Ext(p))] {
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, photo{p, nil})
			return nil
		}
		// A symbolic link is followed to what it names; a pipe, device or socket is skipped unopened.
		st, err := os.Stat(p)
		switch {
		case err != nil:
			files = append(files, photo{p, err})
		case !st.Mode().IsRegular():
			files = append(files, photo{p, fmt.Errorf("%w; skipped", &userfile.NotRegularError{Path: p, Mode: st.Mode()})})
		default:
			files = append(files, photo{p, nil})
		}
		return nil
	})
	return files
}

// readPhotoHeader reads the header of a photo that is (still) a regular file.
func readPhotoHeader(path string) (imageio.Header, error) {
	if _, err := userfile.CheckRegular(path); err != nil {
		return imageio.Header{}, err
	}
	return imageio.ReadHeader(path)
}

// sizingCandidates are the headers of the first sizingHeaders photos that can be read and are within the
// decoder's pixel limit, largest first by pixel count.
func sizingCandidates(files []photo) []imageio.Header {
	var hs []imageio.Header
	for i, f := range files {
		if i == sizingHeaders {
			break
		}
		if f.err != nil {
			continue
		}
		h, err := readPhotoHeader(f.path)
		if err != nil || imageio.CheckSize(h.Width, h.Height, 0) != nil {
			continue // refused when its turn comes, with the reason
		}
		hs = append(hs, h)
	}
	slices.SortStableFunc(hs, func(a, b imageio.Header) int {
		return -cmpInt64(int64(a.Width)*int64(a.Height), int64(b.Width)*int64(b.Height))
	})
	return hs
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxSizingTries bounds the Loads loadForPhotos tries before it gives up on fitting the photos.
const maxSizingTries = 6

// loadForPhotos loads the model sized for the largest photo it can take under the budget: when no
// configuration fits with the largest photo, it retries with the largest one whose decoding is cheaper by
// what the smallest configuration was over (a few tries at most: the decoding cost depends on the
// configuration's input size); when none of them fits, it loads the model sized for the default photo
// (memory.DefaultPhotoPixels), so the model's own error is reported if even that does not fit. Photos
// larger than the one chosen are refused one by one later.
func loadForPhotos(ctx context.Context, model string, opts []wanwu.Option, budget int64, candidates []imageio.Header) (*wanwu.Model, error) {
	if len(candidates) == 0 {
		return wanwu.Load(ctx, model, opts...)
	}
	try := candidates[0]
	for attempt := 1; ; attempt++ {
		m, err := wanwu.Load(ctx, model, append(slices.Clip(opts), wanwu.WithPhoto(try))...)
		var nf *memory.NoFitError
		if err == nil || budget <= 0 || !errors.As(err, &nf) || attempt == maxSizingTries {
			return m, err
		}
		size := nf.Smallest.Size
		cost := func(h imageio.Header) int64 { return h.DecodeCost(size, size) }
		limit := cost(try) - (nf.Smallest.PredictedPeakBytes - budget)
		var next, smallest *imageio.Header
		for i := range candidates {
			c := cost(candidates[i])
			if c >= cost(try) {
				continue
			}
			if c <= limit && (next == nil || c > cost(*next)) {
				next = &candidates[i]
			}
			if smallest == nil || c < cost(*smallest) {
				smallest = &candidates[i]
			}
		}
		if next == nil {
			next = smallest // the estimate says none fits: try the cheapest once before giving up
		}
		if next == nil {
			return wanwu.Load(ctx, model, opts...) // no photo fits: each is refused alone
		}
		try = *next
	}
}

// admit refuses a photo whose decoding would take the process past the budget, from its header.
func admit(m *wanwu.Model, budget memory.Budget, h imageio.Header) error {
	if budget.Bytes <= 0 {
		return nil
	}
	if peak := m.PhotoPeak(h); peak > budget.Bytes {
		src := ""
		if budget.Source != "" {
			src = " (" + budget.Source + ")"
		}
		return fmt.Errorf("cannot be decoded within the budget: a %dx%d %s (%s on disk) needs a predicted peak of %s with this model, over the %s budget%s",
			h.Width, h.Height, strings.ToUpper(string(h.Format)), userfile.FormatBytes(h.FileBytes), memory.FormatSize(peak),
			memory.FormatSize(budget.Bytes), src)
	}
	return nil
}
