// Package labels names the classes a classifier outputs: the embedded ImageNet-1k labels in Chinese and
// English with coarse categories, loaders for user label files, and subset matching for --only filters.
package labels

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Set is an ordered list of class names; class i is output i of a model. A Set is immutable once built and
// safe for concurrent use.
type Set struct {
	en   []string   // English name as given (ImageNet: the full WordNet synonym list "tench, Tinca tinca")
	zh   []string   // Chinese name
	cats [][]string // categories per class, nil for user sets
	// synonyms reports that en holds ", "-separated synonym lists (the embedded ImageNet data), so the
	// first synonym is the display name and exact matching accepts each synonym.
	synonyms bool
	// background is the index of a class that means "no object" (背景, 0 of the 1001-class sets); -1: none.
	background int
	// english reports that en holds English names of its own (not the Chinese labels repeated).
	english bool

	once  sync.Once // builds the matching index on first Match
	index *matchIndex
}

// Background is the index of the class that stands for "none of these" (背景: index 0 of
// ImageNetWithBackground), or -1 when the set has none. Classifiers list it under no name.
func (s *Set) Background() int { return s.background }

// HasEnglish reports whether the set has English names of its own: the built-in sets, and user files with
// an English column. A plain label file's one name is its Chinese (or only) label.
func (s *Set) HasEnglish() bool { return s.english }

// Len is the number of classes.
func (s *Set) Len() int { return len(s.zh) }

// English returns the English name of class i as stored: for ImageNet the full synonym list in the standard
// order ("great white shark, white shark, man-eater, ..."), for user sets the label from the file.
// It panics if i is out of range.
func (s *Set) English(i int) string { return s.en[i] }

// EnglishShort returns the first synonym of English(i) ("great white shark"), the usual display name.
// For user sets it equals English(i).
func (s *Set) EnglishShort(i int) string {
	if !s.synonyms {
		return s.en[i]
	}
	en, _, _ := strings.Cut(s.en[i], ", ")
	return en
}

// Chinese returns the Chinese name of class i. For user sets it is the label from the file.
// It panics if i is out of range.
func (s *Set) Chinese(i int) string { return s.zh[i] }

// Categories returns the coarse categories of class i (names from [Categories]), nil where the set has
// none (user sets, the background class). The caller may modify the returned slice.
func (s *Set) Categories(i int) []string {
	if s.cats == nil || s.cats[i] == nil {
		return nil
	}
	return append([]string(nil), s.cats[i]...)
}

// Langs lists the languages Name accepts.
var Langs = []string{"zh", "en"}

// CheckLang returns an error unless lang is one Name accepts ("" counts as "zh"); use it to validate a
// user's --lang flag before calling Name, which panics on an unknown language.
func CheckLang(lang string) error {
	switch lang {
	case "", "zh", "en":
		return nil
	}
	return fmt.Errorf("labels: unknown language %q (want zh or en)", lang)
}

// Name returns the display name of class i in lang: "zh" (or "") gives Chinese(i), "en" gives
// EnglishShort(i), the first English synonym, because the full synonym lists are too long for a top-K
// line. It panics on another lang (validate user input with [CheckLang]) or an out-of-range i.
func (s *Set) Name(i int, lang string) string {
	switch lang {
	case "", "zh":
		return s.zh[i]
	case "en":
		return s.EnglishShort(i)
	}
	panic("labels: Name: unknown language " + strconv.Quote(lang))
}

//go:embed data/imagenet.tsv
var imagenetTSV string

// imagenet parses the embedded table once; a malformed table is a build defect, so it panics.
var imagenet = sync.OnceValue(func() *Set {
	s, err := parseTable(imagenetTSV)
	if err != nil {
		panic("labels: embedded data/imagenet.tsv: " + err.Error())
	}
	return s
})

// ImageNet returns the 1000 ImageNet-1k classes in the standard order (as torchvision and ONNX model zoo
// classifiers output them), with Chinese names and categories. The returned Set is shared.
func ImageNet() *Set { return imagenet() }

var imagenetBG = sync.OnceValue(func() *Set {
	in := imagenet()
	s := &Set{
		en:         append([]string{"background"}, in.en...),
		zh:         append([]string{"背景"}, in.zh...),
		cats:       append([][]string{nil}, in.cats...),
		synonyms:   true,
		background: 0,
		english:    true,
	}
	return s
})

// ImageNetWithBackground returns 1001 classes: index 0 is "background" (背景, no categories), then the 1000
// ImageNet classes shifted by one. This is what the TF1/Coral MobileNet TFLite models output.
func ImageNetWithBackground() *Set { return imagenetBG() }

// parseTable reads the embedded format: index<TAB>english<TAB>chinese<TAB>cat1,cat2 per line, indices
// 0,1,2,... in order, every field non-empty, every category from the fixed list.
func parseTable(data string) (*Set, error) {
	data = strings.TrimSuffix(data, "\n")
	lines := strings.Split(data, "\n")
	s := &Set{
		en:         make([]string, 0, len(lines)),
		zh:         make([]string, 0, len(lines)),
		cats:       make([][]string, 0, len(lines)),
		synonyms:   true,
		background: -1,
		english:    true,
	}
	for n, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("line %d: %d fields, want 4", n+1, len(f))
		}
		if idx, err := strconv.Atoi(f[0]); err != nil || idx != n {
			return nil, fmt.Errorf("line %d: index %q, want %d", n+1, f[0], n)
		}
		for k, v := range f {
			if v == "" || strings.TrimSpace(v) != v {
				return nil, fmt.Errorf("line %d: field %d empty or padded: %q", n+1, k+1, v)
			}
		}
		cs := strings.Split(f[3], ",")
		for _, c := range cs {
			if !IsCategory(c) {
				return nil, fmt.Errorf("line %d: unknown category %q", n+1, c)
			}
		}
		s.en = append(s.en, f[1])
		s.zh = append(s.zh, f[2])
		s.cats = append(s.cats, cs)
	}
	return s, nil
}
