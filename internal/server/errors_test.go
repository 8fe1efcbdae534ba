package server

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestErrorStatuses(t *testing.T) {
	_, hs := newServer(t, loadModel(t), Config{MaxBody: 1 << 20, MaxPixels: 4_000_000})
	parrot := readShared(t, "parrot.jpg")
	big := make([]byte, 2<<20)
	copy(big, parrot)
	truncated := parrot[:len(parrot)/3]
	cases := []struct {
		name, query, ctype string
		body               []byte
		code               int
		contains           string
	}{
		{"text body", "", "text/plain", []byte("hello"), 415, "Content-Type"},
		{"no type, garbage", "", "", []byte("hello"), 415, "unknown image format"},
		{"octet-stream garbage", "", "application/octet-stream", []byte("hello"), 415, "unknown image format"},
		{"curl's default type, corrupt jpeg", "", "application/x-www-form-urlencoded", []byte("\xff\xd8\xff\xe0garbage"), 400, "jpeg"},
		{"bad type", "", "image/;;", parrot, 415, "Content-Type"},
		{"tiff", "", "image/tiff", []byte("II*\x00junkjunk"), 415, "unknown image format"},
		{"corrupt jpeg", "", "image/jpeg", []byte("\xff\xd8\xff\xe0garbage"), 400, "jpeg"},
		{"not an image but says png", "", "image/png", []byte("hello world"), 400, "unknown image format"},
		{"truncated jpeg", "", "image/jpeg", truncated, 400, "truncated"},
		{"too many pixels", "", "image/png", hugePNG(30000, 30000), 400, "image too large: 30000x30000"},
		{"body over limit", "", "image/jpeg", big, 413, "limit"},
		{"empty", "", "image/jpeg", nil, 400, "unknown image format"},
		{"top_k zero", "?top_k=0", "image/jpeg", parrot, 400, "top_k"},
		{"top_k text", "?top_k=five", "image/jpeg", parrot, 400, "top_k"},
		{"lang", "?lang=fr", "image/jpeg", parrot, 400, "lang"},
		{"only nothing", "?only=nosuchthingatall", "image/jpeg", parrot, 400, "only"},
		{"match mode", "?only=猫&match=fuzzy", "image/jpeg", parrot, 400, "match"},
		{"size other", "?size=224", "image/jpeg", parrot, 400, "size 224"},
		{"size small", "?size=8", "image/jpeg", parrot, 400, "size"},
		{"multipart no image field", "", "multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--xyz--\r\n"), 400, "no image"},
		{"multipart no boundary", "", "multipart/form-data", []byte("x"), 400, "boundary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, r := post(t, hs.URL+"/v1/classify"+c.query, c.ctype, c.body)
			if resp.StatusCode != c.code || !strings.Contains(r.Error, c.contains) || r.Status != c.code {
				t.Errorf("status %d error %q; want %d containing %q", resp.StatusCode, r.Error, c.code, c.contains)
			}
		})
	}
	// Streaming a body without Content-Length over the limit is cut off too.
	req, _ := http.NewRequest("POST", hs.URL+"/v1/classify", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "image/jpeg")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked body over the limit: status %d, want 413", resp.StatusCode)
	}
	// Wrong methods and paths.
	for path, code := range map[string]int{"/v1/classify": 405, "/nope": 404} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, code)
		}
	}
}

// TestRawBodyTypes: a photo sent without an image/* type is classified as the same photo sent as
// image/jpeg — no Content-Type, application/octet-stream, and curl's default for --data-binary.
func TestRawBodyTypes(t *testing.T) {
	_, hs := newServer(t, loadModel(t), Config{})
	parrot := readShared(t, "parrot.jpg")
	resp, want := post(t, hs.URL+"/v1/classify", "image/jpeg", parrot)
	if resp.StatusCode != 200 || len(want.Results) != 1 || len(want.Results[0].Predictions) == 0 {
		t.Fatalf("image/jpeg: status %d %q", resp.StatusCode, want.Error)
	}
	for _, ctype := range []string{"", "application/octet-stream", "application/x-www-form-urlencoded"} {
		resp, got := post(t, hs.URL+"/v1/classify", ctype, parrot)
		if resp.StatusCode != 200 || len(got.Results) != 1 || len(got.Results[0].Predictions) == 0 {
			t.Errorf("Content-Type %q: status %d %q, want 200", ctype, resp.StatusCode, got.Error)
			continue
		}
		if g, w := got.Results[0].Predictions[0], want.Results[0].Predictions[0]; g.Index != w.Index || g.Score != w.Score {
			t.Errorf("Content-Type %q: top-1 %+v, want %+v", ctype, g, w)
		}
	}
}
