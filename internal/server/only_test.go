package server

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// loadPruned loads the test model again with opts (a class subset), closed when the test ends.
func loadPruned(t testing.TB, opts ...wanwu.Option) *wanwu.Model {
	t.Helper()
	mirror := filepath.Dir(testutil.Shared(t, "models", testModelName+".tflite"))
	m, err := wanwu.Load(context.Background(), testModelName,
		append(opts, wanwu.WithFetcher(&catalog.Fetcher{Home: t.TempDir(), Mirror: mirror}))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// only= keeps the matching classes, rescaled so they sum to one over the subset (softmax over the subset).
func TestOnlySubset(t *testing.T) {
	m := loadModel(t)
	_, hs := newServer(t, m, Config{})
	body := readShared(t, "cat.bmp")
	resp, r := post(t, hs.URL+"/v1/classify?only=猫&top_k=1000", "image/bmp", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %+v", resp.StatusCode, r)
	}
	idx, err := m.Labels().Match([]string{"猫"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	preds := r.Results[0].Predictions
	if len(preds) == 0 || len(preds) > len(idx) {
		t.Fatalf("%d predictions, want at most the %d cat classes", len(preds), len(idx))
	}
	sum := 0.0
	in := map[int]bool{}
	for _, i := range idx {
		in[i] = true
	}
	for _, p := range preds {
		if !in[p.Index] {
			t.Errorf("class %d %q is not a cat", p.Index, p.Label)
		}
		sum += p.Score
	}
	// Classes under wanwu.MinScore are left out: the rest sum to 1 less at most those.
	if left := float64(len(idx)-len(preds)) * wanwu.MinScore; sum < 0.999-left || sum > 1.001 {
		t.Errorf("subset scores sum to %v, want 1 (less at most %v left out)", sum, left)
	}
	// The subset keeps the library's order among cats.
	all, _ := m.ClassifyFile(context.Background(), testutil.Shared(t, "images", "cat.bmp"), 1001)
	var wantFirst int
	for _, p := range all.Predictions {
		if in[p.Index] {
			wantFirst = p.Index
			break
		}
	}
	if preds[0].Index != wantFirst {
		t.Errorf("top cat %d, library's best cat %d", preds[0].Index, wantFirst)
	}
}

// only= on a quantized model scores the subset as a head pruned to it does (wanwu.WithOnly): even where
// the subset is far from the photo's best classes (a parrot's cats, whose probabilities a u8 softmax
// rounds to 0), the scores are the softmax over the subset, sum to 1 and are not padded with zeros.
func TestOnlySubsetMatchesPrunedHead(t *testing.T) {
	m := loadModel(t)
	_, hs := newServer(t, m, Config{})
	for _, c := range []struct{ photo, ctype, only string }{
		{"cat.bmp", "image/bmp", "猫"},
		{"parrot.jpg", "image/jpeg", "猫"},
		{"parrot.jpg", "image/jpeg", "狗,猫"},
	} {
		t.Run(c.photo+"/"+c.only, func(t *testing.T) {
			resp, r := post(t, hs.URL+"/v1/classify?top_k=1000&only="+c.only, c.ctype, readShared(t, c.photo))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d %+v", resp.StatusCode, r)
			}
			pruned := loadPruned(t, wanwu.WithOnly(strings.Split(c.only, ","), 0))
			want, err := pruned.ClassifyFile(context.Background(), testutil.Shared(t, "images", c.photo), 5)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Results[0].Predictions
			if len(got) == 0 || len(got) < len(want.Predictions) {
				t.Fatalf("got %d predictions, the pruned head lists %d: %+v", len(got), len(want.Predictions), got)
			}
			for i, w := range want.Predictions {
				if got[i].Index != w.Index || math.Abs(got[i].Score-w.Score) > 1e-6 {
					t.Errorf("rank %d: server %d %.6f, pruned head %d %.6f", i+1, got[i].Index, got[i].Score, w.Index, w.Score)
				}
			}
			for _, p := range got[1:] {
				if p.Score < wanwu.MinScore {
					t.Errorf("padded with %q at %.6f", p.Label, p.Score)
				}
			}
		})
	}
}

// A word of only= that matches no class is a warning in the response while others match; when none
// matches it is an error; a server pruned at load (serve --only) answers within its classes.
func TestOnlyUnmatchedWordsAndServerSubset(t *testing.T) {
	m := loadModel(t)
	_, hs := newServer(t, m, Config{})
	body := readShared(t, "cat.bmp")
	resp, err := http.Post(hs.URL+"/v1/classify?only=猫,nosuchword", "image/bmp", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Results  []json.RawMessage `json:"results"`
		Warnings []string          `json:"warnings"`
	}
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(r.Results) != 1 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "nosuchword") {
		t.Errorf("only=猫,nosuchword: status %d, %d results, warnings %q; want 200 with a warning naming the word", resp.StatusCode, len(r.Results), r.Warnings)
	}
	if resp, r := post(t, hs.URL+"/v1/classify?only=nosuchword,northisone", "image/bmp", body); resp.StatusCode != 400 {
		t.Errorf("every word unmatched: status %d %+v, want 400", resp.StatusCode, r)
	}

	cats, err := m.Labels().Match([]string{"猫"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	pruned := loadPruned(t, wanwu.WithClasses(cats))
	_, ps := newServerInfo(t, pruned, infoOf(pruned), Config{Classes: pruned.Classes()})
	if resp, r := post(t, ps.URL+"/v1/classify?only=狗", "image/bmp", body); resp.StatusCode != 400 {
		t.Errorf("only=狗 on a server of cats: status %d %+v, want 400", resp.StatusCode, r)
	}
	resp2, r2 := post(t, ps.URL+"/v1/classify?only=虎斑猫,狗", "image/bmp", body)
	if resp2.StatusCode != 200 || len(r2.Results[0].Predictions) != 1 || r2.Results[0].Predictions[0].Label != "虎斑猫" ||
		math.Abs(r2.Results[0].Predictions[0].Score-1) > 1e-9 {
		t.Errorf("only=虎斑猫,狗 on a server of cats: status %d %+v, want 虎斑猫 alone at 1", resp2.StatusCode, r2)
	}
}
