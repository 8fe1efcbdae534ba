package labels

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
)

func TestImageNetTable(t *testing.T) {
	s := ImageNet()
	if s.Len() != 1000 {
		t.Fatalf("Len = %d, want 1000", s.Len())
	}
	seenZh := map[string]int{}
	used := map[string]bool{}
	for i := range s.Len() {
		en, zh, cats := s.English(i), s.Chinese(i), s.Categories(i)
		if en == "" || zh == "" || len(cats) == 0 {
			t.Errorf("class %d: empty field: en=%q zh=%q cats=%q", i, en, zh, cats)
		}
		if j, dup := seenZh[zh]; dup {
			t.Errorf("Chinese name %q used by classes %d and %d", zh, j, i)
		}
		seenZh[zh] = i
		if slices.Contains([]rune(zh), '\uFFFD') || strings.ContainsAny(zh, "\t\n,") {
			t.Errorf("class %d: bad Chinese name %q", i, zh)
		}
		for _, c := range cats {
			if !IsCategory(c) {
				t.Errorf("class %d: category %q not in Categories()", i, c)
			}
			used[c] = true
		}
		if len(slices.Compact(slices.Sorted(slices.Values(cats)))) != len(cats) {
			t.Errorf("class %d: repeated category in %q", i, cats)
		}
	}
	for _, c := range Categories() {
		if !used[c] {
			t.Errorf("category %q is used by no class", c)
		}
	}
}

// TestImageNetEnglishMatchesShared checks the English column against the independent label file the
// Coral TFLite models ship with (line 1 "background", then the 1000 classes): an off-by-one or a
// reordering of the table fails here.
func TestImageNetEnglishMatchesShared(t *testing.T) {
	path := testutil.Shared(t, "models", "imagenet_labels.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1001 {
		t.Fatalf("%s: %d lines, want 1001", path, len(lines))
	}
	in, bg := ImageNet(), ImageNetWithBackground()
	if bg.Len() != 1001 {
		t.Fatalf("ImageNetWithBackground().Len() = %d, want 1001", bg.Len())
	}
	for i, want := range lines {
		if got := bg.English(i); got != want {
			t.Errorf("ImageNetWithBackground().English(%d) = %q, shared file line %d = %q", i, got, i+1, want)
		}
		if i > 0 {
			if got := in.English(i - 1); got != want {
				t.Errorf("ImageNet().English(%d) = %q, shared file line %d = %q", i-1, got, i+1, want)
			}
		}
	}
}

// TestImageNetSpotChecks pins well-known classes to their index in both languages.
func TestImageNetSpotChecks(t *testing.T) {
	tests := []struct {
		i      int
		en, zh string
		cat    string // one category the class must have
	}{
		{0, "tench", "丁鲷", "鱼"},
		{1, "goldfish", "金鱼", "鱼"},
		{2, "great white shark", "大白鲨", "海洋生物"},
		{9, "ostrich", "鸵鸟", "鸟"},
		{22, "bald eagle", "白头海雕", "鸟"},
		{30, "bullfrog", "牛蛙", "两栖动物"},
		{48, "Komodo dragon", "科莫多巨蜥", "爬行动物"},
		{71, "scorpion", "蝎子", "无脊椎动物"},
		{84, "peacock", "孔雀", "鸟"},
		{88, "macaw", "金刚鹦鹉", "鸟"},
		{105, "koala", "考拉", "哺乳动物"},
		{130, "flamingo", "火烈鸟", "鸟"},
		{145, "king penguin", "王企鹅", "鸟"},
		{148, "killer whale", "虎鲸", "海洋生物"},
		{151, "Chihuahua", "吉娃娃", "狗"},
		{207, "golden retriever", "金毛寻回犬", "狗"},
		{208, "Labrador retriever", "拉布拉多寻回犬", "狗"},
		{235, "German shepherd", "德国牧羊犬", "狗"},
		{250, "Siberian husky", "西伯利亚哈士奇", "狗"},
		{258, "Samoyed", "萨摩耶", "狗"},
		{281, "tabby", "虎斑猫", "猫"},
		{283, "Persian cat", "波斯猫", "猫"},
		{285, "Egyptian cat", "埃及猫", "猫"},
		{291, "lion", "狮子", "哺乳动物"},
		{292, "tiger", "老虎", "哺乳动物"},
		{301, "ladybug", "瓢虫", "昆虫"},
		{319, "dragonfly", "蜻蜓", "昆虫"},
		{340, "zebra", "斑马", "哺乳动物"},
		{388, "giant panda", "大熊猫", "哺乳动物"},
		{409, "analog clock", "指针式时钟", "日用品"},
		{487, "cellular telephone", "手机", "电子产品"},
		{527, "desktop computer", "台式电脑", "电子产品"},
		{607, "jack-o'-lantern", "南瓜灯", "日用品"},
		{620, "laptop", "笔记本电脑", "电子产品"},
		{652, "military uniform", "军装", "服装"},
		{817, "sports car", "跑车", "交通工具"},
		{889, "violin", "小提琴", "乐器"},
		{934, "hotdog", "热狗", "食物"},
		{949, "strawberry", "草莓", "水果"},
		{954, "banana", "香蕉", "水果"},
		{963, "pizza", "披萨", "食物"},
		{967, "espresso", "意式浓缩咖啡", "饮料"},
		{980, "volcano", "火山", "自然景观"},
		{985, "daisy", "雏菊", "植物"},
		{999, "toilet tissue", "卫生纸", "日用品"},
	}
	s, bg := ImageNet(), ImageNetWithBackground()
	for _, tt := range tests {
		if got := s.EnglishShort(tt.i); got != tt.en {
			t.Errorf("EnglishShort(%d) = %q, want %q", tt.i, got, tt.en)
		}
		if got := s.Chinese(tt.i); got != tt.zh {
			t.Errorf("Chinese(%d) = %q, want %q", tt.i, got, tt.zh)
		}
		if got := s.Name(tt.i, "zh"); got != tt.zh {
			t.Errorf("Name(%d, zh) = %q, want %q", tt.i, got, tt.zh)
		}
		if got := s.Name(tt.i, "en"); got != tt.en {
			t.Errorf("Name(%d, en) = %q, want %q", tt.i, got, tt.en)
		}
		if got := bg.Chinese(tt.i + 1); got != tt.zh {
			t.Errorf("ImageNetWithBackground().Chinese(%d) = %q, want %q", tt.i+1, got, tt.zh)
		}
		if !slices.Contains(s.Categories(tt.i), tt.cat) {
			t.Errorf("Categories(%d) = %q, want it to contain %q", tt.i, s.Categories(tt.i), tt.cat)
		}
	}
}

// TestImageNetCategoryRanges checks categories against the known layout of ImageNet-1k: the dog breeds
// are exactly classes 151–268, the domestic cats 281–285, the animals 0–397.
func TestImageNetCategoryRanges(t *testing.T) {
	s := ImageNet()
	ranges := []struct {
		cat        string
		first, end int // classes [first, end) have cat, no other class has it
	}{
		{"狗", 151, 269},
		{"猫", 281, 286},
		{"动物", 0, 398},
	}
	for _, r := range ranges {
		for i := range s.Len() {
			has := slices.Contains(s.Categories(i), r.cat)
			if want := i >= r.first && i < r.end; has != want {
				t.Errorf("class %d (%s) has category %s = %v, want %v", i, s.Chinese(i), r.cat, has, want)
			}
		}
	}
}

func TestBackground(t *testing.T) {
	in, bg := ImageNet(), ImageNetWithBackground()
	if bg.English(0) != "background" || bg.Chinese(0) != "背景" || bg.Categories(0) != nil {
		t.Errorf("class 0 = %q/%q/%q, want background/背景/none", bg.English(0), bg.Chinese(0), bg.Categories(0))
	}
	for i := range in.Len() {
		if bg.English(i+1) != in.English(i) || bg.Chinese(i+1) != in.Chinese(i) ||
			!slices.Equal(bg.Categories(i+1), in.Categories(i)) {
			t.Fatalf("background set class %d differs from ImageNet class %d", i+1, i)
		}
	}
	if in.Len() != 1000 {
		t.Errorf("building the background set changed ImageNet().Len() to %d", in.Len())
	}
}

func TestNameLang(t *testing.T) {
	s := ImageNet()
	tests := []struct {
		lang string
		want string
		err  bool
	}{
		{"zh", "大白鲨", false},
		{"", "大白鲨", false},
		{"en", "great white shark", false},
		{"fr", "", true},
		{"ZH", "", true},
	}
	for _, tt := range tests {
		if err := CheckLang(tt.lang); (err != nil) != tt.err {
			t.Errorf("CheckLang(%q) = %v, want error %v", tt.lang, err, tt.err)
		}
		func() {
			defer func() {
				if r := recover(); (r != nil) != tt.err {
					t.Errorf("Name(2, %q) panic = %v, want panic %v", tt.lang, r, tt.err)
				}
			}()
			if got := s.Name(2, tt.lang); got != tt.want {
				t.Errorf("Name(2, %q) = %q, want %q", tt.lang, got, tt.want)
			}
		}()
	}
	if got := s.English(2); !strings.HasPrefix(got, "great white shark, white shark, man-eater") {
		t.Errorf("English(2) = %q, want the full synonym list", got)
	}
}

func TestCategoriesList(t *testing.T) {
	c := Categories()
	required := strings.Fields("动物 鸟 狗 猫 鱼 昆虫 爬行动物 两栖动物 哺乳动物 海洋生物 食物 水果 蔬菜 饮料 交通工具 家具 " +
		"电子产品 服装 乐器 植物 建筑 运动 工具 厨具 容器 武器 玩具 自然景观")
	for _, r := range required {
		if !slices.Contains(c, r) {
			t.Errorf("Categories() lacks %q", r)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(c)))) != len(c) {
		t.Errorf("Categories() has duplicates: %q", c)
	}
	c[0] = "changed"
	if Categories()[0] == "changed" {
		t.Error("Categories() returns the package's own slice")
	}
	cs := ImageNet().Categories(281)
	cs[0] = "changed"
	if ImageNet().Categories(281)[0] == "changed" {
		t.Error("Set.Categories returns the set's own slice")
	}
}

func TestParseTableRejects(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"fields", "0\ttench\t丁鲷\n", "fields"},
		{"index", "1\ttench\t丁鲷\t鱼\n", "index"},
		{"empty", "0\ttench\t\t鱼\n", "empty"},
		{"category", "0\ttench\t丁鲷\t鱼类\n", "unknown category"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTable(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseTable error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
