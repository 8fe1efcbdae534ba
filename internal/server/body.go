package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"time"
)

// Body chunks: the first is small, each next one twice the last up to the largest, so a small photo is
// one chunk and a large body a few dozen; memory is reserved chunk by chunk as the bytes arrive, so a
// slow client holds no more than it has sent (rounded up to a chunk) rather than --max-body.
const (
	firstChunk = 64 << 10
	maxChunk   = 1 << 20
)

// maxPartHead bounds each multipart part's head (its header lines), checked before parsing: net/textproto
// holds several times a head's bytes while parsing it (a long line is copied as it grows, each line
// becomes strings and a map entry), so the head, not the body, sizes the parse.
const maxPartHead = 8 << 10

// multipartParseBytes is what mime/multipart and net/textproto hold while parsing a part's head (parts are
// parsed one after another): the reader's buffers, six times the head's bytes (a long line's growing
// copies and its string), and per header line (at least 3 bytes) a map entry and slices, which textproto
// itself counts as 200 bytes (TestMultipartParseAllocations measures under half of this allowance).
const multipartParseBytes = 64<<10 + 6*maxPartHead + maxPartHead/3*200

// maxOtherParts bounds the multipart fields that are not images (skipped, but each one parsed).
const maxOtherParts = 16

// bodyError is why reading a body failed, mapped to an HTTP answer by the caller.
var (
	errBodyTooLarge = errors.New("body too large")
	errBodyTimeout  = errors.New("body deadline")
)

// deadlineReader enforces the body deadlines on the connection: each Read must make progress within stall,
// and the whole body must arrive by deadline. Without a connection that takes deadlines (an
// httptest.ResponseRecorder, HTTP/2) reads are unbounded in time, which only in-memory bodies reach.
type deadlineReader struct {
	r        io.Reader
	rc       *http.ResponseController
	deadline time.Time
	stall    time.Duration
	n, limit int64
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.n >= d.limit+1 {
		return 0, errBodyTooLarge
	}
	if len(p) == 0 {
		return 0, nil
	}
	if d.rc != nil {
		next := time.Now().Add(d.stall)
		if d.deadline.Before(next) {
			next = d.deadline
		}
		if err := d.rc.SetReadDeadline(next); err != nil {
			d.rc = nil
		}
	}
	if rest := d.limit + 1 - d.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := d.r.Read(p)
	d.n += int64(n)
	switch {
	case d.n > d.limit:
		return n, errBodyTooLarge
	case err == io.EOF:
		d.clearDeadline()
	case err != nil && isTimeout(err):
		err = errBodyTimeout
	}
	return n, err
}

// clearDeadline lifts the read deadline once the body is complete: net/http keeps reading the connection
// in the background to notice a client that goes away, and a deadline left behind would cancel the
// request's context when it passed.
func (d *deadlineReader) clearDeadline() {
	if d.rc != nil {
		d.rc.SetReadDeadline(time.Time{})
		d.rc = nil
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// chunks is a body held as it arrived.
type chunks struct {
	bufs [][]byte
	size int64 // bytes held (len, summed)
	res  int64 // bytes reserved for them (cap, summed)
}

func (c *chunks) reader() io.Reader {
	rs := make([]io.Reader, len(c.bufs))
	for i, b := range c.bufs {
		rs[i] = bytes.NewReader(b)
	}
	return io.MultiReader(rs...)
}

// readChunks reads src into chunks, reserving each chunk before allocating it. sizeHint (the
// Content-Length, or -1) trims the chunks to what will come.
func (s *Server) readChunks(ctx context.Context, src io.Reader, sizeHint int64, res *reservation) (*chunks, error) {
	c := &chunks{}
	next := int64(firstChunk)
	for {
		n := next
		if sizeHint >= 0 {
			// One byte over what is announced, so that the end of the body is seen without another chunk.
			n = max(min(n, sizeHint-c.size+1), 1)
		}
		if err := res.acquire(ctx, n, s.cfg.AdmissionWait); err != nil {
			return c, err
		}
		buf := make([]byte, n)
		c.res += n
		got, err := io.ReadFull(src, buf)
		if got > 0 {
			c.bufs = append(c.bufs, buf[:got])
			c.size += int64(got)
		} else {
			res.shrink(n)
			c.res -= n
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			// A short last chunk stays reserved at its allocated size.
			return c, nil
		default:
			return c, err
		}
		next = min(next*2, maxChunk)
	}
}

// join returns the chunks as one contiguous slice, reserving its bytes before copying and returning the
// chunks' reservation after.
func (s *Server) join(ctx context.Context, c *chunks, res *reservation) ([]byte, error) {
	if len(c.bufs) == 0 {
		return nil, nil
	}
	if len(c.bufs) == 1 {
		return c.bufs[0], nil
	}
	if err := res.acquire(ctx, c.size, s.cfg.AdmissionWait); err != nil {
		return nil, err
	}
	out := make([]byte, 0, c.size)
	for _, b := range c.bufs {
		out = append(out, b...)
	}
	c.bufs = nil
	res.shrink(c.res)
	c.res = 0
	return out, nil
}

// readBody reads the request body into memory it reserves as the bytes arrive, under the body deadlines,
// and splits it into uploads: the body itself, or the multipart fields named "image".
func (s *Server) readBody(ctx context.Context, w http.ResponseWriter, r *http.Request, multipartBoundary string, isMultipart bool, res *reservation) ([]upload, *apiError) {
	start := time.Now()
	deadline := start.Add(s.cfg.BodyTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	dr := &deadlineReader{r: r.Body, rc: http.NewResponseController(w), deadline: deadline, stall: s.cfg.BodyStall,
		limit: s.cfg.MaxBody}
	c, err := s.readChunks(ctx, dr, r.ContentLength, res)
	if err != nil {
		return nil, s.bodyError(ctx, r, err, c.size, time.Since(start))
	}
	if r.ContentLength >= 0 && c.size < r.ContentLength {
		// The connection was closed before Content-Length bytes came.
		return nil, fail(400, "bad_request", "body ended after %d of the %d bytes its Content-Length announced", c.size, r.ContentLength)
	}
	if !isMultipart {
		data, err := s.join(ctx, c, res)
		if err != nil {
			return nil, admitError(err, 413)
		}
		name := ""
		if _, p, e := mime.ParseMediaType(r.Header.Get("Content-Disposition")); e == nil {
			name = p["filename"]
		}
		return []upload{{name: name, data: data}}, nil
	}
	// The parts are copied out of the body, then the body's chunks are returned to the budget.
	if err := checkPartHeads(c.reader(), multipartBoundary); err != nil {
		return nil, err
	}
	parse := int64(multipartParseBytes)
	if err := res.acquire(ctx, parse, s.cfg.AdmissionWait); err != nil {
		return nil, admitError(err, 413)
	}
	ups, err := s.readMultipart(ctx, c.reader(), multipartBoundary, res)
	res.shrink(parse + c.res)
	c.bufs = nil
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, fail(400, "bad_request", "reading the multipart body: %v", err)
	}
	return ups, nil
}

// bodyError maps a failed body read to its answer: 413 over --max-body, 408 when the client did not send
// the body in time (stalled, too slow, or shorter than its Content-Length), 503 when the budget had no
// room for the next chunk, 499 when the client went away.
func (s *Server) bodyError(ctx context.Context, r *http.Request, err error, got int64, took time.Duration) *apiError {
	switch {
	case errors.Is(err, errBodyTooLarge):
		return fail(413, "body_limit", "body exceeds the %d-byte limit", s.cfg.MaxBody)
	case errors.Is(err, errBodyTimeout):
		return fail(408, "body_timeout", "the body did not arrive in time: %d bytes in %v (every read must progress within %v, the whole body within %v)",
			got, took.Round(time.Millisecond), s.cfg.BodyStall, s.cfg.BodyTimeout)
	case errors.Is(err, ErrBudgetFull), errors.Is(err, ErrExceedsBudget):
		return admitError(err, 413)
	case ctx.Err() != nil && r.Context().Err() == nil:
		// The request deadline passed while waiting for memory for the next chunk.
		return fail(503, "budget", "memory for the body did not become free before the deadline; retry later")
	case r.Context().Err() != nil:
		return fail(499, "client_gone", "client closed the request")
	}
	return fail(400, "bad_request", "reading the body: %v", err)
}

// readMultipart collects the parts named "image" (other fields are skipped, at most maxOtherParts of
// them), each copied into memory reserved as it is read.
func (s *Server) readMultipart(ctx context.Context, body io.Reader, boundary string, res *reservation) ([]upload, error) {
	if boundary == "" {
		return nil, fail(400, "bad_request", "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	var ups []upload
	others := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return ups, nil
		}
		if err != nil {
			return nil, err
		}
		if p.FormName() != "image" {
			if others++; others > maxOtherParts {
				return nil, fail(400, "bad_request", "more than %d multipart fields other than \"image\"", maxOtherParts)
			}
			if _, err := io.Copy(io.Discard, p); err != nil {
				return nil, err
			}
			continue
		}
		if len(ups) == s.cfg.MaxFiles {
			return nil, fail(400, "bad_request", "more than %d images in one request", s.cfg.MaxFiles)
		}
		c, err := s.readChunks(ctx, p, -1, res)
		if err != nil {
			if errors.Is(err, ErrBudgetFull) || errors.Is(err, ErrExceedsBudget) {
				return nil, admitError(err, 413)
			}
			return nil, err
		}
		data, err := s.join(ctx, c, res)
		if err != nil {
			return nil, admitError(err, 413)
		}
		ups = append(ups, upload{name: p.FileName(), data: data})
	}
}

// checkPartHeads refuses a multipart body with a part head over maxPartHead bytes, reading the body line
// by line as mime/multipart will (a delimiter line "--boundary" starts a head, a blank line ends it).
func checkPartHeads(body io.Reader, boundary string) *apiError {
	if boundary == "" {
		return fail(400, "bad_request", "multipart/form-data without a boundary")
	}
	delim := []byte("--" + boundary)
	br := bufio.NewReaderSize(body, 4096)
	inHead, lineStart := false, true
	head := 0
	for {
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			complete := piece[len(piece)-1] == '\n'
			switch {
			case inHead:
				head += len(piece)
				if head > maxPartHead {
					return fail(400, "bad_request", "a multipart part's head is over %d bytes", maxPartHead)
				}
				if lineStart && complete && len(bytes.TrimRight(piece, "\r\n")) == 0 {
					inHead = false
				}
			case lineStart && bytes.HasPrefix(piece, delim):
				// "--boundary--" closes the body; anything else after "--boundary" is a part's start.
				inHead = !bytes.HasPrefix(piece[len(delim):], []byte("--"))
				head = 0
			}
			lineStart = complete
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil // io.EOF: the rest is for mime/multipart to judge
		}
	}
}

// discardLimit bounds the body read and dropped before a 503 that the client is meant to retry elsewhere
// (draining, shedding at the head): a client still sending its body when the server answers and closes
// sees a reset instead of the 503. Larger bodies are not read; the answer then closes the connection.
const discardLimit = 4 << 20

// discardBody reads up to discardLimit of the body into nothing, under the body deadlines.
func (s *Server) discardBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > discardLimit {
		w.Header().Set("Connection", "close")
		return
	}
	start := time.Now()
	dr := &deadlineReader{r: r.Body, rc: http.NewResponseController(w), deadline: start.Add(s.cfg.BodyTimeout),
		stall: s.cfg.BodyStall, limit: discardLimit}
	if _, err := io.Copy(io.Discard, dr); err != nil {
		w.Header().Set("Connection", "close")
	}
}
