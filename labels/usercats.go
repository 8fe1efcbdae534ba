package labels

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wanwu-ai/wanwu/internal/userfile"
)

// tableColumns are the column names a label table's header may use (see [Parse]).
var tableColumns = []string{"index", "label", "label_en", "categories"}

// tableHeader returns the columns of a label table's first line when it is a header: tab-separated names
// from tableColumns, "label" among them, none twice. Any other first line is a label (nil).
func tableHeader(first string) []string {
	cols := strings.Split(strings.TrimSuffix(first, "\r"), "\t")
	for i, c := range cols {
		cols[i] = strings.ToLower(strings.TrimSpace(c))
		if !slices.Contains(tableColumns, cols[i]) || slices.Index(cols, cols[i]) < i {
			return nil
		}
	}
	if !slices.Contains(cols, "label") {
		return nil
	}
	return cols
}

// parseUserTable reads a label table: a header line naming the columns (tableHeader), then one class per
// line. label is required; label_en may be empty (no English name); categories is a comma-separated
// list (ASCII or Chinese commas, 、); index, when present, must count 0, 1, 2, ...
func parseUserTable(cols []string, data []byte) (*Set, error) {
	lines := strings.Split(string(data), "\n")[1:]
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > MaxLabels {
		return nil, fmt.Errorf("%d labels, more than the limit of %d", len(lines), MaxLabels)
	}
	s := &Set{zh: make([]string, len(lines)), background: -1}
	hasEn, hasCats := slices.Contains(cols, "label_en"), slices.Contains(cols, "categories")
	if hasEn {
		s.en, s.english = make([]string, len(lines)), true
	} else {
		s.en = s.zh
	}
	if hasCats {
		s.cats = make([][]string, len(lines))
	}
	for i, line := range lines {
		f := strings.Split(strings.TrimSuffix(line, "\r"), "\t")
		if len(f) > len(cols) {
			return nil, fmt.Errorf("line %d: %d tab-separated fields, the header names %d", i+2, len(f), len(cols))
		}
		for k, col := range cols {
			v := ""
			if k < len(f) {
				v = strings.TrimSpace(f[k])
			}
			switch col {
			case "index":
				if v != fmt.Sprint(i) {
					return nil, fmt.Errorf("line %d: index %q, want %d (classes in output order)", i+2, v, i)
				}
			case "label":
				if v == "" {
					return nil, fmt.Errorf("line %d: empty label", i+2)
				}
				s.zh[i] = v
			case "label_en":
				s.en[i] = v
			case "categories":
				s.cats[i] = splitNames(v)
			}
		}
	}
	return s, nil
}

// splitNames splits a list on ASCII and Chinese commas and 、, trimming spaces and dropping empty names.
func splitNames(v string) []string {
	var out []string
	for _, n := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '，' || r == '、' }) {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// maxCategoryFileBytes bounds a categories file: every class of a MaxLabels set named once.
const maxCategoryFileBytes = 32 << 20

// LoadCategories reads a categories file and returns s with those categories added to its classes (s
// itself is not changed). The format, one category per line:
//
//	# comment
//	水果: 苹果, 香蕉, 橙子
//	饮料：咖啡、茶, milk
//
// A category name, a colon (ASCII or full-width), then class names separated by commas (ASCII or
// Chinese) or 、. A class name is the class's label (Chinese) or English name, exactly (English ignoring
// case); a name that is no class of s is an error naming the file and line, as is a line without a colon.
// A category may span several lines; a class may be in several categories.
func LoadCategories(path string, s *Set) (*Set, error) {
	data, err := userfile.ReadFile(path, maxCategoryFileBytes, "a categories file", userfile.CheckText)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	return ParseCategories(path, data, s)
}

// ParseCategories is LoadCategories on data already read; name is named in errors.
func ParseCategories(name string, data []byte, s *Set) (*Set, error) {
	byName := make(map[string][]int, s.Len())
	for i := 0; i < s.Len(); i++ {
		byName[s.zh[i]] = append(byName[s.zh[i]], i)
		if s.english {
			for _, en := range []string{s.en[i], s.EnglishShort(i)} {
				if k := strings.ToLower(en); k != "" && k != s.zh[i] && !slices.Contains(byName[k], i) {
					byName[k] = append(byName[k], i)
				}
			}
		}
	}
	cats := make([][]string, s.Len())
	for i := range cats {
		cats[i] = s.Categories(i)
	}
	added := 0
	text := strings.TrimPrefix(string(data), "\uFEFF")
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cat, list, ok := strings.Cut(strings.Replace(line, "：", ":", 1), ":")
		cat = strings.TrimSpace(cat)
		if !ok || cat == "" {
			return nil, fmt.Errorf("labels: %s: line %d: want \"category: name, name, ...\", got %q", name, n+1, line)
		}
		for _, cls := range splitNames(list) {
			idx, found := byName[cls]
			if !found {
				idx, found = byName[strings.ToLower(cls)]
			}
			if !found {
				return nil, fmt.Errorf("labels: %s: line %d: category %s: no class is named %q", name, n+1, cat, cls)
			}
			for _, i := range idx {
				if !slices.Contains(cats[i], cat) {
					cats[i] = append(cats[i], cat)
					added++
				}
			}
		}
	}
	if added == 0 {
		return nil, fmt.Errorf("labels: %s: no categories", name)
	}
	return &Set{en: s.en, zh: s.zh, cats: cats, synonyms: s.synonyms, background: s.background, english: s.english}, nil
}

// CategoryCount is one category of a set and how many classes it holds.
type CategoryCount struct {
	Name    string
	Classes []int // ascending
}

// CategoryList lists the set's categories: the built-in ones in [Categories] order, then the others in
// the order they first appear. Empty for a set without categories.
func (s *Set) CategoryList() []CategoryCount {
	byName := map[string]int{}
	var out []CategoryCount
	for _, c := range categories {
		byName[c] = len(out)
		out = append(out, CategoryCount{Name: c})
	}
	for i, cs := range s.cats {
		for _, c := range cs {
			k, ok := byName[c]
			if !ok {
				k = len(out)
				byName[c] = k
				out = append(out, CategoryCount{Name: c})
			}
			out[k].Classes = append(out[k].Classes, i)
		}
	}
	return slices.DeleteFunc(out, func(c CategoryCount) bool { return len(c.Classes) == 0 })
}

// Table writes s as a label table (see [Parse]): a header, then each class's label, its English name
// when the set has its own, and its categories, so that Parse gives the same names and categories back.
// ok is false when a name holds a tab or line break, which no table line can carry.
func (s *Set) Table() (data []byte, ok bool) {
	var b strings.Builder
	b.WriteString("label")
	if s.english {
		b.WriteString("\tlabel_en")
	}
	if s.cats != nil {
		b.WriteString("\tcategories")
	}
	b.WriteByte('\n')
	for i := range s.zh {
		fields := []string{s.zh[i]}
		if s.english {
			fields = append(fields, s.en[i])
		}
		if s.cats != nil {
			fields = append(fields, strings.Join(s.cats[i], ","))
		}
		for _, f := range fields {
			if strings.ContainsAny(f, "\t\r\n") || f != strings.TrimSpace(f) {
				return nil, false
			}
		}
		b.WriteString(strings.Join(fields, "\t"))
		b.WriteByte('\n')
	}
	return []byte(b.String()), true
}
