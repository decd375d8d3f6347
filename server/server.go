// Package server is Townsquare's HTTP side: routing, authentication, request limits,
// logging, health endpoints and graceful shutdown. What a SCIM request means is decided
// in package resources; this package decides who may ask and how the answer travels.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/net/netutil"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
)

// SCIMPrefix is where SCIM is served.
const SCIMPrefix = "/scim/v2"

// DefaultMaxBodyBytes is the request body limit when Config leaves it at zero.
const DefaultMaxBodyBytes = 1 << 20

// Config is what a server needs.
type Config struct {
	Store          store.Store
	Log            *slog.Logger
	BaseURL        string // public URL of SCIMPrefix; meta.location and Location use it
	BootstrapToken string // TOWNSQUARE_TOKEN: accepted beside stored tokens, with every scope, if set
	MaxBodyBytes   int64
	Limits         Limits // per-token and per-address rate limits; the zero value limits nothing
}

// Handler builds the whole HTTP handler.
func Handler(cfg Config) (http.Handler, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	api, err := resources.New(cfg.Store, cfg.Log, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	auth := newAuthenticator(cfg.Store, cfg.BootstrapToken, cfg.Limits, time.Now)

	r := mux.NewRouter()
	r.Use(accessLog(cfg.Log), recoverPanics(cfg.Log, writeSCIMError))
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	}).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := cfg.Store.Ping(ctx); err != nil {
			requestLog(req.Context()).setErr(err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"database unreachable"}` + "\n"))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	}).Methods(http.MethodGet, http.MethodHead)
	registerAdminAPI(r, cfg.Store, auth, cfg.Log)

	scim := r.PathPrefix(SCIMPrefix).Subrouter()
	scim.Use(auth.require(needs(store.ScopeSCIM), writeSCIMError), limitBody(cfg.MaxBodyBytes))
	api.Register(scim)
	r.NotFoundHandler = r.NewRoute().BuildOnly().HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeSCIMError(w, http.StatusNotFound, "not found; SCIM is served under "+SCIMPrefix)
	}).GetHandler()
	return canonicalPaths(r), nil
}

// writeSCIMError answers outside a SCIM handler (authentication, limits, panics) the way
// SCIM answers errors.
func writeSCIMError(w http.ResponseWriter, status int, detail string) {
	resources.WriteError(w, resources.Error(status, "", detail))
}

// The server's timeouts. A request's header must arrive within ReadHeaderTimeout and its
// body within ReadTimeout of the request's start, so a client trickling bytes holds a
// connection that long at most (a rejected request's body is not read at all: see
// reject); a 1 MiB body needs only 35 KB/s. Answers may take WriteTimeout: a full read of
// a 50,000-member group streams for a while.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 120 * time.Second
	IdleTimeout       = 120 * time.Second
)

// DefaultMaxConns is how many connections `townsquare serve` holds open at once unless
// told otherwise: far above what IdPs open (Okta and Entra use a few each), low enough
// that a flood cannot exhaust file descriptors or memory.
const DefaultMaxConns = 1024

// LimitListener caps ln at n concurrent connections (golang.org/x/net/netutil): further
// ones wait in the kernel's accept queue until one closes. n <= 0 is no cap.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return netutil.LimitListener(ln, n)
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Serve runs the server on ln until ctx is cancelled, then shuts down gracefully,
// letting requests in flight finish for up to grace.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, grace time.Duration) error {
	return serve(ctx, ln, newHTTPServer(h, log), log, grace)
}

func serve(ctx context.Context, ln net.Listener, srv *http.Server, log *slog.Logger, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
