package server_test

// Scenario tests over HTTP for the provisioning rules of issue 3 ("Groups become teams and
// channels"): what Okta and Entra really send (idps-and-peers.md §2), observed through
// the read-only Townsquare extension of the User resource, on every backend, each
// scenario ending with the store's invariant check.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

const scExtURN = "urn:townsquare:params:scim:schemas:extension:2.0:User"

// scExampleRules are the rules of store/provision_test.go (and of the issue).
const scExampleRules = `
default_team: everyone
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend, everyone/eng-news]
  - match: {externalId: "00g1abcd"}
    channels: [everyone/leads]
  - match: {displayNamePrefix: "team-"}
    teams: ["{suffix}"]
`

// Expected memberships under scExampleRules.
var (
	scEveryoneTeams    = []string{"everyone"}
	scEveryoneChannels = []string{"everyone/off-topic", "everyone/town-square"}
	scEngTeams         = []string{"engineering", "everyone"}
	scEngChannels      = []string{"engineering/backend", "engineering/off-topic", "engineering/town-square",
		"everyone/eng-news", "everyone/off-topic", "everyone/town-square"}
	scSalesTeams    = []string{"sales"}
	scSalesChannels = []string{"sales/off-topic", "sales/town-square"}
)

func scRules(t *testing.T, yaml string) rules.Config {
	t.Helper()
	cfg, err := rules.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// scScenario runs fn on each backend against the real handler over a store holding the
// given rules, and checks every invariant afterwards.
func scScenario(t *testing.T, yaml string, fn func(t *testing.T, srv *httptest.Server, s *sqlstore.Store)) {
	t.Helper()
	cfg := scRules(t, yaml)
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		s.SetRules(cfg)
		srv, logs := testServer(t, s)
		scLogErrors(t, logs)
		fn(t, srv, s)
		scCheck(t, s)
	})
}

// scLogErrors shows the server's error log lines when t fails (a 500 says only
// "see the server log").
func scLogErrors(t *testing.T, logs *bytes.Buffer) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) {
				t.Log("server: " + line)
			}
		}
	})
}

// scCheck fails the test on any violation of the provisioning rules in the database.
func scCheck(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	v, err := s.CheckInvariants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(v) > 0 {
		t.Fatalf("invariants broken:\n  %s", strings.Join(v, "\n  "))
	}
}

// scDo sends a request and fails unless the status is one of want.
func scDo(t *testing.T, srv *httptest.Server, method, path, body string, want ...int) response {
	t.Helper()
	r := do(t, srv, method, "/scim/v2"+path, body)
	if !slices.Contains(want, r.status) {
		t.Fatalf("%s %s: status %d, want %v; body %s", method, path, r.status, want, r.raw)
	}
	return r
}

func scPatchBody(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// scPatch sends a PATCH; Okta and Entra accept 200 and 204 alike.
func scPatch(t *testing.T, srv *httptest.Server, path string, ops ...string) response {
	t.Helper()
	return scDo(t, srv, "PATCH", path, scPatchBody(ops...), 200, 204)
}

// Okta's group PATCH operations.
func scOktaRemove(id string) string {
	return fmt.Sprintf(`{"op":"remove","path":"members[value eq \"%s\"]"}`, id)
}

func scOktaAdd(id, display string) string {
	return fmt.Sprintf(`{"op":"add","path":"members","value":[{"value":%q,"display":%q}]}`, id, display)
}

func scOktaRename(gid, name string) string {
	return fmt.Sprintf(`{"op":"replace","value":{"id":%q,"displayName":%q}}`, gid, name)
}

// scOktaUser is Okta's POST /Users body (and, without active, its PUT body).
func scOktaUser(userName, externalID, given string, withActive bool) string {
	active := ""
	if withActive {
		active = `,"active":true`
	}
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,
 "name":{"givenName":%q,"familyName":"Tester"},"emails":[{"primary":true,"value":%q,"type":"work"}],
 "displayName":"%s Tester","locale":"en-US","externalId":%q,"groups":[],"password":"1mz050nq"%s}`,
		userName, given, userName, given, externalID, active)
}

// scEntraUser is Entra's POST /Users body.
func scEntraUser(userName, externalID string) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "externalId":%q,"userName":%q,"active":true,"displayName":%q,
 "emails":[{"primary":true,"type":"work","value":%q}],"meta":{"resourceType":"User"},
 "name":{"formatted":"Test User","familyName":"User","givenName":"Test"}}`, externalID, userName, userName, userName)
}

func scCreate(t *testing.T, srv *httptest.Server, path, body string) string {
	t.Helper()
	r := scDo(t, srv, "POST", path, body, 201)
	id, _ := r.body["id"].(string)
	if id == "" {
		t.Fatalf("POST %s: no id: %s", path, r.raw)
	}
	return id
}

func scCreateUser(t *testing.T, srv *httptest.Server, userName, externalID string) string {
	t.Helper()
	return scCreate(t, srv, "/Users", scOktaUser(userName, externalID, "Test", true))
}

func scCreateGroup(t *testing.T, srv *httptest.Server, name, externalID string, members ...string) string {
	t.Helper()
	ms := make([]string, len(members))
	for i, m := range members {
		ms[i] = fmt.Sprintf(`{"value":%q}`, m)
	}
	ext := ""
	if externalID != "" {
		ext = fmt.Sprintf(`"externalId":%q,`, externalID)
	}
	return scCreate(t, srv, "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],%s"displayName":%q,"members":[%s]}`,
		ext, name, strings.Join(ms, ",")))
}

// scAccount is what a User resource says about its chat account.
type scAccount struct {
	Active   bool
	Username string
	Status   string
	Teams    []string
	Channels []string
	Groups   []string // ids of the user's groups
}

func scStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func scAccountFromBody(body map[string]any) scAccount {
	a := scAccount{}
	a.Active, _ = body["active"].(bool)
	ext, _ := body[scExtURN].(map[string]any)
	a.Username, _ = ext["username"].(string)
	a.Status, _ = ext["status"].(string)
	a.Teams, a.Channels = scStrings(ext["teams"]), scStrings(ext["channels"])
	gs, _ := body["groups"].([]any)
	for _, g := range gs {
		m, _ := g.(map[string]any)
		id, _ := m["value"].(string)
		a.Groups = append(a.Groups, id)
	}
	slices.Sort(a.Groups)
	return a
}

func scAccountOf(t *testing.T, srv *httptest.Server, id string) scAccount {
	t.Helper()
	return scAccountFromBody(scDo(t, srv, "GET", "/Users/"+id, "", 200).body)
}

// scWant checks a user's teams and channels as its SCIM resource shows them.
func scWant(t *testing.T, srv *httptest.Server, id string, teams, channels []string) scAccount {
	t.Helper()
	a := scAccountOf(t, srv, id)
	teams, channels = slices.Sorted(slices.Values(teams)), slices.Sorted(slices.Values(channels))
	if !slices.Equal(a.Teams, teams) || !slices.Equal(a.Channels, channels) {
		t.Fatalf("user %s (%s):\n teams    %v, want %v\n channels %v, want %v", a.Username, id, a.Teams, teams, a.Channels, channels)
	}
	return a
}

// scGroupMembers lists the member ids of a group, scSorted.
func scGroupMembers(t *testing.T, srv *httptest.Server, gid string) []string {
	t.Helper()
	r := scDo(t, srv, "GET", "/Groups/"+gid, "", 200)
	var ids []string
	ms, _ := r.body["members"].([]any)
	for _, m := range ms {
		mm, _ := m.(map[string]any)
		id, _ := mm["value"].(string)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func scSorted(xs ...string) []string { return slices.Sorted(slices.Values(xs)) }

func scFilter(f string) string { return "filter=" + url.QueryEscape(f) }

func TestScenarioOktaFlow(t *testing.T) {
	scScenario(t, scExampleRules, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		// Existence check before create: 200 with an empty ListResponse.
		r := scDo(t, srv, "GET", "/Users?"+scFilter(`userName eq "alice@example.com"`)+"&startIndex=1&count=100", "", 200)
		if r.body["totalResults"] != 0.0 {
			t.Fatalf("existence check: %s", r.raw)
		}
		alice := scCreateUser(t, srv, "alice@example.com", "00ualice")
		bob := scCreateUser(t, srv, "bob@example.com", "00ubob")
		a := scWant(t, srv, alice, scEveryoneTeams, scEveryoneChannels)
		if a.Username != "alice" || a.Status != "online" || !a.Active {
			t.Fatalf("new account: %+v", a)
		}
		r = scDo(t, srv, "GET", "/Users?"+scFilter(`userName eq "ALICE@EXAMPLE.COM"`)+"&startIndex=1&count=100", "", 200)
		if r.body["totalResults"] != 1.0 {
			t.Fatalf("existence check after create: %s", r.raw)
		}

		// Group push: POST with no members.
		gid := scCreate(t, srv, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering","members":[]}`)
		scWant(t, srv, alice, scEveryoneTeams, scEveryoneChannels)
		scCheck(t, s)

		// Mixed ops with the rename in the same request (bob is not a member: the remove is a no-op).
		scPatch(t, srv, "/Groups/"+gid, scOktaRemove(bob), scOktaAdd(alice, "alice@example.com"), scOktaRename(gid, "Engineering"))
		scWant(t, srv, alice, scEngTeams, scEngChannels)
		scWant(t, srv, bob, scEveryoneTeams, scEveryoneChannels)
		// The rename alone, as a separate request.
		scPatch(t, srv, "/Groups/"+gid, scOktaRename(gid, "Engineering"))
		scWant(t, srv, alice, scEngTeams, scEngChannels)
		// Swap: alice out, bob in.
		scPatch(t, srv, "/Groups/"+gid, scOktaRemove(alice), scOktaAdd(bob, "bob@example.com"))
		scPatch(t, srv, "/Groups/"+gid, scOktaRename(gid, "Engineering"))
		scWant(t, srv, alice, scEveryoneTeams, scEveryoneChannels)
		scWant(t, srv, bob, scEngTeams, scEngChannels)
		if m := scGroupMembers(t, srv, gid); !slices.Equal(m, []string{bob}) {
			t.Fatalf("members %v, want [bob]", m)
		}
		scCheck(t, s)

		// Deactivate with the path-less replace: kept, offline, still readable and filterable.
		scPatch(t, srv, "/Groups/"+gid, scOktaRemove("nobody"), scOktaAdd(alice, "alice@example.com"), scOktaRename(gid, "Engineering"))
		r = scPatch(t, srv, "/Users/"+alice, `{"op":"replace","value":{"active":false}}`)
		if r.status == 200 && r.body["active"] != false {
			t.Fatalf("deactivate: %s", r.raw)
		}
		a = scWant(t, srv, alice, scEngTeams, scEngChannels)
		if a.Active || a.Status != "offline" {
			t.Fatalf("deactivated account: %+v", a)
		}
		r = scDo(t, srv, "GET", "/Users?"+scFilter(`active eq false`), "", 200)
		res, _ := r.body["Resources"].([]any)
		if r.body["totalResults"] != 1.0 || len(res) != 1 || res[0].(map[string]any)["id"] != alice {
			t.Fatalf("active eq false: %s", r.raw)
		}
		scCheck(t, s)

		// Removed from the group while inactive: memberships stay frozen.
		scPatch(t, srv, "/Groups/"+gid, scOktaRemove(alice), scOktaRename(gid, "Engineering"))
		scWant(t, srv, alice, scEngTeams, scEngChannels)
		// A full PUT without active keeps the user inactive (and the memberships frozen).
		r = scDo(t, srv, "PUT", "/Users/"+alice, scOktaUser("alice@example.com", "00ualice", "Alicia", false), 200)
		if r.body["active"] != false {
			t.Fatalf("PUT without active reactivated: %s", r.raw)
		}
		if a = scWant(t, srv, alice, scEngTeams, scEngChannels); a.Status != "offline" {
			t.Fatalf("after PUT: %+v", a)
		}
		scCheck(t, s)

		// Reactivate: memberships are re-evaluated against the groups of now.
		r = scPatch(t, srv, "/Users/"+alice, `{"op":"replace","value":{"active":true}}`)
		if r.status == 200 && r.body["active"] != true {
			t.Fatalf("reactivate: %s", r.raw)
		}
		if a = scWant(t, srv, alice, scEveryoneTeams, scEveryoneChannels); !a.Active || a.Status != "online" {
			t.Fatalf("reactivated account: %+v", a)
		}
		// A full PUT without active keeps the user active.
		r = scDo(t, srv, "PUT", "/Users/"+alice, scOktaUser("alice@example.com", "00ualice", "Alice", false), 200)
		if r.body["active"] != true {
			t.Fatalf("PUT without active deactivated: %s", r.raw)
		}
		if a = scWant(t, srv, alice, scEveryoneTeams, scEveryoneChannels); a.Status != "online" || a.Username != "alice" {
			t.Fatalf("after PUT: %+v", a)
		}
		scCheck(t, s)

		// A rename to "team-sales" is matched again: the prefix rule makes it team "sales".
		scPatch(t, srv, "/Groups/"+gid, scOktaAdd(alice, "alice@example.com"), scOktaRename(gid, "Engineering"))
		scWant(t, srv, alice, scEngTeams, scEngChannels)
		scPatch(t, srv, "/Groups/"+gid, scOktaRename(gid, "team-sales"))
		scWant(t, srv, alice, scSalesTeams, scSalesChannels)
		scWant(t, srv, bob, scSalesTeams, scSalesChannels)
		if r := scDo(t, srv, "GET", "/Groups/"+gid+"?excludedAttributes=members", "", 200); r.body["displayName"] != "team-sales" {
			t.Fatalf("renamed group: %s", r.raw)
		}
	})
}

func TestScenarioEntraFlow(t *testing.T) {
	scScenario(t, scExampleRules, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		// Test Connection: a random value on the matching attribute is an empty list.
		r := scDo(t, srv, "GET", "/Users?"+scFilter(`userName eq "6f2b7c9e-0d51-4bb8-9d0e-3c6f1b0a7e11"`), "", 200)
		if r.body["totalResults"] != 0.0 {
			t.Fatalf("test connection: %s", r.raw)
		}
		adele := scCreate(t, srv, "/Users", scEntraUser("adele@contoso.com", "e-adele"))
		carol := scCreate(t, srv, "/Users", scEntraUser("carol@contoso.com", "e-carol"))
		diego := scCreate(t, srv, "/Users", scEntraUser("diego@contoso.com", "e-diego"))
		gid := scCreate(t, srv, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
			"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Engineering","members":[]}`)
		r = scDo(t, srv, "GET", "/Groups?"+scFilter(`displayName eq "Engineering"`)+"&excludedAttributes=members", "", 200)
		if r.body["totalResults"] != 1.0 {
			t.Fatalf("group lookup: %s", r.raw)
		}

		// Several members in one capitalised Add.
		scPatch(t, srv, "/Groups/"+gid, fmt.Sprintf(`{"op":"Add","path":"members","value":[{"$ref":null,"value":%q},{"$ref":null,"value":%q},{"$ref":null,"value":%q}]}`, adele, carol, diego))
		for _, id := range []string{adele, carol, diego} {
			scWant(t, srv, id, scEngTeams, scEngChannels)
		}
		// Remove with a value array removes only the members named.
		scPatch(t, srv, "/Groups/"+gid, fmt.Sprintf(`{"op":"Remove","path":"members","value":[{"value":%q}]}`, adele))
		if m := scGroupMembers(t, srv, gid); !slices.Equal(m, scSorted(carol, diego)) {
			t.Fatalf("after Remove by value: members %v, want carol and diego", m)
		}
		scWant(t, srv, adele, scEveryoneTeams, scEveryoneChannels)
		scWant(t, srv, carol, scEngTeams, scEngChannels)
		scWant(t, srv, diego, scEngTeams, scEngChannels)
		// A capitalised Replace of the displayName to the same name changes nothing.
		scPatch(t, srv, "/Groups/"+gid, `{"op":"Replace","path":"displayName","value":"Engineering"}`)
		scWant(t, srv, diego, scEngTeams, scEngChannels)

		// userName change (rule 6): same account, the chat username follows.
		scPatch(t, srv, "/Users/"+diego, `{"op":"Replace","path":"userName","value":"diego.r@contoso.com"}`)
		if a := scWant(t, srv, diego, scEngTeams, scEngChannels); a.Username != "diego.r" {
			t.Fatalf("chat username after userName change: %+v", a)
		}
		scCheck(t, s)

		// Deactivate with a string boolean, then DELETE.
		scPatch(t, srv, "/Users/"+carol, `{"op":"Replace","path":"active","value":"False"}`)
		if a := scWant(t, srv, carol, scEngTeams, scEngChannels); a.Active || a.Status != "offline" {
			t.Fatalf("deactivated by \"False\": %+v", a)
		}
		scDo(t, srv, "DELETE", "/Users/"+carol, "", 204)
		wantError(t, do(t, srv, "GET", "/scim/v2/Users/"+carol, ""), 404, "")
		r = scDo(t, srv, "GET", "/Users?count=100", "", 200)
		if strings.Contains(r.raw, carol) || r.body["totalResults"] != 2.0 {
			t.Fatalf("deleted user listed: %s", r.raw)
		}
		r = scDo(t, srv, "GET", "/Users?"+scFilter(`userName eq "carol@contoso.com"`), "", 200)
		if r.body["totalResults"] != 0.0 {
			t.Fatalf("deleted user found by userName: %s", r.raw)
		}
		if m := scGroupMembers(t, srv, gid); !slices.Equal(m, []string{diego}) {
			t.Fatalf("deleted user still a group member: %v", m)
		}
		scCheck(t, s)

		// The userName is free again: a new user (another externalId) gets a new account.
		other := scCreate(t, srv, "/Users", scEntraUser("carol@contoso.com", "e-carol-2"))
		oa := scWant(t, srv, other, scEveryoneTeams, scEveryoneChannels)
		if other == carol || oa.Username == "carol" {
			t.Fatalf("new user took the old account: id %s, %+v", other, oa)
		}
		// Same externalId, new userName and email: the old account comes back, active,
		// with its chat username, and memberships re-evaluated (DELETE left its groups).
		r = scDo(t, srv, "POST", "/Users", scEntraUser("Carol@contoso.onmicrosoft.com", "e-carol"), 201)
		if r.body["id"] != carol {
			t.Fatalf("relink by externalId: id %v, want %s", r.body["id"], carol)
		}
		a := scWant(t, srv, carol, scEveryoneTeams, scEveryoneChannels)
		if !a.Active || a.Status != "online" || a.Username != "carol" {
			t.Fatalf("relinked account: %+v", a)
		}
		// Entra pushes its group membership again.
		scPatch(t, srv, "/Groups/"+gid, fmt.Sprintf(`{"op":"Add","path":"members","value":[{"$ref":null,"value":%q}]}`, carol))
		scWant(t, srv, carol, scEngTeams, scEngChannels)
	})
}

// Rule 1: every active account is in at least one team.
func TestScenarioRule1DefaultTeam(t *testing.T) {
	const yaml = `
default_team: staff
groups:
  - match: {displayNamePrefix: "team-"}
    teams: ["{suffix}"]
`
	scScenario(t, yaml, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		staff := []string{"staff/off-topic", "staff/town-square"}
		u := scCreateUser(t, srv, "ivy@example.com", "00uivy")
		scWant(t, srv, u, []string{"staff"}, staff) // a new user with no mapped team
		sales := scCreateGroup(t, srv, "team-sales", "", u)
		support := scCreateGroup(t, srv, "team-support", "", u)
		scWant(t, srv, u, []string{"sales", "support"}, []string{"sales/off-topic", "sales/town-square", "support/off-topic", "support/town-square"})
		scPatch(t, srv, "/Groups/"+sales, scOktaRemove(u))
		scWant(t, srv, u, []string{"support"}, []string{"support/off-topic", "support/town-square"})
		// Removed from the last mapped group: the default team, never none.
		scPatch(t, srv, "/Groups/"+support, fmt.Sprintf(`{"op":"Remove","path":"members","value":[{"value":%q}]}`, u))
		scWant(t, srv, u, []string{"staff"}, staff)
		scCheck(t, s)
		// The same through replace members [] ("push now" on an empty group).
		scPatch(t, srv, "/Groups/"+support, scOktaAdd(u, "ivy"))
		scWant(t, srv, u, []string{"support"}, []string{"support/off-topic", "support/town-square"})
		scPatch(t, srv, "/Groups/"+support, `{"op":"replace","path":"members","value":[]}`)
		scWant(t, srv, u, []string{"staff"}, staff)
	})
}

// Rule 2: every team join also joins town-square and the default channels; a channel
// join first joins its team; default_channels replaces off-topic.
func TestScenarioRule2TeamJoinChannels(t *testing.T) {
	const yaml = `
default_team: staff
default_channels: [announcements]
groups:
  - match: {displayName: "Backend"}
    channels: [platform/backend]
  - match: {displayName: "Engineering"}
    teams: [engineering]
`
	scScenario(t, yaml, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		u := scCreateUser(t, srv, "jay@example.com", "00ujay")
		scWant(t, srv, u, []string{"staff"}, []string{"staff/announcements", "staff/town-square"})
		eng := scCreateGroup(t, srv, "Engineering", "", u)
		scWant(t, srv, u, []string{"engineering"}, []string{"engineering/announcements", "engineering/town-square"})
		// A channel-only mapping: the channel's team is joined first, with its join channels.
		scCreateGroup(t, srv, "Backend", "", u)
		scWant(t, srv, u, []string{"engineering", "platform"}, []string{"engineering/announcements", "engineering/town-square",
			"platform/announcements", "platform/backend", "platform/town-square"})
		scPatch(t, srv, "/Groups/"+eng, scOktaRemove(u))
		scWant(t, srv, u, []string{"platform"}, []string{"platform/announcements", "platform/backend", "platform/town-square"})
	})
}

// scMembershipRows snapshots every membership row, creation time included, so that a
// request that deletes and re-inserts a row is told apart from one that leaves it alone.
func scMembershipRows(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	var rows []string
	err := s.DB().Select(&rows, `SELECT 't ' || CAST(team_pk AS TEXT) || ' ' || CAST(user_pk AS TEXT) || ' ' || source || ' ' || CAST(created_at AS TEXT) FROM team_members
		UNION ALL SELECT 'c ' || CAST(channel_pk AS TEXT) || ' ' || CAST(user_pk AS TEXT) || ' ' || source || ' ' || CAST(created_at AS TEXT) FROM channel_members`)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rows)
	return strings.Join(rows, "\n")
}

// Rule 3: grants and revocations by source, group delete, rename.
func TestScenarioRule3SharedChannelSurvivesOneGroup(t *testing.T) {
	const yaml = `
groups:
  - match: {displayName: "Backend"}
    channels: [engineering/backend]
  - match: {displayName: "Platform"}
    teams: [engineering]
    channels: [engineering/backend, engineering/platform]
`
	scScenario(t, yaml, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		u := scCreateUser(t, srv, "kim@example.com", "00ukim")
		v := scCreateUser(t, srv, "lee@example.com", "00ulee")
		backend := scCreateGroup(t, srv, "Backend", "", u, v)
		platform := scCreateGroup(t, srv, "Platform", "", u, v)
		both := []string{"engineering/backend", "engineering/off-topic", "engineering/platform", "engineering/town-square"}
		scWant(t, srv, u, []string{"engineering"}, both)
		// Two groups grant engineering/backend: leaving one keeps it.
		scPatch(t, srv, "/Groups/"+platform, scOktaRemove(u))
		scWant(t, srv, u, []string{"engineering"}, []string{"engineering/backend", "engineering/off-topic", "engineering/town-square"})
		scPatch(t, srv, "/Groups/"+backend, scOktaRemove(v))
		scWant(t, srv, v, []string{"engineering"}, both)
		// Leaving the last source of a team leaves the team and every channel of it.
		scPatch(t, srv, "/Groups/"+backend, scOktaRemove(u))
		scWant(t, srv, u, scEveryoneTeams, scEveryoneChannels)
		scCheck(t, s)
	})
}

func TestScenarioRule3LeavingTeamLeavesItsChannels(t *testing.T) {
	scScenario(t, scExampleRules, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		u := scCreateUser(t, srv, "max@example.com", "00umax")
		eng := scCreateGroup(t, srv, "Engineering", "", u)
		leads := scCreateGroup(t, srv, "Leads", "00g1abcd", u)
		scWant(t, srv, u, scEngTeams, append(slices.Clone(scEngChannels), "everyone/leads"))
		scPatch(t, srv, "/Groups/"+eng, scOktaRemove(u))
		// engineering and all its channels are gone; everyone stays (granted by Leads' channel).
		scWant(t, srv, u, scEveryoneTeams, []string{"everyone/leads", "everyone/off-topic", "everyone/town-square"})
		scPatch(t, srv, "/Groups/"+leads, scOktaRemove(u))
		scWant(t, srv, u, scEveryoneTeams, scEveryoneChannels)
	})
}

func TestScenarioRule3GroupDeletedRemovesMembers(t *testing.T) {
	scScenario(t, scExampleRules, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		u := scCreateUser(t, srv, "ned@example.com", "00uned")
		v := scCreateUser(t, srv, "ola@example.com", "00uola")
		eng := scCreateGroup(t, srv, "Engineering", "", u, v)
		sales := scCreateGroup(t, srv, "team-sales", "", u)
		scWant(t, srv, u, []string{"engineering", "everyone", "sales"}, append(slices.Clone(scEngChannels), scSalesChannels...))
		scDo(t, srv, "DELETE", "/Groups/"+eng, "", 204)
		scDo(t, srv, "GET", "/Groups/"+eng, "", 404)
		scWant(t, srv, u, scSalesTeams, scSalesChannels)
		if a := scWant(t, srv, v, scEveryoneTeams, scEveryoneChannels); len(a.Groups) != 0 {
			t.Fatalf("deleted group still listed: %v", a.Groups)
		}
		scDo(t, srv, "DELETE", "/Groups/"+sales, "", 204)
		scWant(t, srv, u, scEveryoneTeams, scEveryoneChannels)
	})
}

func TestScenarioRule3RenameRematchesAndSameNameCostsNothing(t *testing.T) {
	scScenario(t, scExampleRules, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		u := scCreateUser(t, srv, "pia@example.com", "00upia")
		v := scCreateUser(t, srv, "quinn@example.com", "00uquinn")
		gid := scCreateGroup(t, srv, "Marketing", "", u)
		scWant(t, srv, u, []string{"marketing"}, []string{"marketing/off-topic", "marketing/town-square"})
		scCreateGroup(t, srv, "Engineering", "", v)
		before := scMembershipRows(t, s)
		// Okta's rename with every membership change, the same name, and a change of case
		// only (matching is case-insensitive): no membership row is touched.
		for _, ops := range [][]string{
			{scOktaRename(gid, "Marketing")},
			{scOktaRemove(v), scOktaRename(gid, "Marketing")},
			{`{"op":"Replace","path":"displayName","value":"Marketing"}`},
		} {
			scPatch(t, srv, "/Groups/"+gid, ops...)
			if after := scMembershipRows(t, s); after != before {
				t.Fatalf("same-name rename %v changed memberships:\nbefore\n%s\nafter\n%s", ops, before, after)
			}
		}
		// A real rename is matched again.
		scPatch(t, srv, "/Groups/"+gid, scOktaRename(gid, "team-sales"))
		scWant(t, srv, u, scSalesTeams, scSalesChannels)
		scPatch(t, srv, "/Groups/"+gid, scOktaRename(gid, "Engineering Two"))
		scWant(t, srv, u, []string{"engineering-two"}, []string{"engineering-two/off-topic", "engineering-two/town-square"})
		before = scMembershipRows(t, s)
		scPatch(t, srv, "/Groups/"+gid, scOktaRename(gid, "ENGINEERING TWO"))
		if after := scMembershipRows(t, s); after != before {
			t.Fatalf("case-only rename changed memberships:\nbefore\n%s\nafter\n%s", before, after)
		}
		scWant(t, srv, v, scEngTeams, scEngChannels)
	})
}

func TestScenarioUnmappedGroups(t *testing.T) {
	t.Run("team", func(t *testing.T) {
		scScenario(t, "", func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
			u := scCreateUser(t, srv, "rae@example.com", "00urae")
			scCreateGroup(t, srv, "Random Group", "", u)
			scWant(t, srv, u, []string{"random-group"}, []string{"random-group/off-topic", "random-group/town-square"})
		})
	})
	t.Run("ignore", func(t *testing.T) {
		scScenario(t, "unmapped_groups: ignore\n", func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
			u := scCreateUser(t, srv, "rae@example.com", "00urae")
			gid := scCreateGroup(t, srv, "Random Group", "", u)
			if a := scWant(t, srv, u, scEveryoneTeams, scEveryoneChannels); !slices.Equal(a.Groups, []string{gid}) {
				t.Fatalf("groups %v, want the ignored group still listed", a.Groups)
			}
		})
	})
}

// Rule 4: deactivation by PUT (Okta's AIW integrations), additions while inactive wait
// for reactivation.
func TestScenarioRule4DeactivateByPut(t *testing.T) {
	scScenario(t, scExampleRules, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		u := scCreateUser(t, srv, "sam@example.com", "00usam")
		eng := scCreateGroup(t, srv, "Engineering", "", u)
		body := scOktaUser("sam@example.com", "00usam", "Sam", false)
		off := strings.Replace(body, `"groups":[]`, `"groups":[],"active":false`, 1)
		if r := scDo(t, srv, "PUT", "/Users/"+u, off, 200); r.body["active"] != false {
			t.Fatalf("PUT active false: %s", r.raw)
		}
		if a := scWant(t, srv, u, scEngTeams, scEngChannels); a.Status != "offline" {
			t.Fatalf("deactivated: %+v", a)
		}
		r := scDo(t, srv, "GET", "/Users?"+scFilter(`active eq true`), "", 200)
		if r.body["totalResults"] != 0.0 {
			t.Fatalf("active eq true lists a deactivated user: %s", r.raw)
		}
		// Added to a group while inactive: nothing moves until reactivation.
		sales := scCreateGroup(t, srv, "team-sales", "", u)
		scPatch(t, srv, "/Groups/"+eng, scOktaRemove(u))
		scWant(t, srv, u, scEngTeams, scEngChannels)
		scCheck(t, s)
		on := strings.Replace(body, `"groups":[]`, `"groups":[],"active":true`, 1)
		if r := scDo(t, srv, "PUT", "/Users/"+u, on, 200); r.body["active"] != true {
			t.Fatalf("PUT active true: %s", r.raw)
		}
		if a := scWant(t, srv, u, scSalesTeams, scSalesChannels); a.Status != "online" {
			t.Fatalf("reactivated: %+v", a)
		}
		scPatch(t, srv, "/Groups/"+sales, scOktaRemove(u))
		scWant(t, srv, u, scEveryoneTeams, scEveryoneChannels)
	})
}

// Rule 5, purge mode: DELETE removes the account and its memberships; the same
// externalId later makes a new account.
func TestScenarioRule5Purge(t *testing.T) {
	scScenario(t, "delete_mode: purge\n"+scExampleRules, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		u := scCreateUser(t, srv, "gina@example.com", "00ugina")
		gid := scCreateGroup(t, srv, "Engineering", "", u)
		scDo(t, srv, "DELETE", "/Users/"+u, "", 204)
		scDo(t, srv, "GET", "/Users/"+u, "", 404)
		if m := scGroupMembers(t, srv, gid); len(m) != 0 {
			t.Fatalf("purged user still a member: %v", m)
		}
		var n int
		if err := s.DB().Get(&n, `SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM team_members) + (SELECT COUNT(*) FROM channel_members)`); err != nil || n != 0 {
			t.Fatalf("purge left %d rows (%v)", n, err)
		}
		again := scCreateUser(t, srv, "gina.new@example.com", "00ugina")
		if again == u {
			t.Fatalf("purged account relinked by externalId")
		}
		scWant(t, srv, again, scEveryoneTeams, scEveryoneChannels)
	})
}

// Rule 6: userName, email and name changes keep the account; the chat username follows
// the userName unless that collides.
func TestScenarioRule6RenameKeepsAccount(t *testing.T) {
	scScenario(t, scExampleRules, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		a := scCreateUser(t, srv, "alice@one.example", "00ua")
		b := scCreateUser(t, srv, "tom@example.com", "00ub")
		scCreateGroup(t, srv, "Engineering", "", b)
		scCreateGroup(t, srv, "Hank", "")
		if acc := scAccountOf(t, srv, a); acc.Username != "alice" {
			t.Fatalf("username %q", acc.Username)
		}
		// Entra: one Replace per attribute.
		scPatch(t, srv, "/Users/"+b, `{"op":"Replace","path":"userName","value":"Thomas@Example.com"}`,
			`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"Thomas@Example.com"}`,
			`{"op":"Replace","path":"name.givenName","value":"Thomas"}`)
		acc := scWant(t, srv, b, scEngTeams, scEngChannels)
		if acc.Username != "thomas" || !acc.Active {
			t.Fatalf("after rename: %+v", acc)
		}
		var email string
		if err := s.DB().Get(&email, s.DB().Rebind(`SELECT email FROM users WHERE id = ?`), b); err != nil || email != "thomas@example.com" {
			t.Fatalf("account email %q (%v)", email, err)
		}
		// Onto a taken username: a suffixed one, same account.
		r := scDo(t, srv, "PUT", "/Users/"+b, scOktaUser("ALICE@two.example", "00ub", "Thomas", false), 200)
		if r.body["id"] != b {
			t.Fatalf("PUT changed the id: %s", r.raw)
		}
		if acc = scWant(t, srv, b, scEngTeams, scEngChannels); acc.Username == "alice" || !strings.HasPrefix(acc.Username, "alice") {
			t.Fatalf("rename onto a taken username: %+v", acc)
		}
		// A group's name is not a username either.
		h := scCreateUser(t, srv, "hank@example.com", "00uh")
		if acc := scAccountOf(t, srv, h); acc.Username == "hank" {
			t.Fatalf("username took a group's name")
		}
	})
}

func TestScenarioGroupPatchValidation(t *testing.T) {
	scScenario(t, scExampleRules, func(t *testing.T, srv *httptest.Server, s *sqlstore.Store) {
		u := scCreateUser(t, srv, "uma@example.com", "00uuma")
		v := scCreateUser(t, srv, "vic@example.com", "00uvic")
		gid := scCreateGroup(t, srv, "Engineering", "", u)
		before := scDo(t, srv, "GET", "/Groups/"+gid, "", 200)
		rows := scMembershipRows(t, s)
		// An add naming ids that do not exist: 400 invalidValue listing them, nothing
		// written, not even the rename in the same PATCH.
		for _, ops := range [][]string{
			{scOktaRename(gid, "team-sales"), fmt.Sprintf(`{"op":"add","path":"members","value":[{"value":%q},{"value":"no-such-1"},{"value":"no-such-2"}]}`, v)},
			{fmt.Sprintf(`{"op":"Add","path":"members","value":[{"$ref":null,"value":%q},{"$ref":null,"value":"no-such-1"},{"$ref":null,"value":"no-such-2"}]}`, v),
				`{"op":"Replace","path":"displayName","value":"team-sales"}`},
		} {
			r := do(t, srv, "PATCH", "/scim/v2/Groups/"+gid, scPatchBody(ops...))
			wantError(t, r, 400, "invalidValue")
			detail, _ := r.body["detail"].(string)
			if !strings.Contains(detail, "no-such-1") || !strings.Contains(detail, "no-such-2") || strings.Contains(detail, v) {
				t.Fatalf("detail should list exactly the unknown ids: %q", detail)
			}
			after := scDo(t, srv, "GET", "/Groups/"+gid, "", 200)
			if after.body["displayName"] != "Engineering" || after.header.Get("ETag") != before.header.Get("ETag") {
				t.Fatalf("failed PATCH wrote the group: %s (ETag %s, was %s)", after.raw, after.header.Get("ETag"), before.header.Get("ETag"))
			}
			if m := scGroupMembers(t, srv, gid); !slices.Equal(m, []string{u}) {
				t.Fatalf("failed PATCH changed members: %v", m)
			}
			if got := scMembershipRows(t, s); got != rows {
				t.Fatalf("failed PATCH changed memberships:\nbefore\n%s\nafter\n%s", rows, got)
			}
		}
		scWant(t, srv, u, scEngTeams, scEngChannels)
		scWant(t, srv, v, scEveryoneTeams, scEveryoneChannels)
		// A remove of a non-member (or of no user at all) is a no-op.
		scPatch(t, srv, "/Groups/"+gid, scOktaRemove(v))
		scPatch(t, srv, "/Groups/"+gid, `{"op":"Remove","path":"members","value":[{"value":"no-such-3"}]}`)
		scPatch(t, srv, "/Groups/"+gid, fmt.Sprintf(`{"op":"Remove","path":"members","value":[{"value":%q}]}`, v))
		if m := scGroupMembers(t, srv, gid); !slices.Equal(m, []string{u}) {
			t.Fatalf("no-op removes changed members: %v", m)
		}
		if got := scMembershipRows(t, s); got != rows {
			t.Fatalf("no-op removes changed memberships:\nbefore\n%s\nafter\n%s", rows, got)
		}
	})
}

// scRaw is a request for worker goroutines: no t.Fatal.
func scRaw(client *http.Client, base, method, path, body string) (int, string, error) {
	req, err := http.NewRequest(method, base+"/scim/v2"+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), err
}

// scTargets is what each group name maps to under scExampleRules (the Leads group
// carries externalId 00g1abcd under both its names).
var scTargets = map[string]struct{ teams, channels []string }{
	"Engineering":     {[]string{"engineering"}, []string{"engineering/backend", "everyone/eng-news"}},
	"team-eng":        {[]string{"eng"}, nil},
	"Leads":           {nil, []string{"everyone/leads"}},
	"Leads Team":      {nil, []string{"everyone/leads"}},
	"team-sales":      {[]string{"sales"}, nil},
	"team-sales-emea": {[]string{"sales-emea"}, nil},
	"Unmapped":        {[]string{"unmapped"}, nil},
	"Unmapped Two":    {[]string{"unmapped-two"}, nil},
}

// scWantFromGroups computes an active user's teams and channels from its groups' names.
func scWantFromGroups(names []string) (teams, channels []string) {
	ts, cs := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		tg := scTargets[n]
		for _, t := range tg.teams {
			ts[t] = true
		}
		for _, c := range tg.channels {
			cs[c] = true
			ts[strings.SplitN(c, "/", 2)[0]] = true
		}
	}
	if len(ts) == 0 {
		ts["everyone"] = true
	}
	for t := range ts {
		teams = append(teams, t)
		cs[t+"/town-square"], cs[t+"/off-topic"] = true, true
	}
	for c := range cs {
		channels = append(channels, c)
	}
	slices.Sort(teams)
	slices.Sort(channels)
	return teams, channels
}

// Rule 7: two servers, each with its own store on one database, under a random mix of
// membership, rename and (de)activation requests.
func TestScenarioConcurrentTwoServers(t *testing.T) {
	cfg := scRules(t, scExampleRules)
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			var srvs [2]*httptest.Server
			var s0 *sqlstore.Store
			for i := range srvs {
				s, err := sqlstore.Open(context.Background(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				s.SetRules(cfg)
				var logs *bytes.Buffer
				srvs[i], logs = testServer(t, s)
				scLogErrors(t, logs)
				if i == 0 {
					s0 = s
				}
			}
			var users []string
			for i := range 6 {
				users = append(users, scCreateUser(t, srvs[i%2], fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("00u%d", i)))
			}
			type group struct {
				id    string
				names [2]string
			}
			var groups []group
			for i, g := range []struct {
				names [2]string
				ext   string
			}{
				{[2]string{"Engineering", "team-eng"}, ""},
				{[2]string{"Leads", "Leads Team"}, "00g1abcd"},
				{[2]string{"team-sales", "team-sales-emea"}, ""},
				{[2]string{"Unmapped", "Unmapped Two"}, ""},
			} {
				groups = append(groups, group{scCreateGroup(t, srvs[i%2], g.names[0], g.ext, users[i], users[i+2]), g.names})
			}

			start := time.Now()
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewSource(int64(w) + 1))
					for range 25 {
						srv := srvs[rng.Intn(2)]
						g := groups[rng.Intn(len(groups))]
						u1, u2 := users[rng.Intn(len(users))], users[rng.Intn(len(users))]
						name := g.names[rng.Intn(2)]
						path, body := "/Groups/"+g.id, ""
						switch rng.Intn(8) {
						case 0: // Okta: mixed ops with the rename
							body = scPatchBody(scOktaRemove(u1), scOktaAdd(u2, "x"), scOktaRename(g.id, name))
						case 1: // Entra: several adds in one op
							body = scPatchBody(fmt.Sprintf(`{"op":"Add","path":"members","value":[{"$ref":null,"value":%q},{"$ref":null,"value":%q}]}`, u1, u2))
						case 2: // Entra: remove by value array
							body = scPatchBody(fmt.Sprintf(`{"op":"Remove","path":"members","value":[{"value":%q}]}`, u1))
						case 3: // full push
							body = scPatchBody(fmt.Sprintf(`{"op":"replace","path":"members","value":[{"value":%q},{"value":%q}]}`, u1, u2))
						case 4: // rename alone
							body = scPatchBody(scOktaRename(g.id, name))
						case 5: // Okta deactivate
							path, body = "/Users/"+u1, scPatchBody(`{"op":"replace","value":{"active":false}}`)
						case 6: // Entra reactivate
							path, body = "/Users/"+u1, scPatchBody(`{"op":"Replace","path":"active","value":"True"}`)
						case 7: // Okta remove
							body = scPatchBody(scOktaRemove(u1), scOktaRename(g.id, name))
						}
						status, raw, err := scRaw(srv.Client(), srv.URL, "PATCH", path, body)
						if err != nil || status/100 != 2 {
							t.Errorf("worker %d: PATCH %s %s: %d %s %v", w, path, body, status, raw, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			t.Logf("%s: 200 concurrent requests in %v", b.Name, time.Since(start))
			scCheck(t, s0)

			check := func(all bool) {
				t.Helper()
				names := map[string]string{}
				for _, g := range groups {
					r := scDo(t, srvs[0], "GET", "/Groups/"+g.id+"?excludedAttributes=members", "", 200)
					names[g.id], _ = r.body["displayName"].(string)
				}
				for _, id := range users {
					a := scAccountOf(t, srvs[1], id)
					if !a.Active {
						if all {
							t.Fatalf("user %s inactive after reactivation", a.Username)
						}
						continue
					}
					var gn []string
					for _, g := range a.Groups {
						gn = append(gn, names[g])
					}
					teams, channels := scWantFromGroups(gn)
					if !slices.Equal(a.Teams, teams) || !slices.Equal(a.Channels, channels) {
						t.Errorf("user %s in groups %v:\n teams    %v, want %v\n channels %v, want %v", a.Username, gn, a.Teams, teams, a.Channels, channels)
					}
				}
			}
			check(false)
			// Reactivate everyone (re-evaluating frozen memberships) and check again.
			for i, id := range users {
				scPatch(t, srvs[i%2], "/Users/"+id, `{"op":"replace","value":{"active":true}}`)
			}
			check(true)
			scCheck(t, s0)
		})
	}
}
