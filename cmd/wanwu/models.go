package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wanwu-ai/wanwu/catalog"
)

func (m *Main) modelsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "models",
		Short: "List the built-in model catalog and whether each model is cached",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			f := &catalog.Fetcher{}
			home, err := catalog.Home()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(m.Stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tINPUT\tSIZE\tCACHED\tDESCRIPTION")
			for _, e := range catalog.Models() {
				cached := "no"
				if f.Cached(e) {
					cached = "yes"
				}
				def := ""
				if e.Name == catalog.DefaultModel {
					def = " (default)"
				}
				fmt.Fprintf(tw, "%s%s\t%dx%d\t%.1f MB\t%s\t%s\n", e.Name, def, e.InputSize, e.InputSize,
					float64(e.Size)/1e6, cached, e.Description)
			}
			tw.Flush()
			fmt.Fprintf(m.Stdout, "\ncache: %s (set WANWU_HOME to move it; WANWU_MIRROR to fetch from a mirror)\n", home)
			return nil
		},
	}
}

func (m *Main) fetchCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "fetch NAME...",
		Short: "Download and verify catalog models or sample photos into the cache; print their paths",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f := &catalog.Fetcher{Progress: progressWriter(m.Stderr)}
			for _, name := range args {
				e, err := catalog.Model(name)
				if err != nil {
					if e, err = catalog.Sample(name); err != nil {
						return fmt.Errorf("no catalog model or sample photo named %q", name)
					}
				}
				p, err := f.Fetch(c.Context(), e)
				if err != nil {
					return err
				}
				fmt.Fprintln(m.Stdout, p)
			}
			return nil
		},
	}
}
