//go:build unix

// Command hostile writes the hostile-input corpus (package hostile) into a folder and lists it:
//
//	go run ./tools/hostile/cmd/hostile DIR
package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/wanwu-ai/wanwu/tools/hostile"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hostile DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cases, err := hostile.Write(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tKIND\tBYTES\tABOUT")
	for _, c := range cases {
		size := "-"
		if st, err := os.Lstat(c.Path); err == nil && st.Mode().IsRegular() {
			size = fmt.Sprint(st.Size())
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.Name, c.Kind, size, c.About)
	}
	w.Flush()
}
