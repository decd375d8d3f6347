package server_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The admin API's writes and the login routes on the real store, both databases: what
// each endpoint does, each refusal with its code and status, and the journal's actor.

// adminCaller sends JSON to srv with a token's Authorization header.
func adminCaller(t *testing.T, srv *httptest.Server, auth string) func(method, path, body string) response {
	return func(method, path, body string) response {
		t.Helper()
		return do(t, srv, method, server.AdminPrefix+path, body, "Authorization", auth, "Content-Type", "application/json")
	}
}

// want checks a success: status, and each of has in the body.
func want(t *testing.T, r response, status int, has ...string) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	for _, h := range has {
		if !strings.Contains(r.raw, h) {
			t.Fatalf("body %s, want it to hold %s", r.raw, h)
		}
	}
	return r
}

// teamsOf lists an account answer's teams as "team=source,…".
func teamsOf(r response) []string {
	var out []string
	acc := r.body
	if a, ok := acc["account"].(map[string]any); ok {
		acc = a
	}
	teams, _ := acc["teams"].([]any)
	for _, x := range teams {
		tm := x.(map[string]any)
		var src []string
		for _, s := range tm["sources"].([]any) {
			src = append(src, s.(string))
		}
		out = append(out, tm["name"].(string)+"="+strings.Join(src, ","))
	}
	return out
}

func TestAdminWrites(t *testing.T) {
	cfg, err := rules.Parse([]byte(adminRules))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		s.SetRules(cfg)
		srv, _ := testServer(t, s)
		api := adminCaller(t, srv, storedToken(t, s, "ops-console", store.ScopeAdminRead, store.ScopeAdminWrite))
		bob := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"bob@example.com","externalId":"00ubob","emails":[{"value":"bob@example.com","primary":true}]}`))
		scimCreate(t, do(t, srv, "POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
			"displayName":"Engineering","members":[{"value":"`+bob+`"}]}`))

		// Accounts.
		r := want(t, api("POST", "/accounts", `{"email":"alice@example.com","username":"alice","password":"Passw0rd!x",
			"first_name":"Alice","last_name":"Liddell","nickname":"al","position":"Queen"}`), 201,
			`"username":"alice"`, `"first_name":"Alice"`, `"last_name":"Liddell"`, `"nickname":"al"`, `"position":"Queen"`,
			`"origin":"manual"`, `"active":true`)
		alice := r.body["id"].(string)
		if r.header.Get("Location") != "/api/v1/accounts/"+alice || strings.Contains(r.raw, "Passw0rd") {
			t.Fatalf("created: Location %q; %s", r.header.Get("Location"), r.raw)
		}
		if got := teamsOf(r); !slices.Equal(got, []string{"everyone=default"}) {
			t.Fatalf("alice's teams: %v", got)
		}
		wantAdminCode(t, api("POST", "/accounts", `{"email":"a2@example.com","username":"alice","password":"Passw0rd!x"}`), 409, "conflict", "username")
		wantAdminCode(t, api("POST", "/accounts", `{"email":"alice@example.com","username":"alice2","password":"Passw0rd!x"}`), 409, "conflict", "email")
		wantAdminCode(t, api("POST", "/accounts", `{"email":"p@example.com","username":"nopw"}`), 400, "invalid", "password")
		wantAdminCode(t, api("POST", "/accounts", `{"email":"p@example.com","username":"half","auth_data":"00u"}`), 400, "invalid", "")
		wantAdminCode(t, api("POST", "/accounts", `{"email":"not-an-address","username":"x1","password":"Passw0rd!x"}`), 400, "invalid", "email")
		want(t, api("POST", "/accounts", `{"email":"sso@example.com","username":"sso","auth_service":"saml","auth_data":"00usso"}`), 201,
			`"auth_service":"saml"`, `"auth_data":"00usso"`)
		wantAdminCode(t, api("POST", "/accounts", `{"email":"sso2@example.com","username":"sso2","auth_service":"saml","auth_data":"00usso"}`), 409, "conflict", "auth_data")

		for _, key := range []string{alice, "alice", "ALICE@example.com"} {
			want(t, api("GET", "/accounts/"+key, ""), 200, `"id":"`+alice+`"`)
		}
		wantAdminCode(t, api("GET", "/accounts/nobody", ""), 404, "not_found", `"nobody"`)
		want(t, api("GET", "/accounts?term=LIDD&term=al", ""), 200, `"total":1`, `"username":"alice"`)
		want(t, api("GET", "/accounts?limit=1&offset=1", ""), 200, `"total":3`, `"limit":1`, `"offset":1`, `"username":"bob"`)
		want(t, api("GET", "/accounts?team=engineering", ""), 200, `"total":1`, `"username":"bob"`)
		want(t, api("GET", "/accounts?inactive=true", ""), 200, `"total":0`, `"accounts":[]`)
		wantAdminCode(t, api("GET", "/accounts?team=nope", ""), 404, "not_found", `"nope"`)
		wantAdminCode(t, api("GET", "/accounts?term=a%00", ""), 400, "invalid", "")
		// A term is at most store.MaxNameLength characters.
		want(t, api("GET", "/accounts?term="+strings.Repeat("é", store.MaxNameLength), ""), 200, `"total":0`)
		wantAdminCode(t, api("GET", "/accounts?term="+strings.Repeat("é", store.MaxNameLength+1), ""), 400, "invalid", "")

		want(t, api("PATCH", "/accounts/alice", `{"nickname":"ally","username":"alice.l"}`), 200, `"nickname":"ally"`, `"username":"alice.l"`,
			`"first_name":"Alice"`)
		wantAdminCode(t, api("PATCH", "/accounts/alice.l", `{"username":"x"}`), 400, "invalid", "username")
		wantAdminCode(t, api("PATCH", "/accounts/alice.l", `{"username":"bob"}`), 409, "conflict", "username")
		wantAdminCode(t, api("PATCH", "/accounts/nobody", `{"nickname":"n"}`), 404, "not_found", "nobody")
		want(t, api("PATCH", "/accounts/sso", `{"auth_data":"00unew"}`), 200, `"auth_data":"00unew"`)

		// Teams and channels.
		want(t, api("POST", "/teams", `{"name":"support","display_name":"Support"}`), 201, `"name":"support"`, `"display_name":"Support"`, `"type":"O"`)
		want(t, api("POST", "/teams", `{"name":"secret","private":true}`), 201, `"type":"I","private":true`, `"display_name":"secret"`)
		wantAdminCode(t, api("POST", "/teams", `{"name":"support"}`), 409, "conflict", "team")
		wantAdminCode(t, api("POST", "/teams", `{"name":"Bad Name!"}`), 400, "invalid", "")
		want(t, api("POST", "/teams/support/channels", `{"name":"reviews","display_name":"Reviews","private":true}`), 201,
			`"team":"support"`, `"name":"reviews"`, `"type":"P","private":true`)
		wantAdminCode(t, api("POST", "/teams/support/channels", `{"name":"town-square"}`), 409, "conflict", "channel")
		wantAdminCode(t, api("POST", "/teams/nope/channels", `{"name":"x"}`), 404, "not_found", `"nope"`)

		// Memberships, with each refusal.
		want(t, api("POST", "/teams/support/members", `{"account":"alice.l"}`), 200, `"changed":true`, `"member":true`,
			`"message":"added alice.l to support"`)
		want(t, api("POST", "/teams/support/members", `{"account":"alice.l"}`), 200, `"changed":false`)
		wantAdminCode(t, api("POST", "/teams/nope/members", `{"account":"alice.l"}`), 404, "not_found", "")
		wantAdminCode(t, api("POST", "/teams/support/members", `{"account":"nobody"}`), 404, "not_found", "nobody")
		wantAdminCode(t, api("POST", "/teams/support/channels/reviews/members", `{"account":"bob"}`), 409, "not_team_member", "")
		want(t, api("POST", "/teams/support/channels/reviews/members", `{"account":"alice.l"}`), 200, `"channel":"reviews"`,
			`"message":"added alice.l to support:reviews"`)
		want(t, api("DELETE", "/teams/support/channels/reviews/members/alice.l", ""), 200, `"member":false`,
			`"message":"removed alice.l from support:reviews"`, `"removed":["manual"]`)
		wantAdminCode(t, api("DELETE", "/teams/support/channels/reviews/members/alice.l", ""), 404, "not_member", "")
		wantAdminCode(t, api("DELETE", "/teams/support/channels/town-square/members/alice.l", ""), 409, "still_granted", "alice.l stays in")
		wantAdminCode(t, api("DELETE", "/teams/engineering/members/bob", ""), 409, "still_granted",
			"bob stays in engineering: granted by group Engineering")
		wantAdminCode(t, api("DELETE", "/teams/support/members/bob", ""), 404, "not_member", "")
		// alice's last team is support now (the default team was only for want of another).
		wantAdminCode(t, api("DELETE", "/teams/support/members/alice.l", ""), 409, "last_team", "")
		want(t, api("DELETE", "/teams/support/members/alice.l?to_default=true", ""), 200, `"moved":true`)
		if got := teamsOf(want(t, api("GET", "/accounts/alice.l", ""), 200)); !slices.Equal(got, []string{"everyone=default"}) {
			t.Fatalf("alice after to_default: %v", got)
		}

		// Deactivation shows in SCIM; a deactivated account is refused; a SCIM-deleted
		// one cannot be reactivated by hand.
		want(t, api("PUT", "/accounts/alice.l/active", `{"active":false}`), 200, `"active":false`, `"status":"offline"`)
		if r := do(t, srv, "GET", "/scim/v2/Users/"+alice, ""); r.body["active"] != false {
			t.Fatalf("SCIM after deactivation: %s", r.raw)
		}
		wantAdminCode(t, api("POST", "/teams/support/members", `{"account":"alice.l"}`), 403, "deactivated", "")
		want(t, api("PUT", "/accounts/alice.l/active", `{"active":true}`), 200, `"active":true`)
		if r := do(t, srv, "DELETE", "/scim/v2/Users/"+bob, ""); r.status != 204 {
			t.Fatalf("SCIM delete: %d %s", r.status, r.raw)
		}
		wantAdminCode(t, api("PUT", "/accounts/bob/active", `{"active":true}`), 409, "scim_deleted", "")
		wantAdminCode(t, api("POST", "/teams/support/members", `{"account":"bob"}`), 409, "scim_deleted", "")
		wantAdminCode(t, api("PATCH", "/accounts/bob", `{"nickname":"b"}`), 409, "scim_deleted", "")

		// Delete, for good.
		if r := api("DELETE", "/accounts/sso", ""); r.status != 204 || r.raw != "" {
			t.Fatalf("delete: %d %q", r.status, r.raw)
		}
		wantAdminCode(t, api("GET", "/accounts/sso", ""), 404, "not_found", "")
		wantAdminCode(t, api("DELETE", "/accounts/sso", ""), 404, "not_found", "")

		// Every change is journaled with the token's name as its actor.
		ev := eventsOf(t, do(t, srv, "GET", "/api/v1/events?account="+alice, ""))
		if len(ev.Events) == 0 {
			t.Fatal("no journal entries for alice")
		}
		for _, e := range ev.Events {
			if e.Actor != "ops-console" {
				t.Fatalf("entry %+v: actor %q, want the token's name", e, e.Actor)
			}
		}
		if v, err := s.CheckInvariants(t.Context()); err != nil || len(v) > 0 {
			t.Fatalf("invariants: %v %v", v, err)
		}
	})
}

// On-demand provisioning at sign-in through POST /logins (scope login): the three paths,
// a deactivated account, joining open teams only, and the IdP's later push of the same
// person landing on the same account.
func TestLogins(t *testing.T) {
	cfg, err := rules.Parse([]byte(adminRules))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		s.SetRules(cfg)
		srv, _ := testServer(t, s)
		admin := adminCaller(t, srv, storedToken(t, s, "ops", store.ScopeAdminRead, store.ScopeAdminWrite))
		signIn := adminCaller(t, srv, storedToken(t, s, "sign-in", store.ScopeLogin))
		want(t, admin("POST", "/teams", `{"name":"support"}`), 201)
		want(t, admin("POST", "/teams", `{"name":"secret","private":true}`), 201)

		// 3. Nobody known: a new account in the default team, Town Square and the
		// team-join channels, with the open teams it may join.
		r := want(t, signIn("POST", "/logins", `{"auth_service":"saml","auth_data":"00unew","email":"new@example.com",
			"first_name":"Nina","last_name":"New","groups":["ignored"]}`), 201,
			`"created":true`, `"bound":false`, `"origin":"login"`, `"auth_data":"00unew"`, `"auth_service":"saml"`, `"first_name":"Nina"`,
			`"channel":"town-square"`, `"channel":"off-topic"`)
		acc := r.body["account"].(map[string]any)
		id := acc["id"].(string)
		if got := teamsOf(r); !slices.Equal(got, []string{"everyone=default"}) {
			t.Fatalf("teams: %v", got)
		}
		var joinable []string
		for _, x := range r.body["joinable"].([]any) {
			joinable = append(joinable, x.(map[string]any)["name"].(string))
		}
		if !slices.Contains(joinable, "support") || slices.Contains(joinable, "secret") || slices.Contains(joinable, "everyone") {
			t.Fatalf("joinable %v", joinable)
		}
		want(t, signIn("POST", "/accounts/"+id+"/teams/support", ""), 200, `"member":true`, `"team":"support"`)
		r = signIn("POST", "/accounts/"+id+"/teams/secret", "")
		wantAdminCode(t, r, 403, "private_team", "")
		// A refusal says its reason alone, not the store's context with the account's id.
		if msg, _ := r.body["error"].(string); strings.Contains(msg, id) || !strings.HasPrefix(msg, "secret is invite only") {
			t.Fatalf("refusal message %q", msg)
		}
		wantAdminCode(t, signIn("POST", "/accounts/"+id+"/teams/nope", ""), 404, "not_found", "")
		wantAdminCode(t, signIn("POST", "/accounts/nobody/teams/support", ""), 404, "not_found", "")

		// 1. Bound by auth_data: email and names follow the IdP.
		r = want(t, signIn("POST", "/logins", `{"auth_service":"saml","auth_data":"00unew","email":"nina@example.com",
			"first_name":"Nina","last_name":"Neu"}`), 200, `"created":false`, `"bound":false`, `"email":"nina@example.com"`, `"last_name":"Neu"`)
		if r.body["account"].(map[string]any)["id"] != id {
			t.Fatalf("another account: %s", r.raw)
		}

		// 2. Bound by email: an account made by hand, without auth data, is bound.
		pat := want(t, admin("POST", "/accounts", `{"email":"pat@example.com","username":"pat","password":"Passw0rd!x"}`), 201).body["id"]
		r = want(t, signIn("POST", "/logins", `{"auth_service":"oidc","auth_data":"00upat","email":"PAT@example.com"}`), 200,
			`"created":false`, `"bound":true`, `"auth_data":"00upat"`)
		if r.body["account"].(map[string]any)["id"] != pat {
			t.Fatalf("not pat's account: %s", r.raw)
		}
		// …once: an email whose account is bound to another id is a conflict.
		wantAdminCode(t, signIn("POST", "/logins", `{"auth_service":"oidc","auth_data":"00uother","email":"pat@example.com"}`), 409, "conflict", "email")

		// Refusals.
		wantAdminCode(t, signIn("POST", "/logins", `{"auth_service":"saml","email":"x@example.com"}`), 400, "invalid", "")
		wantAdminCode(t, signIn("POST", "/logins", `{"auth_service":"saml","auth_data":"00ux"}`), 400, "invalid", "")
		want(t, admin("PUT", "/accounts/"+id+"/active", `{"active":false}`), 200)
		wantAdminCode(t, signIn("POST", "/logins", `{"auth_service":"saml","auth_data":"00unew","email":"changed@example.com"}`), 403, "deactivated", "")
		want(t, admin("GET", "/accounts/"+id, ""), 200, `"email":"nina@example.com"`) // nothing changed
		wantAdminCode(t, signIn("POST", "/accounts/"+id+"/teams/support", ""), 403, "deactivated", "")
		want(t, admin("PUT", "/accounts/"+id+"/active", `{"active":true}`), 200)

		// The IdP pushes the same person later: the same account.
		r = do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"nina@example.com","externalId":"00unew","emails":[{"value":"nina@example.com","primary":true}]}`)
		if r.status >= 300 || r.body["id"] != id {
			t.Fatalf("SCIM POST of the signed-in person: %d %s; want id %s", r.status, r.raw, id)
		}
		want(t, admin("GET", "/accounts?term=nina", ""), 200, `"total":1`)

		// The journal names the sign-in layer's token.
		for _, e := range eventsOf(t, do(t, srv, "GET", "/api/v1/events?account="+id+"&limit=3", "")).Events {
			if e.Actor != "sign-in" {
				t.Fatalf("first entries of a login account: %+v, want actor sign-in", e)
			}
		}
		if v, err := s.CheckInvariants(t.Context()); err != nil || len(v) > 0 {
			t.Fatalf("invariants: %v %v", v, err)
		}
	})
}
