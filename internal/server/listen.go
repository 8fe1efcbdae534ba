package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// MaxHeaderBytes bounds a request's head (request line and headers). net/http's default (1 MiB) would
// let each of many clients hold a megabyte and more in parsed headers; an API request needs a few KiB.
const MaxHeaderBytes = 16 << 10

// connBytes is what an open connection holds, reserved from the budget while it is open: net/http's
// buffered reader and writer, a head of up to MaxHeaderBytes parsed into strings and a map, and the
// goroutine's stack. Measured in TestConnectionMemory (about 32 KiB of heap and 8 KiB of stack with a
// 15 KiB header); a handler's deeper stack takes the rest.
const connBytes = 64 << 10

// idleTimeout closes keep-alive connections idle this long.
const idleTimeout = 2 * time.Minute

// Serve serves HTTP on ln until ctx ends, then drains: /readyz and new classify requests answer 503
// (with Connection: close) for DrainDelay while connections are still accepted, so load balancers see
// the drain instead of refused connections; then the listener closes and requests in flight get up to
// Drain to finish. It closes the server (its batcher) before returning.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.BodyTimeout,
		// A backstop for bodies no handler reads (net/http discards up to 256 KiB of them after the
		// response); classify sets its own deadlines on the body.
		ReadTimeout:    s.cfg.BodyTimeout * 2,
		MaxHeaderBytes: MaxHeaderBytes,
		IdleTimeout:    idleTimeout,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	cl := s.limitListener(ln)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(cl) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.Drain()
	s.log.Info("draining: /readyz and new requests answer 503 while connections are still accepted",
		"drain_delay", s.cfg.DrainDelay.String(), "drain", s.cfg.Drain.String())
	if s.cfg.DrainDelay > 0 {
		t := time.NewTimer(s.cfg.DrainDelay)
		select {
		case <-t.C:
		case <-s.hurry:
			s.log.Info("drain delay cut short")
		case err := <-errc:
			t.Stop()
			s.Close()
			return err
		}
		t.Stop()
	}
	s.log.Info("shutting down: listener closed, finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Drain)
	defer cancel()
	err := hs.Shutdown(sctx)
	s.Close()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// EndDrainDelay cuts the drain delay short (a second SIGTERM or SIGINT: the operator wants out now).
func (s *Server) EndDrainDelay() { s.hurryOnce.Do(func() { close(s.hurry) }) }

// limitListener admits connections only as far as their memory fits: each takes a slot (at most
// MaxConns, and no more than a quarter of what the model leaves of the budget holds) before it is
// accepted, so one over the bound waits in the kernel's accept queue (not refused) until an open one
// closes; once accepted it reserves connBytes from the budget before net/http reads from it.
func (s *Server) limitListener(ln net.Listener) net.Listener {
	byBudget := int((s.budget.Total() - s.info.PeakBytes) / 4 / connBytes)
	n := max(min(s.cfg.MaxConns, byBudget), 8)
	ctx, cancel := context.WithCancel(context.Background())
	return &limitListener{Listener: ln, s: s, slots: make(chan struct{}, n), ctx: ctx, cancel: cancel}
}

type limitListener struct {
	net.Listener
	s      *Server
	slots  chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	for {
		err := l.s.budget.Acquire(l.ctx, connBytes, time.Second)
		if err == nil {
			break
		}
		if l.ctx.Err() != nil {
			c.Close()
			<-l.slots
			return nil, net.ErrClosed
		}
	}
	l.s.metrics.conns.Inc()
	return &limitedConn{Conn: c, l: l}, nil
}

func (l *limitListener) Close() error {
	l.cancel()
	return l.Listener.Close()
}

// limitedConn gives its slot and reservation back when closed (net/http closes each connection once; the
// Once guards against a second Close from elsewhere).
type limitedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.s.budget.Release(connBytes)
		<-c.l.slots
		c.l.s.metrics.conns.Dec()
	})
	return err
}
