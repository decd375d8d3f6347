// Package mmtest is an in-memory Mattermost for tests: it answers exactly the REST API v4
// calls that server/mattermost may make, with Mattermost's behaviour and error bodies
// (docs/mattermost.md lists what it models and where each rule comes from), injects
// faults, records every request, and checks every request and answer against
// Townsquare's OpenAPI subset of Mattermost's API. A call outside that allow-list, or a
// request or answer that breaks the subset, is a violation; New's Cleanup fails the test
// on any.
//
// It is safe for concurrent requests: one mutex guards the state, held only while a
// handler runs (never while latency or a hang is simulated). Users are indexed by
// username, email and auth_data; member lists page from a sorted id slice rebuilt only
// after a change.
package mmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/townsquare/townsquare/server/mattermost"
)

// maxRequestBody bounds what the double reads of a request body.
const maxRequestBody = 1 << 20

// Option configures a Server.
type Option func(*Server)

// WithMaxUsersPerTeam sets TeamSettings.MaxUsersPerTeam (default 50, as a stock server).
func WithMaxUsersPerTeam(n int) Option { return func(s *Server) { s.st.maxUsersPerTeam = n } }

// WithAPIUserDeletion turns on ServiceSettings.EnableAPIUserDeletion, without which a
// permanent delete is refused with 401 (the stock setting).
func WithAPIUserDeletion() Option { return func(s *Server) { s.st.apiUserDeletion = true } }

// Unlicensed makes the double a server without a licence: demoting to guest is 501.
// The default is licensed with guest accounts enabled.
func Unlicensed() Option { return func(s *Server) { s.st.licensed = false } }

// WithoutOpenAPIChecks turns the OpenAPI checking off, for benchmarks that measure the
// caller rather than the checker. Calls outside the allow-list are still violations.
func WithoutOpenAPIChecks() Option { return func(s *Server) { s.checker = nil } }

// WithoutRequestLog keeps no copy of the requests (Requests and Count then see none):
// a benchmark of a 100k-user tenant measures the connector's memory, not the log's.
func WithoutRequestLog() Option { return func(s *Server) { s.noLog = true } }

// Request is one request the double received: Path as sent (escaped), Query raw, Status
// the answer's (0 for a request held by HangNext until the client gave up).
type Request struct {
	Method, Path, Query string
	Status              int
	Body                []byte
	Time                time.Time // when the request arrived
}

// Server is the double.
type Server struct {
	mu         sync.Mutex
	st         *state
	adminToken string
	userToken  string
	checker    *checker

	// faults
	failN, failStatus int
	failBody          string
	failRaw           bool
	rateN             int
	retryAfter        time.Duration
	latency           time.Duration
	hangN             int
	holding           int // requests held by HangNext right now

	// observation
	reqs       []Request
	noLog      bool // WithoutRequestLog
	violations []string

	// lifecycle
	addr   string
	hs     *http.Server
	ln     net.Listener
	connMu sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	done   chan struct{}
}

// New starts a double on 127.0.0.1:0 for t; at Cleanup it fails t on any violation
// (AssertConformant) and closes.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.AssertConformant(t)
		s.Close()
	})
	return s
}

// Start starts a double listening on addr (for helper binaries; Close it).
func Start(addr string, opts ...Option) (*Server, error) {
	ch, err := newChecker()
	if err != nil {
		return nil, err
	}
	s := &Server{st: newState(), checker: ch, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	// The token's owner: a system admin bot, as the connector is meant to run with, and
	// a plain user for "lacks rights".
	bot := s.st.addUser(mattermost.User{Username: "townsquare-bot", Email: "townsquare-bot@localhost",
		Roles: "system_user system_admin", IsBot: true})
	plain := s.st.addUser(mattermost.User{Username: "plain-user", Email: "plain-user@localhost", Roles: "system_user"})
	s.adminToken, s.userToken = newID(), newID()
	s.st.tokens[s.adminToken] = bot.u.ID
	s.st.tokens[s.userToken] = plain.u.ID

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.ln, s.addr = ln, ln.Addr().String()
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ConnState: s.trackConn}
	go s.hs.Serve(ln) //nolint:errcheck // ends with the listener
	return s, nil
}

func (s *Server) trackConn(c net.Conn, state http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	switch state {
	case http.StateNew:
		s.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

// URL is the server root (what mattermost.Config.URL takes).
func (s *Server) URL() string { return "http://" + s.addr }

// AdminToken is the token of a system-admin bot (the bot user exists).
func (s *Server) AdminToken() string { return s.adminToken }

// UserToken is the token of a user without system-admin rights.
func (s *Server) UserToken() string { return s.userToken }

// SetMaxUsersPerTeam sets TeamSettings.MaxUsersPerTeam.
func (s *Server) SetMaxUsersPerTeam(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.maxUsersPerTeam = n
}

// Close stops the double and releases held requests. It may be called more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.hs.Close()
}

// ---- faults

// FailNext makes the next n requests answer status with a Mattermost error body.
func (s *Server) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failRaw, s.failBody = n, status, false, ""
}

// FailNextRaw makes the next n requests answer status with body as it is (a proxy's page).
func (s *Server) FailNextRaw(n int, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failRaw, s.failBody = n, status, true, body
}

// RateLimitNext makes the next n requests answer 429 with Retry-After (whole seconds,
// rounded up) and the plain-text body of Mattermost's rate limiter.
func (s *Server) RateLimitNext(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateN, s.retryAfter = n, retryAfter
}

// SetLatency delays every answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// HangNext holds the next n requests, unanswered, until their client gives up (or the
// double closes).
func (s *Server) HangNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangN = n
}

// RefuseConnections closes the listener and every open connection now, so a client's
// next dial is refused (ECONNREFUSED), and listens again on the same address after d.
func (s *Server) RefuseConnections(d time.Duration) {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	closed := s.closed
	s.mu.Unlock()
	if closed || ln == nil {
		return
	}
	ln.Close()
	s.connMu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.connMu.Unlock()
	go func() {
		select {
		case <-time.After(d):
		case <-s.done:
			return
		}
		var nl net.Listener
		var err error
		for range 100 { // the port is ours; a re-listen can only race a closing socket
			if nl, err = net.Listen("tcp", s.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			s.violation("mmtest: could not listen again on %s: %v", s.addr, err)
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nl.Close()
			return
		}
		s.ln = nl
		s.mu.Unlock()
		s.hs.Serve(nl) //nolint:errcheck // ends with the listener
	}()
}

// ---- observation

// Requests is a copy of every request received, in order of completion.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	copy(out, s.reqs)
	return out
}

// Count is how many requests matched method and pathPattern: "" or "*" for any method;
// a pattern's segment "{…}" or "*" matches any one segment of the escaped path. A
// pattern may carry its method too: Count("", "POST /api/v4/users").
func (s *Server) Count(method, pathPattern string) int {
	if m, p, ok := strings.Cut(pathPattern, " "); ok && (method == "" || method == "*") {
		method, pathPattern = m, p
	}
	want := strings.Split(pathPattern, "/")
	n := 0
	for _, r := range s.Requests() {
		if method != "" && method != "*" && r.Method != method {
			continue
		}
		got := strings.Split(r.Path, "/")
		if len(got) != len(want) {
			continue
		}
		ok := true
		for i, w := range want {
			if w != got[i] && w != "*" && !(strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}")) {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}

// Violations lists calls outside the allow-list and requests or answers that break the
// OpenAPI subset.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// ResetViolations forgets the violations so far (for a test that provokes one on purpose).
func (s *Server) ResetViolations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = nil
}

// AssertConformant fails t for every violation.
func (s *Server) AssertConformant(t testing.TB) {
	t.Helper()
	for _, v := range s.Violations() {
		t.Errorf("mattermost double: %s", v)
	}
}

func (s *Server) violation(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noLog {
		return
	}
	s.reqs = append(s.reqs, r)
}

// ---- serving

type fault int

const (
	noFault fault = iota
	hangFault
	rateFault
	failFault
)

func (s *Server) takeFault() (fault, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.hangN > 0:
		s.hangN--
		return hangFault, s.latency
	case s.rateN > 0:
		s.rateN--
		return rateFault, s.latency
	case s.failN > 0:
		s.failN--
		return failFault, s.latency
	}
	return noFault, s.latency
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	rec := Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: body, Time: time.Now()}
	if err != nil {
		return // the client went away
	}
	reqID := newID()
	w.Header().Set("X-Request-Id", reqID)
	f, latency := s.takeFault()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			s.record(rec)
			return
		}
	}
	switch f {
	case hangFault:
		s.mu.Lock()
		s.holding++
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		s.mu.Lock()
		s.holding--
		s.mu.Unlock()
		s.record(rec)
		return
	case rateFault:
		s.mu.Lock()
		secs := int((s.retryAfter + time.Second - 1) / time.Second)
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "limit exceeded\n")
		rec.Status = http.StatusTooManyRequests
		s.record(rec)
		return
	case failFault:
		s.mu.Lock()
		status, raw, fb := s.failStatus, s.failRaw, s.failBody
		s.mu.Unlock()
		if raw {
			ct := "text/plain; charset=utf-8"
			if strings.HasPrefix(strings.TrimSpace(fb), "<") {
				ct = "text/html; charset=utf-8"
			}
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(status)
			io.WriteString(w, fb)
		} else {
			b, _ := json.Marshal(&appError{ID: "mmtest.injected_fault.app_error", Message: "A fault injected by the test double.", RequestID: reqID, StatusCode: status})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(b)
		}
		rec.Status = status
		s.record(rec)
		return
	}

	status, out := s.serve(r, body, reqID)
	rec.Status = status
	s.record(rec)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// serve routes, checks and answers one request that no fault took.
func (s *Server) serve(r *http.Request, body []byte, reqID string) (int, []byte) {
	if len(body) > maxRequestBody {
		st, e := fail(http.StatusRequestEntityTooLarge, "api.context.invalid_body_param.app_error", "Request body too large.")
		return encode(st, e, reqID)
	}
	o, params := route(r.Method, r.URL.EscapedPath())
	if o == nil {
		s.violation("a call outside the allow-list: %s %s", r.Method, r.URL.EscapedPath())
		st, e := fail(http.StatusNotFound, "api.context.404.app_error", "Sorry, we could not find the page.")
		return encode(st, e, reqID)
	}
	key := r.Method + " " + o.tmpl
	var in *openapi3filter.RequestValidationInput
	if s.checker != nil {
		var err error
		if in, err = s.checker.request(r.Context(), r, body, key, params); err != nil {
			s.violation("request %s %s?%s breaks the OpenAPI subset: %v", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, err)
		}
	}
	status, out := s.dispatch(r, o, params, body)
	_, b := encode(status, out, reqID)
	if in != nil {
		h := http.Header{"Content-Type": {"application/json"}}
		if err := s.checker.response(r.Context(), in, status, h, b); err != nil {
			s.violation("answer %d to %s %s breaks the OpenAPI subset: %v", status, r.Method, r.URL.EscapedPath(), err)
		}
	}
	return status, b
}

func (s *Server) dispatch(r *http.Request, o *op, params map[string]string, body []byte) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	caller := s.st.users[s.st.tokens[bearer(r.Header.Get("Authorization"))]]
	if caller == nil {
		return fail(http.StatusUnauthorized, "api.context.session_expired.app_error", "Invalid or expired session, please login again.")
	}
	if o.admin && !hasRole(caller.u.Roles, "system_admin") {
		return fail(http.StatusForbidden, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
	}
	return o.handle(s.st, &call{caller: caller, params: params, query: r.URL.Query(), body: body})
}

// bearer is the token of an Authorization header: "Bearer x" or "Token x", any case.
func bearer(h string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) {
		return ""
	}
	return strings.TrimSpace(tok)
}

// encode marshals an answer; an error body gets the request id.
func encode(status int, out any, reqID string) (int, []byte) {
	if e, ok := out.(*appError); ok {
		e.RequestID = reqID
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // the double's own types always marshal
	}
	return status, b
}
