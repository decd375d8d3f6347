package scimtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Step is one HTTP exchange of a check and what its answer must look like.
type Step struct {
	Name   string            // optional, shown in failures ("create the manager")
	Method string            // GET, POST, …
	Path   string            // template relative to Config.BaseURL, e.g. "/Users/${u.id}?attributes=userName"
	Body   string            // request body template ("" sends none); placeholders are JSON-string-escaped
	Header map[string]string // extra request headers (templates); a "" value removes a default header
	Auth   Auth              // which Authorization header to send

	// Status is the wanted status code; Statuses lists alternatives. With neither, any
	// 2xx passes.
	Status   int
	Statuses []int
	// AnyContentType turns off the check that a response with a body is
	// application/scim+json (RFC 7644 §3.1, §8.1).
	AnyContentType bool
	Want           []Assert

	// Capture stores values from the response as variables for later steps:
	// "u.id": "id" takes a JSON path; "u.etag": "header:ETag" takes a header.
	// Captures run after the status check and before Want, so Want may use them.
	Capture map[string]string
}

// Auth selects the Authorization header of a step.
type Auth int

const (
	AuthToken Auth = iota // "Bearer <Config.Token>"
	AuthNone              // no Authorization header
	AuthWrong             // a bearer token that cannot be valid
)

// Response is a received answer.
type Response struct {
	Method string
	Path   string // as sent, relative to the base URL
	Status int
	Header http.Header
	Body   []byte
	JSON   any // the decoded body; nil when empty or not JSON
	req    []byte
}

// Get looks a path up in the JSON body (see the path language in jsonpath.go).
func (r *Response) Get(path string) (any, bool) {
	v, ok, err := lookup(r.JSON, path)
	if err != nil {
		return nil, false
	}
	return v, ok
}

// GetString returns the string at path, or "".
func (r *Response) GetString(path string) string {
	v, _ := r.Get(path)
	s, _ := v.(string)
	return s
}

// Errorf returns an error that describes the exchange: method, path, status, and
// excerpts of the request and response bodies.
func (r *Response) Errorf(format string, args ...any) error {
	return &exchangeError{resp: r, msg: fmt.Sprintf(format, args...)}
}

type exchangeError struct {
	step string
	resp *Response
	msg  string
}

func (e *exchangeError) Error() string {
	var b strings.Builder
	if e.step != "" {
		b.WriteString(e.step)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s %s → %d: %s", e.resp.Method, readablePath(e.resp.Path), e.resp.Status, e.msg)
	if len(e.resp.req) > 0 {
		fmt.Fprintf(&b, "\nrequest body:  %s", excerpt(e.resp.req, 600))
	}
	if len(e.resp.Body) > 0 {
		fmt.Fprintf(&b, "\nresponse body: %s", excerpt(e.resp.Body, 800))
	}
	return b.String()
}

// readablePath undoes the URL escaping of a sent path, for messages:
// /Users?filter=userName eq "x" reads better than its %-encoded form.
func readablePath(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

// excerpt compacts JSON (or collapses whitespace) and truncates to n bytes.
func excerpt(b []byte, n int) string {
	var buf bytes.Buffer
	s := string(b)
	if json.Compact(&buf, b) == nil {
		s = buf.String()
	} else {
		s = strings.Join(strings.Fields(s), " ")
	}
	if len(s) > n {
		s = s[:n] + fmt.Sprintf("… (%d bytes)", len(b))
	}
	return s
}

// style is how a suite's client presents itself.
type style struct {
	userAgent   string // "" sends no User-Agent header at all
	contentType string
	accept      string
}

var styles = map[string]style{
	"rfc":   {userAgent: "townsquare-scimtest/1.0", contentType: "application/scim+json", accept: "application/scim+json"},
	"okta":  {userAgent: "Okta SCIM Client 1.0.0", contentType: "application/json; charset=utf-8", accept: "application/scim+json"},
	"entra": {userAgent: "", contentType: "application/scim+json", accept: "application/scim+json"},
}

// Session runs the steps of one check: it holds the check's variables and the
// resources to delete when the check ends.
type Session struct {
	Vars     vars
	base     string
	token    string
	client   *http.Client
	style    style
	cleanups []string // paths to DELETE, in creation order
	step     int
}

const maxBody = 8 << 20

// maxRetries429 bounds how often send repeats a request answered 429.
const maxRetries429 = 5

// send performs one request. The path is already expanded. A 429 (RFC 6585 §4) is
// waited out as its Retry-After asks (1 s without one, at most 10 s) and the request
// sent again, a few times, as IdPs do: a check tests what a server answers, not how
// fast the kit may send on one token.
func (s *Session) send(ctx context.Context, method, path string, body []byte, auth Auth, header map[string]string) (*Response, error) {
	for attempt := 0; ; attempt++ {
		r, err := s.sendOnce(ctx, method, path, body, auth, header)
		if err != nil || r.Status != http.StatusTooManyRequests || attempt == maxRetries429 {
			return r, err
		}
		wait := time.Second
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err == nil && n >= 0 {
			wait = min(time.Duration(n)*time.Second, 10*time.Second)
		}
		select {
		case <-ctx.Done():
			return r, nil
		case <-time.After(wait):
		}
	}
}

func (s *Session) sendOnce(ctx context.Context, method, path string, body []byte, auth Auth, header map[string]string) (*Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	// An empty User-Agent value makes net/http send none.
	req.Header["User-Agent"] = []string{s.style.userAgent}
	req.Header.Set("Accept", s.style.accept)
	if body != nil {
		req.Header.Set("Content-Type", s.style.contentType)
	}
	switch auth {
	case AuthToken:
		req.Header.Set("Authorization", "Bearer "+s.token)
	case AuthWrong:
		req.Header.Set("Authorization", "Bearer wrong-"+randHex(16))
	}
	for k, v := range header {
		if v == "" && !strings.EqualFold(k, "User-Agent") {
			req.Header.Del(k)
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	res, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %w", method, path, err)
	}
	r := &Response{Method: method, Path: path, Status: res.StatusCode, Header: res.Header, Body: b, req: body}
	if len(bytes.TrimSpace(b)) > 0 {
		var doc any
		if json.Unmarshal(b, &doc) == nil {
			r.JSON = doc
		}
	}
	return r, nil
}

// Do runs one step: it sends the request, checks status, content type and every Want,
// stores captures, and registers created resources for deletion. The error describes
// the exchange in enough detail to diagnose it.
func (s *Session) Do(ctx context.Context, st Step) (*Response, error) {
	s.step++
	label := fmt.Sprintf("step %d", s.step)
	if st.Name != "" {
		name, err := s.Vars.expand(st.Name, noEscape)
		if err != nil {
			name = st.Name
		}
		label += fmt.Sprintf(" (%s)", name)
	}
	fail := func(err error) error { return fmt.Errorf("%s: %w", label, err) }

	path, err := s.Vars.expandURL(st.Path)
	if err != nil {
		return nil, fail(err)
	}
	var body []byte
	if st.Body != "" {
		b, err := s.Vars.expand(st.Body, jsonEscape)
		if err != nil {
			return nil, fail(err)
		}
		body = []byte(b)
	}
	header := make(map[string]string, len(st.Header))
	for k, v := range st.Header {
		ev, err := s.Vars.expand(v, noEscape)
		if err != nil {
			return nil, fail(err)
		}
		header[k] = ev
	}
	method := st.Method
	if method == "" {
		method = http.MethodGet
	}
	r, err := s.send(ctx, method, path, body, st.Auth, header)
	if err != nil {
		return nil, fail(err)
	}
	s.track(r)
	bad := func(format string, args ...any) error {
		return &exchangeError{step: label, resp: r, msg: fmt.Sprintf(format, args...)}
	}

	if !statusOK(r.Status, st) {
		return r, bad("want status %s, got %d", wantStatus(st), r.Status)
	}
	if !st.AnyContentType && len(bytes.TrimSpace(r.Body)) > 0 {
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/scim+json" {
			return r, bad("want Content-Type application/scim+json, got %q", ct)
		}
		if r.JSON == nil {
			return r, bad("the body is not valid JSON")
		}
	}
	for name, from := range st.Capture {
		if h, ok := strings.CutPrefix(from, "header:"); ok {
			v := r.Header.Get(h)
			if v == "" {
				return r, bad("capture %s: no %s header", name, h)
			}
			s.Vars[name] = v
			continue
		}
		v, ok, err := lookup(r.JSON, from)
		if err != nil {
			return r, fail(err)
		}
		if !ok || v == nil {
			return r, bad("capture %s: %s is missing", name, from)
		}
		if str, isStr := v.(string); isStr {
			s.Vars[name] = str
		} else {
			b, _ := json.Marshal(v)
			s.Vars[name] = string(b)
		}
	}
	var msgs []string
	for _, a := range st.Want {
		if err := a.check(r, s.Vars); err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) > 0 {
		return r, bad("%s", strings.Join(msgs, "; "))
	}
	return r, nil
}

func statusOK(got int, st Step) bool {
	if st.Status == 0 && len(st.Statuses) == 0 {
		return got >= 200 && got < 300
	}
	if got == st.Status {
		return true
	}
	for _, s := range st.Statuses {
		if got == s {
			return true
		}
	}
	return false
}

func wantStatus(st Step) string {
	var all []string
	if st.Status != 0 {
		all = append(all, fmt.Sprint(st.Status))
	}
	for _, s := range st.Statuses {
		all = append(all, fmt.Sprint(s))
	}
	if len(all) == 0 {
		return "2xx"
	}
	return strings.Join(all, " or ")
}

// track registers a resource created by a POST to a collection (/Users, /Groups), or by
// a POST operation of a POST /Bulk, for deletion when the check ends, whatever the step
// expected.
func (s *Session) track(r *Response) {
	if r.Method != http.MethodPost || r.Status < 200 || r.Status > 299 {
		return
	}
	p, _, _ := strings.Cut(r.Path, "?")
	if p == "/Bulk" {
		s.trackBulk(r)
		return
	}
	if strings.Count(p, "/") != 1 || strings.HasSuffix(p, ".search") {
		return
	}
	id, _ := r.Get("id")
	if sid, ok := id.(string); ok && sid != "" {
		s.Track(p + "/" + url.PathEscape(sid))
	}
}

// trackBulk registers what the POST operations of a BulkResponse created, in the order
// of the operations: a success's location, below the base URL (RFC 7644 §3.7).
func (s *Session) trackBulk(r *Response) {
	ops, _ := r.Get("Operations")
	list, _ := ops.([]any)
	for _, o := range list {
		op, _ := o.(map[string]any)
		method, _ := op["method"].(string)
		status := fmt.Sprint(op["status"]) // a string in the RFC's examples; some send a number
		loc, _ := op["location"].(string)
		if !strings.EqualFold(method, http.MethodPost) || !strings.HasPrefix(status, "2") {
			continue
		}
		rel, ok := strings.CutPrefix(loc, s.base)
		if !ok { // a server that names itself by another URL than the kit's
			for _, c := range []string{"/Users/", "/Groups/"} {
				if i := strings.LastIndex(loc, c); i >= 0 {
					rel, ok = loc[i:], true
				}
			}
		}
		if ok && strings.Count(rel, "/") == 2 {
			s.Track(rel)
		}
	}
}

// Track registers a path to DELETE when the check ends.
func (s *Session) Track(path string) {
	for _, p := range s.cleanups {
		if p == path {
			return
		}
	}
	s.cleanups = append(s.cleanups, path)
}

// cleanup deletes what the check created, newest first (groups before their members).
// 404 counts as done: the check may have deleted it itself.
func (s *Session) cleanup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	var errs []error
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		p := s.cleanups[i]
		r, err := s.send(ctx, http.MethodDelete, p, nil, AuthToken, nil)
		switch {
		case err != nil:
			errs = append(errs, err)
		case r.Status == http.StatusNotFound || (r.Status >= 200 && r.Status < 300):
		default:
			errs = append(errs, fmt.Errorf("DELETE %s → %d: %s", p, r.Status, excerpt(r.Body, 300)))
		}
	}
	s.cleanups = nil
	return errors.Join(errs...)
}
