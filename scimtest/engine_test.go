package scimtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// recorder is an httptest handler that answers from a function and records requests.
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	answer func(r *http.Request, body []byte) (int, http.Header, string)
}

type recorded struct {
	method, path, rawQuery string
	header                 http.Header
	body                   string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)})
	rec.mu.Unlock()
	status, h, body := rec.answer(r, b)
	for k, v := range h {
		w.Header()[k] = v
	}
	if body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/scim+json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

func newSession(t *testing.T, srv *httptest.Server, suite string) *Session {
	t.Helper()
	return &Session{
		base: srv.URL + "/scim/v2", token: "t0ken", client: srv.Client(), style: styles[suite],
		Vars: vars{"p": "st-test-01-", "guid1": "11111111-1111-4111-8111-111111111111"},
	}
}

func TestDoSendsRequestAndChecks(t *testing.T) {
	rec := &recorder{answer: func(r *http.Request, body []byte) (int, http.Header, string) {
		return 201, http.Header{"Etag": {`W/"1"`}, "Location": {"http://x/scim/v2/Users/42"}},
			`{"schemas":["` + store.UserSchema + `"],"id":"42","userName":"st-test-01-a","active":true,"emails":[{"type":"work","value":"a@x"}],"meta":{"version":"W/\"1\""}}`
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s := newSession(t, srv, "rfc")

	r, err := s.Do(context.Background(), Step{
		Method: http.MethodPost, Path: "/Users", Body: `{"userName":"${p}a","note":"${guid1}\"q"}`,
		Status:  201,
		Capture: map[string]string{"u.id": "id", "u.etag": "header:ETag"},
		Want: []Assert{
			Eq("id", "${u.id}"), Eq("userName", "${p}a"), Eq("active", true), Eq("meta.version", "${u.etag}"),
			Eq("emails[type=work].value", "a@x"), Absent("password"), Exists("emails"), HasHeader("Location"),
			Contains("schemas", store.UserSchema), Len("emails", 1), Set("emails[*].value", "a@x"), NonEmpty("userName"),
			EqFold("userName", "ST-TEST-01-A"), Ne("id", "43"), OptEq("nickName", "x"), HeaderEq("ETag", `W/"1"`),
			HeaderNe("ETag", `W/"2"`),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 201 || s.Vars["u.id"] != "42" || s.Vars["u.etag"] != `W/"1"` {
		t.Fatalf("status %d, vars %v", r.Status, s.Vars)
	}
	got := rec.requests()[0]
	if got.method != "POST" || got.path != "/scim/v2/Users" {
		t.Errorf("sent %s %s", got.method, got.path)
	}
	if got.header.Get("Authorization") != "Bearer t0ken" || got.header.Get("Content-Type") != "application/scim+json" ||
		got.header.Get("Accept") != "application/scim+json" || got.header.Get("User-Agent") != "townsquare-scimtest/1.0" {
		t.Errorf("headers: %v", got.header)
	}
	if got.body != `{"userName":"st-test-01-a","note":"11111111-1111-4111-8111-111111111111\"q"}` {
		t.Errorf("body %s", got.body)
	}
	if !json.Valid([]byte(got.body)) {
		t.Errorf("body is not JSON")
	}
	// The created user is registered for cleanup, which DELETEs it.
	if len(s.cleanups) != 1 || s.cleanups[0] != "/Users/42" {
		t.Fatalf("cleanups %v", s.cleanups)
	}
}

func TestDoFailuresDescribeTheExchange(t *testing.T) {
	rec := &recorder{answer: func(r *http.Request, body []byte) (int, http.Header, string) {
		switch r.URL.Path {
		case "/scim/v2/json":
			return 200, http.Header{"Content-Type": {"application/json"}}, `{"id":"1"}`
		case "/scim/v2/notjson":
			return 200, nil, `<html>oops</html>`
		case "/scim/v2/nobody":
			return 204, nil, ""
		}
		return 400, nil, `{"schemas":["` + store.ErrorSchema + `"],"status":"400","scimType":"invalidValue","detail":"userName is required"}`
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s := newSession(t, srv, "rfc")
	ctx := context.Background()

	_, err := s.Do(ctx, Step{Name: "create", Method: "POST", Path: "/Users?x=${p}", Body: `{"a":1}`, Status: 201})
	msg := errString(err)
	for _, want := range []string{"step 1 (create)", "POST /Users?x=st-test-01-", "400", "want status 201, got 400",
		"userName is required", `request body:  {"a":1}`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}

	_, err = s.Do(ctx, Step{Name: "find ${p}", Path: `/Users?filter=userName eq "${p}a"`, Status: 200})
	if msg := errString(err); !strings.Contains(msg, `step 2 (find st-test-01-): GET /Users?filter=userName eq "st-test-01-a" → 400`) {
		t.Errorf("readable path: %q", msg)
	}

	_, err = s.Do(ctx, Step{Path: "/Users", Status: 400, Want: []Assert{Eq("scimType", "invalidFilter"), Eq("status", "400"), Absent("detail")}})
	msg = errString(err)
	if !strings.Contains(msg, `scimType: want "invalidFilter", got "invalidValue"`) || !strings.Contains(msg, `detail: want it absent`) ||
		strings.Contains(msg, "status: want") {
		t.Errorf("assertion failures: %q", msg)
	}

	if _, err = s.Do(ctx, Step{Path: "/json"}); !strings.Contains(errString(err), `want Content-Type application/scim+json, got "application/json"`) {
		t.Errorf("content type: %v", err)
	}
	if _, err = s.Do(ctx, Step{Path: "/json", AnyContentType: true, Want: []Assert{Eq("id", "1")}}); err != nil {
		t.Errorf("AnyContentType: %v", err)
	}
	if _, err = s.Do(ctx, Step{Path: "/notjson"}); !strings.Contains(errString(err), "not valid JSON") {
		t.Errorf("not JSON: %v", err)
	}
	if _, err = s.Do(ctx, Step{Path: "/nobody", Statuses: []int{200, 204}}); err != nil {
		t.Errorf("204 without a body: %v", err)
	}
	if _, err = s.Do(ctx, Step{Path: "/nobody", Status: 200, Statuses: []int{201}}); !strings.Contains(errString(err), "want status 200 or 201") {
		t.Errorf("status alternatives: %v", err)
	}
	if _, err = s.Do(ctx, Step{Path: "/Users/${nosuch}"}); !strings.Contains(errString(err), "${nosuch} is not defined") {
		t.Errorf("undefined variable: %v", err)
	}
	if _, err = s.Do(ctx, Step{Path: "/Users", Status: 400, Capture: map[string]string{"x": "id"}}); !strings.Contains(errString(err), "capture x: id is missing") {
		t.Errorf("missing capture: %v", err)
	}
	if _, err = s.Do(ctx, Step{Path: "/Users", Status: 400, Capture: map[string]string{"x": "header:ETag"}}); !strings.Contains(errString(err), "no ETag header") {
		t.Errorf("missing header capture: %v", err)
	}
	if _, err = s.Do(ctx, Step{Path: "/Users", Status: 400, Want: []Assert{Eq("a..b", 1)}}); !strings.Contains(errString(err), "bad path in check") {
		t.Errorf("bad path: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestAuthModesAndUserAgent(t *testing.T) {
	rec := &recorder{answer: func(r *http.Request, body []byte) (int, http.Header, string) { return 200, nil, `{}` }}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	ctx := context.Background()

	s := newSession(t, srv, "entra")
	for _, a := range []Auth{AuthToken, AuthNone, AuthWrong} {
		if _, err := s.Do(ctx, Step{Path: "/Users", Auth: a}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Do(ctx, Step{Path: "/Users", Header: map[string]string{"If-Match": `W/"${p}"`, "Accept": ""}}); err != nil {
		t.Fatal(err)
	}
	o := newSession(t, srv, "okta")
	if _, err := o.Do(ctx, Step{Method: "PATCH", Path: "/Users/1", Body: "{}"}); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	for i, r := range reqs[:4] {
		if _, has := r.header["User-Agent"]; has {
			t.Errorf("entra request %d sent User-Agent %q", i, r.header.Get("User-Agent"))
		}
	}
	if reqs[0].header.Get("Authorization") != "Bearer t0ken" {
		t.Errorf("AuthToken: %q", reqs[0].header.Get("Authorization"))
	}
	if _, has := reqs[1].header["Authorization"]; has {
		t.Errorf("AuthNone sent Authorization")
	}
	if a := reqs[2].header.Get("Authorization"); !strings.HasPrefix(a, "Bearer wrong-") || a == "Bearer t0ken" {
		t.Errorf("AuthWrong: %q", a)
	}
	if reqs[3].header.Get("If-Match") != `W/"st-test-01-"` {
		t.Errorf("If-Match: %q", reqs[3].header.Get("If-Match"))
	}
	if _, has := reqs[3].header["Accept"]; has {
		t.Errorf(`Header "Accept": "" should remove it`)
	}
	if ua := reqs[4].header.Get("User-Agent"); ua != "Okta SCIM Client 1.0.0" {
		t.Errorf("okta User-Agent %q", ua)
	}
	if ct := reqs[4].header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("okta Content-Type %q", ct)
	}
}

func TestCleanup(t *testing.T) {
	next := 0
	rec := &recorder{answer: func(r *http.Request, body []byte) (int, http.Header, string) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/scim/v2/Users":
			next++
			return 201, nil, `{"id":"u` + string(rune('0'+next)) + `"}`
		case r.Method == "POST" && r.URL.Path == "/scim/v2/Groups":
			return 201, nil, `{"id":"g/1"}`
		case r.Method == "POST":
			return 200, nil, `{"id":"not-a-resource"}`
		case r.Method == "DELETE" && r.URL.Path == "/scim/v2/Users/u1":
			return 404, nil, ""
		case r.Method == "DELETE" && r.URL.Path == "/scim/v2/Users/u2":
			return 500, nil, `{"detail":"boom"}`
		case r.Method == "DELETE":
			return 204, nil, ""
		}
		return 200, nil, `{}`
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s := newSession(t, srv, "rfc")
	ctx := context.Background()
	// A create that the step did not expect to succeed is still cleaned up.
	if _, err := s.Do(ctx, Step{Method: "POST", Path: "/Users", Body: "{}", Status: 409}); err == nil {
		t.Fatal("want a status failure")
	}
	for _, st := range []Step{
		{Method: "POST", Path: "/Users", Body: "{}"},
		{Method: "POST", Path: "/Users", Body: "{}"},
		{Method: "POST", Path: "/Groups", Body: "{}"},
		{Method: "POST", Path: "/Users/.search", Body: "{}"},
		{Method: "POST", Path: "/Users/u3/extra", Body: "{}"},
	} {
		if _, err := s.Do(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"/Users/u1", "/Users/u2", "/Users/u3", "/Groups/g%2F1"}
	if strings.Join(s.cleanups, ",") != strings.Join(want, ",") {
		t.Fatalf("cleanups %v, want %v", s.cleanups, want)
	}
	err := s.cleanup(ctx)
	if err == nil || !strings.Contains(err.Error(), "DELETE /Users/u2 → 500") || strings.Contains(err.Error(), "u1") {
		t.Errorf("cleanup error: %v", err)
	}
	var deletes []string
	for _, r := range rec.requests() {
		if r.method == "DELETE" {
			deletes = append(deletes, r.path)
		}
	}
	wantDel := "/scim/v2/Groups/g%2F1,/scim/v2/Users/u3,/scim/v2/Users/u2,/scim/v2/Users/u1"
	if got := strings.Join(deletes, ","); got != strings.ReplaceAll(wantDel, "%2F", "/") && got != wantDel {
		t.Errorf("deletes %s, want newest first %s", got, wantDel)
	}
	if len(s.cleanups) != 0 {
		t.Errorf("cleanups not reset")
	}
}

func TestCleanupRunsAfterCancel(t *testing.T) {
	rec := &recorder{answer: func(r *http.Request, body []byte) (int, http.Header, string) {
		if r.Method == "DELETE" {
			return 204, nil, ""
		}
		return 201, nil, `{"id":"9"}`
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s := newSession(t, srv, "rfc")
	ctx, cancel := context.WithCancel(context.Background())
	check := Check{Steps: []Step{{Method: "POST", Path: "/Users", Body: "{}"}}, Func: func(ctx context.Context, s *Session) error {
		cancel()
		_, err := s.Do(ctx, Step{Path: "/Users"})
		return err
	}}
	if err := runCheck(ctx, s, check); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("want the cancellation error, got %v", err)
	}
	reqs := rec.requests()
	if last := reqs[len(reqs)-1]; last.method != "DELETE" || last.path != "/scim/v2/Users/9" {
		t.Errorf("last request %s %s; want the cleanup DELETE", last.method, last.path)
	}
}

func TestRunCheckRecoversPanics(t *testing.T) {
	s := &Session{Vars: vars{}}
	err := runCheck(context.Background(), s, Check{Func: func(context.Context, *Session) error { panic("oops") }})
	if err == nil || !strings.Contains(err.Error(), "check panicked: oops") {
		t.Errorf("got %v", err)
	}
}

func TestSetAndFunc(t *testing.T) {
	r := &Response{JSON: map[string]any{"Resources": []any{
		map[string]any{"id": "a"}, map[string]any{"id": "b"}, map[string]any{"id": "b"},
	}}}
	v := vars{"x": "a"}
	if err := Set("Resources[*].id", "${x}", "b", "b").check(r, v); err != nil {
		t.Errorf("Set: %v", err)
	}
	err := Set("Resources[*].id", "a", "c").check(r, v)
	if err == nil || !strings.Contains(err.Error(), `missing ["c"]`) || !strings.Contains(err.Error(), `unexpected ["b" "b"]`) {
		t.Errorf("Set mismatch: %v", err)
	}
	if err := Set("nosuch[*].id").check(r, v); err != nil {
		t.Errorf("empty set on a missing list: %v", err)
	}
	if err := Set("nosuch").check(r, v); err != nil {
		t.Errorf("empty set on a missing value: %v", err)
	}
	if err := Func("always fails", func(*Response) error { return io.EOF }).check(r, v); err != io.EOF {
		t.Errorf("Func: %v", err)
	}
	if err := Eq("Resources.#", 3).check(r, v); err != nil {
		t.Errorf("Eq on a length: %v", err)
	}
	if err := Eq("Resources[0]", map[string]string{"id": "${x}"}).check(r, v); err != nil {
		t.Errorf("Eq on an object: %v", err)
	}
}

func TestReport(t *testing.T) {
	var buf bytes.Buffer
	n := Report(&buf, []Result{
		{Suite: "rfc", Name: "a"},
		{Suite: "okta", Name: "b", Err: io.ErrUnexpectedEOF},
		{Suite: "entra", Name: "c", Err: errorString("line one\nline two")},
	})
	want := "PASS rfc/a\nFAIL okta/b: unexpected EOF\nFAIL entra/c: line one\n    line two\n1 passed, 2 failed\n"
	if n != 2 || buf.String() != want {
		t.Errorf("Report returned %d and wrote\n%s\nwant\n%s", n, buf.String(), want)
	}
	buf.Reset()
	if n := Report(&buf, nil); n != 0 || buf.String() != "0 passed, 0 failed\n" {
		t.Errorf("empty report: %d %q", n, buf.String())
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestBulkCreationsAreCleanedUp: what the POST operations of a bulk request created is
// deleted when the check ends, newest first, whether the server answers with its own URL
// or another; failed POSTs and other methods are not.
func TestBulkCreationsAreCleanedUp(t *testing.T) {
	rec := &recorder{answer: func(r *http.Request, body []byte) (int, http.Header, string) {
		return 200, nil, `{"schemas":["` + bulkResponseSchema + `"],"Operations":[
			{"method":"POST","bulkId":"a","status":"201","location":"http://` + r.Host + `/scim/v2/Users/u%2F1"},
			{"method":"POST","bulkId":"b","status":"409","response":{"status":"409"}},
			{"method":"POST","bulkId":"c","status":201,"location":"https://proxy.example.com/scim/v2/Groups/g1"},
			{"method":"PATCH","status":"200","location":"http://` + r.Host + `/scim/v2/Users/u9"}]}`
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s := newSession(t, srv, "rfc")
	if _, err := s.Do(context.Background(), bulkStep("bulk", "", "")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.cleanups, ","); got != "/Users/u%2F1,/Groups/g1" {
		t.Fatalf("cleanups %s", got)
	}
}

// TestDoWaitsOut429: a 429 is retried after its Retry-After, body and all, a bounded
// number of times; the step sees the answer that ended the retries.
func TestDoWaitsOut429(t *testing.T) {
	for _, c := range []struct {
		name       string
		limited    int // how many requests are answered 429 first
		wantStatus int
		wantSent   int
	}{
		{"once", 1, 201, 2},
		{"always", 100, 429, maxRetries429 + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			rec := &recorder{answer: func(r *http.Request, body []byte) (int, http.Header, string) {
				n++
				if n <= c.limited {
					return 429, http.Header{"Retry-After": {"0"}}, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429","detail":"slow down"}`
				}
				return 201, nil, `{"id":"x"}`
			}}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			s := newSession(t, srv, "rfc")
			r, _ := s.Do(context.Background(), Step{Method: http.MethodPost, Path: "/Users", Body: `{"userName":"a"}`, Status: 201})
			reqs := rec.requests()
			if r == nil || r.Status != c.wantStatus || len(reqs) != c.wantSent {
				t.Fatalf("status %v after %d requests; want %d after %d", r, len(reqs), c.wantStatus, c.wantSent)
			}
			for _, q := range reqs {
				if q.body != `{"userName":"a"}` {
					t.Fatalf("a retry sent body %q", q.body)
				}
			}
		})
	}
}
