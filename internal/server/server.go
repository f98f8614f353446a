// Package server is sitrep's HTTP API (`sitrep serve`): a JSON API under
// /api/v1 for incidents, their timelines, status updates, roles, action
// items, the change log and API tokens, plus /healthz, /readyz and
// /metrics.
//
// Handlers only decode the request, call the service layer the CLI also
// uses (internal/incident, internal/auth, internal/changelog) and encode
// the result: no rule lives only here. Errors become an HTTP status and a
// JSON envelope in exactly one place, writeError.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sitrep-dev/sitrep/internal/app"
	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changelog"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// DefaultAddr is where the server listens unless told otherwise: loopback
// only, so that nothing is exposed by accident.
const DefaultAddr = "127.0.0.1:8080"

// DefaultMaxBody is the default request body limit (1 MiB).
const DefaultMaxBody int64 = 1 << 20

// DefaultShutdownTimeout bounds how long a graceful shutdown waits for
// in-flight requests.
const DefaultShutdownTimeout = 20 * time.Second

// Pinger reports whether the store is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configures a Server.
type Options struct {
	// Services is the shared service layer (required). The server does not
	// close it: the caller does, after Run or Serve returns.
	Services *app.Services
	// Logger receives request errors and lifecycle messages; discarded when
	// nil.
	Logger *slog.Logger
	// Now is the clock (time.Now when nil). The service layer has its own;
	// the server uses this one for request durations only.
	Now func() time.Time
	// MaxBody limits request bodies; DefaultMaxBody when 0.
	MaxBody int64
	// ShutdownTimeout bounds the graceful shutdown; DefaultShutdownTimeout
	// when 0.
	ShutdownTimeout time.Duration
}

// Server is the HTTP API.
type Server struct {
	incidents *incident.Service
	tokens    *auth.Service
	changes   *changelog.Service
	store     Pinger

	log      *slog.Logger
	now      func() time.Time
	maxBody  int64
	shutdown time.Duration

	registry *prometheus.Registry
	metrics  *metrics
	handler  http.Handler
}

// New returns a Server over opts.Services.
func New(opts Options) *Server {
	s := &Server{
		log: opts.Logger, now: opts.Now, maxBody: opts.MaxBody, shutdown: opts.ShutdownTimeout,
	}
	if svc := opts.Services; svc != nil {
		s.incidents, s.tokens, s.changes = svc.Incidents, svc.Tokens, svc.Changes
		if svc.Backend != nil {
			s.store = svc.Backend
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "server")
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.shutdown <= 0 {
		s.shutdown = DefaultShutdownTimeout
	}
	s.registry = prometheus.NewRegistry()
	s.metrics = newMetrics(s.registry, s.incidents)
	s.handler = s.routes()
	return s
}

// Handler returns the server's HTTP handler (every route).
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on addr and serves until ctx is cancelled, then shuts down
// gracefully (see Serve).
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled. It then stops accepting
// connections and waits up to Options.ShutdownTimeout for in-flight
// requests to finish; their contexts are not cancelled by ctx, so a write
// that was accepted completes and is answered. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// Requests must outlive ctx during the graceful shutdown; they are
	// cancelled only when the shutdown times out.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.shutdown)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdown)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		s.log.Warn("graceful shutdown timed out; closing remaining connections", "err", err)
		cancelBase()
		_ = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// ExposureWarning explains the risk when addr is not a loopback address,
// and returns "" when it is (or when addr is malformed: listening reports
// that).
func ExposureWarning(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if strings.EqualFold(host, "localhost") {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ""
	}
	where := host
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		where = "every network interface"
	}
	return fmt.Sprintf("--addr %s listens on %s, not just loopback: anyone who can reach it can try tokens, "+
		"and the API has no TLS of its own. Put a TLS proxy and a firewall in front, or use --addr 127.0.0.1:PORT.", addr, where)
}
