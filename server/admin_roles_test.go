package server_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// Roles as SCIM shows them, over HTTP on both databases: the Townsquare extension's
// read-only roles and guest on every user, what /Schemas says of them, projection, and
// the refusals a read-only, unfilterable attribute gets.
func TestSCIMExtensionRoles(t *testing.T) {
	const urn = store.TownsquareUserSchema
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		// A client sending the read-only attributes has them dropped (RFC 7643 §7).
		id := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+urn+`"],
			"userName":"rita@example.com","`+urn+`":{"roles":"system_admin system_user","guest":true,"teamAdmin":["everyone"]}}`))
		r := do(t, srv, "GET", "/scim/v2/Users/"+id, "")
		ext, _ := r.body[urn].(map[string]any)
		if r.status != 200 || ext["roles"] != "system_user" || ext["guest"] != false || ext["teamAdmin"] != nil || ext["channelAdmin"] != nil {
			t.Fatalf("GET: %d %s", r.status, r.raw)
		}
		r = do(t, srv, "GET", "/scim/v2/Users/"+id+"?attributes="+url.QueryEscape(urn+":roles"), "")
		if ext, _ := r.body[urn].(map[string]any); len(ext) != 1 || ext["roles"] != "system_user" || r.body["userName"] != nil {
			t.Fatalf("attributes=roles: %s", r.raw)
		}
		r = do(t, srv, "GET", "/scim/v2/Users?excludedAttributes="+url.QueryEscape(urn+":roles,"+urn+":guest"), "")
		res, _ := r.body["Resources"].([]any)
		if len(res) != 1 {
			t.Fatalf("list: %s", r.raw)
		}
		if ext, _ := res[0].(map[string]any)[urn].(map[string]any); ext["roles"] != nil || ext["guest"] != nil || ext["username"] != "rita" {
			t.Fatalf("excludedAttributes: %s", r.raw)
		}
		// Not filterable, as the extension's other attributes.
		for _, f := range []string{urn + `:roles eq "system_user"`, urn + `:guest eq false`, urn + `:teams eq "everyone"`} {
			wantError(t, do(t, srv, "GET", "/scim/v2/Users?filter="+url.QueryEscape(f), ""), 400, "invalidFilter")
		}
		// Not writable.
		for _, op := range []string{
			`{"op":"replace","path":"` + urn + `:roles","value":"system_admin system_user"}`,
			`{"op":"replace","path":"` + urn + `:guest","value":true}`,
			`{"op":"add","path":"` + urn + `:teamAdmin","value":["everyone"]}`,
		} {
			wantError(t, do(t, srv, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[`+op+`]}`), 400, "mutability")
		}
		// /Schemas says what each is.
		r = do(t, srv, "GET", "/scim/v2/Schemas/"+urn, "")
		attrs := map[string]map[string]any{}
		for _, a := range r.body["attributes"].([]any) {
			m := a.(map[string]any)
			attrs[m["name"].(string)] = m
		}
		for name, typ := range map[string]string{"roles": "string", "guest": "boolean", "teamAdmin": "string", "channelAdmin": "string"} {
			if a := attrs[name]; a == nil || a["type"] != typ || a["mutability"] != "readOnly" {
				t.Errorf("/Schemas %s: %v", name, a)
			}
		}
	})
}

// rolesRules are the mapping of the role tests: a group of team and channel admins, a
// group of system admins, and guest groups.
const rolesRules = `
default_team: everyone
channels:
  - name: engineering/incidents
    display_name: Incidents
    private: true
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend]
  - match: {displayName: "Eng Leads"}
    channels: [engineering/incidents]
    team_admin: [engineering]
    channel_admin: [engineering/backend]
  - match: {displayName: "Chat Admins"}
    system_admin: true
  - match: {displayNamePrefix: "guest-"}
    guest: true
    channels: ["partners/{suffix}"]
`

// The role routes on the real store, both databases: what each grants and revokes, each
// refusal with its code and status, what SCIM and the views show, and the journal.
func TestAdminRoles(t *testing.T) {
	const urn = store.TownsquareUserSchema
	cfg, err := rules.Parse([]byte(rolesRules))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		s.SetRules(cfg)
		srv, _ := testServer(t, s)
		api := adminCaller(t, srv, storedToken(t, s, "ops-console", store.ScopeAdminRead, store.ScopeAdminWrite))
		user := func(name string, groups ...string) string {
			id := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
				"userName":"`+name+`@example.com","emails":[{"value":"`+name+`@example.com","primary":true}]}`))
			for _, g := range groups {
				r := do(t, srv, "GET", "/scim/v2/Groups?filter="+url.QueryEscape(`displayName eq "`+g+`"`), "")
				if res, _ := r.body["Resources"].([]any); len(res) == 1 {
					gid := res[0].(map[string]any)["id"].(string)
					if r := do(t, srv, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
						"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`); r.status >= 300 {
						t.Fatalf("add to %s: %d %s", g, r.status, r.raw)
					}
					continue
				}
				scimCreate(t, do(t, srv, "POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
					"displayName":"`+g+`","members":[{"value":"`+id+`"}]}`))
			}
			return id
		}
		ext := func(id string) map[string]any {
			r := do(t, srv, "GET", "/scim/v2/Users/"+id, "")
			e, _ := r.body[urn].(map[string]any)
			return e
		}
		alice := user("alice", "Engineering")
		bob := user("bob", "Engineering", "Eng Leads")
		dana := user("dana", "Chat Admins")
		gina := user("gina", "guest-acme")

		// What the groups grant, as SCIM and the views show it.
		if e := ext(bob); e["roles"] != "system_user" || !slices.Equal(scStrings(e["teamAdmin"]), []string{"engineering"}) ||
			!slices.Equal(scStrings(e["channelAdmin"]), []string{"engineering/backend"}) {
			t.Fatalf("bob's extension: %v", e)
		}
		want(t, api("GET", "/accounts/bob", ""), 200, `"roles":"system_user"`,
			`{"name":"engineering","sources":["group:Eng Leads","group:Engineering"],"admin":true,"admin_sources":["group:Eng Leads"],"roles":"team_user team_admin"}`)
		want(t, api("GET", "/teams/engineering/members", ""), 200, `"username":"bob","active":true,"status":"online","scim_deleted":false,"guest":false,"admin":true,"roles":"team_user team_admin"`)
		want(t, api("GET", "/teams/engineering/channels/backend/members", ""), 200, `"username":"bob","active":true,"status":"online","scim_deleted":false,"guest":false,"admin":true,"roles":"channel_user channel_admin"`)
		if e := ext(dana); e["roles"] != "system_admin system_user" || e["guest"] != false {
			t.Fatalf("dana's extension: %v", e)
		}
		want(t, api("GET", "/accounts/dana", ""), 200, `"guest":false,"system_admin":true,"system_admin_sources":["group:Chat Admins"],"roles":"system_admin system_user"`)
		if e := ext(gina); e["roles"] != "system_guest" || e["guest"] != true {
			t.Fatalf("gina's extension: %v", e)
		}
		want(t, api("GET", "/accounts/gina", ""), 200, `"guest":true,"system_admin":false`, `"roles":"system_guest"`, `"roles":"team_guest"`, `"roles":"channel_guest"`)
		want(t, api("GET", "/teams/engineering/channels", ""), 200, `{"name":"incidents","display_name":"Incidents","type":"P","private":true,"member_count":1}`)

		// The system admin role by hand.
		want(t, api("PUT", "/accounts/alice/roles/system_admin", ""), 200, `"account":"`+alice+`"`, `"role":"system_admin"`,
			`"changed":true,"has":true,"remaining":["manual"],"message":"made alice system_admin"`)
		if e := ext(alice); e["roles"] != "system_admin system_user" {
			t.Fatalf("alice's extension after the grant: %v", e)
		}
		want(t, api("PUT", "/accounts/alice/roles/system_admin", `{}`), 200, `"changed":false,"has":true`,
			`"message":"alice was already made system_admin by hand"`)
		want(t, api("DELETE", "/accounts/alice/roles/system_admin", ""), 200, `"changed":true,"has":false,"remaining":[]`,
			`"message":"alice is no longer system_admin"`)
		wantAdminCode(t, api("DELETE", "/accounts/alice/roles/system_admin", ""), 404, "no_role", "alice")
		wantAdminCode(t, api("DELETE", "/accounts/dana/roles/system_admin", ""), 409, "still_granted", "Chat Admins")
		// Given by hand too, it stays while the group grants it.
		want(t, api("PUT", "/accounts/dana/roles/system_admin", ""), 200, `"changed":true,"has":true`)
		want(t, api("DELETE", "/accounts/dana/roles/system_admin", ""), 200, `"changed":true,"has":true,"remaining":["group:Chat Admins"]`,
			`"message":"dana stays system_admin: granted by group Chat Admins"`)
		if e := ext(dana); e["roles"] != "system_admin system_user" {
			t.Fatalf("dana's extension after the revoke: %v", e)
		}

		// Team and channel admins by hand, and each refusal.
		want(t, api("PUT", "/teams/engineering/admins/alice", ""), 200, `"role":"team_admin","team":"engineering"`,
			`"message":"made alice team_admin of engineering"`)
		if e := ext(alice); !slices.Equal(scStrings(e["teamAdmin"]), []string{"engineering"}) {
			t.Fatalf("alice's extension after team_admin: %v", e)
		}
		want(t, api("DELETE", "/teams/engineering/admins/alice", ""), 200, `"has":false`)
		wantAdminCode(t, api("DELETE", "/teams/engineering/admins/bob", ""), 409, "still_granted", "Eng Leads")
		wantAdminCode(t, api("PUT", "/teams/everyone/admins/gina", ""), 403, "guest", "gina")
		wantAdminCode(t, api("PUT", "/accounts/gina/roles/system_admin", ""), 403, "guest", "gina")
		wantAdminCode(t, api("PUT", "/teams/partners/channels/acme/admins/gina", ""), 403, "guest", "gina")
		wantAdminCode(t, api("PUT", "/teams/partners/admins/alice", ""), 409, "not_team_member", "")
		wantAdminCode(t, api("PUT", "/teams/nope/admins/alice", ""), 404, "not_found", `no team named "nope"`)
		wantAdminCode(t, api("PUT", "/teams/engineering/channels/nope/admins/alice", ""), 404, "not_found", `no channel named "nope"`)
		wantAdminCode(t, api("PUT", "/teams/engineering/channels/incidents/admins/alice", ""), 404, "not_member", "")
		want(t, api("PUT", "/teams/engineering/channels/backend/admins/alice", ""), 200, `"role":"channel_admin","team":"engineering","channel":"backend"`,
			`"message":"made alice channel_admin of engineering:backend"`)
		wantAdminCode(t, api("PUT", "/accounts/nobody/roles/system_admin", ""), 404, "not_found", "nobody")

		// A deactivated account is refused; a role ends with its membership.
		want(t, api("PUT", "/accounts/alice/active", `{"active":false}`), 200)
		wantAdminCode(t, api("PUT", "/accounts/alice/roles/system_admin", ""), 403, "deactivated", "")
		want(t, api("PUT", "/accounts/alice/active", `{"active":true}`), 200)

		// A guest added to a member group is promoted, and demoted when it leaves: SCIM and
		// the views follow.
		groupID := func(name string) string {
			r := do(t, srv, "GET", "/scim/v2/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "`+name+`"`), "")
			return r.body["Resources"].([]any)[0].(map[string]any)["id"].(string)
		}
		members := func(op string) {
			t.Helper()
			if r := do(t, srv, "PATCH", "/scim/v2/Groups/"+groupID("Engineering"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{"op":"`+op+`","path":"members","value":[{"value":"`+gina+`"}]}]}`); r.status >= 300 {
				t.Fatalf("%s gina: %d %s", op, r.status, r.raw)
			}
		}
		members("add")
		if e := ext(gina); e["roles"] != "system_user" || e["guest"] != false {
			t.Fatalf("gina promoted: %v", e)
		}
		want(t, api("GET", "/teams/engineering/members", ""), 200, `"username":"gina","active":true,"status":"online","scim_deleted":false,"guest":false,"admin":false,"roles":"team_user"`)
		members("remove")
		if e := ext(gina); e["roles"] != "system_guest" || e["guest"] != true {
			t.Fatalf("gina demoted: %v", e)
		}
		want(t, api("GET", "/teams/partners/members", ""), 200, `"username":"gina","active":true,"status":"online","scim_deleted":false,"guest":true,"admin":false,"roles":"team_guest"`)

		// Every role change is journaled, with the token's name.
		var kinds []string
		for _, e := range eventsOf(t, do(t, srv, "GET", "/api/v1/events?account="+alice, "")).Events {
			if e.Kind == string(store.EventAccountRoles) || e.Kind == string(store.EventTeamRoles) || e.Kind == string(store.EventChannelRoles) {
				if e.Actor != "ops-console" {
					t.Fatalf("entry %+v: actor %q", e, e.Actor)
				}
				kinds = append(kinds, e.Kind)
			}
		}
		if !slices.Equal(kinds, []string{"account.roles", "account.roles", "team.roles", "team.roles", "channel.roles"}) {
			t.Fatalf("alice's role entries: %v", kinds)
		}
		if v, err := s.CheckInvariants(t.Context()); err != nil || len(v) > 0 {
			t.Fatalf("invariants: %v %v", v, err)
		}
	})
}
