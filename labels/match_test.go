package labels

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// naiveMatch is the reference for Match: a direct reading of its contract, one class at a time.
func naiveMatch(s *Set, queries []string, mode MatchMode) []int {
	var out []int
	for i := range s.Len() {
		for _, q := range queries {
			q = strings.TrimSpace(q)
			zh, en := s.Chinese(i), s.English(i)
			var hit bool
			if mode == MatchSubstring {
				hit = strings.Contains(strings.ToLower(zh), strings.ToLower(q)) ||
					strings.Contains(strings.ToLower(en), strings.ToLower(q))
			} else {
				hit = strings.EqualFold(zh, q) || strings.EqualFold(en, q)
				if s.synonyms {
					for _, syn := range strings.Split(en, ", ") {
						hit = hit || strings.EqualFold(syn, q)
					}
				}
			}
			if hit || slices.Contains(s.Categories(i), q) {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func TestMatchImageNet(t *testing.T) {
	s := ImageNet()
	tests := []struct {
		queries []string
		mode    MatchMode
		include []int  // classes that must be selected
		exclude []int  // classes that must not be
		exact   []int  // if set, the whole result
		err     string // if set, the error must contain it
	}{
		// 猫 names the category (the five domestic cats) and is a substring of 小熊猫/大熊猫.
		{queries: []string{"猫"}, include: []int{281, 282, 283, 284, 285, 387, 388}, exclude: []int{286, 291, 292}},
		{queries: []string{"猫"}, mode: MatchExact, exact: []int{281, 282, 283, 284, 285}},
		{queries: []string{"狗"}, mode: MatchExact, include: []int{151, 207, 268}, exclude: []int{269, 276, 934}},
		{queries: []string{"狗"}, include: []int{151, 207, 268, 276, 934}}, // 鬣狗, 热狗 by substring
		{queries: []string{"食物"}, include: []int{924, 933, 934, 954, 963}, exclude: []int{0, 207, 966}},
		{queries: []string{"macaw"}, exact: []int{88}},
		{queries: []string{" MACAW "}, mode: MatchExact, exact: []int{88}},
		{queries: []string{"鹦鹉"}, exact: []int{87, 88, 89, 90, 117}}, // 117 鹦鹉螺: substring semantics
		{queries: []string{"鹦鹉"}, mode: MatchExact, err: `"鹦鹉"`},
		{queries: []string{"金刚鹦鹉"}, mode: MatchExact, exact: []int{88}},
		{queries: []string{"crane"}, mode: MatchExact, exact: []int{134, 517}},
		{queries: []string{"tinca tinca"}, mode: MatchExact, exact: []int{0}},
		{queries: []string{"tench, Tinca tinca"}, mode: MatchExact, exact: []int{0}},
		{queries: []string{"white shark"}, mode: MatchExact, exact: []int{2}},
		{queries: []string{"shark"}, include: []int{2, 3, 4}},
		{queries: []string{"猫", "虎斑猫", "tabby"}, include: []int{281}},
		{queries: []string{"金鱼", "鹦鹉"}, exact: []int{1, 87, 88, 89, 90, 117}},
		{queries: []string{"猫", "xyzzy", "不存在的东西"}, err: `"xyzzy", "不存在的东西"`},
		{queries: []string{"猫", " "}, err: "empty query"},
		{queries: nil, err: "no queries"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.mode, tt.queries), func(t *testing.T) {
			got, err := s.Match(tt.queries, tt.mode)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Match error = %v, want one containing %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("result %v not sorted and unique", got)
			}
			if want := naiveMatch(s, tt.queries, tt.mode); !slices.Equal(got, want) {
				t.Errorf("Match = %v, naive reference = %v", got, want)
			}
			if tt.exact != nil && !slices.Equal(got, tt.exact) {
				t.Errorf("Match = %v, want %v", got, tt.exact)
			}
			for _, i := range tt.include {
				if !slices.Contains(got, i) {
					t.Errorf("Match lacks %d (%s)", i, s.Chinese(i))
				}
			}
			for _, i := range tt.exclude {
				if slices.Contains(got, i) {
					t.Errorf("Match has %d (%s)", i, s.Chinese(i))
				}
			}
		})
	}
}

// TestMatchEveryCategory: each category selects exactly the classes carrying it, in both modes.
func TestMatchEveryCategory(t *testing.T) {
	s := ImageNet()
	for _, c := range Categories() {
		for _, mode := range []MatchMode{MatchSubstring, MatchExact} {
			got, err := s.Match([]string{c}, mode)
			if err != nil {
				t.Fatalf("%s %s: %v", mode, c, err)
			}
			if want := naiveMatch(s, []string{c}, mode); !slices.Equal(got, want) {
				t.Errorf("%s %s: Match = %v, naive = %v", mode, c, got, want)
			}
		}
	}
}

func TestMatchBackground(t *testing.T) {
	got, err := ImageNetWithBackground().Match([]string{"背景", "金鱼"}, MatchExact)
	if err != nil || !slices.Equal(got, []int{0, 2}) {
		t.Errorf("Match(背景, 金鱼) = %v, %v; want [0 2]", got, err)
	}
}

// synthetic54k builds a 万物识别-sized user set: mostly 物体N, every 1000th class (from 7) a cat.
func synthetic54k(t testing.TB) *Set {
	var b strings.Builder
	for i := range 54000 {
		if i%1000 == 7 {
			fmt.Fprintf(&b, "家猫%d号\n", i)
		} else {
			fmt.Fprintf(&b, "物体%d\n", i)
		}
	}
	s, err := Parse("synthetic.txt", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMatch54k(t *testing.T) {
	s := synthetic54k(t)
	tests := []struct {
		queries []string
		mode    MatchMode
		n       int // expected count
	}{
		{[]string{"猫"}, MatchSubstring, 54},
		{[]string{"猫", "家猫7号"}, MatchSubstring, 54},
		{[]string{"物体5399"}, MatchSubstring, 11}, // 5399 and 53990..53999
		{[]string{"物体5399"}, MatchExact, 1},
		{[]string{"家猫53007号", "物体0", "物体1"}, MatchExact, 3},
	}
	for _, tt := range tests {
		start := time.Now()
		got, err := s.Match(tt.queries, tt.mode)
		elapsed := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.n {
			t.Errorf("%s %q: %d classes, want %d", tt.mode, tt.queries, len(got), tt.n)
		}
		if want := naiveMatch(s, tt.queries, tt.mode); !slices.Equal(got, want) {
			t.Errorf("%s %q: Match differs from the naive reference", tt.mode, tt.queries)
		}
		// A --only filter runs once per command; a second would be noticeable. The bound is loose
		// because this machine is shared.
		if elapsed > time.Second {
			t.Errorf("%s %q on 54k labels took %v", tt.mode, tt.queries, elapsed)
		}
	}
	if _, err := s.Match([]string{"狗"}, MatchSubstring); err == nil || !strings.Contains(err.Error(), `"狗"`) {
		t.Errorf("Match(狗) on the synthetic set: error %v, want one naming 狗", err)
	}
}

func BenchmarkMatch54k(b *testing.B) {
	s := synthetic54k(b)
	queries := []string{"猫", "狗", "物体123"}
	s.Match(queries[:1], MatchSubstring) // build the index outside the loop
	b.ResetTimer()
	for b.Loop() {
		s.Match(queries, MatchSubstring)
	}
}
