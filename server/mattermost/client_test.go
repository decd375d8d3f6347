package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an httptest server that records each request and answers with the
// status and body its handler field decides (200 and "{}" by default).
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	answer func(w http.ResponseWriter, r *http.Request)
	srv    *httptest.Server
}

type recorded struct {
	Method, RawPath, Query, Auth, ContentType string
	Body                                      string
}

func newRecorder(t *testing.T) (*recorder, *Client) {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		answer := rec.answer
		rec.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/members") && r.Method == http.MethodGet {
			io.WriteString(w, "[]")
			return
		}
		io.WriteString(w, "{}")
	}))
	t.Cleanup(rec.srv.Close)
	c, err := New(Config{URL: rec.srv.URL + "/", Token: "tok123", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return rec, c
}

func (r *recorder) last(t *testing.T) recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request")
	}
	return r.reqs[len(r.reqs)-1]
}

func sp(s string) *string { return &s }

// Ids of Mattermost's shape for the tests.
var (
	uid = strings.Repeat("u", 25) + "1"
	tid = strings.Repeat("t", 25) + "1"
	cid = strings.Repeat("c", 25) + "1"
)

// TestMethodsSendExactCalls: every method sends its one method, escaped path, query and
// body, with the bearer token.
func TestMethodsSendExactCalls(t *testing.T) {
	rec, c := newRecorder(t)
	ctx := context.Background()
	cases := []struct {
		name              string
		do                func() error
		method, path, qry string
		body              string // "" for no body; else the exact JSON
	}{
		{"Me", func() error { _, err := c.Me(ctx); return err }, "GET", "/api/v4/users/me", "", ""},
		{"GetUser", func() error { _, err := c.GetUser(ctx, uid); return err }, "GET", "/api/v4/users/" + uid + "", "", ""},
		{"GetUserByUsername", func() error { _, err := c.GetUserByUsername(ctx, "alice"); return err }, "GET", "/api/v4/users/username/alice", "", ""},
		{"GetUserByEmail", func() error { _, err := c.GetUserByEmail(ctx, "a+b@x.org"); return err }, "GET", "/api/v4/users/email/a+b@x.org", "", ""},
		{"CreateUserSSO", func() error {
			_, err := c.CreateUser(ctx, User{ID: "ignored", Username: "alice", Email: "a@x.org", FirstName: "A", LastName: "L", Nickname: "n", Position: "p", AuthService: "saml", AuthData: "ext-1", Roles: "system_admin", DeleteAt: 5, IsBot: true})
			return err
		}, "POST", "/api/v4/users", "", `{"username":"alice","email":"a@x.org","first_name":"A","last_name":"L","nickname":"n","position":"p","auth_service":"saml","auth_data":"ext-1"}`},
		{"CreateUserMinimal", func() error { _, err := c.CreateUser(ctx, User{Username: "bob", Email: "b@x.org"}); return err }, "POST", "/api/v4/users", "", `{"username":"bob","email":"b@x.org"}`},
		{"PatchUserEmailOnly", func() error { _, err := c.PatchUser(ctx, uid, UserPatch{Email: sp("n@x.org")}); return err }, "PUT", "/api/v4/users/" + uid + "/patch", "", `{"email":"n@x.org"}`},
		{"PatchUserClearsName", func() error {
			_, err := c.PatchUser(ctx, uid, UserPatch{Username: sp("al"), FirstName: sp(""), LastName: sp("L"), Nickname: sp("N"), Position: sp("P")})
			return err
		}, "PUT", "/api/v4/users/" + uid + "/patch", "", `{"username":"al","first_name":"","last_name":"L","nickname":"N","position":"P"}`},
		{"UpdateUserAuth", func() error { return c.UpdateUserAuth(ctx, uid, "saml", "ext-1") }, "PUT", "/api/v4/users/" + uid + "/auth", "", `{"auth_data":"ext-1","auth_service":"saml"}`},
		{"Deactivate", func() error { return c.UpdateUserActive(ctx, uid, false) }, "PUT", "/api/v4/users/" + uid + "/active", "", `{"active":false}`},
		{"Activate", func() error { return c.UpdateUserActive(ctx, uid, true) }, "PUT", "/api/v4/users/" + uid + "/active", "", `{"active":true}`},
		{"UpdateUserRoles", func() error { return c.UpdateUserRoles(ctx, uid, "system_user system_admin") }, "PUT", "/api/v4/users/" + uid + "/roles", "", `{"roles":"system_user system_admin"}`},
		{"DemoteUser", func() error { return c.DemoteUser(ctx, uid) }, "POST", "/api/v4/users/" + uid + "/demote", "", ""},
		{"PromoteUser", func() error { return c.PromoteUser(ctx, uid) }, "POST", "/api/v4/users/" + uid + "/promote", "", ""},
		{"DeleteUserPermanently", func() error { return c.DeleteUserPermanently(ctx, uid) }, "DELETE", "/api/v4/users/" + uid + "", "permanent=true", ""},
		{"GetTeamByName", func() error { _, err := c.GetTeamByName(ctx, "eng"); return err }, "GET", "/api/v4/teams/name/eng", "", ""},
		{"CreateTeam", func() error {
			_, err := c.CreateTeam(ctx, Team{ID: "x", Name: "eng", DisplayName: "Eng", Type: "O"})
			return err
		}, "POST", "/api/v4/teams", "", `{"name":"eng","display_name":"Eng","type":"O"}`},
		{"GetTeamMembers", func() error { _, err := c.GetTeamMembers(ctx, tid, 2, 50); return err }, "GET", "/api/v4/teams/" + tid + "/members", "page=2&per_page=50", ""},
		{"AddTeamMember", func() error { _, err := c.AddTeamMember(ctx, tid, uid); return err }, "POST", "/api/v4/teams/" + tid + "/members", "", `{"team_id":"` + tid + `","user_id":"` + uid + `"}`},
		{"RemoveTeamMember", func() error { return c.RemoveTeamMember(ctx, tid, uid) }, "DELETE", "/api/v4/teams/" + tid + "/members/" + uid + "", "", ""},
		{"GetTeamMember", func() error { _, err := c.GetTeamMember(ctx, tid, uid); return err }, "GET", "/api/v4/teams/" + tid + "/members/" + uid, "", ""},
		{"PatchTeam", func() error { _, err := c.PatchTeam(ctx, tid, TeamPatch{DisplayName: sp("Engineering")}); return err },
			"PUT", "/api/v4/teams/" + tid + "/patch", "", `{"display_name":"Engineering"}`},
		{"UpdateTeamPrivacy", func() error { _, err := c.UpdateTeamPrivacy(ctx, tid, "I"); return err },
			"PUT", "/api/v4/teams/" + tid + "/privacy", "", `{"privacy":"I"}`},
		{"UpdateTeamMemberSchemeRoles", func() error {
			return c.UpdateTeamMemberSchemeRoles(ctx, tid, uid, SchemeRoles{SchemeAdmin: true, SchemeUser: true})
		}, "PUT", "/api/v4/teams/" + tid + "/members/" + uid + "/schemeRoles", "", `{"scheme_admin":true,"scheme_user":true,"scheme_guest":false}`},
		{"GetChannelByName", func() error { _, err := c.GetChannelByName(ctx, "eng", "backend"); return err }, "GET", "/api/v4/teams/name/eng/channels/name/backend", "", ""},
		{"CreateChannel", func() error {
			_, err := c.CreateChannel(ctx, Channel{ID: "x", TeamID: tid, Name: "backend", DisplayName: "Backend", Type: "P"})
			return err
		}, "POST", "/api/v4/channels", "", `{"team_id":"` + tid + `","name":"backend","display_name":"Backend","type":"P"}`},
		{"GetChannelMembers", func() error { _, err := c.GetChannelMembers(ctx, cid, 0, 200); return err }, "GET", "/api/v4/channels/" + cid + "/members", "page=0&per_page=200", ""},
		{"AddChannelMember", func() error { _, err := c.AddChannelMember(ctx, cid, uid); return err }, "POST", "/api/v4/channels/" + cid + "/members", "", `{"user_id":"` + uid + `"}`},
		{"RemoveChannelMember", func() error { return c.RemoveChannelMember(ctx, cid, uid) }, "DELETE", "/api/v4/channels/" + cid + "/members/" + uid + "", "", ""},
		{"GetChannelMember", func() error { _, err := c.GetChannelMember(ctx, cid, uid); return err }, "GET", "/api/v4/channels/" + cid + "/members/" + uid, "", ""},
		{"PatchChannel", func() error {
			_, err := c.PatchChannel(ctx, cid, ChannelPatch{DisplayName: sp("Back end")})
			return err
		},
			"PUT", "/api/v4/channels/" + cid + "/patch", "", `{"display_name":"Back end"}`},
		{"UpdateChannelPrivacy", func() error { _, err := c.UpdateChannelPrivacy(ctx, cid, "P"); return err },
			"PUT", "/api/v4/channels/" + cid + "/privacy", "", `{"privacy":"P"}`},
		{"UpdateChannelMemberSchemeRoles", func() error {
			return c.UpdateChannelMemberSchemeRoles(ctx, cid, uid, SchemeRoles{SchemeGuest: true})
		}, "PUT", "/api/v4/channels/" + cid + "/members/" + uid + "/schemeRoles", "", `{"scheme_admin":false,"scheme_user":false,"scheme_guest":true}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); err != nil {
				t.Fatal(err)
			}
			got := rec.last(t)
			if got.Method != tc.method || got.RawPath != tc.path || got.Query != tc.qry {
				t.Errorf("sent %s %s?%s, want %s %s?%s", got.Method, got.RawPath, got.Query, tc.method, tc.path, tc.qry)
			}
			if got.Auth != "Bearer tok123" {
				t.Errorf("Authorization %q", got.Auth)
			}
			if got.Body != tc.body {
				t.Errorf("body %s, want %s", got.Body, tc.body)
			}
			if (tc.body != "") != (got.ContentType == "application/json") {
				t.Errorf("Content-Type %q with body %q", got.ContentType, got.Body)
			}
		})
	}
}

// TestDecodesAnswers: answers are decoded with Mattermost's field names.
func TestDecodesAnswers(t *testing.T) {
	rec, c := newRecorder(t)
	rec.answer = func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/users/me"):
			io.WriteString(w, `{"id":"u1","username":"bot","email":"b@x","first_name":"F","last_name":"L","nickname":"N","position":"P","auth_service":"saml","roles":"system_user system_admin","delete_at":7,"is_bot":true,"locale":"en"}`)
		case strings.HasSuffix(r.URL.Path, "/members"):
			io.WriteString(w, `[{"team_id":"t1","user_id":"u1","roles":"team_user team_admin","scheme_admin":true,"scheme_user":true,"scheme_guest":false,"delete_at":0}]`)
		}
	}
	u, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := User{ID: "u1", Username: "bot", Email: "b@x", FirstName: "F", LastName: "L", Nickname: "N", Position: "P", AuthService: "saml", Roles: "system_user system_admin", DeleteAt: 7, IsBot: true}
	if u != want {
		t.Errorf("Me = %+v, want %+v", u, want)
	}
	ms, err := c.GetTeamMembers(context.Background(), tid, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0] != (TeamMember{TeamID: "t1", UserID: "u1", Roles: "team_user team_admin", SchemeAdmin: true, SchemeUser: true}) {
		t.Errorf("members = %+v", ms)
	}
}

// TestHostileNamesAreEscaped: a name cannot leave its path segment or add a query.
func TestHostileNamesAreEscaped(t *testing.T) {
	rec, c := newRecorder(t)
	ctx := context.Background()
	cases := []struct {
		do   func() error
		path string
	}{
		{func() error { _, err := c.GetUserByUsername(ctx, "a/../../teams"); return err }, "/api/v4/users/username/a%2F..%2F..%2Fteams"},
		{func() error { _, err := c.GetUserByEmail(ctx, "x@y?permanent=true#f"); return err }, "/api/v4/users/email/x@y%3Fpermanent=true%23f"},
		{func() error { _, err := c.GetChannelByName(ctx, "t m", "c%2F"); return err }, "/api/v4/teams/name/t%20m/channels/name/c%252F"},
	}
	for _, tc := range cases {
		if err := tc.do(); err != nil {
			t.Fatal(err)
		}
		if got := rec.last(t); got.RawPath != tc.path || got.Query != "" {
			t.Errorf("sent %s?%s, want %s", got.RawPath, got.Query, tc.path)
		}
	}
	// Names a proxy could resolve to another endpoint, and ids that are not ids ("me"
	// would address the token's own user), are refused without a request.
	rec.mu.Lock()
	n := len(rec.reqs)
	rec.mu.Unlock()
	refused := map[string]func() error{}
	for _, bad := range []string{"", ".", ".."} {
		refused["GetUserByUsername "+bad] = func() error { _, err := c.GetUserByUsername(ctx, bad); return err }
		refused["GetUserByEmail "+bad] = func() error { _, err := c.GetUserByEmail(ctx, bad); return err }
		refused["GetTeamByName "+bad] = func() error { _, err := c.GetTeamByName(ctx, bad); return err }
		refused["GetChannelByName "+bad] = func() error { _, err := c.GetChannelByName(ctx, "eng", bad); return err }
	}
	for _, bad := range []string{"", "me", "..", strings.Repeat("u", 25), strings.Repeat("u", 27), strings.Repeat("U", 26), uid[:25] + "/", uid[:25] + "-"} {
		refused["GetUser "+bad] = func() error { _, err := c.GetUser(ctx, bad); return err }
		refused["PatchUser "+bad] = func() error { _, err := c.PatchUser(ctx, bad, UserPatch{}); return err }
		refused["DeleteUserPermanently "+bad] = func() error { return c.DeleteUserPermanently(ctx, bad) }
		refused["RemoveTeamMember "+bad] = func() error { return c.RemoveTeamMember(ctx, tid, bad) }
		refused["RemoveChannelMember team "+bad] = func() error { return c.RemoveChannelMember(ctx, bad, uid) }
		refused["AddTeamMember "+bad] = func() error { _, err := c.AddTeamMember(ctx, tid, bad); return err }
		refused["AddChannelMember "+bad] = func() error { _, err := c.AddChannelMember(ctx, cid, bad); return err }
		refused["CreateChannel "+bad] = func() error {
			_, err := c.CreateChannel(ctx, Channel{TeamID: bad, Name: "x", DisplayName: "X", Type: "O"})
			return err
		}
	}
	for name, do := range refused {
		if do() == nil {
			t.Errorf("%s: sent", name)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) != n {
		t.Errorf("%d requests sent for invalid segments", len(rec.reqs)-n)
	}
}

func TestNewValidates(t *testing.T) {
	bad := []Config{
		{URL: "ftp://x", Token: "t"},
		{URL: "http://", Token: "t"},
		{URL: "http://x?a=1", Token: "t"},
		{URL: "http://x#f", Token: "t"},
		{URL: "http://u:p@x", Token: "t"},
		{URL: "x.org", Token: "t"},
		{URL: "http://x", Token: ""},
		{URL: "http://x", Token: "a b"},
		{URL: "http://x", Token: "a\nb"},
		{URL: "http://x", Token: "t", Timeout: -1},
	}
	for _, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	c, err := New(Config{URL: "https://chat.example.com/mm/", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != "https://chat.example.com/mm" || c.timeout != DefaultTimeout {
		t.Errorf("base %q timeout %s", c.base, c.timeout)
	}
}

// TestPerPageClamped: per_page is 1..200 and page is never negative.
func TestPerPageClamped(t *testing.T) {
	rec, c := newRecorder(t)
	ctx := context.Background()
	for _, tc := range []struct {
		page, per int
		q         string
	}{
		{0, 0, "page=0&per_page=1"}, {-3, -1, "page=0&per_page=1"}, {1, 1, "page=1&per_page=1"},
		{0, 200, "page=0&per_page=200"}, {0, 201, "page=0&per_page=200"}, {5, 1 << 30, "page=5&per_page=200"},
	} {
		if _, err := c.GetChannelMembers(ctx, cid, tc.page, tc.per); err != nil {
			t.Fatal(err)
		}
		if got := rec.last(t).Query; got != tc.q {
			t.Errorf("page %d per_page %d sent %q, want %q", tc.page, tc.per, got, tc.q)
		}
	}
}

// TestErrorParsing: Mattermost's JSON error and a proxy's HTML page both become *Error.
func TestErrorParsing(t *testing.T) {
	rec, c := newRecorder(t)
	rec.answer = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"id":"app.user.save.username_exists.app_error","message":"An account with that username already exists.","detailed_error":"d","request_id":"rq1","status_code":400,"is_oauth":false}`)
	}
	_, err := c.CreateUser(context.Background(), User{Username: "a", Email: "a@x"})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err %T %v", err, err)
	}
	if *e != (Error{StatusCode: 400, ID: ErrUsernameExists, Message: "An account with that username already exists.", DetailedError: "d", RequestID: "rq1"}) {
		t.Errorf("%+v", e)
	}
	if ErrorID(err) != ErrUsernameExists || IsNotFound(err) || Retryable(err) {
		t.Errorf("ErrorID %q IsNotFound %v Retryable %v", ErrorID(err), IsNotFound(err), Retryable(err))
	}
	if !strings.Contains(err.Error(), ErrUsernameExists) || !strings.Contains(err.Error(), "rq1") {
		t.Errorf("Error() = %q", err.Error())
	}

	page := "<html><head><title>502 Bad Gateway</title></head><body>" + strings.Repeat("<p>nginx</p>\n", 10000) + "</body></html>"
	rec.answer = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("X-Request-Id", "proxy-1")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, page)
	}
	_, err = c.GetUser(context.Background(), uid)
	if !errors.As(err, &e) {
		t.Fatalf("err %T %v", err, err)
	}
	if e.StatusCode != 502 || e.ID != "" || !strings.HasPrefix(e.Message, "<html><head><title>502 Bad Gateway") || len(e.Message) > maxExcerpt+len("…") || e.RequestID != "proxy-1" {
		t.Errorf("%+v (message %d bytes)", e, len(e.Message))
	}
	if !Retryable(err) || ErrorID(err) != "" {
		t.Errorf("502: Retryable %v ErrorID %q", Retryable(err), ErrorID(err))
	}

	rec.answer = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"id":"app.user.missing_account.const","message":"not found","status_code":404}`)
	}
	if _, err := c.GetUserByEmail(context.Background(), "x@y"); !IsNotFound(err) {
		t.Errorf("IsNotFound(%v) false", err)
	}
	if IsNotFound(errors.New("x")) || ErrorID(errors.New("x")) != "" {
		t.Error("a plain error is an *Error")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"7", 7 * time.Second}, {" 120 ", 2 * time.Minute},
		{"99999999999999999999", MaxRetryAfter}, {"86400", MaxRetryAfter}, {"soon", 0}, {"1.5", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), MaxRetryAfter},
		{now.Add(30 * time.Second).Format(time.RFC850), 30 * time.Second},
	}
	for _, tc := range cases {
		if got := parseRetryAfter(tc.v, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.v, got, tc.want)
		}
	}
	// Over HTTP: a 429 carries it into *Error, and Backoff waits at least that long.
	rec, c := newRecorder(t)
	rec.answer = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"id":"api.context.rate_limited","message":"slow down","status_code":429}`)
	}
	err := c.UpdateUserActive(context.Background(), uid, false)
	var e *Error
	if !errors.As(err, &e) || e.RetryAfter != 3*time.Second || !Retryable(err) {
		t.Fatalf("%v: %+v", err, e)
	}
	for range 100 {
		if d := Backoff(0, err); d < 3*time.Second {
			t.Fatalf("Backoff = %s below Retry-After", d)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	for attempt := -1; attempt < 70; attempt++ {
		ceil := BackoffCap
		if a := max(attempt, 0); a < 8 {
			ceil = BackoffBase << a
		}
		var maxSeen time.Duration
		for range 300 {
			d := Backoff(attempt, errors.New("x"))
			if d < 0 || d > ceil {
				t.Fatalf("Backoff(%d) = %s outside [0, %s]", attempt, d, ceil)
			}
			maxSeen = max(maxSeen, d)
		}
		// Full jitter spreads over the range: 300 draws all below half of it are ~2^-300.
		if maxSeen < ceil/2 {
			t.Errorf("Backoff(%d): max of 300 draws %s, below half of %s", attempt, maxSeen, ceil)
		}
	}
}

// TestResponseSizeLimit: an answer over its limit is an error, not a huge allocation.
func TestResponseSizeLimit(t *testing.T) {
	rec, c := newRecorder(t)
	big := `{"id":"u1","username":"` + strings.Repeat("a", MaxResponse) + `"}`
	rec.answer = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) }
	if _, err := c.GetUser(context.Background(), uid); !errors.Is(err, ErrResponseTooLarge) || Retryable(err) {
		t.Errorf("GetUser over the limit: %v (retryable %v)", err, Retryable(err))
	}
	// At the limit exactly, a single object is read.
	exact := `{"id":"u1","username":"` + strings.Repeat("a", MaxResponse-len(`{"id":"u1","username":""}`)) + `"}`
	rec.answer = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, exact) }
	if _, err := c.GetUser(context.Background(), uid); err != nil {
		t.Errorf("GetUser at the limit: %v", err)
	}
	// Lists have the larger limit.
	member := `{"channel_id":"c1","user_id":"u1","roles":"channel_user","scheme_admin":false,"scheme_user":true,"scheme_guest":false},`
	list := "[" + strings.Repeat(member, (MaxResponse+len(member))/len(member)) + member[:len(member)-1] + "]"
	rec.answer = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, list) }
	if _, err := c.GetChannelMembers(context.Background(), cid, 0, 200); err != nil {
		t.Errorf("a list over MaxResponse but under MaxListResponse: %v", err)
	}
	list = "[" + strings.Repeat(member, MaxListResponse/len(member)+1) + member[:len(member)-1] + "]"
	if _, err := c.GetChannelMembers(context.Background(), cid, 0, 200); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("a list over MaxListResponse: %v", err)
	}
}

// TestRetryableTransport: real transport failures and the two kinds of timeout.
func TestRetryableTransport(t *testing.T) {
	// A refused connection: listen, note the port, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New(Config{URL: "http://" + addr, Token: "t", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(context.Background()); err == nil || !Retryable(err) {
		t.Errorf("refused: %v, Retryable %v", err, Retryable(err))
	}

	// A connection closed before the answer: EOF.
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	go func() {
		for {
			conn, err := l2.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			conn.Read(buf)
			conn.Close()
		}
	}()
	c2, _ := New(Config{URL: "http://" + l2.Addr().String(), Token: "t", Timeout: 2 * time.Second})
	if _, err := c2.Me(context.Background()); err == nil || !Retryable(err) {
		t.Errorf("closed: %v, Retryable %v", err, Retryable(err))
	}

	// The call's own timeout is retryable; the caller's cancellation or deadline is not.
	release := make(chan struct{})
	defer close(release)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	c3, _ := New(Config{URL: hang.URL, Token: "t", Timeout: 50 * time.Millisecond})
	_, err = c3.Me(context.Background())
	var te *TimeoutError
	if !errors.As(err, &te) || !Retryable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("own timeout: %T %v, Retryable %v", err, err, Retryable(err))
	}
	c4, _ := New(Config{URL: hang.URL, Token: "t", Timeout: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := c4.Me(ctx); err == nil || Retryable(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("caller cancelled: %v, Retryable %v", err, Retryable(err))
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := c4.Me(ctx2); err == nil || Retryable(err) {
		t.Errorf("caller's deadline: %v, Retryable %v", err, Retryable(err))
	}
}

func TestRetryableClassification(t *testing.T) {
	for status, want := range map[int]bool{400: false, 401: false, 403: false, 404: false, 409: false, 429: true, 500: true, 502: true, 503: true, 504: true} {
		if got := Retryable(&Error{StatusCode: status}); got != want {
			t.Errorf("Retryable(%d) = %v", status, got)
		}
	}
	if Retryable(nil) || Retryable(errors.New("x")) || Retryable(&json.SyntaxError{}) {
		t.Error("Retryable of an unclassified error")
	}
	if !Retryable(io.ErrUnexpectedEOF) {
		t.Error("unexpected EOF not retryable")
	}
}

// TestNoRedirects: a 3xx is an answer, not a hop carrying the token elsewhere.
func TestNoRedirects(t *testing.T) {
	var hits int
	var mu sync.Mutex
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	defer other.Close()
	rec, c := newRecorder(t)
	rec.answer = func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, other.URL, http.StatusFound) }
	_, err := c.Me(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusFound {
		t.Errorf("redirect: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Error("followed the redirect")
	}
}
