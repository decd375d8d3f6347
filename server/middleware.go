package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/townsquare/townsquare/resources"
)

// reqLog collects what the access log line reports; inner middleware fills it in.
type reqLog struct {
	token string
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

// accessLog writes one line per request: method, path, status, duration, token name.
func accessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rl := &reqLog{}
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), reqLogKey{}, rl)))
			attrs := []any{"method", r.Method, "path", r.URL.Path, "status", sw.status,
				"duration_ms", float64(time.Since(start).Microseconds()) / 1000, "token", rl.token}
			level := slog.LevelInfo
			if rl.err != nil {
				attrs = append(attrs, "err", rl.err.Error())
				level = slog.LevelError
			}
			log.Log(r.Context(), level, "request", attrs...)
		})
	}
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
				log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				requestLog(r.Context()).setErr(fmt.Errorf("panic: %v", p))
				if !sw.written {
					writeErr(sw, http.StatusInternalServerError, "internal server error; the server log has the details")
				}
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// limitBody reads the request body up front, answering 413 when it is larger than max.
// Reading it here makes the limit hold for chunked bodies too, not only for an honest
// Content-Length, before any handler reads it.
func limitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > max {
				tooLarge(w, max)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			r.Body.Close()
			if err != nil {
				resources.WriteError(w, resources.Error(http.StatusBadRequest, "invalidSyntax", "could not read the request body"))
				return
			}
			if int64(len(body)) > max {
				tooLarge(w, max)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

func tooLarge(w http.ResponseWriter, max int64) {
	w.Header().Set("Connection", "close")
	writeSCIMError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than the limit of %d bytes", max))
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
