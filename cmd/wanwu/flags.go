package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/internal/userfile"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/memory"
	"github.com/wanwu-ai/wanwu/runtime"
)

// Checks and parsers for the flags several subcommands share, so each is validated, and refused with
// the same message (a usage error, exit status 2), wherever it appears.

// modelUsage is --model's help in every command. No backquotes: pflag would take a quoted word for the
// flag's value name ("--model wanwu models").
const modelUsage = "model file (.onnx, .tflite) or catalog name; wanwu models lists the catalog"

// minSize is the smallest --size accepted: an ImageNet CNN halves its input five times.
const minSize = 32

// checkThreads refuses a thread count the runtime would (runtime.CheckThreads: 0 = one per core, at
// most 4 per CPU), before anything is loaded.
func checkThreads(n int) error {
	if err := runtime.CheckThreads(n); err != nil {
		return usagef("--%v", err)
	}
	return nil
}

func checkSize(n int) error {
	if n != 0 && n < minSize {
		return usagef("--size must be 0 (the model's default) or at least %d, got %d", minSize, n)
	}
	return nil
}

// resizeUsage is --resize's help, the same in every command that takes it.
const resizeUsage = "shorter side photos are resized to before the centre crop of --size (Resize(160)/CenterCrop(128) is --resize 160 --size 128; 0 = the model's ratio, size x 256/224)"

// checkResize refuses a --resize below the smallest input or below the crop it feeds.
func checkResize(resize, size int) error {
	switch {
	case resize != 0 && resize < minSize:
		return usagef("--resize must be 0 (the model's ratio) or at least %d, got %d", minSize, resize)
	case resize != 0 && size != 0 && resize < size:
		return usagef("--resize %d is smaller than --size %d: the crop must fit in the resized photo", resize, size)
	}
	return nil
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usagef("--format must be %s, got %q", orList(allowed), format)
}

// orList renders [a b c] as "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// checkPrecision accepts the precisions the engine offers (wanwu.Precisions) and auto.
func checkPrecision(p string) error {
	if p != "auto" && !slices.Contains(wanwu.Precisions(), p) {
		return usagef("--precision must be %s or auto, got %q", strings.Join(wanwu.Precisions(), ", "), p)
	}
	return nil
}

// parseSizeFlag reads a positive byte count given to --name (memory.ParseSize units).
func parseSizeFlag(name, s string) (int64, error) {
	n, err := memory.ParseSize(s)
	if err != nil {
		return 0, usagef("--%s: %v", name, err)
	}
	if n <= 0 {
		return 0, usagef("--%s must be positive, got %q", name, s)
	}
	return n, nil
}

// maxOnlyFileBytes bounds --only-file: a list of class names or categories (54,000 names are about 1 MiB).
const maxOnlyFileBytes = 8 << 20

// onlyFlags choose a class subset: --only, --only-file, --only-mode.
type onlyFlags struct {
	only, file, mode string
}

func (o *onlyFlags) register(fl *pflag.FlagSet, onlyUsage string) {
	fl.StringVar(&o.only, "only", "", onlyUsage)
	fl.StringVar(&o.file, "only-file", "", "like --only, one name or category per line")
	fl.StringVar(&o.mode, "only-mode", "substring", "how --only matches class names: substring or exact (categories always match exactly)")
}

func (o onlyFlags) validate() error {
	if o.mode != "substring" && o.mode != "exact" {
		return usagef("--only-mode must be substring or exact, got %q", o.mode)
	}
	return nil
}

// option is the Load option for the subset (nil when none is asked for).
func (o onlyFlags) option() (wanwu.Option, error) {
	queries, err := o.queries()
	if err != nil || len(queries) == 0 {
		return nil, err
	}
	mode := labels.MatchSubstring
	if o.mode == "exact" {
		mode = labels.MatchExact
	}
	return wanwu.WithOnly(queries, mode), nil
}

// warnUnmatched tells the user which --only words selected no class (the run goes on with the others).
func warnUnmatched(w io.Writer, unmatched []string) {
	for _, u := range unmatched {
		fmt.Fprintf(w, "wanwu: warning: --only: no class matches %q; ignored\n", u)
	}
}

// queries collects --only (comma-separated, ASCII or Chinese commas) and --only-file (one per line).
func (o onlyFlags) queries() ([]string, error) {
	var qs []string
	for _, q := range strings.FieldsFunc(o.only, func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == '\n' || r == '\r' }) {
		if q = strings.TrimSpace(q); q != "" {
			qs = append(qs, q)
		}
	}
	if o.file != "" {
		b, err := userfile.ReadFile(o.file, maxOnlyFileBytes, "an --only-file", userfile.CheckText)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				qs = append(qs, line) // a line is one query: names may contain commas
			}
		}
		if len(qs) == 0 {
			return nil, fmt.Errorf("%s: no class names in --only-file", o.file)
		}
	}
	return qs, nil
}
