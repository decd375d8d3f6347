package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
)

// reqLog collects what the access log line reports; inner middleware fills it in.
type reqLog struct {
	token string
	route string // the matched route's path template
	err   error
}

func (l *reqLog) setErr(err error) {
	if l != nil {
		l.err = err
	}
}

type reqLogKey struct{}

func requestLog(ctx context.Context) *reqLog {
	l, _ := ctx.Value(reqLogKey{}).(*reqLog)
	if l == nil {
		return &reqLog{}
	}
	return l
}

// statusWriter remembers the status code and whether anything was written.
type statusWriter struct {
	http.ResponseWriter
	status  int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.status, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.status, w.written = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// RequestIDHeader carries a request's id, both ways.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an X-Request-Id that is honoured; a longer one is replaced.
const maxRequestIDLen = 64

// withRequestID gives every request an id: the client's (or its proxy's) X-Request-Id
// when it is 1–64 characters of [A-Za-z0-9._:-], else a new random one. It is echoed in
// the response's X-Request-Id, logged with every line the request writes, and put in
// the request's context (store.RequestID).
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(store.WithRequestID(r.Context(), id)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// newRequestID is 128 random bits in hex.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// securityHeaders marks every answer as not to be cached (answers hold personal data and
// depend on the token) and not to be sniffed as another content type than it says.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// accessLog writes one line per request — method, path, route, status, duration, token
// name, client address, request id (with log, whose handler bounds every value, see
// boundedHandler) — and counts it in m. The client address is the connection's peer:
// behind a proxy that is the proxy, whose own log has the client (match the lines by
// X-Request-Id); X-Forwarded-For is not trusted.
func accessLog(log *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rl := &reqLog{route: unmatchedRoute}
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), reqLogKey{}, rl)))
			took := time.Since(start)
			m.request(rl.route, knownMethod(r.Method), sw.status, took)
			attrs := []any{"method", r.Method, "path", r.URL.Path, "route", rl.route, "status", sw.status,
				"duration_ms", float64(took.Microseconds()) / 1000, "token", rl.token, "client", r.RemoteAddr,
				"request_id", store.RequestID(r.Context())}
			level := slog.LevelInfo
			if rl.err != nil {
				attrs = append(attrs, "err", rl.err.Error())
				level = slog.LevelError
			}
			log.Log(r.Context(), level, "request", attrs...)
		})
	}
}

// unmatchedRoute is the route of a request no route of the router matched.
const unmatchedRoute = "unmatched"

// routeLabel records the matched route's path template ("/scim/v2/Users/{id}") for the
// access log and the metrics: a label with a bounded number of values, unlike the path.
func routeLabel(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if tmpl, err := route.GetPathTemplate(); err == nil {
				requestLog(r.Context()).route = tmpl
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a logged 500, answered by writeErr in the API's own
// error shape, instead of a dropped connection (net/http would just close it).
func recoverPanics(log *slog.Logger, writeErr func(w http.ResponseWriter, status int, detail string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw, ok := w.(*statusWriter)
			if !ok {
				sw = &statusWriter{ResponseWriter: w, status: http.StatusOK}
			}
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				// log is the server's own logger, whose values are not bounded, so that the
				// stack is whole: the values a client chose are bounded here.
				log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", boundString(r.URL.Path),
					"panic", boundString(fmt.Sprint(p)), "request_id", store.RequestID(r.Context()), "stack", string(debug.Stack()))
				requestLog(r.Context()).setErr(fmt.Errorf("panic: %v", p))
				if !sw.written {
					writeErr(sw, http.StatusInternalServerError, "internal server error; the server log has the details")
				}
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// limitBody reads the request body up front, answering 413 (with writeErr, in the
// API's own error shape) when it is larger than max. Reading it here makes the limit hold
// for chunked bodies too, not only for an honest Content-Length, before any handler
// reads it.
func limitBody(max int64, writeErr errorWriter) func(http.Handler) http.Handler {
	return limitBodyAs(max, fmt.Sprintf("the request body is larger than the limit of %d bytes", max), writeErr)
}

// limitBodyAs is limitBody answering 413 with detail.
func limitBodyAs(max int64, detail string, writeErr errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > max {
				tooLarge(w, detail, writeErr)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			r.Body.Close()
			if err != nil {
				writeErr(w, http.StatusBadRequest, "could not read the request body")
				return
			}
			if int64(len(body)) > max {
				tooLarge(w, detail, writeErr)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

// limitSCIMBody bounds the body of a SCIM request: POST /Bulk to its maxPayloadSize
// (resources.MaxBulkPayloadBytes, as /ServiceProviderConfig advertises it, whatever max
// is; RFC 7644 §3.7.4 asks the 413 to name the limit), every other path to max.
func limitSCIMBody(max int64) func(http.Handler) http.Handler {
	single := limitBody(max, writeSCIMError)
	bulk := limitBodyAs(resources.MaxBulkPayloadBytes, fmt.Sprintf(
		"the bulk request is larger than maxPayloadSize (%d bytes)", resources.MaxBulkPayloadBytes), writeSCIMError)
	return func(next http.Handler) http.Handler {
		s, b := single(next), bulk(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if route := mux.CurrentRoute(r); route != nil {
				if tmpl, err := route.GetPathTemplate(); err == nil && tmpl == SCIMPrefix+"/Bulk" {
					b.ServeHTTP(w, r)
					return
				}
			}
			s.ServeHTTP(w, r)
		})
	}
}

func tooLarge(w http.ResponseWriter, detail string, writeErr errorWriter) {
	w.Header().Set("Connection", "close")
	writeErr(w, http.StatusRequestEntityTooLarge, detail)
}

// canonicalPaths respells SCIM paths as the SCIM API registers them
// (resources.CanonicalPath): endpoint names in any case, a trailing slash.
func canonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, SCIMPrefix+"/"); ok && rest != "" {
			if p := SCIMPrefix + "/" + resources.CanonicalPath(rest); p != r.URL.Path {
				r.URL.Path, r.URL.RawPath = p, ""
			}
		}
		next.ServeHTTP(w, r)
	})
}
