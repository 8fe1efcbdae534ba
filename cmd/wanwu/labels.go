package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/labels"
)

type labelsFlags struct {
	model, labels, cats string
	categories          bool
	only                onlyFlags
}

func (m *Main) labelsCommand() *cobra.Command {
	var f labelsFlags
	c := &cobra.Command{
		Use:   "labels [--model M] [--labels FILE] [--categories-file FILE] [--categories | --only WORDS]",
		Short: "List a model's classes, its categories, or the classes --only would keep",
		Long: `List the classes a model names (index, label, English name, categories; tab-separated), with
--categories its categories and how many classes each holds, or with --only the classes that --only
would keep in classify, plan and serve. Nothing is compiled. The label file formats and the categories
file are in docs/labels.md.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error { return m.listLabels(c, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", catalog.DefaultModel, modelUsage)
	fl.StringVar(&f.labels, "labels", "", "label file (see wanwu classify --help)")
	fl.StringVar(&f.cats, "categories-file", "", categoriesUsage)
	fl.BoolVar(&f.categories, "categories", false, "list the categories (name, number of classes, the first few) instead of the classes")
	f.only.register(fl, "list only the classes these names or categories select (as classify --only would keep)")
	return c
}

func (m *Main) listLabels(c *cobra.Command, f labelsFlags) error {
	if err := f.only.validate(); err != nil {
		return err
	}
	queries, err := f.only.queries()
	if err != nil {
		return err
	}
	if f.categories && len(queries) > 0 {
		return usagef("--categories lists every category; it does not take --only")
	}
	opts := []wanwu.Option{wanwu.WithFetcher(&catalog.Fetcher{Progress: progressWriter(m.Stderr)})}
	if f.labels != "" {
		opts = append(opts, wanwu.WithLabelFile(f.labels))
	}
	if f.cats != "" {
		opts = append(opts, wanwu.WithCategoryFile(f.cats))
	}
	ls, err := wanwu.ModelLabels(c.Context(), f.model, opts...)
	if err != nil {
		return err
	}
	if f.categories {
		cats := ls.CategoryList()
		if len(cats) == 0 {
			return fmt.Errorf("%s: the labels have no categories (add a categories column or --categories-file; docs/labels.md)", f.model)
		}
		for _, cc := range cats {
			var first []string
			for _, i := range cc.Classes[:min(5, len(cc.Classes))] {
				first = append(first, ls.Chinese(i))
			}
			fmt.Fprintf(m.Stdout, "%s\t%d\t%s\n", cc.Name, len(cc.Classes), strings.Join(first, ","))
		}
		return nil
	}
	classes := make([]int, ls.Len())
	for i := range classes {
		classes[i] = i
	}
	if len(queries) > 0 {
		mode := labels.MatchSubstring
		if f.only.mode == "exact" {
			mode = labels.MatchExact
		}
		var unmatched []string
		if classes, unmatched, err = ls.MatchSome(queries, mode); err != nil {
			return err
		}
		warnUnmatched(m.Stderr, unmatched)
	}
	for _, i := range classes {
		en := ""
		if ls.HasEnglish() {
			en = ls.Name(i, "en")
		}
		fmt.Fprintf(m.Stdout, "%d\t%s\t%s\t%s\n", i, ls.Chinese(i), en, strings.Join(ls.Categories(i), ","))
	}
	return nil
}
