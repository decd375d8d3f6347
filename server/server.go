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

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/gorilla/mux"
	"golang.org/x/net/netutil"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// SCIMPrefix is where SCIM is served.
const SCIMPrefix = "/scim/v2"

// DefaultMaxBodyBytes is the request body limit when Config leaves it at zero.
const DefaultMaxBodyBytes = 1 << 20

// DefaultRequestTimeout is how long a request may take when Config leaves it at zero.
const DefaultRequestTimeout = 30 * time.Second

// MaxRequestTimeout is the longest request deadline Handler accepts: it must end before
// the server's WriteTimeout, which would otherwise cut an answer off with no 503.
const MaxRequestTimeout = WriteTimeout - 20*time.Second

// readyTimeout bounds /readyz: a database that takes longer to answer its few statements
// is not ready to serve.
const readyTimeout = 2 * time.Second

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
	BootstrapToken string // TOWNSQUARE_TOKEN: accepted beside stored tokens, with every scope, if set
	MaxBodyBytes   int64
	Limits         Limits // per-token and per-address rate limits; the zero value limits nothing
	// RequestTimeout is the deadline of every request, from its headers to its last
	// byte, and of every statement it runs (the request's context reaches the store);
	// a request past it is answered 503 with Retry-After. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Metrics, when set, counts requests, authentication failures and provisioning
	// events (serve them with MetricsHandler); nil counts nothing.
	Metrics *Metrics
	// Mattermost is the mapping file's mattermost: block (nil: no connector), for
	// GET /api/v1/mattermost/status.
	Mattermost *rules.Mattermost
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
	if cfg.RequestTimeout > MaxRequestTimeout {
		return nil, fmt.Errorf("request timeout %s: at most %s", cfg.RequestTimeout, MaxRequestTimeout)
	}
	api, err := resources.New(cfg.Store, cfg.Log, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	api.OnEvent(cfg.Metrics.provisioning)
	auth := newAuthenticator(cfg.Store, cfg.BootstrapToken, cfg.Limits, time.Now)
	auth.metrics = cfg.Metrics
	if auth.perToken != nil {
		// Each bulk operation is a request of its token's rate; a token can never hold
		// more than its burst, so no bulk request may carry more operations than that.
		if err := api.LimitBulk(min(resources.MaxBulkOperations, cfg.Limits.TokenBurst), auth.chargeBulk); err != nil {
			return nil, err
		}
	}

	r := mux.NewRouter()
	r.Use(routeLabel, recoverPanics(rawLog, writeSCIMError))
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	}).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", readyz(cfg.Store)).Methods(http.MethodGet, http.MethodHead)
	registerMattermostStatus(r, cfg.Store, cfg.Mattermost, auth, rawLog)
	registerAdminAPI(r, cfg.Store, auth, rawLog, min(cfg.MaxBodyBytes, AdminMaxBodyBytes))

	scim := r.PathPrefix(SCIMPrefix).Subrouter()
	scim.Use(auth.require(needs(store.ScopeSCIM), writeSCIMError), limitSCIMBody(cfg.MaxBodyBytes))
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
// SCIM answers errors. A 400 there is a body that could not be read: invalidSyntax.
func writeSCIMError(w http.ResponseWriter, status int, detail string) {
	var scimType scimerrors.ScimType
	if status == http.StatusBadRequest {
		scimType = scimerrors.ScimTypeInvalidSyntax
	}
	resources.WriteError(w, resources.Error(status, scimType, detail))
}

// The server's timeouts. A request's header must arrive within ReadHeaderTimeout and its
// body within ReadTimeout of the request's start, so a client trickling bytes holds a
// connection that long at most (a rejected request's body is not read at all: see
// reject); a 1 MiB body needs only 35 KB/s. WriteTimeout backs up the request deadline
// (Config.RequestTimeout, at most MaxRequestTimeout), which the handler answers 503 at: it
// closes a connection whose client reads an answer too slowly for the deadline to help.
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
		MaxHeaderBytes:    MaxHeaderBytes,
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
