package labels

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLabelTable(t *testing.T) {
	for _, c := range []struct {
		name, data string
		zh, en     []string
		english    bool
		cats       [][]string
		err        string
	}{
		{"label and categories", "label\tcategories\n苹果\t水果,零食\n可乐\t饮料\n", []string{"苹果", "可乐"}, []string{"苹果", "可乐"}, false, [][]string{{"水果", "零食"}, {"饮料"}}, ""},
		{"index, English, Chinese commas", "index\tlabel\tlabel_en\tcategories\r\n0\t苹果\tapple\t水果，零食、水果\r\n1\t猫\t\t宠物\r\n", []string{"苹果", "猫"}, []string{"apple", ""}, true, [][]string{{"水果", "零食"}, {"宠物"}}, ""},
		{"no categories column", "label\tlabel_en\n苹果\tapple\n", []string{"苹果"}, []string{"apple"}, true, nil, ""},
		{"wrong index", "index\tlabel\n1\t苹果\n", nil, nil, false, nil, `line 2: index "1", want 0`},
		{"empty label", "label\tcategories\n\t水果\n", nil, nil, false, nil, "line 2: empty label"},
		{"extra field", "label\n苹果\t水果\n", nil, nil, false, nil, "line 2: 2 tab-separated fields, the header names 1"},
		{"header only", "label\tcategories\n", nil, nil, false, nil, "no labels after the header"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse("t.tsv", []byte(c.data))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "t.tsv") {
					t.Fatalf("error %v, want one naming t.tsv and %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var zh, en []string
			var cats [][]string
			for i := 0; i < s.Len(); i++ {
				zh, en = append(zh, s.Chinese(i)), append(en, s.English(i))
				if cs := s.Categories(i); cs != nil {
					cats = append(cats, cs)
				}
			}
			if !slices.Equal(zh, c.zh) || !slices.Equal(en, c.en) || s.HasEnglish() != c.english ||
				!slices.EqualFunc(cats, c.cats, slices.Equal) {
				t.Errorf("got zh %q en %q english %v cats %q; want %q %q %v %q", zh, en, s.HasEnglish(), cats, c.zh, c.en, c.english, c.cats)
			}
		})
	}
}

// A categories file adds categories that --only selects (exactly, English ignoring case); a name that is
// no class is an error naming the file and line.
func TestCategoriesFile(t *testing.T) {
	base, err := Parse("l.txt", []byte("苹果\n香蕉\n咖啡\n薯片\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name, data string
		query      string
		want       []int
		err        string
	}{
		{"colon and commas", "# 水果和零食\n水果: 苹果, 香蕉\n零食：薯片、香蕉\n", "零食", []int{1, 3}, ""},
		{"several lines", "Drinks: 咖啡\nDrinks: 薯片\n", "drinks", []int{2, 3}, ""},
		{"unknown class", "水果: 苹果, 榴莲\n", "", nil, `cats.txt: line 1: category 水果: no class is named "榴莲"`},
		{"no colon", "水果 苹果\n", "", nil, "cats.txt: line 1: want"},
		{"nothing", "# only a comment\n", "", nil, "cats.txt: no categories"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "cats.txt")
			os.WriteFile(path, []byte(c.data), 0o644)
			s, err := LoadCategories(path, base)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Match([]string{c.query}, MatchExact)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("Match(%q) = %v, %v; want %v", c.query, got, err, c.want)
			}
			if base.Categories(0) != nil {
				t.Error("LoadCategories changed the set it was given")
			}
		})
	}
}

// CategoryList lists the built-in categories in their order with their classes.
func TestCategoryList(t *testing.T) {
	cl := ImageNet().CategoryList()
	if len(cl) == 0 || cl[0].Name != categories[0] {
		t.Fatalf("CategoryList starts with %+v", cl[:min(1, len(cl))])
	}
	for _, c := range cl {
		want, _ := ImageNet().Match([]string{c.Name}, MatchExact)
		if c.Name == "猫" || c.Name == "狗" {
			if !slices.Equal(c.Classes, want) {
				t.Errorf("%s: %d classes, Match gives %d", c.Name, len(c.Classes), len(want))
			}
		}
	}
}

func TestTableRoundTrip(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"plain", "猫\n狗\n"},
		{"english", "label\tlabel_en\n猫\tcat\n狗\t\n"},
		{"categories", "label\tcategories\n苹果\t水果,零食\n可乐\t饮料\n石头\t\n"},
		{"all", "index\tlabel\tlabel_en\tcategories\n0\t苹果\tapple, red\t水果\n1\t茶\ttea\t饮料、热饮\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.name+".txt", []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			table, ok := s.Table()
			if !ok {
				t.Fatalf("Table not ok for %q", tc.data)
			}
			back, err := Parse("table", table)
			if err != nil {
				t.Fatalf("%v\n%s", err, table)
			}
			if back.Len() != s.Len() || back.HasEnglish() != s.HasEnglish() {
				t.Fatalf("len/english %d/%v, want %d/%v", back.Len(), back.HasEnglish(), s.Len(), s.HasEnglish())
			}
			for i := range s.Len() {
				if back.Chinese(i) != s.Chinese(i) || back.English(i) != s.English(i) ||
					!slices.Equal(back.Categories(i), s.Categories(i)) {
					t.Errorf("class %d: %q %q %v, want %q %q %v", i, back.Chinese(i), back.English(i), back.Categories(i),
						s.Chinese(i), s.English(i), s.Categories(i))
				}
			}
		})
	}
	if _, ok := (&Set{zh: []string{"a\tb"}, en: []string{"a\tb"}, background: -1}).Table(); ok {
		t.Error("a label with a tab gave a table")
	}
}
