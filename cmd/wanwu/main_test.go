package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// runCLI runs the command in-process with a cache in a temp dir and ../shared as the mirror.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("WANWU_HOME", t.TempDir())
	t.Setenv("WANWU_MIRROR", filepath.Dir(testutil.Shared(t, "models", catalog.DefaultModel+".tflite"))+","+
		filepath.Dir(testutil.Shared(t, "images", "parrot.jpg")))
	var out, errb bytes.Buffer
	code = NewMain(&out, &errb).Run(context.Background(), args)
	return out.String(), errb.String(), code
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"classify"},
		{"classify", "--top-k", "0", "x.jpg"},
		{"classify", "--lang", "fr", "x.jpg"},
		{"classify", "--format", "xml", "x.jpg"},
		{"classify", "--no-such-flag", "x.jpg"},
		{"no-such-command"},
		{"inspect"},
		{"run", "--model", "m.onnx"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
		if stderr == "" {
			t.Errorf("%v: no message on stderr", args)
		}
	}
}

func TestVersionAndModels(t *testing.T) {
	out, _, code := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "wanwu ") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
	out, _, code = runCLI(t, "models")
	if code != 0 || !strings.Contains(out, catalog.DefaultModel+" (default)") {
		t.Fatalf("models: exit %d, %q", code, out)
	}
}

type record struct {
	File        string `json:"file"`
	Model       string `json:"model"`
	InputSize   []int  `json:"input_size"`
	Precision   string `json:"precision"`
	Predictions []struct {
		Index   int     `json:"index"`
		Label   string  `json:"label"`
		LabelEn string  `json:"label_en"`
		Score   float64 `json:"score"`
	} `json:"predictions"`
	ElapsedMS *float64 `json:"elapsed_ms"`
	Error     string   `json:"error"`
}

func TestClassifyParrotJSONL(t *testing.T) {
	parrot := testutil.Shared(t, "images", "parrot.jpg")
	out, stderr, code := runCLI(t, "classify", "--format", "jsonl", parrot)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r record
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		t.Fatalf("bad jsonl %q: %v", out, err)
	}
	if r.File != parrot || r.Model != catalog.DefaultModel || len(r.InputSize) != 2 || r.InputSize[0] != 224 ||
		r.Precision != "uint8" || r.ElapsedMS == nil || len(r.Predictions) < 1 || len(r.Predictions) > 5 {
		t.Fatalf("record does not follow the contract: %+v", r)
	}
	top := r.Predictions[0]
	if top.LabelEn != "macaw" || top.Label != "金刚鹦鹉" || top.Index != 89 {
		t.Fatalf("top-1 = %+v, want macaw (index 89 counting background) 金刚鹦鹉", top)
	}
}

func TestClassifyFolderWithCorruptFile(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(testutil.Shared(t, "images", "hot_dog.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "good.jpg"), good, 0o644)
	os.WriteFile(filepath.Join(dir, "broken.jpg"), good[:500], 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	out, stderr, code := runCLI(t, "classify", "--format", "json", dir)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1 (stderr %q)", code, stderr)
	}
	var recs []record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("bad json %q: %v", out, err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2 (the .txt file is not an image): %+v", len(recs), recs)
	}
	for _, r := range recs {
		switch filepath.Base(r.File) {
		case "broken.jpg":
			if r.Error == "" || !strings.Contains(r.Error, "broken.jpg") {
				t.Errorf("corrupt file: error %q should name the file", r.Error)
			}
		case "good.jpg":
			if r.Error != "" || len(r.Predictions) == 0 || r.Predictions[0].LabelEn != "hotdog" {
				t.Errorf("good photo: %+v", r)
			}
		}
	}
}

func TestClassifyTextOutputIsChinese(t *testing.T) {
	out, stderr, code := runCLI(t, "classify", testutil.Shared(t, "images", "cat.bmp"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "猫") || !strings.Contains(out, "%") {
		t.Fatalf("text output should name a cat in Chinese with a percentage: %q", out)
	}
}

func TestClassifyMissingFile(t *testing.T) {
	_, stderr, code := runCLI(t, "classify", filepath.Join(t.TempDir(), "nope.jpg"))
	if code != exitFailure || !strings.Contains(stderr, "nope.jpg") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
