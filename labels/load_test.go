package labels

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// nLines returns n labels "类0".."类{n-1}", one per line.
func nLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "类%d\n", i)
	}
	return b.String()
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string // test name
		file    string // file name written in a temp dir
		data    string
		want    []string // nil: expect an error
		wantErr string   // part of the error message besides the file name
	}{
		// plain text
		{"plain", "labels.txt", "猫\n狗\n鹦鹉\n", []string{"猫", "狗", "鹦鹉"}, ""},
		{"plain no final newline", "labels.txt", "猫\n狗", []string{"猫", "狗"}, ""},
		{"plain trailing blank lines", "labels.txt", "猫\n狗\n\n\n  \n", []string{"猫", "狗"}, ""},
		{"plain CRLF and spaces", "labels.txt", " 猫 \r\n狗\r\n", []string{"猫", "狗"}, ""},
		{"plain BOM", "labels.txt", "\uFEFF猫\n狗\n", []string{"猫", "狗"}, ""},
		{"plain no extension", "synset", "tench\ngoldfish\n", []string{"tench", "goldfish"}, ""},
		{"plain blank middle line", "labels.txt", "猫\n\n狗\n", nil, "line 2: empty label"},
		{"plain empty file", "labels.txt", "", nil, "no labels"},
		{"plain only BOM and blanks", "labels.txt", "\uFEFF\n\n", nil, "no labels"},
		{"bad UTF-8", "labels.txt", "猫\n狗\nab\xff\xfecd\n", nil, "line 3, byte 3: invalid UTF-8"},
		{"GBK is not UTF-8", "labels.txt", "\xc3\xa8\n\xb9\xb7\n", nil, "line 2, byte 1: invalid UTF-8"},
		{"max labels", "labels.txt", nLines(MaxLabels), nil, ""}, // checked by length below
		{"too many labels", "labels.txt", nLines(MaxLabels + 1), nil, "100001 labels, more than the limit of 100000"},

		// JSON
		{"json array", "labels.json", `["猫", "狗", "鹦鹉"]`, []string{"猫", "狗", "鹦鹉"}, ""},
		{"json array sniffed", "labels.txt", " \n[\"猫\"]", []string{"猫"}, ""},
		{"json object", "labels.json", `{"1": "狗", "0": "猫"}`, []string{"猫", "狗"}, ""},
		{"json sparse", "labels.json", `{"0": "猫", "3": "狗"}`, []string{"猫", "#1", "#2", "狗"}, ""},
		{"json keras index", "imagenet_class_index.json", `{"0": ["n01440764", "tench"], "1": ["n01443537", "goldfish"]}`,
			[]string{"tench", "goldfish"}, ""},
		{"json BOM", "labels.json", "\uFEFF[\"猫\"]", []string{"猫"}, ""},
		{"json bad key", "labels.json", `{"cat": "猫"}`, nil, `key "cat" is not a class index`},
		{"json negative key", "labels.json", `{"-1": "猫"}`, nil, `key "-1" is not a class index`},
		{"json padded key", "labels.json", `{"01": "猫"}`, nil, `key "01" is not a class index`},
		{"json key too big", "labels.json", `{"100000": "猫"}`, nil, "beyond the limit"},
		{"json number", "labels.json", `["猫", 3]`, nil, "element 1: name is a number"},
		{"json empty name", "labels.json", `{"0": " "}`, nil, `key "0": empty name`},
		{"json syntax", "labels.json", "[\n\"猫\",\n,]", nil, "line 3: invalid JSON"},
		{"json truncated", "labels.json", `["猫"`, nil, "invalid JSON"},
		{"json trailing data", "labels.json", `["猫"] ["狗"]`, nil, "data after"},
		{"json scalar", "labels.json", `"猫"`, nil, "array of names or an object"},
		{"json empty array", "labels.json", `[]`, nil, "no labels"},
		{"json too many", "labels.json", "[" + strings.Repeat(`"x",`, MaxLabels) + `"x"]`, nil, "more than the limit"},

		// ModelScope meta_info.txt
		{"meta_info", "meta_info.txt", "0\t猫\tcat\n1\t狗\tdog\n", []string{"猫", "狗"}, ""},
		{"meta_info two columns CRLF", "meta_info.txt", "0\t猫\r\n1\t狗\r\n\r\n", []string{"猫", "狗"}, ""},
		{"tab structure under other name", "classes.tsv", "n1\t猫\nn2\t狗\n", []string{"猫", "狗"}, ""},
		{"meta_info missing column", "meta_info.txt", "0\t猫\n1 狗\n", nil, "line 2: no tab-separated label column"},
		{"meta_info empty label", "meta_info.txt", "0\t猫\n1\t \n", nil, "line 2: empty label"},
		{"mixed tabs stay plain", "labels.txt", "猫\n狗\tdog\n", []string{"猫", "狗\tdog"}, ""},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"), tt.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Load(path)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load succeeded with %d labels, want error %q", s.Len(), tt.wantErr)
				}
				if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q, want it to name %s and contain %q", err, path, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil { // the MaxLabels case
				if s.Len() != MaxLabels || s.Chinese(MaxLabels-1) != fmt.Sprintf("类%d", MaxLabels-1) {
					t.Fatalf("Len = %d, last = %q", s.Len(), s.Chinese(s.Len()-1))
				}
				return
			}
			var got []string
			for i := range s.Len() {
				got = append(got, s.Chinese(i))
				if s.English(i) != s.Chinese(i) || s.Name(i, "en") != s.Chinese(i) || s.Categories(i) != nil {
					t.Errorf("class %d: en %q zh %q cats %q, want the label in both and no categories",
						i, s.English(i), s.Chinese(i), s.Categories(i))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("labels = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.txt")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load(missing) error = %v, want a not-exist error naming %s", err, path)
	}
}

func unwrapAll(err error) error {
	for {
		type unwrapper interface{ Unwrap() error }
		u, ok := err.(unwrapper)
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestLoadTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.txt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxFileBytes + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "the limit for a label file") {
		t.Errorf("Load(huge) error = %v", err)
	}
}

// TestParseRoundTripImageNet feeds the embedded Chinese names back through the plain-text loader.
func TestParseRoundTripImageNet(t *testing.T) {
	in := ImageNet()
	var b strings.Builder
	for i := range in.Len() {
		b.WriteString(in.Chinese(i) + "\n")
	}
	s, err := Parse("zh.txt", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != in.Len() {
		t.Fatalf("Len = %d, want %d", s.Len(), in.Len())
	}
	for i := range s.Len() {
		if s.Chinese(i) != in.Chinese(i) {
			t.Fatalf("class %d = %q, want %q", i, s.Chinese(i), in.Chinese(i))
		}
	}
}

// TestLoadStreamsAndBinary: a label "file" that is /dev/zero or UTF-16 text is refused with the reason,
// /dev/zero at its first bytes rather than after reading the 32 MiB limit.
func TestLoadStreamsAndBinary(t *testing.T) {
	dir := t.TempDir()
	utf16 := filepath.Join(dir, "utf16.txt")
	if err := os.WriteFile(utf16, []byte("c\x00a\x00t\x00\n\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(utf16); err == nil || !strings.Contains(err.Error(), utf16) || !strings.Contains(err.Error(), "NUL byte") {
		t.Errorf("Load(UTF-16) error = %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err != nil {
		return
	}
	zero := filepath.Join(dir, "zero.txt")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(zero); err == nil || !strings.Contains(err.Error(), zero) || !strings.Contains(err.Error(), "NUL byte at offset 0") {
		t.Errorf("Load(/dev/zero) error = %v", err)
	}
}
