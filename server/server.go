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

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
)

// SCIMPrefix is where SCIM is served.
const SCIMPrefix = "/scim/v2"

// DefaultMaxBodyBytes is the request body limit when Config leaves it at zero.
const DefaultMaxBodyBytes = 1 << 20

// MaxHeaderBytes bounds a request's line and headers (http.Server.MaxHeaderBytes; Go
// allows 4 KiB of slack over it); beyond, the answer is 431. A SCIM request needs a few
// hundred bytes beside its filter (itself at most 8 KiB, limits.MaxFilterLength, three
// times that percent-encoded); net/http's default of 1 MiB let a 200 KB filter in.
const MaxHeaderBytes = 64 << 10

// Config is what a server needs.
type Config struct {
	Store          store.Store
	Log            *slog.Logger
	BaseURL        string // public URL of SCIMPrefix; meta.location and Location use it
	BootstrapToken string // TOWNSQUARE_TOKEN: accepted beside stored tokens, if set
	MaxBodyBytes   int64
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
	auth := newAuthenticator(cfg.Store, cfg.BootstrapToken)

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
	scim.Use(auth.require(writeSCIMError), limitBody(cfg.MaxBodyBytes))
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

// Serve runs the server on ln until ctx is cancelled, then shuts down gracefully,
// letting requests in flight finish for up to grace.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, grace time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
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
