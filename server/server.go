// Package server is Townsquare's HTTP side: routing, authentication, request limits,
// logging, health endpoints and graceful shutdown. What a SCIM request means is decided
// in package resources; this package decides who may ask and how the answer travels.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
)

// SCIMPrefix is where SCIM is served.
const SCIMPrefix = "/scim/v2"

// DefaultMaxBodyBytes is the request body limit when Config leaves it at zero.
const DefaultMaxBodyBytes = 1 << 20

// DefaultRequestTimeout is how long a request may take when Config leaves it at zero.
const DefaultRequestTimeout = 30 * time.Second

// readyTimeout bounds /readyz: a database that takes longer to answer its few statements
// is not ready to serve.
const readyTimeout = 2 * time.Second

// Config is what a server needs.
type Config struct {
	Store          store.Store
	Log            *slog.Logger
	BaseURL        string // public URL of SCIMPrefix; meta.location and Location use it
	BootstrapToken string // TOWNSQUARE_TOKEN: accepted beside stored tokens, if set
	MaxBodyBytes   int64
	// RequestTimeout is the deadline of every request, from its headers to its last
	// byte, and of every statement it runs (the request's context reaches the store);
	// a request past it is answered 503 with Retry-After. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Metrics, when set, counts requests, authentication failures and provisioning
	// events (serve them with MetricsHandler); nil counts nothing.
	Metrics *Metrics
}

// Handler builds the whole HTTP handler.
func Handler(cfg Config) (http.Handler, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	rawLog := cfg.Log // for panics, whose stacks must stay whole
	cfg.Log = boundedLogger(cfg.Log)
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	api, err := resources.New(cfg.Store, cfg.Log, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	api.OnEvent(cfg.Metrics.provisioning)
	auth := newAuthenticator(cfg.Store, cfg.BootstrapToken)
	auth.metrics = cfg.Metrics

	r := mux.NewRouter()
	r.Use(routeLabel, recoverPanics(rawLog, writeSCIMError))
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	}).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", readyz(cfg.Store)).Methods(http.MethodGet, http.MethodHead)
	registerAdminAPI(r, cfg.Store, auth, rawLog)

	scim := r.PathPrefix(SCIMPrefix).Subrouter()
	scim.Use(auth.require(writeSCIMError), limitBody(cfg.MaxBodyBytes))
	api.Register(scim)
	r.NotFoundHandler = r.NewRoute().BuildOnly().HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeSCIMError(w, http.StatusNotFound, "not found; SCIM is served under "+SCIMPrefix)
	}).GetHandler()
	// Outside the router, so that every answer has them, an unmatched path's too.
	return withRequestID(securityHeaders(accessLog(cfg.Log, cfg.Metrics)(
		withDeadline(cfg.RequestTimeout)(canonicalPaths(r))))), nil
}

// readyz answers 200 when the store can serve (store.Store.Ready: its tables readable,
// its schema this build's), else 503 with Retry-After and a reason that names no
// secret: this endpoint needs no token.
func readyz(s store.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		err := s.Ready(ctx)
		if err == nil {
			_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
			return
		}
		requestLog(r.Context()).setErr(err)
		reason := "the database is unavailable"
		var sv *store.SchemaVersionError
		switch {
		case errors.As(err, &sv):
			reason = sv.Error()
		case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
			reason = "the database did not answer in time"
		}
		setRetryAfter(w)
		w.WriteHeader(http.StatusServiceUnavailable)
		body, _ := json.Marshal(map[string]string{"status": "unavailable", "reason": reason})
		_, _ = w.Write(append(body, '\n'))
	}
}

// setRetryAfter asks the client of a 503 to come back after resources.RetryAfter, as
// resources.WriteError does for SCIM errors.
func setRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(resources.RetryAfter/time.Second)))
}

// withDeadline gives every request a deadline of d: its context, which every store call
// is handed, ends then, and so does any statement still running for it.
func withDeadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
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
