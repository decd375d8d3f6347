package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkFrontDoor is what the middleware around every request costs — request id,
// security headers, the access log line (through the bounded handler), the deadline —
// around a handler that does nothing, with metrics off and on.
func BenchmarkFrontDoor(b *testing.B) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	log := boundedLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	for _, c := range []struct {
		name string
		m    *Metrics
	}{{"metrics_off", nil}, {"metrics_on", NewMetrics()}} {
		h := withRequestID(securityHeaders(accessLog(log, c.m)(withDeadline(30 * time.Second)(noop))))
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest(http.MethodGet, "/scim/v2/Users/abc", nil)
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		req := httptest.NewRequest(http.MethodGet, "/scim/v2/Users/abc", nil)
		for b.Loop() {
			noop.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
}
