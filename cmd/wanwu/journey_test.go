package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// A word of --only that matches no class is a warning on stderr and the run goes on with the others;
// when no word matches, nothing runs. serve takes the same flags.
func TestOnlyUnmatchedWordWarns(t *testing.T) {
	parrot := testutil.Shared(t, "images", "parrot.jpg")
	for _, c := range []struct {
		name     string
		args     []string
		wantCode int
		stderr   string
	}{
		{"classify one unmatched", []string{"classify", "--format", "jsonl", "--only", "鹦鹉,nosuchword", parrot}, 0, `warning: --only: no class matches "nosuchword"`},
		{"classify all unmatched", []string{"classify", "--only", "nosuchword,northisone", parrot}, exitFailure, `no class matches "nosuchword", "northisone"`},
		{"plan one unmatched", []string{"plan", "--format", "json", "--only", "鹦鹉,nosuchword"}, 0, `warning: --only: no class matches "nosuchword"`},
		{"serve all unmatched", []string{"serve", "--addr", "127.0.0.1:0", "--only", "nosuchword"}, exitFailure, `no class matches "nosuchword"`},
		{"serve bad mode", []string{"serve", "--only", "猫", "--only-mode", "fuzzy"}, exitUsage, "--only-mode must be"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, c.args...)
			if code != c.wantCode || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, c.wantCode, stderr, c.stderr)
			}
			if c.wantCode == 0 && c.args[0] == "classify" {
				var r record
				if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Predictions) == 0 || !strings.Contains(r.Predictions[0].Label, "鹦鹉") {
					t.Errorf("classify output %q (%v), want a parrot", out, err)
				}
			}
		})
	}
}
