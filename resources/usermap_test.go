package resources

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// The Townsquare extension's roles, rendered from store.Account values as the store
// hands them (no store needed).
func TestTownsquareExtensionRoles(t *testing.T) {
	member := store.Account{Username: "alice", Status: store.StatusOnline,
		Teams: []string{"engineering"}, Channels: []string{"engineering/town-square"}}
	for _, c := range []struct {
		name string
		acc  func(a store.Account) store.Account
		want map[string]any
	}{
		{"member", func(a store.Account) store.Account { return a }, map[string]any{
			"username": "alice", "status": "online", "roles": "system_user", "guest": false,
			"teams": []any{"engineering"}, "channels": []any{"engineering/town-square"}}},
		{"system admin", func(a store.Account) store.Account { a.SystemAdmin = true; return a }, map[string]any{
			"username": "alice", "status": "online", "roles": "system_admin system_user", "guest": false,
			"teams": []any{"engineering"}, "channels": []any{"engineering/town-square"}}},
		{"team and channel admin", func(a store.Account) store.Account {
			a.TeamAdmin, a.ChannelAdmin = []string{"engineering"}, []string{"engineering/town-square"}
			return a
		}, map[string]any{
			"username": "alice", "status": "online", "roles": "system_user", "guest": false,
			"teams": []any{"engineering"}, "channels": []any{"engineering/town-square"},
			"teamAdmin": []any{"engineering"}, "channelAdmin": []any{"engineering/town-square"}}},
		{"guest", func(a store.Account) store.Account {
			a.Guest, a.Channels = true, []string{"partners/acme"}
			a.Teams = []string{"partners"}
			return a
		}, map[string]any{
			"username": "alice", "status": "online", "roles": "system_guest", "guest": true,
			"teams": []any{"partners"}, "channels": []any{"partners/acme"}}},
		// SystemRoles: a guest's admin grant has no effect.
		{"guest with a system admin grant", func(a store.Account) store.Account { a.Guest, a.SystemAdmin = true, true; return a },
			map[string]any{"username": "alice", "status": "online", "roles": "system_guest", "guest": true,
				"teams": []any{"engineering"}, "channels": []any{"engineering/town-square"}}},
		{"no memberships", func(a store.Account) store.Account { a.Teams, a.Channels = nil, nil; return a },
			map[string]any{"username": "alice", "status": "online", "roles": "system_user", "guest": false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := store.User{UserName: "alice@example.com", Active: true, Account: c.acc(member)}
			got := userToAttributes(&u)[store.TownsquareUserSchema]
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("extension:\n got %#v\nwant %#v", got, c.want)
			}
			// What a client reads: the JSON types of the schema.
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]any
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, c.want) {
				t.Fatalf("JSON %s: %v", b, err)
			}
		})
	}
	// A user with no chat account (none yet) has no extension at all.
	if m := userToAttributes(&store.User{UserName: "x"}); m[store.TownsquareUserSchema] != nil {
		t.Fatalf("extension without an account: %v", m)
	}
}

// Roles cost a user's rendering nothing: an admin or a guest allocates what a plain
// member does, and an admin list what any list does.
func TestTownsquareExtensionRenderingCost(t *testing.T) {
	allocs := func(a store.Account) float64 {
		u := store.User{UserName: "alice@example.com", Active: true, Account: a}
		return testing.AllocsPerRun(200, func() { _ = userToAttributes(&u) })
	}
	// Without lists, the extension costs what a map of username and status alone (the
	// extension before roles) costs: roles and guest add nothing.
	bare := store.Account{Username: "alice", Status: store.StatusOnline, SystemAdmin: true}
	username, status := strings.Clone(bare.Username), strings.Clone(bare.Status)
	twoStrings := testing.AllocsPerRun(200, func() { renderSink = map[string]any{"username": username, "status": status} })
	if ext, none := allocs(bare), allocs(store.Account{}); ext-none != twoStrings {
		t.Errorf("the extension without lists: %v allocations, a map of two strings %v", ext-none, twoStrings)
	}
	plain := store.Account{Username: "alice", Status: store.StatusOnline, Teams: []string{"t"}, Channels: []string{"t/c"}}
	base := allocs(plain)
	for name, a := range map[string]store.Account{
		"system admin": {Username: "alice", Status: store.StatusOnline, Teams: []string{"t"}, Channels: []string{"t/c"}, SystemAdmin: true},
		"guest":        {Username: "alice", Status: store.StatusOnline, Teams: []string{"t"}, Channels: []string{"t/c"}, Guest: true},
	} {
		if got := allocs(a); got != base {
			t.Errorf("%s: %v allocations, a member %v", name, got, base)
		}
	}
	// A list is its slice and its boxed strings; a second list costs what the first
	// did, and nothing more (the map does not grow).
	oneList := allocs(store.Account{Username: "alice", Status: store.StatusOnline, Teams: []string{"t"}})
	twoLists := allocs(store.Account{Username: "alice", Status: store.StatusOnline, Teams: []string{"t"}, TeamAdmin: []string{"t"}})
	fourLists := allocs(store.Account{Username: "alice", Status: store.StatusOnline, Teams: []string{"t"}, Channels: []string{"t/c"},
		TeamAdmin: []string{"t"}, ChannelAdmin: []string{"t/c"}})
	perList := twoLists - oneList
	if fourLists != oneList+3*perList {
		t.Errorf("allocations: one list %v, two %v, four %v: the map grew", oneList, twoLists, fourLists)
	}
}

var renderSink map[string]any

// /Schemas shows the new attributes, each readOnly, with its type and plurality.
func TestTownsquareSchemaRoles(t *testing.T) {
	attrs := map[string]map[string]any{}
	for _, a := range TownsquareUserSchema().ToMap()["attributes"].([]map[string]any) {
		attrs[a["name"].(string)] = a
	}
	for name, want := range map[string]struct {
		typ   string
		multi bool
	}{
		"username": {"string", false}, "status": {"string", false}, "teams": {"string", true}, "channels": {"string", true},
		"roles": {"string", false}, "guest": {"boolean", false}, "teamAdmin": {"string", true}, "channelAdmin": {"string", true},
	} {
		a := attrs[name]
		if a == nil {
			t.Errorf("%s: not in the schema", name)
			continue
		}
		got := fmt.Sprint(a["type"], " ", a["multiValued"], " ", a["mutability"], " ", a["returned"])
		if got != fmt.Sprint(want.typ, " ", want.multi, " readOnly default") {
			t.Errorf("%s: %v", name, a)
		}
	}
	if len(attrs) != 8 {
		t.Errorf("%d attributes: %v", len(attrs), attrs)
	}
}

// attributes= and excludedAttributes= take the new attributes as they take teams.
func TestTownsquareExtensionProjection(t *testing.T) {
	const urn = store.TownsquareUserSchema
	u := store.User{UserName: "alice@example.com", Active: true, Account: store.Account{Username: "alice", Status: "online",
		Teams: []string{"e"}, Channels: []string{"e/c"}, SystemAdmin: true, TeamAdmin: []string{"e"}, ChannelAdmin: []string{"e/c"}}}
	for _, c := range []struct {
		query string
		want  map[string]any // the extension after projection; nil: absent
	}{
		{"attributes=" + urn + ":roles", map[string]any{"roles": "system_admin system_user"}},
		{"attributes=" + urn + ":GUEST," + urn + ":teamadmin", map[string]any{"guest": false, "teamAdmin": []any{"e"}}},
		{"attributes=" + urn + ":teams", map[string]any{"teams": []any{"e"}}},
		{"attributes=userName", nil},
		{"excludedAttributes=" + urn + ":roles," + urn + ":guest," + urn + ":channelAdmin," + urn + ":channels", map[string]any{
			"username": "alice", "status": "online", "teams": []any{"e"}, "teamAdmin": []any{"e"}}},
		{"excludedAttributes=" + urn, nil},
	} {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		m := userToAttributes(&u)
		parseProjection(q).apply(m)
		got, ok := m[urn]
		if c.want == nil {
			if ok {
				t.Errorf("%s: extension %v, want none", c.query, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.query, got, c.want)
		}
	}
}

// A primary sent as false comes back false, one left out (or null) stays left out, and
// true is true, on each multi-valued attribute that has a primary (store.MultiValue).
func TestPrimaryRoundTrip(t *testing.T) {
	absent := struct{}{} // the element has no "primary" key
	for _, c := range []struct {
		name      string
		sent      any // absent, or the JSON value sent
		primary   bool
		explicitF bool
		back      any // absent, or the value rendered
	}{
		{"true", true, true, false, true},
		{"false", false, false, true, false},
		{"left out", absent, false, false, absent},
		{"null", nil, false, false, absent},
		{`"False" (Entra)`, "False", false, true, false},
		{`"True" (Entra)`, "True", true, false, true},
	} {
		for _, attr := range []string{"emails", "phoneNumbers", "addresses"} {
			t.Run(c.name+"/"+attr, func(t *testing.T) {
				elem := map[string]any{"type": "work"}
				if attr == "addresses" {
					elem["locality"] = "Paris"
				} else {
					elem["value"] = "x@example.com"
				}
				if c.sent != absent {
					elem["primary"] = c.sent
				}
				u, err := userFromAttributes(map[string]any{"userName": "u", attr: []any{elem}})
				if err != nil {
					t.Fatal(err)
				}
				var p, f bool
				switch attr {
				case "emails":
					p, f = u.Emails[0].Primary, u.Emails[0].PrimaryFalse
				case "phoneNumbers":
					p, f = u.PhoneNumbers[0].Primary, u.PhoneNumbers[0].PrimaryFalse
				default:
					p, f = u.Addresses[0].Primary, u.Addresses[0].PrimaryFalse
				}
				if p != c.primary || f != c.explicitF {
					t.Fatalf("read primary %v, explicit false %v; want %v, %v", p, f, c.primary, c.explicitF)
				}
				out := userToAttributes(&u)[attr].([]any)[0].(map[string]any)
				got, ok := out["primary"]
				if c.back == absent && ok || c.back != absent && (!ok || got != c.back) {
					t.Fatalf("rendered %v (present %v), want %v", got, ok, c.back)
				}
			})
		}
	}
	// PrimaryFalse means nothing beside Primary: true is rendered true.
	u := store.User{UserName: "u", Emails: []store.MultiValue{{Value: "a", Primary: true, PrimaryFalse: true}},
		Addresses: []store.Address{{Locality: "b", Primary: true, PrimaryFalse: true}}}
	m := userToAttributes(&u)
	if e := m["emails"].([]any)[0].(map[string]any); e["primary"] != true {
		t.Fatalf("email %v", e)
	}
	if a := m["addresses"].([]any)[0].(map[string]any); a["primary"] != true {
		t.Fatalf("address %v", a)
	}
	// Two explicit falses are not two primaries (RFC 7643 §2.4 counts true only).
	if _, err := userFromAttributes(map[string]any{"userName": "u", "emails": []any{
		map[string]any{"value": "a", "primary": false}, map[string]any{"value": "b", "primary": false},
		map[string]any{"value": "c", "primary": true}}}); err != nil {
		t.Fatalf("falses beside one true: %v", err)
	}
	if _, err := userFromAttributes(map[string]any{"userName": "u", "phoneNumbers": []any{
		map[string]any{"value": "a", "primary": true}, map[string]any{"value": "b", "primary": true}}}); err == nil {
		t.Fatal("two primaries accepted")
	}
}

// TestUserGroupsType: a user's groups carry type "direct", or "indirect" for a group the
// user is in only through groups nested in it (RFC 7643 §4.1.2), and each its $ref.
func TestUserGroupsType(t *testing.T) {
	a, err := New(nil, nil, "https://chat.example.com/scim/v2")
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{ID: "u1", UserName: "a", Groups: []store.GroupRef{
		{ID: "g1", DisplayName: "Eng", Indirect: true},
		{ID: "g2", DisplayName: "Backend"},
	}}
	got := a.renderUser(&u, projection{})["groups"]
	want := []any{
		map[string]any{"value": "g1", "display": "Eng", "type": "indirect", "$ref": "https://chat.example.com/scim/v2/Groups/g1"},
		map[string]any{"value": "g2", "display": "Backend", "type": "direct", "$ref": "https://chat.example.com/scim/v2/Groups/g2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("groups\n got %#v\nwant %#v", got, want)
	}
}
