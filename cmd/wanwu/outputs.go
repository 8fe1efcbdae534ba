package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// How `wanwu run` names the files it writes for a model's outputs, whose names come from the model file
// and may be anything: every file stays inside --output-dir, and no two outputs share a file.
//   - Characters that cannot be in a file name on Linux, macOS or Windows (path separators / and \,
//     NUL and other control characters, <>:"|?*) and invalid UTF-8 become '_'.
//   - A name that is empty or all dots ("." and ".." name directories) becomes "output<i>" (its index
//     in the graph's outputs) or its dots become '_'; Windows device names (CON, NUL, COM1, ...) get a '_'
//     prefix.
//   - A name too long for a file name (maxFileNameBytes with the longest extension, ".npy") is cut at a
//     character boundary and ends in "~" + 12 hex digits of the SHA-256 of the whole name.
//   - A name that, after all this, equals an earlier output's file name (compared without case, as
//     macOS and Windows do) gets the same hash suffix; the printed mapping says which file holds which.

// maxFileNameBytes is the longest file name (in bytes) on Linux and macOS file systems (NAME_MAX), and
// in UTF-16 units on Windows, which the byte count never undercuts.
const maxFileNameBytes = 255

// longestOutputExt is the longest extension run appends to an output's base name.
const longestOutputExt = ".npy"

// outputFileNames returns the base name (without extension) to write each output under.
func outputFileNames(names []string) []string {
	used := map[string]bool{}
	out := make([]string, len(names))
	for i, name := range names {
		base := sanitizeFileName(name, i)
		if len(base)+len(longestOutputExt) > maxFileNameBytes {
			base = withHashSuffix(base, name, 0)
		}
		for n := 0; used[strings.ToLower(base)]; n++ {
			base = withHashSuffix(sanitizeFileName(name, i), name, n)
		}
		used[strings.ToLower(base)] = true
		out[i] = base
	}
	return out
}

// sanitizeFileName maps an output name to a single path element that names a file.
func sanitizeFileName(name string, index int) string {
	var b strings.Builder
	for i, r := range name {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(name[i:]); size <= 1 {
				b.WriteByte('_') // an invalid byte
				continue
			}
		}
		if r < 0x20 || r == 0x7f || unicode.IsControl(r) || strings.ContainsRune(`/\<>:"|?*`, r) {
			b.WriteByte('_')
			continue
		}
		b.WriteRune(r)
	}
	s := b.String()
	switch {
	case s == "":
		return "output" + strconv.Itoa(index)
	case strings.Trim(s, ".") == "":
		return strings.Repeat("_", len(s))
	case windowsReserved(s):
		return "_" + s
	}
	return s
}

// windowsReserved reports a name Windows takes as a device whatever its extension (CON, NUL.txt, com1).
func windowsReserved(s string) bool {
	stem, _, _ := strings.Cut(strings.ToUpper(s), ".")
	switch stem {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) && stem[3] >= '1' && stem[3] <= '9' {
		return true
	}
	return false
}

// withHashSuffix ends base in "~" and 12 hex digits of SHA-256(name) (and "-n" for n > 0), cutting base
// at a character boundary so the whole name, with an extension, fits maxFileNameBytes.
func withHashSuffix(base, name string, n int) string {
	sum := sha256.Sum256([]byte(name))
	suffix := "~" + hex.EncodeToString(sum[:6])
	if n > 0 {
		suffix += fmt.Sprintf("-%d", n)
	}
	room := maxFileNameBytes - len(longestOutputExt) - len(suffix)
	for len(base) > room {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return base + suffix
}

// displayName quotes an output name for the printed mapping when it holds anything unprintable.
func displayName(name string) string {
	for _, r := range name {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return strconv.Quote(name)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}
