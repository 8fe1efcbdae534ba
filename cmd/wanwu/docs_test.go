package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wanwu-ai/wanwu/internal/testutil"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/cli.md from the command definitions")

// renderCLIDocs writes the reference for every subcommand, from the same definitions the binary uses.
func renderCLIDocs(root *cobra.Command) string {
	var b bytes.Buffer
	b.WriteString("# wanwu command line\n\n")
	b.WriteString("<!-- Generated from cmd/wanwu by `go test ./cmd/wanwu -run TestCLIDocs -update`; do not edit. -->\n\n")
	b.WriteString(strings.TrimSpace(root.Long) + "\n")
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		fmt.Fprintf(&b, "\n## wanwu %s\n\n%s\n\n", c.Name(), c.Short)
		fmt.Fprintf(&b, "```\nwanwu %s\n```\n", c.Use)
		if c.Long != "" {
			fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(c.Long))
		}
		var flags []string
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			name := "--" + f.Name
			if f.Shorthand != "" {
				name = "-" + f.Shorthand + ", " + name
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "[]" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
				def = fmt.Sprintf(" (default `%s`)", f.DefValue)
			}
			flags = append(flags, fmt.Sprintf("| `%s` | %s%s |", name, strings.ReplaceAll(f.Usage, "|", "\\|"), def))
		})
		if len(flags) > 0 {
			b.WriteString("\n| flag | meaning |\n|---|---|\n")
			b.WriteString(strings.Join(flags, "\n"))
			b.WriteString("\n")
		}
	}
	return b.String()
}

// docs/cli.md must describe the commands as they are; run with -update after changing a command.
func TestCLIDocs(t *testing.T) {
	want := renderCLIDocs(NewMain(nil, nil).rootCommand())
	path := filepath.Join(testutil.RepoRoot(t), "docs", "cli.md")
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./cmd/wanwu -run TestCLIDocs -update)", err)
	}
	if string(got) != want {
		t.Fatalf("docs/cli.md is out of date: go test ./cmd/wanwu -run TestCLIDocs -update")
	}
}
