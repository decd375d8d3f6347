package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// GET and PATCH /Groups/{id}: the members stream from the store, projections shape what
// is returned, and every PATCH shape Okta and Entra send (and the wrong ones) has a
// defined outcome.

const groupsBaseURL = "http://scim.test/scim/v2"

// groupHandler is the full server handler on s.
func groupHandler(t *testing.T, s store.Store) http.Handler {
	t.Helper()
	h, err := server.Handler(server.Config{Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseURL: groupsBaseURL, BootstrapToken: token})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type answer struct {
	status int
	header http.Header
	body   string
}

func serve(h http.Handler, method, target, body string, header ...string) answer {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://scim.test"+target, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// groupFixture makes users whose display names need escaping in JSON, one without a
// display name, and two groups: one with members and an externalId, one with neither.
func groupFixture(t *testing.T, s store.Store) (users []string, full, empty store.Group) {
	t.Helper()
	ctx := context.Background()
	for i, display := range []string{"Zoë <admin> & co", `quote " back\slash`, "line\u2028sep\ttab", "", "Ordinary Person", "日本語"} {
		u := store.User{UserName: fmt.Sprintf("member%d@example.com", i), DisplayName: display, Active: true}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	full = store.Group{DisplayName: "Eng & <Ops> \"quoted\"", ExternalID: "ext/1?&"}
	if err := s.CreateGroup(ctx, &full, users[:5]); err != nil {
		t.Fatal(err)
	}
	empty = store.Group{DisplayName: "Nobody"}
	if err := s.CreateGroup(ctx, &empty, nil); err != nil {
		t.Fatal(err)
	}
	return users, full, empty
}

// keysOf lists the keys of a JSON object, sorted.
func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// groupShape is what a projection leaves of the full group: its keys, and the keys of
// each member object (nil when members is absent).
type groupShape struct {
	keys, memberKeys []string
}

func shapeOf(t *testing.T, body string) groupShape {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	s := groupShape{keys: keysOf(m)}
	if ms, ok := m["members"].([]any); ok {
		s.memberKeys = []string{}
		for _, x := range ms {
			if k := keysOf(x.(map[string]any)); len(k) > 0 || len(s.memberKeys) == 0 {
				s.memberKeys = k
			}
		}
	}
	return s
}

func TestGroupGetProjections(t *testing.T) {
	all := []string{"displayName", "externalId", "id", "members", "meta", "schemas"}
	bare := []string{"id", "meta", "schemas"}
	member := []string{"$ref", "display", "type", "value"}
	cases := []struct {
		query string
		want  groupShape
	}{
		{"", groupShape{all, member}},
		{"excludedAttributes=members", groupShape{[]string{"displayName", "externalId", "id", "meta", "schemas"}, nil}},
		{"attributes=displayName", groupShape{[]string{"displayName", "id", "meta", "schemas"}, nil}},
		{"attributes=members", groupShape{[]string{"id", "members", "meta", "schemas"}, member}},
		{"attributes=members.value", groupShape{[]string{"id", "members", "meta", "schemas"}, []string{"value"}}},
		{"attributes=MEMBERS.Display,members.value", groupShape{[]string{"id", "members", "meta", "schemas"}, []string{"display", "value"}}},
		{"attributes=members.value,members", groupShape{[]string{"id", "members", "meta", "schemas"}, member}},
		{"attributes=members.type", groupShape{[]string{"id", "members", "meta", "schemas"}, []string{"type"}}},
		{"attributes=members.$ref", groupShape{[]string{"id", "members", "meta", "schemas"}, []string{"$ref"}}},
		{"excludedAttributes=members.display", groupShape{all, []string{"$ref", "type", "value"}}},
		{"excludedAttributes=members.value,members.type,members.display", groupShape{all, []string{"$ref"}}},
		{"excludedAttributes=members.value,members.type,members.display,members.$ref", groupShape{all, []string{}}},
		{"attributes=externalId", groupShape{[]string{"externalId", "id", "meta", "schemas"}, nil}},
		{"attributes=id", groupShape{bare, nil}},
		{"excludedAttributes=externalId", groupShape{[]string{"displayName", "id", "members", "meta", "schemas"}, member}},
		{"excludedAttributes=displayName,members", groupShape{[]string{"externalId", "id", "meta", "schemas"}, nil}},
		{"attributes=urn:ietf:params:scim:schemas:core:2.0:Group:members", groupShape{[]string{"id", "members", "meta", "schemas"}, member}},
		{"attributes=displayName.x", groupShape{bare, nil}},
		{"attributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", groupShape{bare, nil}},
		{"excludedAttributes=meta,id,schemas", groupShape{all, member}},
		{`attributes=emails[type eq "work"]`, groupShape{bare, nil}},
		{"attributes=members&excludedAttributes=members", groupShape{[]string{"id", "members", "meta", "schemas"}, member}},
		{"excludedAttributes=", groupShape{all, member}},
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		h := groupHandler(t, s)
		_, full, empty := groupFixture(t, s)
		for _, c := range cases {
			target := "/scim/v2/Groups/" + full.ID
			if c.query != "" {
				target += "?" + strings.ReplaceAll(c.query, " ", "%20")
			}
			a := serve(h, "GET", target, "")
			if a.status != http.StatusOK || a.header.Get("Etag") != `W/"1"` || a.header.Get("Content-Type") != "application/scim+json" {
				t.Fatalf("GET %s: %d %v %s", target, a.status, a.header, a.body)
			}
			if got := shapeOf(t, a.body); !slices.Equal(got.keys, c.want.keys) || !slices.Equal(got.memberKeys, c.want.memberKeys) {
				t.Errorf("GET ?%s: keys %v, member keys %v; want %v, %v", c.query, got.keys, got.memberKeys, c.want.keys, c.want.memberKeys)
			}
			// The group without members or externalId has the same shape without them.
			want := slices.DeleteFunc(slices.Clone(c.want.keys), func(k string) bool { return k == "externalId" })
			if got := shapeOf(t, serve(h, "GET", strings.Replace(target, full.ID, empty.ID, 1), "").body); !slices.Equal(got.keys, want) {
				t.Errorf("GET empty group ?%s: keys %v, want %v", c.query, got.keys, want)
			}
		}
		// The members are the ones made, in a stable order, escaped as JSON needs.
		a := serve(h, "GET", "/scim/v2/Groups/"+full.ID, "")
		var body struct {
			Members     []map[string]string
			DisplayName string
			ExternalID  string
			Meta        map[string]string
		}
		if err := json.Unmarshal([]byte(a.body), &body); err != nil || len(body.Members) != 5 ||
			body.Members[0]["display"] != "Zoë <admin> & co" || body.Members[3]["display"] != "member3@example.com" ||
			body.Members[0]["type"] != "User" || body.DisplayName != full.DisplayName || body.ExternalID != full.ExternalID ||
			body.Meta["location"] != groupsBaseURL+"/Groups/"+full.ID || body.Meta["version"] != `W/"1"` || body.Meta["resourceType"] != "Group" {
			t.Fatalf("full GET: %v\n%s", err, a.body)
		}
		for target, status := range map[string]int{
			"/scim/v2/Groups/no-such-group": 404, "/scim/v2/Groups/no-such-group?excludedAttributes=members": 404,
			"/scim/v2/Groups/%25zz": 404, "/scim/v2/Groups/.search": 405, "/scim/v2/groups/" + full.ID: 200,
		} {
			if a := serve(h, "GET", target, ""); a.status != status {
				t.Errorf("GET %s: %d, want %d: %s", target, a.status, status, a.body)
			}
		}
		if a := serve(h, "GET", "/scim/v2/Groups/"+full.ID, "", "Authorization", "Bearer wrong"); a.status != http.StatusUnauthorized {
			t.Fatalf("GET without a valid token: %d %s", a.status, a.body)
		}
	})
}

// failingMembers is a store whose member reads fail after `after` members.
type failingMembers struct {
	store.Store
	after int
}

func (f failingMembers) EachGroupMember(ctx context.Context, id string, fn func(store.Member) error) error {
	n := 0
	err := f.Store.EachGroupMember(ctx, id, func(m store.Member) error {
		if n == f.after {
			return errors.New("the database went away")
		}
		n++
		return fn(m)
	})
	if err == nil && n <= f.after {
		return errors.New("the database went away")
	}
	return err
}

// TestGroupGetMemberReadFails: a member read that fails before anything was sent is an
// error answer like any other, not a 200 with half a group; one that fails after the
// answer started aborts the connection, so the client cannot take a truncated group for
// a whole one.
func TestGroupGetMemberReadFails(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		_, full, _ := groupFixture(t, s)
		a := serve(groupHandler(t, failingMembers{Store: s, after: 0}), "GET", "/scim/v2/Groups/"+full.ID, "")
		if a.status != http.StatusInternalServerError || a.header.Get("Etag") != "" || !strings.Contains(a.body, `"status":"500"`) ||
			strings.Contains(a.body, "went away") {
			t.Fatalf("%d %v %s", a.status, a.header, a.body)
		}

		// After the first bytes: a big group, so that the answer has left before the failure.
		ctx := context.Background()
		long := strings.Repeat("𝔵", store.MaxNameLength) // 1 KiB of UTF-8
		var ids []string
		for i := range 100 {
			u := store.User{UserName: fmt.Sprintf("big%d@example.com", i), DisplayName: long, Active: true}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		g := store.Group{DisplayName: "Big"}
		if err := s.CreateGroup(ctx, &g, ids); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(groupHandler(t, failingMembers{Store: s, after: 90}))
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL+"/scim/v2/Groups/"+g.ID, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Fatalf("a member read failing mid-answer ended in a complete-looking %d answer", resp.StatusCode)
		}
	})
}

// groupPatchCase is a PATCH of the fixture's full group (members u0..u4). In the path,
// body and If-Match, {g} is the group's id, {u0}..{u5} user ids, {nobody} an id that
// names no user, {current} and {stale} the group's version as an ETag before the request.
type groupPatchCase struct {
	name, query, body, ifMatch string
	group                      string // "" for {g}

	status   int
	scimType string   // of an error answer
	keys     []string // of a 200 answer's group
	members  []string // after the request
	name2    string   // displayName after the request; "" for unchanged
	ext      string   // externalId after the request; "" for unchanged
	// same: the request changes nothing (no member operation, the names as they are),
	// so the version stays (store.UpdateGroup's contract)
	same bool
}

func oktaPatch(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

var (
	fiveMembers = []string{"u0", "u1", "u2", "u3", "u4"}
	sixMembers  = []string{"u0", "u1", "u2", "u3", "u4", "u5"}
	afterRemove = []string{"u1", "u2", "u3", "u4"}
)

var groupPatchCases = []groupPatchCase{
	{name: "okta remove and add", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`, `{"op":"remove","path":"members[value eq \"{u5}\"]"}`,
		`{"op":"add","path":"members","value":[{"value":"{u5}","display":"x"}]}`), status: 204, members: []string{"u1", "u2", "u3", "u4", "u5"}},
	{name: "okta rename", body: oktaPatch(`{"op":"replace","value":{"id":"{g}","displayName":"Renamed & <new>"}}`), status: 204,
		members: fiveMembers, name2: "Renamed & <new>"},
	{name: "okta same name", body: oktaPatch(`{"op":"replace","value":{"id":"{g}","displayName":"Eng & <Ops> \"quoted\""}}`), status: 204, members: fiveMembers, same: true},
	{name: "okta full push", body: oktaPatch(`{"op":"replace","path":"members","value":[{"value":"{u1}"},{"value":"{u5}"}]}`), status: 204,
		members: []string{"u1", "u5"}},
	{name: "okta push empty", body: oktaPatch(`{"op":"replace","path":"members","value":[]}`), status: 204, members: []string{}},
	{name: "entra add", body: oktaPatch(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"{u5}"}]}`), status: 204, members: sixMembers},
	{name: "entra add one object", body: oktaPatch(`{"op":"Add","path":"members","value":{"value":"{u5}"}}`), status: 204, members: sixMembers},
	{name: "entra remove list", body: oktaPatch(`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"{u0}"},{"value":"{u1}"}]}`), status: 204,
		members: []string{"u2", "u3", "u4"}},
	{name: "entra replace attributes", body: oktaPatch(`{"op":"Replace","value":{"displayName":"Entra","externalId":"e-2"}}`), status: 204,
		members: fiveMembers, name2: "Entra", ext: "e-2"},
	{name: "remove all", body: oktaPatch(`{"op":"remove","path":"members"}`), status: 204, members: []string{}},
	{name: "path-less members and name", body: oktaPatch(`{"op":"add","value":{"Members":[{"value":"{u5}"}],"displayName":"Both"}}`), status: 204,
		members: sixMembers, name2: "Both"},
	{name: "projection excluding members", query: "excludedAttributes=members", body: oktaPatch(`{"op":"add","path":"members","value":[{"value":"{u5}"}]}`),
		status: 200, keys: []string{"displayName", "externalId", "id", "meta", "schemas"}, members: sixMembers},
	{name: "projection with members", query: "attributes=members.value,displayName", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`),
		status: 200, keys: []string{"displayName", "id", "members", "meta", "schemas"}, members: afterRemove},
	{name: "projection full", query: "excludedAttributes=", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`),
		status: 200, keys: []string{"displayName", "externalId", "id", "members", "meta", "schemas"}, members: afterRemove},
	{name: "projection without attributes", query: "attributes=id", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`),
		status: 200, keys: []string{"id", "meta", "schemas"}, members: afterRemove},
	{name: "if-match current", ifMatch: "{current}", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`), status: 204, members: afterRemove},
	{name: "if-match stale", ifMatch: "{stale}", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`), status: 412,
		scimType: "preconditionFailed", members: fiveMembers},
	{name: "if-match foreign", ifMatch: `"abc"`, body: oktaPatch(`{"op":"remove","path":"members"}`), status: 412, scimType: "preconditionFailed", members: fiveMembers},
	{name: "unknown member", body: oktaPatch(`{"op":"add","path":"members","value":[{"value":"{nobody}"},{"value":"{u5}"}]}`), status: 400,
		scimType: "invalidValue", members: fiveMembers},
	{name: "removing a non-member", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{nobody}\"]"}`), status: 204, members: fiveMembers},
	// The id names the member; a type sent with it is ignored (RFC 7643 §4.2: immutable).
	{name: "a user sent with type Group", body: oktaPatch(`{"op":"add","path":"members","value":[{"value":"{u5}","type":"Group"}]}`), status: 204,
		members: sixMembers},
	{name: "member without value", body: oktaPatch(`{"op":"add","path":"members","value":[{"display":"x"}]}`), status: 400,
		scimType: "invalidValue", members: fiveMembers},
	{name: "empty filter value", body: oktaPatch(`{"op":"remove","path":"members[value eq \"\"]"}`), status: 400, scimType: "invalidPath", members: fiveMembers},
	{name: "empty displayName", body: oktaPatch(`{"op":"replace","value":{"displayName":""}}`), status: 400, scimType: "invalidValue", members: fiveMembers},
	{name: "unknown group", group: "no-such-group", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`), status: 404, members: fiveMembers},
	{name: "unknown group, rename", group: "no-such-group", body: oktaPatch(`{"op":"replace","path":"displayName","value":"x"}`), status: 404, members: fiveMembers},
	{name: "id that does not unescape", group: "%25zz", body: oktaPatch(`{"op":"remove","path":"members"}`), status: 404, members: fiveMembers},
	{name: "search path", group: ".search", body: oktaPatch(`{"op":"remove","path":"members"}`), status: 405, members: fiveMembers},
	{name: "mixed case", body: `{"SCHEMAS":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"OP":"ADD","PATH":"Members","VALUE":[{"VALUE":"{u5}"}]}]}`,
		status: 204, members: sixMembers},
	{name: "trailing data", body: `{"SCHEMAS":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"OP":"ADD","PATH":"Members","VALUE":[{"VALUE":"{u5}"}]}]} trailing`,
		status: 400, scimType: "invalidSyntax", members: fiveMembers},
	{name: "remove without path", body: oktaPatch(`{"op":"remove"}`), status: 400, scimType: "noTarget", members: fiveMembers},
	{name: "displayName path", body: oktaPatch(`{"op":"replace","path":"displayName","value":"By path"}`), status: 204, members: fiveMembers, name2: "By path"},
	{name: "member sub-attribute", body: oktaPatch(`{"op":"replace","path":"members[value eq \"{u0}\"].display","value":"x"}`), status: 204, members: fiveMembers, same: true},
	{name: "or filter", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\" or value eq \"{u1}\"]"}`), status: 204, members: []string{"u2", "u3", "u4"}},
	{name: "unknown op", body: oktaPatch(`{"op":"move","path":"members","value":[]}`), status: 400, scimType: "invalidValue", members: fiveMembers},
	{name: "unknown attribute", body: oktaPatch(`{"op":"replace","value":{"title":"x"}}`), status: 400, scimType: "invalidValue", members: fiveMembers},
	{name: "null value", body: oktaPatch(`{"op":"add","path":"members","value":null}`), status: 400, scimType: "invalidValue", members: fiveMembers},
	{name: "bad member value", body: oktaPatch(`{"op":"add","path":"members","value":[{"value":5}]}`), status: 400, scimType: "invalidValue", members: fiveMembers},
	{name: "no operations", body: oktaPatch(), status: 400, scimType: "invalidValue", members: fiveMembers},
	{name: "wrong schema", body: `{"schemas":["urn:x"],"Operations":[{"op":"remove","path":"members"}]}`, status: 400, scimType: "invalidValue", members: fiveMembers},
	{name: "not json", body: `{"schemas":`, status: 400, scimType: "invalidSyntax", members: fiveMembers},
	{name: "escaped filter value", body: oktaPatch(`{"op":"remove","path":"members[value eq \"a\\\"b\"]"}`), status: 204, members: fiveMembers},
}

func TestGroupPatchShapes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		h := groupHandler(t, s)
		users, full, _ := groupFixture(t, s)
		ctx := context.Background()
		name := map[string]string{}
		for i, u := range users {
			name[u] = fmt.Sprintf("u%d", i)
		}
		for _, c := range groupPatchCases {
			g, err := s.UpdateGroup(ctx, full.ID, 0, func(g *store.Group) error {
				g.DisplayName, g.ExternalID = full.DisplayName, full.ExternalID
				return nil
			}, []store.MemberOp{{Kind: store.ReplaceMembers, IDs: users[:5]}})
			if err != nil {
				t.Fatal(err)
			}
			r := strings.NewReplacer("{g}", full.ID, "{nobody}", "00000000-0000-0000-0000-000000000000",
				"{current}", fmt.Sprintf(`W/"%d"`, g.Version), "{stale}", fmt.Sprintf(`W/"%d"`, g.Version-1),
				"{u0}", users[0], "{u1}", users[1], "{u5}", users[5])
			target := "/scim/v2/Groups/" + r.Replace(cmp(c.group, "{g}"))
			if c.query != "" {
				target += "?" + c.query
			}
			var header []string
			if c.ifMatch != "" {
				header = []string{"If-Match", r.Replace(c.ifMatch)}
			}
			a := serve(h, "PATCH", target, r.Replace(c.body), header...)
			after, err := s.GetGroup(ctx, full.ID)
			if err != nil {
				t.Fatal(err)
			}
			members := []string{}
			if err := s.EachGroupMember(ctx, full.ID, func(m store.Member) error { members = append(members, name[m.Value]); return nil }); err != nil {
				t.Fatal(err)
			}
			slices.Sort(members)
			if a.status != c.status || !slices.Equal(members, c.members) {
				t.Errorf("%s: %d, members %v; want %d, %v\n%s", c.name, a.status, members, c.status, c.members, a.body)
				continue
			}
			wantName, wantExt := cmp(c.name2, full.DisplayName), cmp(c.ext, full.ExternalID)
			if after.DisplayName != wantName || after.ExternalID != wantExt {
				t.Errorf("%s: displayName %q externalId %q, want %q %q", c.name, after.DisplayName, after.ExternalID, wantName, wantExt)
			}
			changed := after.Version != g.Version
			switch {
			case c.status >= 400:
				if changed {
					t.Errorf("%s: a refused PATCH changed the version", c.name)
				}
				if c.group == "" {
					wantError(t, response{status: a.status, header: a.header, body: decode(a.body), raw: a.body}, c.status, c.scimType)
				}
			case changed == c.same || a.header.Get("Etag") != fmt.Sprintf(`W/"%d"`, after.Version):
				t.Errorf("%s: version %d→%d, Etag %q", c.name, g.Version, after.Version, a.header.Get("Etag"))
			case c.status == 200:
				if got := shapeOf(t, a.body).keys; !slices.Equal(got, c.keys) {
					t.Errorf("%s: keys %v, want %v", c.name, got, c.keys)
				}
			case a.body != "":
				t.Errorf("%s: a 204 with a body: %s", c.name, a.body)
			}
		}
		if a := serve(h, "PATCH", "/scim/v2/Groups/"+full.ID, oktaPatch(`{"op":"remove","path":"members"}`), "Authorization", "Bearer wrong"); a.status != http.StatusUnauthorized {
			t.Fatalf("PATCH without a valid token: %d %s", a.status, a.body)
		}
	})
}

func decode(body string) map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	return m
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// chunkRecorder records the sizes of the writes a handler makes.
type chunkRecorder struct {
	*httptest.ResponseRecorder
	writes []int
}

func (c *chunkRecorder) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return c.ResponseRecorder.Write(p)
}

// TestGroupsStream: a full GET of a group, and a list of groups, leave in writes of about
// the buffer's size, not as one body built in memory, so what the server holds does not
// grow with the groups.
func TestGroupsStream(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		long := strings.Repeat("display name long enough to make a big body ", 6)[:store.MaxNameLength]
		var ids []string
		for i := range 400 {
			u := store.User{UserName: fmt.Sprintf("streamed%d@example.com", i), DisplayName: long, Active: true}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		for _, name := range []string{"Streamed", "Streamed too"} {
			g := store.Group{DisplayName: name}
			if err := s.CreateGroup(ctx, &g, ids); err != nil {
				t.Fatal(err)
			}
			ids = ids[:200]
		}
		h := groupHandler(t, s)
		list, _, err := s.ListGroups(ctx, store.Query{StartIndex: 1, Count: 10})
		if err != nil || len(list) != 2 {
			t.Fatal(list, err)
		}
		for _, target := range []string{"/scim/v2/Groups/" + list[0].ID, "/scim/v2/Groups"} {
			req := httptest.NewRequest("GET", "http://scim.test"+target, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := &chunkRecorder{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.Len() < 100<<10 {
				t.Fatalf("%s: %d, %d bytes", target, rec.Code, rec.Body.Len())
			}
			if len(rec.writes) < 3 || slices.Max(rec.writes) > 33<<10 {
				t.Fatalf("%s: a %d-byte body left in writes of %v bytes", target, rec.Body.Len(), rec.writes)
			}
		}
		// The streamed list is a list response like any other.
		var page struct {
			Schemas      []string
			TotalResults int
			ItemsPerPage int
			StartIndex   int
			Resources    []struct {
				ID      string
				Members []map[string]string
			}
		}
		a := serve(h, "GET", "/scim/v2/Groups?count=1&startIndex=2", "")
		if err := json.Unmarshal([]byte(a.body), &page); err != nil || a.status != 200 || page.TotalResults != 2 || page.ItemsPerPage != 1 ||
			page.StartIndex != 2 || len(page.Resources) != 1 || page.Resources[0].ID != list[1].ID || len(page.Resources[0].Members) != 200 ||
			len(page.Schemas) != 1 || page.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:ListResponse" {
			t.Fatalf("%v %d %s", err, a.status, a.body[:min(len(a.body), 300)])
		}
	})
}
