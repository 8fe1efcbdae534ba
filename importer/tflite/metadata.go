package tflite

import (
	"archive/zip"
	"bytes"
	"io"
	"path"
	"sort"
	"strings"
)

// labels extracts label text: TFLite Model Maker / Coral models append a zip archive holding the
// associated files (labels.txt) after the flatbuffer; the TFLITE_METADATA flatbuffer names them.
// The first .txt file whose name mentions "label" wins, else the first .txt file.
func (b *builder) labels() string {
	return zipLabels(b.data)
}

func zipLabels(data []byte) string {
	// The archive is appended, so its central directory sits at the end of the file.
	i := bytes.LastIndex(data, []byte("PK\x05\x06"))
	if i < 0 {
		return ""
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return ""
	}
	var txt []*zip.File
	for _, f := range zr.File {
		if strings.EqualFold(path.Ext(f.Name), ".txt") {
			txt = append(txt, f)
		}
	}
	sort.SliceStable(txt, func(a, c int) bool {
		return strings.Contains(strings.ToLower(txt[a].Name), "label") && !strings.Contains(strings.ToLower(txt[c].Name), "label")
	})
	for _, f := range txt {
		if f.UncompressedSize64 > 64<<20 {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			continue
		}
		body, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		rc.Close()
		if err == nil {
			return string(body)
		}
	}
	return ""
}
