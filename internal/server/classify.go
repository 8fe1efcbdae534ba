package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/imageio"
)

// upload is one image of a request: its name and encoded bytes.
type upload struct {
	name string
	data []byte
}

// predictionBytes is one wanwu.Prediction (its label strings point into the model's label set).
const predictionBytes = int64(unsafe.Sizeof(wanwu.Prediction{}))

// requestBaseBytes is what every classify request reserves first: its context, query, records and the
// small allocations of parsing (measured in TestRequestAllocationsAreReserved).
const requestBaseBytes = 32 << 10

// recordJSONBytes bounds a record's JSON without its predictions (file name aside, which is counted
// with the body it came in).
const recordJSONBytes = 512

func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.discardBody(w, r)
		s.writeError(w, fail(503, "shutting_down", "server is shutting down"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	// Everything the request allocates is reserved here first; the handler's hold ends when it returns
	// (after the response is written), the batcher's when the model is done with the images.
	res := s.budget.newReservation()
	defer res.done()
	if err := res.acquire(ctx, requestBaseBytes, s.cfg.AdmissionWait); err != nil {
		s.writeError(w, admitError(err, 413))
		return
	}
	q, aerr := s.parseQuery(ctx, r, res)
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	recs, aerr := s.classifyRequest(ctx, w, r, q, res)
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	s.writeResults(w, recs, q.warnings)
}

// classifyRequest reads, admits, decodes and classifies the request's images. Memory is reserved before
// each allocation it guards (the body as it arrives, the decode from the image headers before decoding,
// the results before the model runs), and load is shed from the headers, before any decoding.
func (s *Server) classifyRequest(ctx context.Context, w http.ResponseWriter, r *http.Request, q query, res *reservation) ([]wanwu.Record, *apiError) {
	if r.ContentLength > s.cfg.MaxBody {
		return nil, fail(413, "body_limit", "body of %d bytes exceeds the %d-byte limit", r.ContentLength, s.cfg.MaxBody)
	}
	var mt string
	var params map[string]string
	if ct := r.Header.Get("Content-Type"); ct != "" {
		var err error
		if mt, params, err = mime.ParseMediaType(ct); err != nil {
			return nil, fail(415, "unsupported_type", "Content-Type %q: send an image (image/jpeg, image/png, ...) or multipart/form-data with field \"image\"", ct)
		}
	}
	isMultipart := mt == "multipart/form-data"
	if !isMultipart && !strings.HasPrefix(mt, "image/") && !rawBodyType(mt) {
		return nil, fail(415, "unsupported_type", "Content-Type %q: send an image (image/jpeg, image/png, ...) or multipart/form-data with field \"image\"", mt)
	}
	// A request that could not be served even with a single image is refused before its body is read.
	dl, _ := ctx.Deadline()
	if wait, ok := s.load.wouldAdmit(1, time.Until(dl), time.Now()); !ok {
		s.discardBody(w, r)
		return nil, overloaded(wait, s.cfg.Timeout)
	}
	ups, aerr := s.readBody(ctx, w, r, params["boundary"], isMultipart, res)
	if aerr != nil {
		return nil, aerr
	}
	if len(ups) == 0 {
		return nil, fail(400, "bad_request", "no image: send the image as the body or as multipart field \"image\"")
	}

	// Headers first: they size the decoding, and they are all the shedder needs.
	recs := make([]wanwu.Record, len(ups))
	readable := 0
	var need int64
	for i, u := range ups {
		recs[i].File = u.name
		h, err := imageio.ParseHeader(u.data)
		if err == nil {
			err = imageio.CheckSize(h.Width, h.Height, s.cfg.MaxPixels)
		}
		if err != nil {
			if len(ups) == 1 {
				if errors.Is(err, imageio.ErrUnknownFormat) && !knownImageType(mt) {
					return nil, fail(415, "unsupported_type", "%s: %v", mt, err)
				}
				return nil, fail(400, "bad_image", "%v", err)
			}
			recs[i].Error = err.Error()
			continue
		}
		need += decodeReservation(s.model, h)
		readable++
	}
	if readable == 0 {
		return nil, fail(400, "bad_image", "no image could be read: %s", recs[0].Error)
	}

	// Shed before decoding: if the images admitted ahead of these (at the model's measured time per
	// image) would not be done well within the deadline, the request gets 503 now, having cost only its
	// body and headers.
	if wait, ok := s.load.admit(readable, time.Until(dl), time.Now()); !ok {
		return nil, overloaded(wait, s.cfg.Timeout)
	}
	counted := readable // images counted ahead of later requests, until the batcher takes them over
	defer func() { s.load.finished(counted) }()
	s.batcher.coming.Add(1)
	coming := true
	defer func() {
		if coming {
			s.batcher.coming.Add(-1)
		}
	}()

	k := q.topK
	if q.only != nil {
		k = s.model.Labels().Len() // every score, to renormalise over the subset
	}
	need += s.resultBytes(readable, k, q)
	if err := res.acquire(ctx, need, s.cfg.AdmissionWait); err != nil {
		return nil, admitError(err, 400)
	}

	var imgs []*imageio.RGB
	var at []int // recs index of each image
	for i, u := range ups {
		if recs[i].Error != "" {
			continue
		}
		s.metrics.decodeBytes.Add(float64(len(u.data)))
		img, err := s.decode(ctx, u.data)
		ups[i].data = nil
		if err != nil {
			if ctx.Err() != nil {
				if r.Context().Err() != nil {
					return nil, fail(499, "client_gone", "client closed the request")
				}
				return nil, fail(503, "overload", "overloaded: decoding did not finish within the %v deadline; retry later", s.cfg.Timeout)
			}
			s.metrics.images.WithLabelValues("error").Inc()
			s.load.finished(1)
			counted--
			if len(ups) == 1 {
				return nil, fail(400, "bad_image", "%v", err)
			}
			recs[i].Error = err.Error()
			continue
		}
		imgs = append(imgs, img)
		at = append(at, i)
	}
	if len(imgs) == 0 {
		return nil, fail(400, "bad_image", "no image could be decoded: %s", recs[0].Error)
	}

	n := len(imgs)
	j := &job{imgs: imgs, topK: k, ctx: ctx, done: make(chan jobResult, 1),
		release: func() { s.load.finished(n); res.done() }}
	s.batcher.coming.Add(-1) // before submitting: the batcher must not wait for this request itself
	coming = false
	res.hold() // the batcher's hold, let go by j.release
	if err := s.batcher.submit(j); err != nil {
		res.done()
		if errors.Is(err, ErrQueueClosed) {
			return nil, fail(503, "shutting_down", "%v", err)
		}
		return nil, fail(503, "budget", "queue is full")
	}
	counted = 0 // the batcher finishes them
	var out jobResult
	select {
	case out = <-j.done:
	case <-ctx.Done():
		if r.Context().Err() != nil {
			return nil, fail(499, "client_gone", "client closed the request")
		}
		if !j.started.Load() {
			// Still queued: the request was not admitted to the model in time (shed, not timed out).
			return nil, fail(503, "overload", "overloaded: not started within %v; retry later", s.cfg.Timeout)
		}
		return nil, fail(504, "timeout", "no result within %v", s.cfg.Timeout)
	}
	if out.err != nil {
		switch {
		case !j.started.Load():
			// Dropped before its run: the deadline passed in the queue, or would pass during the run.
			return nil, fail(503, "overload", "overloaded: could not be classified within %v; retry later", s.cfg.Timeout)
		case ctx.Err() != nil:
			return nil, fail(504, "timeout", "no result within %v", s.cfg.Timeout)
		}
		return nil, fail(500, "internal", "classifying: %v", out.err)
	}
	h, wd := s.model.InputSize()
	for n, i := range at {
		rr := out.results[n]
		preds := rr.Predictions
		if q.only != nil {
			preds = subset(preds, q.only, q.topK)
		} else {
			preds = s.meaningful(preds)
		}
		if q.lang == "en" {
			for p := range preds {
				if en := preds[p].LabelEn; en != "" { // a label file without English keeps its names
					preds[p].Label = en
				}
			}
		}
		ms := float64(rr.Elapsed.Microseconds()) / 1000
		recs[i].Model, recs[i].InputSize, recs[i].Precision = s.info.Name, []int{h, wd}, s.model.Precision()
		recs[i].Predictions, recs[i].ElapsedMS = preds, &ms
		s.metrics.images.WithLabelValues("ok").Inc()
	}
	return recs, nil
}

// decode decodes one image while holding one of the decoder slots (decoding is CPU-bound: more decodes
// than cores only slow each other and the model down), within the request's deadline.
func (s *Server) decode(ctx context.Context, data []byte) (*imageio.RGB, error) {
	if err := s.decodeSlots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	defer s.decodeSlots.Release(1)
	s.metrics.decoding.Inc()
	defer s.metrics.decoding.Dec()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img, err := s.decodeImage(ctx, data)
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	return img, err
}

// resultBytes is what the results of images images at top-K k hold, from the model's scores to the
// response: scoring an image holds a probability and a sort index per class for a moment, and a batch is
// scored at its largest top-K, so a large k is reserved for a whole batch; each image keeps its k
// predictions, and a subset its own copy of the top-K it keeps; the response is encoded one record at a
// time into a buffer that grows by doubling (at most three times the record).
func (s *Server) resultBytes(images, k int, q query) int64 {
	classes := int64(max(s.info.Labels, 1024))
	scoring := classes*16 + int64(s.cfg.MaxBatch)*int64(k)*predictionBytes
	outK := int64(q.topK)
	if q.only != nil {
		outK = min(outK, int64(len(q.only)))
	}
	held := int64(images) * (int64(k) + outK) * predictionBytes
	response := 3 * (recordJSONBytes + outK*s.predJSONBytes)
	return scoring + held + response
}

func overloaded(wait, timeout time.Duration) *apiError {
	return fail(503, "overload", "overloaded: about %v of work is queued ahead, more than the %v deadline allows; retry later",
		wait.Round(time.Millisecond), timeout)
}

// admitError maps a failed reservation to its answer. tooBig is the status when the request alone needs
// more than the whole budget: 413 for a body, 400 for an image too large to decode here.
func admitError(err error, tooBig int) *apiError {
	switch {
	case errors.Is(err, ErrExceedsBudget):
		return fail(tooBig, "too_large", "%v", err)
	case errors.Is(err, ErrBudgetFull):
		return fail(503, "budget", "%v; retry later", err)
	case errors.Is(err, context.Canceled):
		return fail(499, "client_gone", "client closed the request")
	default:
		return fail(503, "budget", "memory did not become free before the deadline; retry later")
	}
}

// writeResults writes the records one at a time, so the response is never held whole, then the query's
// warnings (only= words that matched no class) when there are any.
func (s *Server) writeResults(w http.ResponseWriter, recs []wanwu.Record, warnings []string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	w.Write([]byte(`{"results":[`))
	for i := range recs {
		buf.Reset()
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(&recs[i]); err != nil {
			return
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		if _, err := w.Write(buf.Bytes()); err != nil {
			return
		}
		recs[i].Predictions = nil
	}
	w.Write([]byte("]"))
	if len(warnings) > 0 {
		buf.Reset()
		enc.Encode(warnings)
		w.Write([]byte(`,"warnings":`))
		w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	w.Write([]byte("}\n"))
}

// meaningful drops the background class and the classes under wanwu.MinScore after the first, as the
// model's own top-K does: a batch scored for every class (another request's only=) comes back whole.
func (s *Server) meaningful(preds []wanwu.Prediction) []wanwu.Prediction {
	if ls := s.model.Labels(); ls != nil && ls.Background() >= 0 {
		bg := ls.Background()
		preds = slices.DeleteFunc(preds, func(p wanwu.Prediction) bool { return p.Index == bg })
	}
	return wanwu.Meaningful(preds)
}

// subset keeps the topK best predictions whose class is in only (ascending), rescaled to sum to 1 over
// the whole subset: the softmax over the subset's logits, since p_i/Σ_subset p_j = e^{z_i}/Σ_subset e^{z_j}
// (the model scores every class from its logits, so no subset's probabilities have been rounded to 0), as
// a head pruned to the subset gives. all is sorted best first, so the first matches are the best; those
// under wanwu.MinScore after the first are left out, as in any top-K.
func subset(all []wanwu.Prediction, only []int, topK int) []wanwu.Prediction {
	out := make([]wanwu.Prediction, 0, min(topK, len(only)))
	sum := 0.0
	for _, p := range all {
		if _, in := slices.BinarySearch(only, p.Index); in {
			if len(out) < cap(out) {
				out = append(out, p)
			}
			sum += p.Score
		}
	}
	if sum > 0 {
		for i := range out {
			out[i].Score /= sum
		}
	}
	return wanwu.Meaningful(out)
}

// rawBodyType reports whether a body of media type mt is taken as the raw image (its format sniffed) besides
// image/*: no Content-Type at all (many HTTP clients send raw bytes without one), application/octet-stream,
// and application/x-www-form-urlencoded, which `curl --data-binary @photo.jpg` sends unless told otherwise.
func rawBodyType(mt string) bool {
	return mt == "" || mt == "application/octet-stream" || mt == "application/x-www-form-urlencoded"
}
