package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// photoFolder links n copies of the shared parrot into a temp folder (p0.jpg, p1.jpg, ...).
func photoFolder(t *testing.T, n int) (dir string, files []string) {
	t.Helper()
	dir = t.TempDir()
	parrot := testutil.Shared(t, "images", "parrot.jpg")
	for i := range n {
		p := filepath.Join(dir, "p"+strconv.Itoa(i)+".jpg")
		if err := os.Symlink(parrot, p); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	return dir, files
}

// TestPanicIsThatPhotosError: a panic while classifying one photo (here from the classifier itself)
// becomes that photo's error, with the stack on stderr; the photos after it are classified; exit 1.
func TestPanicIsThatPhotosError(t *testing.T) {
	dir, files := photoFolder(t, 3)
	var out, errb bytes.Buffer
	runCLI(t) // the cache and mirror environment
	m := NewMain(&out, &errb)
	m.classifyFile = func(model *wanwu.Model, ctx context.Context, path string, topK int) (wanwu.Result, error) {
		if path == files[1] {
			var idx []int
			_ = idx[len(path)] // index out of range
		}
		return model.ClassifyFile(ctx, path, topK)
	}
	code := m.Run(context.Background(), []string{"classify", "--format", "json", dir})
	if code != exitFailure {
		t.Fatalf("exit %d, want 1; stderr %s", code, errb.String())
	}
	var recs []record
	if err := json.Unmarshal(out.Bytes(), &recs); err != nil || len(recs) != 3 {
		t.Fatalf("%d records (%v) in %s", len(recs), err, out.String())
	}
	for i, r := range recs {
		if r.File != files[i] {
			t.Errorf("record %d is for %s, want %s", i, r.File, files[i])
		}
		if i == 1 {
			if !strings.Contains(r.Error, files[1]) || !strings.Contains(r.Error, "internal error (panic: runtime error: index out of range") {
				t.Errorf("the panicking photo's error: %q", r.Error)
			}
			continue
		}
		if r.Error != "" || len(r.Predictions) == 0 || r.Predictions[0].LabelEn != "macaw" {
			t.Errorf("photo %d, before or after the panic: %+v", i, r)
		}
	}
	if !strings.Contains(errb.String(), "classify_test.go") {
		t.Errorf("stderr lacks the panic's stack: %s", errb.String())
	}
}

// TestInterruptedRunKeepsResults: a classify interrupted mid-folder has printed every result before the
// interruption, its json array is closed, and it exits 130, not 2.
func TestInterruptedRunKeepsResults(t *testing.T) {
	for _, format := range []string{"json", "jsonl", "csv", "text"} {
		t.Run(format, func(t *testing.T) {
			dir, files := photoFolder(t, 4)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errb bytes.Buffer
			runCLI(t)
			m := NewMain(&out, &errb)
			m.classifyFile = func(model *wanwu.Model, _ context.Context, path string, topK int) (wanwu.Result, error) {
				if path == files[1] {
					cancel() // the signal arrives while the second photo runs
				}
				return model.ClassifyFile(context.Background(), path, topK)
			}
			code := m.Run(ctx, []string{"classify", "--format", format, dir})
			if code != exitInterrupted {
				t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupted, errb.String())
			}
			if !strings.Contains(errb.String(), "interrupted after 2 of 4 files") {
				t.Errorf("stderr %q", errb.String())
			}
			for i, f := range files {
				if got := strings.Contains(out.String(), f); got != (i < 2) {
					t.Errorf("%s in the output: %v, want %v", f, got, i < 2)
				}
			}
			if format == "json" {
				var recs []record
				if err := json.Unmarshal(out.Bytes(), &recs); err != nil || len(recs) != 2 {
					t.Errorf("json after an interruption: %d records, %v:\n%s", len(recs), err, out.String())
				}
			}
		})
	}
}

// TestJSONStreamsAndMatchesOneArray: json output is written record by record, and the whole is exactly
// the indented array encoding/json writes for the same records.
func TestJSONStreamsAndMatchesOneArray(t *testing.T) {
	var out bytes.Buffer
	w := newResultWriter(&out, &out, "json")
	ms := 1.5
	recs := []wanwu.Record{
		{File: "a<b>&.jpg", Model: "m", InputSize: []int{224, 224}, Predictions: []wanwu.Prediction{{Index: 1, Label: "猫", LabelEn: "cat", Score: 0.5}}, ElapsedMS: &ms},
		{File: "bad.jpg", Error: "bad.jpg: truncated"},
	}
	for i, r := range recs {
		if err := w.write(r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), r.File) {
			t.Fatalf("record %d not written before the next one", i)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(recs)
	if out.String() != want.String() {
		t.Errorf("streamed json:\n%s\nwant:\n%s", out.String(), want.String())
	}
	out.Reset()
	empty := newResultWriter(&out, &out, "json")
	empty.close()
	if out.String() != "[]\n" {
		t.Errorf("no records: %q", out.String())
	}
}

// TestNonRegularFilesAreRefusedUnopened: a named pipe and /dev/zero, named or in a folder, each get their
// own error without being opened (no hang, no endless read); the photo beside them is classified.
func TestNonRegularFilesAreRefusedUnopened(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	dir, files := photoFolder(t, 1)
	fifo := filepath.Join(dir, "pipe.jpg")
	if err := mkfifo(fifo); err != nil {
		t.Skip(err)
	}
	zero := filepath.Join(dir, "zero.png")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{dir}, {fifo, "/dev/zero", files[0]}} {
		out, stderr, code := runCLI(t, append([]string{"classify", "--format", "jsonl"}, args...)...)
		if code != exitFailure {
			t.Fatalf("%v: exit %d, stderr %s", args, code, stderr)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var r record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			n++
			switch r.File {
			case files[0]:
				if r.Error != "" {
					t.Errorf("%v: the photo failed: %s", args, r.Error)
				}
			case fifo:
				if !strings.Contains(r.Error, "not a regular file (a named pipe)") {
					t.Errorf("%v: pipe: %q", args, r.Error)
				}
			case zero, "/dev/zero":
				if !strings.Contains(r.Error, "not a regular file (a character device)") {
					t.Errorf("%v: /dev/zero: %q", args, r.Error)
				}
			default:
				t.Errorf("%v: a record for %s", args, r.File)
			}
		}
		if n != 3 {
			t.Errorf("%v: %d records, want 3:\n%s", args, n, out)
		}
	}
}

// TestOutsizedPhotoFailsAlone: the 54-byte BMP header declaring 10000x10000 in a folder is refused
// alone, by its header, under --budget 64MiB; the model is sized for the photos it can take and the
// photo beside it is classified (before, the whole run stopped with "does not fit").
func TestOutsizedPhotoFailsAlone(t *testing.T) {
	dir, files := photoFolder(t, 1)
	hdr := []byte("BM")
	for _, v := range []uint32{54 + 300_000_000, 0, 54, 40, 10000, 10000} {
		hdr = binary.LittleEndian.AppendUint32(hdr, v)
	}
	hdr = binary.LittleEndian.AppendUint16(hdr, 1)
	hdr = binary.LittleEndian.AppendUint16(hdr, 24)
	for _, v := range []uint32{0, 300_000_000, 2835, 2835, 0, 0} {
		hdr = binary.LittleEndian.AppendUint32(hdr, v)
	}
	bomb := filepath.Join(dir, "bomb.bmp")
	if err := os.WriteFile(bomb, hdr, 0o644); err != nil || len(hdr) != 54 {
		t.Fatal(err, len(hdr))
	}
	out, stderr, code := runCLI(t, "classify", "--budget", "64MiB", "--format", "jsonl", dir)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	recs := map[string]record{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v in %q", err, out)
		}
		recs[r.File] = r
	}
	if r := recs[bomb]; !strings.Contains(r.Error, bomb+": cannot be decoded within the budget: a 10000x10000 BMP (54 bytes on disk)") ||
		!strings.Contains(r.Error, "over the 64.0 MiB budget (--budget)") {
		t.Errorf("the bomb's error: %q", r.Error)
	}
	if r := recs[files[0]]; r.Error != "" || len(r.Predictions) == 0 || r.Predictions[0].LabelEn != "macaw" {
		t.Errorf("the parrot beside it: %+v", r)
	}
}
