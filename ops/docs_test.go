package ops

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/ops.md from the registry")

// TestOpsDoc keeps docs/ops.md equal to the registry: which op types the engine runs, and where.
func TestOpsDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Supported operators\n\n")
	b.WriteString("<!-- Generated from the ops registry by `go test ./ops -run TestOpsDoc -update`; do not edit. -->\n\n")
	b.WriteString("Op names follow ONNX (latest-opset semantics; importers normalise older opsets and map TFLite\n")
	b.WriteString("builtins onto them). Quantized models run as QLinear*/QuantizeLinear ops; `--precision int8` turns\n")
	b.WriteString("float layers into DynQConv/DynQGemm. Each op lives in the file named in the table.\n\n")
	b.WriteString("| op | file | notes |\n|---|---|---|\n")
	for _, name := range Supported() {
		d := Lookup(name)
		file := "?"
		if d.Compile != nil {
			if f := runtime.FuncForPC(funcPC(d.Compile)); f != nil {
				path, _ := f.FileLine(f.Entry())
				file = "ops/" + filepath.Base(path)
			}
		}
		var notes []string
		if d.Alias {
			notes = append(notes, "view, no copy")
		}
		if d.InPlace {
			notes = append(notes, "in place")
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, file, strings.Join(notes, ", "))
	}
	want := b.String()
	path := filepath.Join("..", "docs", "ops.md")
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/ops.md is out of date: go test ./ops -run TestOpsDoc -update")
	}
}

func funcPC(f any) uintptr { return reflect.ValueOf(f).Pointer() }
