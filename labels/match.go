package labels

import (
	"errors"
	"fmt"
	"strings"
)

// MatchMode says how a query is compared with class names in [Set.Match].
type MatchMode int

const (
	// MatchSubstring (the default) selects the classes whose Chinese or English name contains the query:
	// 鹦鹉 selects 金刚鹦鹉, 非洲灰鹦鹉, ...
	MatchSubstring MatchMode = iota
	// MatchExact selects the classes whose Chinese name, English name or (for ImageNet) one English
	// synonym equals the query: "crane" selects the bird 鹤 and the machine 起重机, 猫 selects nothing
	// by name but all the domestic cats through the category.
	MatchExact
)

func (m MatchMode) String() string {
	switch m {
	case MatchSubstring:
		return "substring"
	case MatchExact:
		return "exact"
	}
	return fmt.Sprintf("MatchMode(%d)", int(m))
}

// matchIndex holds the lower-cased names, built once per Set on the first Match.
type matchIndex struct {
	zh, en []string         // en is nil where English and Chinese are the same slice (user sets)
	byCat  map[string][]int // category -> classes, ascending
}

func (s *Set) matchIndex() *matchIndex {
	s.once.Do(func() {
		ix := &matchIndex{zh: lowerAll(s.zh)}
		if len(s.en) > 0 && &s.en[0] != &s.zh[0] {
			ix.en = lowerAll(s.en)
		}
		if s.cats != nil {
			ix.byCat = make(map[string][]int)
			for i, cs := range s.cats {
				for _, c := range cs {
					c = strings.ToLower(c) // queries are lower-cased: "Fruit" from a user file matches fruit
					ix.byCat[c] = append(ix.byCat[c], i)
				}
			}
		}
		s.index = ix
	})
	return s.index
}

// lowerAll lower-cases every name; strings.ToLower returns names without upper-case letters (all of the
// Chinese ones) without copying them.
func lowerAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

// Match returns the classes selected by any of the queries (as for `--only 猫,狗,鹦鹉`), ascending and
// without duplicates. A query selects a class when it matches the class's Chinese or English name under
// mode (English ignoring case; queries are trimmed of spaces) or when it names one of the class's
// categories exactly (狗 selects every dog breed, 食物 every dish). A query that selects nothing is an
// error naming it, so that a typo does not silently narrow the result ([Set.MatchSome] forgives it when
// others match). Each query costs one pass over the names: a few milliseconds for a 54,000-class set.
func (s *Set) Match(queries []string, mode MatchMode) ([]int, error) {
	out, missed, err := s.MatchSome(queries, mode)
	if err == nil && len(missed) > 0 {
		err = noMatch(missed, mode)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MatchSome is Match that tolerates queries selecting nothing as long as one selects something: it
// returns them, as given, for a warning. Every query selecting nothing is still an error.
func (s *Set) MatchSome(queries []string, mode MatchMode) (classes []int, unmatched []string, err error) {
	if mode != MatchSubstring && mode != MatchExact {
		panic("labels: Match: invalid " + mode.String())
	}
	if len(queries) == 0 {
		return nil, nil, errors.New("labels: no queries to match")
	}
	ix := s.matchIndex()
	hit := make([]bool, s.Len())
	for _, query := range queries {
		q := strings.ToLower(strings.TrimSpace(query))
		if q == "" {
			return nil, nil, errors.New("labels: empty query")
		}
		found := false
		for _, i := range ix.byCat[q] {
			hit[i], found = true, true
		}
		for i := range ix.zh {
			if s.matches(ix, i, q, mode) {
				hit[i], found = true, true
			}
		}
		if !found {
			unmatched = append(unmatched, strings.TrimSpace(query))
		}
	}
	for i, h := range hit {
		if h {
			classes = append(classes, i)
		}
	}
	if len(classes) == 0 {
		return nil, unmatched, noMatch(unmatched, mode)
	}
	return classes, unmatched, nil
}

// noMatch is the error for queries that select no class.
func noMatch(missed []string, mode MatchMode) error {
	quoted := make([]string, len(missed))
	for i, q := range missed {
		quoted[i] = fmt.Sprintf("%q", strings.ToLower(q))
	}
	return fmt.Errorf("labels: no class matches %s (%s match on Chinese and English names and categories)",
		strings.Join(quoted, ", "), mode)
}

// matches compares the lower-cased query q with class i.
func (s *Set) matches(ix *matchIndex, i int, q string, mode MatchMode) bool {
	if mode == MatchSubstring {
		return strings.Contains(ix.zh[i], q) || (ix.en != nil && strings.Contains(ix.en[i], q))
	}
	if ix.zh[i] == q {
		return true
	}
	if ix.en == nil {
		return false
	}
	en := ix.en[i]
	if en == q {
		return true
	}
	if s.synonyms && strings.Contains(en, q) { // cheap filter before splitting the synonym list
		for syn := range strings.SplitSeq(en, ", ") {
			if syn == q {
				return true
			}
		}
	}
	return false
}
