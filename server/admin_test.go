package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

const adminRules = `
default_team: everyone
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [everyone/eng-news]
`

// wantJSON checks an admin API answer: status, plain JSON content type, and the body
// byte for byte against want (any layout; it is compacted first).
func wantJSON(t *testing.T, r response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q, want application/json", ct)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(want)); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if got := strings.TrimSuffix(r.raw, "\n"); got != buf.String() {
		t.Fatalf("body:\n got  %s\n want %s", got, buf.String())
	}
}

func scimCreate(t *testing.T, r response) string {
	t.Helper()
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	return r.body["id"].(string)
}

func TestAdminAPI(t *testing.T) {
	cfg, err := rules.Parse([]byte(adminRules))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		s.SetRules(cfg)
		srv, _ := testServer(t, s)
		user := func(name string) string {
			return scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
				"userName":"`+name+`@example.com","emails":[{"value":"`+name+`@Example.com","primary":true}]}`))
		}
		alice, bob, carol := user("alice"), user("bob"), user("carol")
		eng := scimCreate(t, do(t, srv, "POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
			"displayName":"Engineering","members":[{"value":"`+alice+`"},{"value":"`+carol+`"}]}`))
		if r := do(t, srv, "PATCH", "/scim/v2/Users/"+carol, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","path":"active","value":false}]}`); r.status != 200 {
			t.Fatalf("deactivate: %d %s", r.status, r.raw)
		}
		if r := do(t, srv, "DELETE", "/scim/v2/Users/"+bob, ""); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		engRef := `{"id":"` + eng + `","display_name":"Engineering"}`

		wantJSON(t, do(t, srv, "GET", "/api/v1/teams", ""), 200, `{"teams":[
			{"name":"engineering","display_name":"engineering","type":"O","private":false,"member_count":2,"channel_count":2},
			{"name":"everyone","display_name":"everyone","type":"O","private":false,"member_count":3,"channel_count":3}]}`)

		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/everyone/members", ""), 200, `{"team":"everyone","total":3,"limit":1000,"offset":0,"members":[
			{"id":"`+alice+`","username":"alice","active":true,"status":"online","scim_deleted":false,"guest":false,"admin":false,"roles":"team_user","sources":["group:Engineering"],"groups":[`+engRef+`]},
			{"id":"`+bob+`","username":"bob","active":false,"status":"offline","scim_deleted":true,"guest":false,"admin":false,"roles":"team_user","sources":["default"],"groups":[]},
			{"id":"`+carol+`","username":"carol","active":false,"status":"offline","scim_deleted":false,"guest":false,"admin":false,"roles":"team_user","sources":["group:Engineering"],"groups":[`+engRef+`]}]}`)

		// Pages.
		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/everyone/members?limit=1&offset=1", ""), 200, `{"team":"everyone","total":3,"limit":1,"offset":1,"members":[
			{"id":"`+bob+`","username":"bob","active":false,"status":"offline","scim_deleted":true,"guest":false,"admin":false,"roles":"team_user","sources":["default"],"groups":[]}]}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/everyone/members?limit=0", ""), 200,
			`{"team":"everyone","total":3,"limit":0,"offset":0,"members":[]}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/everyone/members?offset=3", ""), 200,
			`{"team":"everyone","total":3,"limit":1000,"offset":3,"members":[]}`)
		r := do(t, srv, "GET", "/api/v1/teams/everyone/members?limit=20000", "")
		if r.status != 200 || r.body["limit"] != 10000.0 || len(r.body["members"].([]any)) != 3 {
			t.Fatalf("limit over the max: %d %s", r.status, r.raw)
		}
		for _, q := range []string{"limit=-1", "limit=abc", "offset=-5", "offset=1.5"} {
			name, _, _ := strings.Cut(q, "=")
			wantJSON(t, do(t, srv, "GET", "/api/v1/teams/everyone/members?"+q, ""), 400,
				`{"error":"`+name+` must be a non-negative integer","code":"invalid"}`)
		}

		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/everyone/channels", ""), 200, `{"team":"everyone","channels":[
			{"name":"eng-news","display_name":"eng-news","type":"O","private":false,"member_count":2},
			{"name":"off-topic","display_name":"Off-Topic","type":"O","private":false,"member_count":3},
			{"name":"town-square","display_name":"Town Square","type":"O","private":false,"member_count":3}]}`)

		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/everyone/channels/town-square/members", ""), 200, `{"team":"everyone","channel":"town-square","total":3,"limit":1000,"offset":0,"members":[
			{"id":"`+alice+`","username":"alice","active":true,"status":"online","scim_deleted":false,"guest":false,"admin":false,"roles":"channel_user","sources":["team-join"],"groups":[]},
			{"id":"`+bob+`","username":"bob","active":false,"status":"offline","scim_deleted":true,"guest":false,"admin":false,"roles":"channel_user","sources":["team-join"],"groups":[]},
			{"id":"`+carol+`","username":"carol","active":false,"status":"offline","scim_deleted":false,"guest":false,"admin":false,"roles":"channel_user","sources":["team-join"],"groups":[]}]}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/everyone/channels/eng-news/members?limit=1", ""), 200, `{"team":"everyone","channel":"eng-news","total":2,"limit":1,"offset":0,"members":[
			{"id":"`+alice+`","username":"alice","active":true,"status":"online","scim_deleted":false,"guest":false,"admin":false,"roles":"channel_user","sources":["group:Engineering"],"groups":[`+engRef+`]}]}`)

		// Accounts, a SCIM-deleted one included.
		var deleteAt struct {
			Carol int64 `db:"carol"`
			Bob   int64 `db:"bob"`
		}
		if err := s.DB().Get(&deleteAt, s.DB().Rebind(`SELECT (SELECT delete_at FROM users WHERE id = ?) AS carol, (SELECT delete_at FROM users WHERE id = ?) AS bob`), carol, bob); err != nil {
			t.Fatal(err)
		}
		if deleteAt.Carol == 0 || deleteAt.Bob == 0 {
			t.Fatalf("delete_at not set: %+v", deleteAt)
		}
		// SCIM users without names or externalId.
		const noNames = `"first_name":"","last_name":"","nickname":"","position":"","auth_service":"","auth_data":"","origin":"scim","guest":false,"system_admin":false,"system_admin_sources":[],"roles":"system_user"`
		wantJSON(t, do(t, srv, "GET", "/api/v1/accounts/"+alice, ""), 200, `{"id":"`+alice+`","user_name":"alice@example.com","username":"alice",
			"email":"alice@example.com","active":true,"status":"online","delete_at":0,"scim_deleted":false,`+noNames+`,
			"teams":[{"name":"engineering","sources":["group:Engineering"],"admin":false,"admin_sources":[],"roles":"team_user"},{"name":"everyone","sources":["group:Engineering"],"admin":false,"admin_sources":[],"roles":"team_user"}],
			"channels":[{"team":"engineering","channel":"off-topic","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"},{"team":"engineering","channel":"town-square","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"},
				{"team":"everyone","channel":"eng-news","sources":["group:Engineering"],"admin":false,"admin_sources":[],"roles":"channel_user"},{"team":"everyone","channel":"off-topic","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"},
				{"team":"everyone","channel":"town-square","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"}],
			"groups":[`+engRef+`]}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/accounts/"+carol, ""), 200, `{"id":"`+carol+`","user_name":"carol@example.com","username":"carol",
			"email":"carol@example.com","active":false,"status":"offline","delete_at":`+fmt.Sprint(deleteAt.Carol)+`,"scim_deleted":false,`+noNames+`,
			"teams":[{"name":"engineering","sources":["group:Engineering"],"admin":false,"admin_sources":[],"roles":"team_user"},{"name":"everyone","sources":["group:Engineering"],"admin":false,"admin_sources":[],"roles":"team_user"}],
			"channels":[{"team":"engineering","channel":"off-topic","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"},{"team":"engineering","channel":"town-square","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"},
				{"team":"everyone","channel":"eng-news","sources":["group:Engineering"],"admin":false,"admin_sources":[],"roles":"channel_user"},{"team":"everyone","channel":"off-topic","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"},
				{"team":"everyone","channel":"town-square","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"}],
			"groups":[`+engRef+`]}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/accounts/"+bob, ""), 200, `{"id":"`+bob+`","user_name":"bob@example.com","username":"bob",
			"email":"bob@example.com","active":false,"status":"offline","delete_at":`+fmt.Sprint(deleteAt.Bob)+`,"scim_deleted":true,`+noNames+`,
			"teams":[{"name":"everyone","sources":["default"],"admin":false,"admin_sources":[],"roles":"team_user"}],
			"channels":[{"team":"everyone","channel":"off-topic","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"},{"team":"everyone","channel":"town-square","sources":["team-join"],"admin":false,"admin_sources":[],"roles":"channel_user"}],
			"groups":[]}`)

		// 404s.
		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/nope/members", ""), 404, `{"error":"no team named \"nope\"","code":"not_found"}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/nope/channels", ""), 404, `{"error":"no team named \"nope\"","code":"not_found"}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/nope/channels/town-square/members", ""), 404,
			`{"error":"no channel named \"town-square\" in a team named \"nope\"","code":"not_found"}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/engineering/channels/eng-news/members", ""), 404,
			`{"error":"no channel named \"eng-news\" in a team named \"engineering\"","code":"not_found"}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/accounts/nope", ""), 404, `{"error":"no account with the id, username or email \"nope\"","code":"not_found"}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/nope", ""), 404, `{"error":"no admin API endpoint at this path","code":"not_found"}`)
		wantJSON(t, do(t, srv, "GET", "/api/v1/teams/everyone", ""), 404, `{"error":"no admin API endpoint at this path","code":"not_found"}`)

		// Each path answers its own methods; others are 405 with Allow.
		for _, c := range []struct{ path, allow string }{
			{"/api/v1/teams", "GET, POST"},
			{"/api/v1/teams/everyone/members", "GET, POST"},
			{"/api/v1/accounts/" + alice, "GET, PATCH, DELETE"},
			{"/api/v1/events", "GET"},
		} {
			for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
				if strings.Contains(c.allow, m) {
					continue
				}
				r := do(t, srv, m, c.path, "")
				wantJSON(t, r, 405, `{"error":"`+m+` is not allowed here; allowed: `+c.allow+`","code":"method_not_allowed"}`)
				if r.header.Get("Allow") != c.allow {
					t.Fatalf("%s %s: Allow %q", m, c.path, r.header.Get("Allow"))
				}
			}
		}

		// The same bearer tokens as SCIM.
		for _, path := range []string{"/api/v1/teams", "/api/v1/teams/everyone/members", "/api/v1/accounts/" + alice, "/api/v1/nope"} {
			for _, h := range []string{"", "Bearer wrong"} {
				r := do(t, srv, "GET", path, "", "Authorization", h)
				if r.header.Get("WWW-Authenticate") == "" || strings.Contains(r.raw, "alice") {
					t.Fatalf("GET %s with %q: %d %s", path, h, r.status, r.raw)
				}
				// The admin API's own error shape, not SCIM's.
				wantJSON(t, r, 401, `{"error":"a valid bearer token is required (Authorization: Bearer \u003ctoken\u003e)","code":"unauthorized"}`)
			}
		}
	})
}
