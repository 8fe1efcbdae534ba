package labels

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wanwu-ai/wanwu/internal/userfile"
)

// MaxLabels is the largest number of classes a label file may name. The biggest real head (万物识别) has
// about 54,000; the bound stops a wrong file (a dataset listing, a binary) from being taken as labels.
const MaxLabels = 100_000

// maxFileBytes bounds what Load reads: MaxLabels labels of a few hundred bytes each.
const maxFileBytes = 32 << 20

// Load reads a user label file; see [Parse] for the formats. Errors name the file and the reason. A regular
// file over 32 MiB is refused by its size; a pipe or device is read only up to that limit, and a stream that
// starts with a NUL byte (binary data, /dev/zero) is refused at its first bytes.
func Load(path string) (*Set, error) {
	data, err := userfile.ReadFile(path, maxFileBytes, "a label file", userfile.CheckText)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	return Parse(path, data)
}

// Parse reads label data; name (usually the file path) picks the format and is named in every error.
// Formats:
//
//   - A label table, when the first line is a header of tab-separated column names: label (required),
//     label_en (the English name; empty for none), categories (comma-separated, e.g. 水果,食物, selected
//     by --only 水果), index (0, 1, 2, ... in output order). One class per line after it.
//   - JSON, when name ends in .json or the data starts with '[' or '{': an array of strings, or an
//     object mapping decimal index to name ({"0": "猫", "7": "狗"}); indices may be sparse and missing
//     ones get the placeholder "#123". An object value may also be an array of strings whose last element
//     is the name, as in Keras' imagenet_class_index.json ({"0": ["n01440764", "tench"]}).
//   - ModelScope meta_info.txt, when the base name is meta_info.txt or every non-blank line contains a
//     tab: tab-separated, the label is column 1 counting from 0 (the second field), one class per line.
//   - Otherwise plain text, one label per line.
//
// In the line formats a "\r\n" ending is accepted, labels are trimmed of surrounding spaces, blank lines at
// the end are ignored and a blank line elsewhere is an error (it would shift every later index). The data
// must be valid UTF-8 without NUL bytes; a leading UTF-8 BOM is dropped. At most [MaxLabels] classes. Without a label_en
// column a class has no English name of its own ([Set.HasEnglish] is false: Name(i, "en") gives the label);
// without a categories column it has none ([LoadCategories] adds them from a file).
func Parse(name string, data []byte) (*Set, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if !utf8.Valid(data) {
		line, col := invalidUTF8At(data)
		return nil, fmt.Errorf("labels: %s: line %d, byte %d: invalid UTF-8 (label files must be UTF-8)", name, line, col)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, fmt.Errorf("labels: %s: a NUL byte at offset %d: binary data or UTF-16, not a UTF-8 label file", name, i)
	}
	var names []string
	var err error
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if cols := tableHeader(string(first)); cols != nil {
		s, err := parseUserTable(cols, data)
		if err == nil && s.Len() == 0 {
			err = errors.New("no labels after the header")
		}
		if err != nil {
			return nil, fmt.Errorf("labels: %s: %w", name, err)
		}
		return s, nil
	}
	switch base := filepath.Base(name); {
	case strings.EqualFold(filepath.Ext(base), ".json") || (len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{')):
		names, err = parseJSON(data)
	case strings.EqualFold(base, "meta_info.txt") || allLinesTabbed(data):
		names, err = parseLines(data, true)
	default:
		names, err = parseLines(data, false)
	}
	if err != nil {
		return nil, fmt.Errorf("labels: %s: %w", name, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("labels: %s: no labels", name)
	}
	return &Set{en: names, zh: names, background: -1}, nil
}

// invalidUTF8At returns the 1-based line and byte column of the first invalid UTF-8 sequence.
func invalidUTF8At(data []byte) (line, col int) {
	line, start := 1, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line, i - start + 1
		}
		if data[i] == '\n' {
			line, start = line+1, i+1
		}
		i += size
	}
	return line, 0
}

// allLinesTabbed reports whether every non-blank line holds a tab: a ModelScope-style table under
// another name. A plain label list never contains tabs.
func allLinesTabbed(data []byte) bool {
	any := false
	for line := range bytes.Lines(data) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if bytes.IndexByte(line, '\t') < 0 {
			return false
		}
		any = true
	}
	return any
}

// parseLines reads one label per line, or with tsv the second tab-separated field of each line.
func parseLines(data []byte, tsv bool) ([]string, error) {
	lines := strings.Split(string(data), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1] // blank lines at the end
	}
	if len(lines) > MaxLabels {
		return nil, fmt.Errorf("%d labels, more than the limit of %d", len(lines), MaxLabels)
	}
	names := make([]string, len(lines))
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if tsv {
			f := strings.Split(line, "\t")
			if len(f) < 2 {
				return nil, fmt.Errorf("line %d: no tab-separated label column (column 1): %q", i+1, line)
			}
			line = f[1]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			return nil, fmt.Errorf("line %d: empty label", i+1)
		}
		names[i] = line
	}
	return names, nil
}

// parseJSON reads an array of names or an object mapping decimal indices to names.
func parseJSON(data []byte) ([]string, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	switch v := raw.(type) {
	case []any:
		if len(v) > MaxLabels {
			return nil, fmt.Errorf("%d labels, more than the limit of %d", len(v), MaxLabels)
		}
		names := make([]string, len(v))
		for i, e := range v {
			s, err := jsonName(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			names[i] = s
		}
		return names, nil
	case map[string]any:
		n := 0
		byIndex := make(map[int]string, len(v))
		for k, e := range v {
			idx, err := strconv.Atoi(k)
			if err != nil || idx < 0 || k != strconv.Itoa(idx) {
				return nil, fmt.Errorf("key %q is not a class index (a decimal integer >= 0)", k)
			}
			if idx >= MaxLabels {
				return nil, fmt.Errorf("key %q: index beyond the limit of %d labels", k, MaxLabels)
			}
			s, err := jsonName(e)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			byIndex[idx] = s
			n = max(n, idx+1)
		}
		names := make([]string, n)
		for i := range names {
			if s, ok := byIndex[i]; ok {
				names[i] = s
			} else {
				names[i] = "#" + strconv.Itoa(i)
			}
		}
		return names, nil
	}
	return nil, errors.New("JSON must be an array of names or an object mapping index to name")
}

// jsonName accepts a non-empty string, or an array of strings whose last element is the name.
func jsonName(e any) (string, error) {
	if a, ok := e.([]any); ok && len(a) > 0 {
		e = a[len(a)-1]
	}
	s, ok := e.(string)
	if !ok {
		return "", fmt.Errorf("name is %s, want a string", jsonKind(e))
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty name")
	}
	return s, nil
}

func jsonKind(e any) string {
	switch e.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []any:
		return "an empty array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", e)
}

// jsonError adds the line number to a JSON syntax error.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := min(int(se.Offset), len(data))
		return fmt.Errorf("line %d: invalid JSON: %v", bytes.Count(data[:off], []byte("\n"))+1, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		off := min(int(te.Offset), len(data))
		return fmt.Errorf("line %d: invalid JSON: %v", bytes.Count(data[:off], []byte("\n"))+1, err)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}
