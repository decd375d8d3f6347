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
	svc := &resources.Service{Store: cfg.Store, Log: cfg.Log, BaseURL: cfg.BaseURL}
	lib, err := svc.SCIMServer()
	if err != nil {
		return nil, err
	}
	auth := newAuthenticator(cfg.Store, cfg.BootstrapToken)

	r := mux.NewRouter()
	r.Use(accessLog(cfg.Log), recoverPanics(cfg.Log))
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
	registerAdminAPI(r, cfg.Store, auth)

	scim := r.PathPrefix(SCIMPrefix).Subrouter()
	scim.Use(auth.middleware, limitBody(cfg.MaxBodyBytes))
	// Lists are ours (the library's envelope reports itemsPerPage wrongly and cannot
	// project); single resources and discovery are the library's, but for the group
	// routes below.
	scim.HandleFunc("/Users", svc.ListUsers).Methods(http.MethodGet)
	scim.HandleFunc("/Groups", svc.ListGroups).Methods(http.MethodGet)
	scim.HandleFunc("/ServiceProviderConfig", svc.ServiceProviderConfig).Methods(http.MethodGet)
	allow := map[string][]string{
		"/Users": {http.MethodGet, http.MethodPost}, "/Users/{id}": {http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete},
		"/Groups": {http.MethodGet, http.MethodPost}, "/Groups/{id}": {http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete},
		"/ServiceProviderConfig": {http.MethodGet}, "/Schemas": {http.MethodGet}, "/Schemas/{id}": {http.MethodGet},
		"/ResourceTypes": {http.MethodGet}, "/ResourceTypes/{id}": {http.MethodGet},
	}
	plainLibrary := http.StripPrefix(SCIMPrefix, lib)
	library := resources.NormalizeBody(plainLibrary)
	// A group's GET and PATCH are ours too, for what a large group costs: GET streams the
	// members, PATCH reads the paths Okta and Entra send without the library's parser.
	// Both answer exactly as the library would, and PATCH hands the library (behind the
	// same body normalisation) every request it does not recognise.
	scim.Handle("/Groups/{id}", groupRoute(library, svc.GetGroup)).Methods(http.MethodGet)
	scim.Handle("/Groups/{id}", resources.NormalizeBody(groupRoute(plainLibrary,
		func(w http.ResponseWriter, r *http.Request, id string) { svc.PatchGroup(w, r, id, plainLibrary) }))).Methods(http.MethodPatch)
	discovery := http.StripPrefix(SCIMPrefix, svc.Discovery(lib))
	for _, path := range []string{"/Schemas", "/Schemas/{id}", "/ResourceTypes", "/ResourceTypes/{id}"} {
		scim.Handle(path, discovery).Methods(http.MethodGet)
	}
	for path, methods := range allow {
		scim.Handle(path, library).Methods(methods...)
		scim.Handle(path, methodNotAllowed(methods))
	}
	scim.Handle("/Bulk", notImplemented("bulk operations are not supported (see /ServiceProviderConfig)"))
	scim.PathPrefix("/").Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		resources.WriteError(w, http.StatusNotFound, "", "no SCIM endpoint at this path")
	}))
	r.NotFoundHandler = r.NewRoute().BuildOnly().HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		resources.WriteError(w, http.StatusNotFound, "", "not found; SCIM is served under "+SCIMPrefix)
	}).GetHandler()
	return canonicalPaths(r), nil
}

func methodNotAllowed(methods []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allow := ""
		for i, m := range methods {
			if i > 0 {
				allow += ", "
			}
			allow += m
		}
		w.Header().Set("Allow", allow)
		resources.WriteError(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, allow))
	})
}

func notImplemented(detail string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		resources.WriteError(w, http.StatusNotImplemented, "", detail)
	})
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
