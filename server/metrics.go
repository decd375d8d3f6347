package server

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/townsquare/townsquare/resources"
)

// Metrics are the server's Prometheus metrics, on a registry of their own that
// MetricsHandler serves: on a listener of its own (townsquare serve --metrics-addr), never
// on the SCIM port, as they need no token. A nil *Metrics is valid and counts nothing:
// every method may be called on it, so code that counts need not ask whether metrics
// are on.
//
// Every label has a bounded set of values: routes are the router's path templates
// ("/scim/v2/Users/{id}", "unmatched" for any other path), never a raw path.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	provisioned  *prometheus.CounterVec
}

// NewMetrics makes the metrics, with the Go runtime's and the process's collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "townsquare_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "townsquare_http_request_duration_seconds",
			Help: "Time from a request's arrival to the end of its answer, by route template and method.",
			// Up to the default request timeout: a request that ran out of time is seen.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "townsquare_auth_failures_total",
			Help: `Requests refused for their credentials, by reason: "missing" (no bearer token), "invalid" (a token no one issued, or revoked).`,
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "townsquare_rate_limited_total",
			Help: "Requests answered 429 by a rate limit, by the limit that refused them.",
		}, []string{"limit"}),
		provisioned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "townsquare_provisioning_events_total",
			Help: "What the SCIM API changed, by event (see resources.Event*): users created, deactivated, " +
				"reactivated and deleted, groups created and deleted, member ids added and removed, member lists replaced.",
		}, []string{"event"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.authFailures, m.rateLimited, m.provisioned,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchDB adds the connection pool's statistics (database/sql's DBStats: open, in use
// and idle connections, waits for a connection and their time) as go_sql_* metrics,
// labelled db_name=name.
func (m *Metrics) WatchDB(db *sql.DB, name string) {
	if m != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
}

// MetricsHandler serves m in Prometheus's text format at /metrics, and 404 elsewhere.
func MetricsHandler(m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}

// request counts one answered request.
func (m *Metrics) request(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// AuthFailure counts a request refused for its credentials; reason is one of a few
// fixed words ("missing", "invalid", or "forbidden" for a token without the scope asked).
func (m *Metrics) AuthFailure(reason string) {
	if m != nil {
		m.authFailures.WithLabelValues(reason).Inc()
	}
}

// RateLimited counts a request answered 429; limit names the limit that refused it, one
// of a few fixed words (e.g. "token", "client").
func (m *Metrics) RateLimited(limit string) {
	if m != nil {
		m.rateLimited.WithLabelValues(limit).Inc()
	}
}

// provisioning counts n provisioning events of one kind (resources.API reports them).
func (m *Metrics) provisioning(event resources.Event, n int) {
	if m != nil && n > 0 {
		m.provisioned.WithLabelValues(string(event)).Add(float64(n))
	}
}

// knownMethod bounds the method label: anything but the methods the APIs serve is OTHER.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "OTHER"
}
