package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/wanwu-ai/wanwu"
)

// resultWriter renders records in the chosen format as each photo finishes, so a run that stops early
// (interrupted, or killed) has already printed every result it computed. json writes its array one
// element at a time: "[" before the first record, "]" on close.
type resultWriter struct {
	stdout, stderr io.Writer
	format         string
	csv            *csv.Writer
	written        int
}

// utf8BOM starts the csv-bom format: spreadsheet programs (Excel) read a CSV as the system's legacy
// code page unless it starts with a byte-order mark, which turns every Chinese label into mojibake.
const utf8BOM = "\uFEFF"

func newResultWriter(stdout, stderr io.Writer, format string) *resultWriter {
	w := &resultWriter{stdout: stdout, stderr: stderr, format: format}
	if format == "csv-bom" {
		io.WriteString(stdout, utf8BOM)
		w.format = "csv"
	}
	if w.format == "csv" {
		w.csv = csv.NewWriter(stdout)
		w.csv.Write([]string{"file", "rank", "index", "label", "label_en", "score", "elapsed_ms", "error"})
		w.csv.Flush()
	}
	return w
}

func (w *resultWriter) write(r wanwu.Record) error {
	defer func() { w.written++ }()
	switch w.format {
	case "json":
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("  ", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return err
		}
		sep := ",\n  "
		if w.written == 0 {
			sep = "[\n  "
		}
		_, err := io.WriteString(w.stdout, sep+strings.TrimSuffix(b.String(), "\n"))
		return err
	case "jsonl":
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w.stdout, "%s\n", b)
		return err
	case "csv":
		if r.Error != "" {
			w.csv.Write([]string{r.File, "", "", "", "", "", "", r.Error})
		}
		for i, p := range r.Predictions {
			w.csv.Write([]string{r.File, strconv.Itoa(i + 1), strconv.Itoa(p.Index), p.Label, p.LabelEn,
				strconv.FormatFloat(p.Score, 'f', 6, 64), strconv.FormatFloat(*r.ElapsedMS, 'f', 3, 64), ""})
		}
		w.csv.Flush()
		return w.csv.Error()
	default:
		if r.Error != "" {
			_, err := fmt.Fprintf(w.stderr, "%s: error: %s\n", r.File, strings.TrimPrefix(r.Error, r.File+": "))
			return err
		}
		parts := make([]string, len(r.Predictions))
		for i, p := range r.Predictions {
			parts[i] = fmt.Sprintf("%s %.1f%%", p.Label, 100*p.Score)
		}
		_, err := fmt.Fprintf(w.stdout, "%s: %s\n", r.File, strings.Join(parts, ", "))
		return err
	}
}

// close ends the output (json: closes the array, "[]" when no record was written).
func (w *resultWriter) close() error {
	if w.format != "json" {
		return nil
	}
	end := "\n]\n"
	if w.written == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(w.stdout, end)
	return err
}
