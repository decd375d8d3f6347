package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The HTTP side of the admin API's writes, on a store whose admin calls answer what a
// test sets (stubAdmin): how requests are read, refused and answered, whatever the store
// does. What the calls do is admin_write_test.go's.

// stubAdmin is a real store whose store.Admin calls (and AccountID) answer err, or
// panic, and record what they were asked.
type stubAdmin struct {
	store.Store
	mu     sync.Mutex
	err    error
	panics bool
	calls  []string // "Method arg…"
	query  store.AccountQuery
	newAcc store.NewAccount
	edit   store.AccountEdit
	login  store.LoginRequest
}

func (s *stubAdmin) answer(call string, args ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range args {
		call += fmt.Sprintf(" %v", a)
	}
	s.calls = append(s.calls, call)
	if s.panics {
		panic("stub: " + call)
	}
	return s.err
}

func (s *stubAdmin) set(err error, panics bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err, s.panics, s.calls = err, panics, nil
}

func (s *stubAdmin) lastCall() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		return ""
	}
	return s.calls[len(s.calls)-1]
}

// AccountID resolves every key to "id-"+key.
func (s *stubAdmin) AccountID(_ context.Context, key string) (string, error) {
	return "id-" + key, nil
}

func (s *stubAdmin) ListAccounts(_ context.Context, q store.AccountQuery) (store.AccountPage, error) {
	s.mu.Lock()
	s.query = q
	s.mu.Unlock()
	return store.AccountPage{Total: 1, Accounts: []store.AccountSummary{{ID: "id-a", Username: "a"}}}, s.answer("ListAccounts")
}

func (s *stubAdmin) CreateAccount(_ context.Context, a store.NewAccount) (store.AccountDetails, error) {
	s.mu.Lock()
	s.newAcc = a
	s.mu.Unlock()
	return store.AccountDetails{ID: "id-new", Username: a.Username, Email: a.Email}, s.answer("CreateAccount")
}

func (s *stubAdmin) SetAccountActive(_ context.Context, id string, active bool) (store.AccountDetails, bool, error) {
	return store.AccountDetails{ID: id, Active: active}, true, s.answer("SetAccountActive", id, active)
}

func (s *stubAdmin) DeleteAccount(_ context.Context, id string) error {
	return s.answer("DeleteAccount", id)
}

func (s *stubAdmin) EditAccount(_ context.Context, id string, e store.AccountEdit) (store.AccountDetails, error) {
	s.mu.Lock()
	s.edit = e
	s.mu.Unlock()
	return store.AccountDetails{ID: id}, s.answer("EditAccount", id)
}

func (s *stubAdmin) CreateTeam(_ context.Context, t store.NewTeam) (store.TeamSummary, error) {
	return store.TeamSummary{Name: t.Name, DisplayName: t.DisplayName, Type: "O"}, s.answer("CreateTeam", t.Name, t.DisplayName, t.Private)
}

func (s *stubAdmin) CreateChannel(_ context.Context, c store.NewChannel) (store.ChannelSummary, error) {
	return store.ChannelSummary{Name: c.Name, Type: "O"}, s.answer("CreateChannel", c.Team, c.Name, c.Private)
}

func (s *stubAdmin) AddTeamMember(_ context.Context, team, id string) (store.MembershipChange, error) {
	return store.MembershipChange{Account: id, Username: "u", Team: team, Changed: true, Member: true}, s.answer("AddTeamMember", team, id)
}

func (s *stubAdmin) RemoveTeamMember(_ context.Context, team, id string, toDefault bool) (store.MembershipChange, error) {
	return store.MembershipChange{Account: id, Username: "u", Team: team, Changed: true}, s.answer("RemoveTeamMember", team, id, toDefault)
}

func (s *stubAdmin) AddChannelMember(_ context.Context, team, channel, id string) (store.MembershipChange, error) {
	return store.MembershipChange{Account: id, Username: "u", Team: team, Channel: channel, Changed: true, Member: true},
		s.answer("AddChannelMember", team, channel, id)
}

func (s *stubAdmin) RemoveChannelMember(_ context.Context, team, channel, id string) (store.MembershipChange, error) {
	return store.MembershipChange{Account: id, Username: "u", Team: team, Channel: channel, Changed: true},
		s.answer("RemoveChannelMember", team, channel, id)
}

func (s *stubAdmin) Login(_ context.Context, r store.LoginRequest) (store.LoginResult, error) {
	s.mu.Lock()
	s.login = r
	s.mu.Unlock()
	return store.LoginResult{Account: store.AccountDetails{ID: "id-login"}, Created: r.AuthData == "new"}, s.answer("Login")
}

func (s *stubAdmin) JoinTeam(_ context.Context, id, team string) (store.MembershipChange, error) {
	return store.MembershipChange{Account: id, Username: "u", Team: team, Changed: true, Member: true}, s.answer("JoinTeam", id, team)
}

func (s *stubAdmin) GrantRole(_ context.Context, id string, r store.RoleRef) (store.RoleChange, error) {
	return store.RoleChange{Account: id, Username: "u", Role: r, Changed: true, Has: true,
		Remaining: []store.MembershipSource{{Kind: store.SourceManual}}}, s.answer("GrantRole", id, r.Where())
}

func (s *stubAdmin) RevokeRole(_ context.Context, id string, r store.RoleRef) (store.RoleChange, error) {
	return store.RoleChange{Account: id, Username: "u", Role: r, Changed: true}, s.answer("RevokeRole", id, r.Where())
}

// adminWrite is one request of every write endpoint, and the login routes.
type adminWrite struct {
	method, path, body string
	login              bool // a login route (scope login)
}

var adminWrites = []adminWrite{
	{"POST", "/api/v1/accounts", `{"email":"a@example.com","username":"a","password":"Passw0rd!x"}`, false},
	{"PATCH", "/api/v1/accounts/a", `{"email":"b@example.com"}`, false},
	{"PUT", "/api/v1/accounts/a/active", `{"active":false}`, false},
	{"DELETE", "/api/v1/accounts/a", ``, false},
	{"POST", "/api/v1/teams", `{"name":"t"}`, false},
	{"POST", "/api/v1/teams/t/channels", `{"name":"c"}`, false},
	{"POST", "/api/v1/teams/t/members", `{"account":"a"}`, false},
	{"DELETE", "/api/v1/teams/t/members/a", ``, false},
	{"POST", "/api/v1/teams/t/channels/c/members", `{"account":"a"}`, false},
	{"DELETE", "/api/v1/teams/t/channels/c/members/a", ``, false},
	{"PUT", "/api/v1/accounts/a/roles/system_admin", ``, false},
	{"DELETE", "/api/v1/accounts/a/roles/system_admin", ``, false},
	{"PUT", "/api/v1/teams/t/admins/a", ``, false},
	{"DELETE", "/api/v1/teams/t/admins/a", ``, false},
	{"PUT", "/api/v1/teams/t/channels/c/admins/a", `{}`, false},
	{"DELETE", "/api/v1/teams/t/channels/c/admins/a", ``, false},
	{"POST", "/api/v1/logins", `{"auth_service":"saml","auth_data":"00u1","email":"a@example.com"}`, true},
	{"POST", "/api/v1/accounts/id-a/teams/t", ``, true},
}

func stubServer(t *testing.T, s *sqlstore.Store) (*stubAdmin, func(method, path, body string, headers ...string) response, *strings.Builder) {
	stub := &stubAdmin{Store: s}
	srv, log := testServerWith(t, server.Config{Store: stub, Limits: server.DefaultLimits()})
	var logText strings.Builder
	return stub, func(method, path, body string, headers ...string) response {
		t.Helper()
		r := do(t, srv, method, path, body, append([]string{"Content-Type", "application/json"}, headers...)...)
		logText.Reset()
		logText.WriteString(log.String())
		return r
	}, &logText
}

// Every error a store call returns is answered by its stable code, with that code's
// status, on every write endpoint: the store's words for refusals, our own for
// unavailable (with Retry-After) and internal (logged, never shown).
func TestAdminWriteErrorCodes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		stub, call, log := stubServer(t, s)
		for _, c := range []struct {
			err    error
			status int
			code   string
			says   string
		}{
			{fmt.Errorf("team %q: %w", "t", store.ErrNotFound), 404, "not_found", ""},
			{&store.ConflictError{Attribute: "email"}, 409, "conflict", "email already exists"},
			{&store.InvalidError{Attribute: "username", Reason: "must be 3 to 64 characters"}, 400, "invalid", "username must be"},
			{&store.RefusedError{Code: store.CodeDeactivated, Reason: "dave is deactivated"}, 403, "deactivated", "dave is deactivated"},
			{&store.RefusedError{Code: store.CodePrivateTeam, Reason: "t is invite only"}, 403, "private_team", "invite only"},
			{&store.RefusedError{Code: store.CodeSCIMDeleted, Reason: "its IdP deleted it"}, 409, "scim_deleted", "IdP"},
			{&store.RefusedError{Code: store.CodeLastTeam, Reason: "carol's last team"}, 409, "last_team", "last team"},
			{&store.RefusedError{Code: store.CodeStillGranted, Reason: "bob stays in engineering: granted by group Engineering"}, 409, "still_granted", "bob stays in engineering: granted by group Engineering"},
			{&store.RefusedError{Code: store.CodeNotMember, Reason: "bob is not in t"}, 404, "not_member", "not in t"},
			{&store.RefusedError{Code: store.CodeNotTeamMember, Reason: "bob is not in the team t"}, 409, "not_team_member", "team t"},
			{&store.RefusedError{Code: store.CodeGuest, Reason: "gina is a guest: the mapping decides a guest's memberships"}, 403, "guest", "gina is a guest"},
			{&store.RefusedError{Code: store.CodeNoRole, Reason: "bob is not team_admin of t"}, 404, "no_role", "not team_admin"},
			{&store.RefusedError{Code: "some_future_refusal", Reason: "no"}, 409, "some_future_refusal", "no"},
			{fmt.Errorf("%w: dial tcp 10.0.0.5: refused", store.ErrUnavailable), 503, "unavailable", "try again later"},
			{errors.New("pq: secret driver detail"), 500, "internal", "server log"},
		} {
			stub.set(c.err, false)
			for _, w := range adminWrites {
				r := call(w.method, w.path, w.body)
				if c.code == "some_future_refusal" {
					if r.status != 409 || r.body["code"] != c.code {
						t.Fatalf("%s %s: %d %s", w.method, w.path, r.status, r.raw)
					}
					continue
				}
				wantAdminCode(t, r, c.status, c.code, c.says)
				if strings.Contains(r.raw, "10.0.0.5") || strings.Contains(r.raw, "secret driver detail") {
					t.Fatalf("%s %s: the store's own words shown: %s", w.method, w.path, r.raw)
				}
				switch c.code {
				case "unavailable":
					if r.header.Get("Retry-After") == "" {
						t.Fatalf("%s %s: 503 without Retry-After", w.method, w.path)
					}
				case "internal":
					if !strings.Contains(log.String(), "secret driver detail") {
						t.Fatalf("%s %s: the internal error is not logged", w.method, w.path)
					}
				}
			}
		}
		// A panic in a store call is a logged 500 in the same shape.
		stub.set(nil, true)
		for _, w := range adminWrites {
			wantAdminCode(t, call(w.method, w.path, w.body), 500, "internal", "server log")
			if !strings.Contains(log.String(), "panic in handler") {
				t.Fatalf("%s %s: the panic is not logged", w.method, w.path)
			}
		}
	})
}

// What each endpoint answers when the store does what it was asked, and what it asked.
func TestAdminWriteAnswers(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		stub, call, _ := stubServer(t, s)
		stub.set(nil, false)
		for _, c := range []struct {
			method, path, body string
			status             int
			call               string // the store call made
			has                string // in the body
		}{
			{"POST", "/api/v1/accounts", `{"email":"a@example.com","username":"a","password":"Passw0rd!x"}`, 201, "CreateAccount", `"id":"id-new"`},
			{"PATCH", "/api/v1/accounts/bob", `{"email":"b@example.com","first_name":null}`, 200, "EditAccount id-bob", `"id":"id-bob"`},
			{"PATCH", "/api/v1/accounts/bob", `{}`, 200, "EditAccount id-bob", `"id":"id-bob"`},
			{"PUT", "/api/v1/accounts/bob/active", `{"active":false}`, 200, "SetAccountActive id-bob false", `"active":false`},
			{"PUT", "/api/v1/accounts/bob/active", `{"active":true}`, 200, "SetAccountActive id-bob true", `"active":true`},
			{"DELETE", "/api/v1/accounts/bob", ``, 204, "DeleteAccount id-bob", ``},
			{"POST", "/api/v1/teams", `{"name":"t","display_name":"T","private":true}`, 201, "CreateTeam t T true", `"name":"t"`},
			{"POST", "/api/v1/teams/t/channels", `{"name":"c","private":true}`, 201, "CreateChannel t c true", `"team":"t","name":"c"`},
			{"POST", "/api/v1/teams/t/members", `{"account":"bob"}`, 200, "AddTeamMember t id-bob", `"message":"added u to t"`},
			{"DELETE", "/api/v1/teams/t/members/bob", ``, 200, "RemoveTeamMember t id-bob false", `"message":"removed u from t"`},
			{"DELETE", "/api/v1/teams/t/members/bob?to_default=true", ``, 200, "RemoveTeamMember t id-bob true", `"member":false`},
			{"POST", "/api/v1/teams/t/channels/c/members", `{"account":"bob"}`, 200, "AddChannelMember t c id-bob", `"message":"added u to t:c"`},
			{"DELETE", "/api/v1/teams/t/channels/c/members/bob", ``, 200, "RemoveChannelMember t c id-bob", `"channel":"c"`},
			{"POST", "/api/v1/logins", `{"auth_service":"saml","auth_data":"new","email":"n@example.com"}`, 201, "Login", `"created":true`},
			{"POST", "/api/v1/logins", `{"auth_service":"saml","auth_data":"old","email":"n@example.com"}`, 200, "Login", `"created":false`},
			{"POST", "/api/v1/accounts/id-bob/teams/t", ``, 200, "JoinTeam id-bob t", `"message":"added u to t"`},
			{"GET", "/api/v1/accounts?team=t&inactive=true&term=a&term=b", ``, 200, "ListAccounts", `"total":1`},
			{"PUT", "/api/v1/accounts/bob/roles/system_admin", ``, 200, "GrantRole id-bob system_admin",
				`{"account":"id-bob","username":"u","role":"system_admin","changed":true,"has":true,"remaining":["manual"],"message":"made u system_admin"}`},
			{"DELETE", "/api/v1/accounts/bob/roles/system_admin", ``, 200, "RevokeRole id-bob system_admin",
				`"has":false,"remaining":[],"message":"u is no longer system_admin"`},
			{"PUT", "/api/v1/teams/t/admins/bob", `{}`, 200, "GrantRole id-bob team_admin of t",
				`"role":"team_admin","team":"t","changed":true,"has":true`},
			{"DELETE", "/api/v1/teams/t/admins/bob", ``, 200, "RevokeRole id-bob team_admin of t", `"message":"u is no longer team_admin of t"`},
			{"PUT", "/api/v1/teams/t/channels/c/admins/bob", " \n", 200, "GrantRole id-bob channel_admin of t:c",
				`"role":"channel_admin","team":"t","channel":"c"`},
			{"DELETE", "/api/v1/teams/t/channels/c/admins/bob", ``, 200, "RevokeRole id-bob channel_admin of t:c",
				`"message":"u is no longer channel_admin of t:c"`},
		} {
			r := call(c.method, c.path, c.body)
			if r.status != c.status || !strings.Contains(r.raw, c.has) || stub.lastCall() != c.call {
				t.Fatalf("%s %s: %d %s (store call %q), want %d with %s and %q", c.method, c.path, r.status, r.raw,
					stub.lastCall(), c.status, c.has, c.call)
			}
			if c.status == 204 && r.raw != "" {
				t.Fatalf("%s %s: 204 with a body %q", c.method, c.path, r.raw)
			}
			if c.status != 204 && r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s %s: content type %q", c.method, c.path, r.header.Get("Content-Type"))
			}
		}
		// PATCH passes only what the body sets.
		call("PATCH", "/api/v1/accounts/bob", `{"auth_data":"new-id","nickname":"","position":null}`)
		if e := stub.edit; e.AuthData == nil || *e.AuthData != "new-id" || e.Nickname == nil || *e.Nickname != "" ||
			e.Position != nil || e.Email != nil || e.Username != nil || e.AuthService != nil || e.FirstName != nil || e.LastName != nil {
			t.Fatalf("edit %+v", e)
		}
		// The list's query as the store gets it.
		call("GET", "/api/v1/accounts?team=t&inactive=true&term=a&term=B&limit=5&offset=7", "")
		if q := stub.query; q.Team != "t" || !q.Inactive || strings.Join(q.Terms, ",") != "a,B" || q.Limit != 5 || q.Offset != 7 {
			t.Fatalf("query %+v", q)
		}
		// /logins passes what the sign-in layer learned, and ignores what else it sends.
		r := call("POST", "/api/v1/logins", `{"auth_service":"oidc","auth_data":"00u1","email":"e@example.com","first_name":"F",
			"last_name":"L","groups":["x"],"sub":"00u1","nonce":{"a":1}}`)
		if r.status != 200 || stub.login != (store.LoginRequest{AuthService: "oidc", AuthData: "00u1", Email: "e@example.com",
			FirstName: "F", LastName: "L"}) {
			t.Fatalf("login: %d %s %+v", r.status, r.raw, stub.login)
		}
		if !strings.Contains(r.raw, `"joinable":[]`) || !strings.Contains(r.raw, `"bound":false`) {
			t.Fatalf("login answer: %s", r.raw)
		}
	})
}

// Passwords: checked at both edges of store.CheckPassword, hashed before the store sees
// them, never answered.
func TestAdminCreateAccountPassword(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		stub, call, _ := stubServer(t, s)
		body := func(pw string) string {
			return `{"email":"a@example.com","username":"a","password":"` + pw + `"}`
		}
		for _, c := range []struct {
			pw     string
			status int
		}{
			{strings.Repeat("p", store.MinPasswordLength-1), 400},
			{strings.Repeat("p", store.MinPasswordLength), 201},
			{strings.Repeat("p", store.MaxPasswordLength), 201},
			{strings.Repeat("p", store.MaxPasswordLength+1), 400},
			{"Passw0rd\\u0000x", 400},
		} {
			stub.set(nil, false)
			r := call("POST", "/api/v1/accounts", body(c.pw))
			if c.status == 400 {
				wantAdminCode(t, r, 400, "invalid", "password")
				if stub.lastCall() != "" {
					t.Fatalf("password %q: the store was called", c.pw)
				}
				continue
			}
			if r.status != c.status || strings.Contains(r.raw, c.pw) || strings.Contains(r.raw, "password") {
				t.Fatalf("password of %d: %d %s", len(c.pw), r.status, r.raw)
			}
			if ok, err := resources.VerifyPassword(stub.newAcc.PasswordHash, c.pw); !ok || err != nil {
				t.Fatalf("the store got %q, not a hash of the password: %v", stub.newAcc.PasswordHash, err)
			}
		}
		// No password: the store decides (SSO accounts need none).
		call("POST", "/api/v1/accounts", `{"email":"s@example.com","username":"s","auth_service":"saml","auth_data":"00u"}`)
		if stub.newAcc.PasswordHash != "" || stub.newAcc.AuthData != "00u" || stub.newAcc.AuthService != "saml" {
			t.Fatalf("SSO account: %+v", stub.newAcc)
		}
	})
}

// Bodies: one JSON object of the endpoint's fields, sent as JSON, within the limit; every
// refusal in the one error shape, before the store is asked.
func TestAdminWriteBodies(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		stub, call, _ := stubServer(t, s)
		stub.set(nil, false)
		for _, c := range []struct {
			method, path, body, ct string
			status                 int
			code, says             string
		}{
			{"POST", "/api/v1/teams", `{"name":"t","color":"red"}`, "", 400, "bad_request", `unknown field "color"`},
			{"POST", "/api/v1/accounts", `{"email":"a@example.com","username":"a","is_admin":true}`, "", 400, "bad_request", `unknown field "is_admin"`},
			{"PATCH", "/api/v1/accounts/a", `{"password":"Passw0rd!x"}`, "", 400, "bad_request", `unknown field "password"`},
			{"PUT", "/api/v1/accounts/a/active", `{"active":"yes"}`, "", 400, "bad_request", "active must be a JSON boolean"},
			{"PUT", "/api/v1/accounts/a/active", `{}`, "", 400, "invalid", "active is required"},
			{"PUT", "/api/v1/accounts/a/active", `{"active":null}`, "", 400, "invalid", "active is required"},
			{"POST", "/api/v1/teams", `{"name":"t"`, "", 400, "bad_request", "not valid JSON"},
			{"POST", "/api/v1/teams", `{"name":"t"}{}`, "", 400, "bad_request", "nothing after it"},
			{"POST", "/api/v1/teams", `{"name":"t"} x`, "", 400, "bad_request", "nothing after it"},
			{"POST", "/api/v1/teams", `["t"]`, "", 400, "bad_request", "one JSON object"},
			{"POST", "/api/v1/teams", `null`, "", 400, "bad_request", "one JSON object"},
			{"POST", "/api/v1/teams", ``, "", 400, "bad_request", "one JSON object"},
			{"POST", "/api/v1/teams", `{"name":5}`, "", 400, "bad_request", "name must be a JSON string"},
			{"POST", "/api/v1/teams/t/members", `{}`, "", 400, "invalid", "account is required"},
			{"POST", "/api/v1/teams/t/members", `{"account":"a","role":"admin"}`, "", 400, "bad_request", `unknown field "role"`},
			{"POST", "/api/v1/logins", `{"auth_data":5}`, "", 400, "bad_request", "auth_data must be a JSON string"},
			{"POST", "/api/v1/logins", `{"auth_data":"x"} {}`, "", 400, "bad_request", "nothing after it"},
			{"POST", "/api/v1/teams", `{"name":"t"}`, "-", 415, "unsupported_media_type", "Content-Type: application/json"},
			{"POST", "/api/v1/teams", `{"name":"t"}`, "text/plain", 415, "unsupported_media_type", "text/plain"},
			{"POST", "/api/v1/teams", `name=t`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", "x-www-form-urlencoded"},
			{"POST", "/api/v1/teams", `{"name":"t"}`, "application/json; charset=latin1", 415, "unsupported_media_type", "UTF-8"},
			{"POST", "/api/v1/logins", `{}`, "text/html", 415, "unsupported_media_type", "text/html"},
			{"GET", "/api/v1/accounts?inactive=maybe", "", "", 400, "invalid", "inactive must be true or false"},
			{"DELETE", "/api/v1/teams/t/members/a?to_default=1x", "", "", 400, "invalid", "to_default must be true or false"},
			{"GET", "/api/v1/accounts?limit=-1", "", "", 400, "invalid", "limit must be a non-negative integer"},
			{"GET", "/api/v1/accounts?offset=x", "", "", 400, "invalid", "offset must be a non-negative integer"},
			{"PUT", "/api/v1/teams/t/admins/a", `{"role":"team_admin"}`, "", 400, "bad_request", `unknown field "role"`},
			{"PUT", "/api/v1/accounts/a/roles/system_admin", `true`, "", 400, "bad_request", "one JSON object"},
			{"DELETE", "/api/v1/teams/t/channels/c/admins/a", `{}`, "text/plain", 415, "unsupported_media_type", "text/plain"},
			{"PUT", "/api/v1/accounts/a/roles/system_user", ``, "", 404, "not_found", "team_admin is granted at /teams/{team}/admins/{key}"},
			{"DELETE", "/api/v1/accounts/a/roles/team_admin", ``, "", 404, "not_found", `no role "team_admin" is granted here`},
		} {
			stub.set(nil, false)
			var headers []string
			switch c.ct {
			case "-":
				headers = []string{"Content-Type", ""}
			case "":
			default:
				headers = []string{"Content-Type", c.ct}
			}
			r := call(c.method, c.path, c.body, headers...)
			wantAdminCode(t, r, c.status, c.code, c.says)
			if stub.lastCall() != "" {
				t.Fatalf("%s %s %s: the store was called: %s", c.method, c.path, c.body, stub.lastCall())
			}
		}
		// Case-sensitive media type parameters aside, application/json with UTF-8 is
		// taken, as is SCIM's own.
		for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "application/scim+json"} {
			if r := call("POST", "/api/v1/teams", `{"name":"t"}`, "Content-Type", ct); r.status != 201 {
				t.Fatalf("%s: %d %s", ct, r.status, r.raw)
			}
		}
	})
}

// Inputs have limits, tested at their edges: the body (server.AdminMaxBodyBytes), the
// number of search terms (store.MaxSearchTerms), the page (store.MaxAccountPage).
func TestAdminWriteLimits(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		stub, call, _ := stubServer(t, s)
		stub.set(nil, false)
		// A body of exactly the limit is read (and refused for its content); one byte
		// more is 413 before anything reads it.
		pad := func(n int) string {
			const head, tail = `{"name":"`, `"}`
			return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
		}
		r := call("POST", "/api/v1/teams", pad(server.AdminMaxBodyBytes))
		if r.status != 201 {
			t.Fatalf("a body at the limit: %d %.200s", r.status, r.raw)
		}
		wantAdminCode(t, call("POST", "/api/v1/teams", pad(server.AdminMaxBodyBytes+1)), 413, "too_large",
			strconv.Itoa(server.AdminMaxBodyBytes))
		wantAdminCode(t, call("POST", "/api/v1/logins", pad(server.AdminMaxBodyBytes+1)), 413, "too_large", "")

		terms := func(n int) string {
			q := url.Values{}
			for i := range n {
				q.Add("term", fmt.Sprint("t", i))
			}
			return q.Encode()
		}
		if r := call("GET", "/api/v1/accounts?"+terms(store.MaxSearchTerms), ""); r.status != 200 || len(stub.query.Terms) != store.MaxSearchTerms {
			t.Fatalf("%d terms: %d %s", store.MaxSearchTerms, r.status, r.raw)
		}
		stub.set(nil, false)
		wantAdminCode(t, call("GET", "/api/v1/accounts?"+terms(store.MaxSearchTerms+1), ""), 400, "invalid",
			fmt.Sprintf("at most %d terms", store.MaxSearchTerms))
		if stub.lastCall() != "" {
			t.Fatal("the store was asked for too many terms")
		}
		for _, c := range []struct {
			q    string
			want int
		}{
			{"", store.MaxAccountPage}, {"limit=0", 0}, {"limit=1", 1},
			{"limit=" + strconv.Itoa(store.MaxAccountPage), store.MaxAccountPage},
			{"limit=" + strconv.Itoa(store.MaxAccountPage+1), store.MaxAccountPage},
		} {
			r := call("GET", "/api/v1/accounts?"+c.q, "")
			if r.status != 200 || r.body["limit"] != float64(c.want) || stub.query.Limit != c.want {
				t.Fatalf("%s: %d %s (store asked for %d), want limit %d", c.q, r.status, r.raw, stub.query.Limit, c.want)
			}
		}
	})
}

// Scopes, decided per route: admin:write for the writes, admin:read for the reads, login
// for /logins and joining a team and for nothing else; neither admin scope reaches the
// login routes. A refusal is 403 forbidden naming the scope, and asks the store nothing.
func TestAdminWriteScopes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		stub, call, _ := stubServer(t, s)
		tokens := map[store.Scope]string{}
		for _, sc := range store.AllScopes {
			tokens[sc] = storedToken(t, s, "only-"+strings.ReplaceAll(string(sc), ":", "-"), sc)
		}
		for _, w := range adminWrites {
			need := store.ScopeAdminWrite
			if w.login {
				need = store.ScopeLogin
			}
			for _, sc := range store.AllScopes {
				stub.set(nil, false)
				r := call(w.method, w.path, w.body, "Authorization", tokens[sc])
				if sc == need {
					if r.status >= 300 {
						t.Fatalf("%s %s with %s: %d %s", w.method, w.path, sc, r.status, r.raw)
					}
					continue
				}
				wantAdminCode(t, r, 403, "forbidden", `"`+string(need)+`"`)
				if stub.lastCall() != "" {
					t.Fatalf("%s %s with %s: the store was called", w.method, w.path, sc)
				}
			}
		}
		// A login token reads nothing and reaches no other route, 404s and 405s included.
		login := tokens[store.ScopeLogin]
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/v1/teams"}, {"GET", "/api/v1/accounts"}, {"GET", "/api/v1/accounts/a"},
			{"GET", "/api/v1/events"}, {"GET", "/api/v1/mattermost/status"}, {"GET", "/api/v1/nothing"},
			{"POST", "/api/v1/nothing"}, {"PUT", "/api/v1/teams"},
		} {
			wantAdminCode(t, call(c.method, c.path, "", "Authorization", login), 403, "forbidden", "")
		}
		// On the login routes' paths, other methods are 405 to a login token.
		for _, c := range []struct{ method, path string }{{"GET", "/api/v1/logins"}, {"DELETE", "/api/v1/accounts/a/teams/t"}} {
			r := call(c.method, c.path, "", "Authorization", login)
			wantAdminCode(t, r, 405, "method_not_allowed", "allowed: POST")
			if r.header.Get("Allow") != "POST" {
				t.Fatalf("%s %s: Allow %q", c.method, c.path, r.header.Get("Allow"))
			}
		}
		// No token, or a wrong one (in turns: an address may fail only so often): 401.
		for i, w := range adminWrites {
			h := []string{"", "Bearer nope"}[i%2]
			r := call(w.method, w.path, w.body, "Authorization", h)
			wantAdminCode(t, r, 401, "unauthorized", "bearer token")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s %s: 401 without WWW-Authenticate", w.method, w.path)
			}
		}
	})
}

// Routes: every path answers its own methods, others 405 with Allow; no route is 404.
func TestAdminRoutes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		_, call, _ := stubServer(t, s)
		for _, c := range []struct{ path, allow string }{
			{"/api/v1/accounts", "GET, POST"},
			{"/api/v1/accounts/a", "GET, PATCH, DELETE"},
			{"/api/v1/accounts/a/active", "PUT"},
			{"/api/v1/teams", "GET, POST"},
			{"/api/v1/teams/t/channels", "GET, POST"},
			{"/api/v1/teams/t/members", "GET, POST"},
			{"/api/v1/teams/t/members/a", "DELETE"},
			{"/api/v1/teams/t/channels/c/members", "GET, POST"},
			{"/api/v1/teams/t/channels/c/members/a", "DELETE"},
			{"/api/v1/logins", "POST"},
			{"/api/v1/accounts/a/teams/t", "POST"},
			{"/api/v1/accounts/a/roles/system_admin", "PUT, DELETE"},
			{"/api/v1/teams/t/admins/a", "PUT, DELETE"},
			{"/api/v1/teams/t/channels/c/admins/a", "PUT, DELETE"},
		} {
			for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
				if strings.Contains(c.allow, m) {
					continue
				}
				r := call(m, c.path, "")
				wantAdminCode(t, r, 405, "method_not_allowed", "allowed: "+c.allow)
				if r.header.Get("Allow") != c.allow {
					t.Fatalf("%s %s: Allow %q, want %q", m, c.path, r.header.Get("Allow"), c.allow)
				}
			}
		}
		for _, p := range []string{"/api/v1", "/api/v1/", "/api/v1/accounts/a/teams", "/api/v1/accounts/a/active/x", "/api/v1/login",
			"/api/v1/teams/t/members/a/b",
			"/api/v1/accounts/a/roles", "/api/v1/teams/t/admins", "/api/v1/teams/t/channels/c/admins"} {
			for _, m := range []string{"GET", "POST", "DELETE"} {
				wantAdminCode(t, call(m, p, ""), 404, "not_found", "no admin API endpoint")
			}
		}
	})
}
