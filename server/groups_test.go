package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"encoding/json"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The server answers GET and PATCH /Groups/{id} itself (streaming members; reading the
// IdPs' PATCH paths without the library's parser). These tests send the same requests to
// the server and to the library handler it used to route them to, on the same store, and
// want the same answers: status, headers and body bytes.

const groupsBaseURL = "http://scim.test/scim/v2"

// groupHandlers returns the full server handler and the library path it replaced.
func groupHandlers(t *testing.T, s store.Store) (ours, library http.Handler) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ours, err := server.Handler(server.Config{Store: s, Log: log, BaseURL: groupsBaseURL, BootstrapToken: token})
	if err != nil {
		t.Fatal(err)
	}
	svc := &resources.Service{Store: s, Log: log, BaseURL: groupsBaseURL}
	lib, err := svc.SCIMServer()
	if err != nil {
		t.Fatal(err)
	}
	return ours, resources.NormalizeBody(http.StripPrefix(server.SCIMPrefix, lib))
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

// sameAnswer fails unless a and b are the same answer, byte for byte; when the bodies
// differ it also compares them decoded, so that the message shows what differs.
func sameAnswer(t *testing.T, what string, ours, lib answer) {
	t.Helper()
	if ours.status != lib.status || !reflect.DeepEqual(ours.header, lib.header) || ours.body != lib.body {
		var om, lm any
		_ = json.Unmarshal([]byte(ours.body), &om)
		_ = json.Unmarshal([]byte(lib.body), &lm)
		t.Errorf("%s: answers differ (decoded bodies equal: %v)\n ours    %d %v\n %s\n library %d %v\n %s",
			what, reflect.DeepEqual(om, lm), ours.status, ours.header, ours.body, lib.status, lib.header, lib.body)
	}
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

// groupProjections are attributes/excludedAttributes queries, including odd ones the
// projection rules still answer.
var groupProjections = []string{
	"", "excludedAttributes=members", "attributes=displayName", "attributes=members", "attributes=members.value",
	"attributes=MEMBERS.Display,members.value", "attributes=members.value,members", "attributes=members.type",
	"attributes=members.$ref", "excludedAttributes=members.display", "excludedAttributes=members.value,members.type,members.display",
	"attributes=externalId", "attributes=id", "excludedAttributes=externalId", "excludedAttributes=displayName,members",
	"attributes=urn:ietf:params:scim:schemas:core:2.0:Group:members", "attributes=displayName.x",
	"attributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "excludedAttributes=meta,id,schemas",
	"attributes=emails[type eq \"work\"]", "attributes=members&excludedAttributes=members", "excludedAttributes=",
}

func TestGroupGetMatchesLibrary(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ours, lib := groupHandlers(t, s)
		_, full, empty := groupFixture(t, s)
		for _, g := range []store.Group{full, empty} {
			for _, q := range groupProjections {
				target := "/scim/v2/Groups/" + g.ID
				if q != "" {
					target += "?" + strings.ReplaceAll(q, " ", "%20")
				}
				sameAnswer(t, "GET "+target, serve(ours, "GET", target, ""), serve(lib, "GET", target, ""))
			}
		}
		// The member order and content are the library's: check the full answer decodes
		// to the members we made, so the comparison above compares something.
		a := serve(ours, "GET", "/scim/v2/Groups/"+full.ID, "")
		var body struct {
			Members []map[string]string
		}
		if err := json.Unmarshal([]byte(a.body), &body); err != nil || len(body.Members) != 5 ||
			body.Members[0]["display"] != "Zoë <admin> & co" || body.Members[3]["display"] != "member3@example.com" ||
			body.Members[0]["type"] != "User" || a.header.Get("Etag") != `W/"1"` {
			t.Fatalf("full GET: %v\n%s", err, a.body)
		}
		for _, target := range []string{
			"/scim/v2/Groups/no-such-group", "/scim/v2/Groups/no-such-group?excludedAttributes=members",
			"/scim/v2/Groups/%25zz", "/scim/v2/Groups/%2541", "/scim/v2/Groups/.search", "/scim/v2/groups/" + full.ID,
		} {
			sameAnswer(t, "GET "+target, serve(ours, "GET", target, ""), serve(lib, "GET", strings.Replace(target, "/groups/", "/Groups/", 1), ""))
		}
		// Authentication still applies.
		if a := serve(ours, "GET", "/scim/v2/Groups/"+full.ID, "", "Authorization", "Bearer wrong"); a.status != http.StatusUnauthorized {
			t.Fatalf("GET without a valid token: %d %s", a.status, a.body)
		}
	})
}

// TestGroupGetErrorBeforeFirstByte: when reading the members fails before anything was
// sent, the answer is the library's error, not a 200.
func TestGroupGetErrorBeforeFirstByte(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		_, full, _ := groupFixture(t, s)
		svc := &resources.Service{Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BaseURL: groupsBaseURL}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the member query fails at once
		rec := httptest.NewRecorder()
		svc.GetGroup(rec, httptest.NewRequest("GET", "/scim/v2/Groups/"+full.ID, nil).WithContext(ctx), full.ID)
		if rec.Code == http.StatusOK || rec.Header().Get("Etag") != "" || !strings.Contains(rec.Body.String(), resources.ErrorURN) {
			t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body.String())
		}
	})
}

// groupPatchCase is a PATCH sent to both handlers. In path, body and the If-Match value,
// {g} is the group's id, {u0}..{u5} user ids, {nobody} an id that names no user,
// {current} and {stale} the group's version as an ETag before the request.
type groupPatchCase struct {
	name, query, body, ifMatch string
	group                      string // "" for {g}
}

func oktaPatch(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

var groupPatchCases = []groupPatchCase{
	{name: "okta remove and add", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`, `{"op":"remove","path":"members[value eq \"{u5}\"]"}`,
		`{"op":"add","path":"members","value":[{"value":"{u5}","display":"x"}]}`)},
	{name: "okta rename", body: oktaPatch(`{"op":"replace","value":{"id":"{g}","displayName":"Renamed & <new>"}}`)},
	{name: "okta same name", body: oktaPatch(`{"op":"replace","value":{"id":"{g}","displayName":"Eng & <Ops> \"quoted\""}}`)},
	{name: "okta full push", body: oktaPatch(`{"op":"replace","path":"members","value":[{"value":"{u1}"},{"value":"{u5}"}]}`)},
	{name: "okta push empty", body: oktaPatch(`{"op":"replace","path":"members","value":[]}`)},
	{name: "entra add", body: oktaPatch(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"{u5}"}]}`)},
	{name: "entra add one object", body: oktaPatch(`{"op":"Add","path":"members","value":{"value":"{u5}"}}`)},
	{name: "entra remove list", body: oktaPatch(`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"{u0}"},{"value":"{u1}"}]}`)},
	{name: "entra replace attributes", body: oktaPatch(`{"op":"Replace","value":{"displayName":"Entra","externalId":"e-2"}}`)},
	{name: "remove all", body: oktaPatch(`{"op":"remove","path":"members"}`)},
	{name: "path-less members and name", body: oktaPatch(`{"op":"add","value":{"Members":[{"value":"{u5}"}],"displayName":"Both"}}`)},
	{name: "projection excluding members", query: "excludedAttributes=members", body: oktaPatch(`{"op":"add","path":"members","value":[{"value":"{u5}"}]}`)},
	{name: "projection with members", query: "attributes=members.value,displayName", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`)},
	{name: "projection full", query: "excludedAttributes=", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`)},
	{name: "projection without attributes", query: "attributes=id", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`)},
	{name: "if-match current", ifMatch: "{current}", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`)},
	{name: "if-match stale", ifMatch: "{stale}", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`)},
	{name: "if-match foreign", ifMatch: `"abc"`, body: oktaPatch(`{"op":"remove","path":"members"}`)},
	{name: "unknown member", body: oktaPatch(`{"op":"add","path":"members","value":[{"value":"{nobody}"},{"value":"{u5}"}]}`)},
	{name: "removing a non-member", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{nobody}\"]"}`)},
	{name: "nested group", body: oktaPatch(`{"op":"add","path":"members","value":[{"value":"{u5}","type":"Group"}]}`)},
	{name: "member without value", body: oktaPatch(`{"op":"add","path":"members","value":[{"display":"x"}]}`)},
	{name: "empty filter value", body: oktaPatch(`{"op":"remove","path":"members[value eq \"\"]"}`)},
	{name: "empty displayName", body: oktaPatch(`{"op":"replace","value":{"displayName":""}}`)},
	{name: "unknown group", group: "no-such-group", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\"]"}`)},
	{name: "unknown group, library shape", group: "no-such-group", body: oktaPatch(`{"op":"replace","path":"displayName","value":"x"}`)},
	{name: "id that does not unescape", group: "%25zz", body: oktaPatch(`{"op":"remove","path":"members"}`)},
	{name: "search path", group: ".search", body: oktaPatch(`{"op":"remove","path":"members"}`)},
	{name: "mixed case and trailing data", body: `{"SCHEMAS":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"OP":"ADD","PATH":"Members","VALUE":[{"VALUE":"{u5}"}]}]} trailing`},
	// Shapes the server leaves to the library.
	{name: "remove without path", body: oktaPatch(`{"op":"remove"}`)},
	{name: "displayName path", body: oktaPatch(`{"op":"replace","path":"displayName","value":"By path"}`)},
	{name: "member sub-attribute", body: oktaPatch(`{"op":"replace","path":"members[value eq \"{u0}\"].display","value":"x"}`)},
	{name: "or filter", body: oktaPatch(`{"op":"remove","path":"members[value eq \"{u0}\" or value eq \"{u1}\"]"}`)},
	{name: "unknown op", body: oktaPatch(`{"op":"move","path":"members","value":[]}`)},
	{name: "unknown attribute", body: oktaPatch(`{"op":"replace","value":{"title":"x"}}`)},
	{name: "null value", body: oktaPatch(`{"op":"add","path":"members","value":null}`)},
	{name: "bad member value", body: oktaPatch(`{"op":"add","path":"members","value":[{"value":5}]}`)},
	{name: "no operations", body: oktaPatch()},
	{name: "wrong schema", body: `{"schemas":["urn:x"],"Operations":[{"op":"remove","path":"members"}]}`},
	{name: "not json", body: `{"schemas":`},
	{name: "escaped filter value", body: oktaPatch(`{"op":"remove","path":"members[value eq \"a\\\"b\"]"}`)},
}

// groupState is what a PATCH leaves behind.
type groupState struct {
	group   store.Group
	members []string
}

func TestGroupPatchMatchesLibrary(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ours, lib := groupHandlers(t, s)
		users, full, _ := groupFixture(t, s)
		ctx := context.Background()
		reset := func() store.Group {
			g, err := s.UpdateGroup(ctx, full.ID, 0, func(g *store.Group) error {
				g.DisplayName, g.ExternalID = full.DisplayName, full.ExternalID
				return nil
			}, []store.MemberOp{{Kind: store.ReplaceMembers, IDs: users[:5]}})
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		state := func() groupState {
			g, err := s.GetGroup(ctx, full.ID)
			if err != nil {
				t.Fatal(err)
			}
			var st groupState
			st.group = g
			if err := s.EachGroupMember(ctx, full.ID, func(m store.Member) error { st.members = append(st.members, m.Value); return nil }); err != nil {
				t.Fatal(err)
			}
			slices.Sort(st.members)
			return st
		}
		lastModified := regexp.MustCompile(`"lastModified":"[^"]*"`)
		run := func(h http.Handler, c groupPatchCase) (answer, groupState) {
			g := reset()
			next, cur, stale := fmt.Sprintf(`W/"%d"`, g.Version+1), fmt.Sprintf(`W/"%d"`, g.Version), fmt.Sprintf(`W/"%d"`, g.Version-1)
			r := strings.NewReplacer("{g}", full.ID, "{nobody}", "00000000-0000-0000-0000-000000000000", "{current}", cur, "{stale}", stale,
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
			// The two runs start from different versions: name the new one the same way.
			if a.header.Get("Etag") == next {
				a.header.Set("Etag", "NEXT")
			}
			a.body = strings.ReplaceAll(a.body, strings.ReplaceAll(next, `"`, `\"`), "NEXT")
			a.body = lastModified.ReplaceAllString(a.body, `"lastModified":"T"`)
			st := state()
			if st.group.Version == g.Version+1 {
				st.group.Version = -1
			} else if st.group.Version == g.Version {
				st.group.Version = 0
			}
			st.group.LastModified = st.group.Created
			return a, st
		}
		for _, c := range groupPatchCases {
			oa, os := run(ours, c)
			la, ls := run(lib, c)
			sameAnswer(t, c.name, oa, la)
			if !reflect.DeepEqual(os, ls) {
				t.Errorf("%s: state differs\n ours    %+v\n library %+v", c.name, os, ls)
			}
		}
		// A fast-path shape without a valid token is still refused.
		if a := serve(ours, "PATCH", "/scim/v2/Groups/"+full.ID, oktaPatch(`{"op":"remove","path":"members"}`), "Authorization", "Bearer wrong"); a.status != http.StatusUnauthorized {
			t.Fatalf("PATCH without a valid token: %d %s", a.status, a.body)
		}
	})
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

// TestGroupGetStreams: a full GET leaves in writes of about the buffer's size, not as
// one body built in memory, so what the server holds does not grow with the group.
func TestGroupGetStreams(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		long := strings.Repeat("display name long enough to make a big body ", 6)
		var ids []string
		for i := range 400 {
			u := store.User{UserName: fmt.Sprintf("streamed%d@example.com", i), DisplayName: long, Active: true}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		g := store.Group{DisplayName: "Streamed"}
		if err := s.CreateGroup(ctx, &g, ids); err != nil {
			t.Fatal(err)
		}
		ours, _ := groupHandlers(t, s)
		req := httptest.NewRequest("GET", "http://scim.test/scim/v2/Groups/"+g.ID, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := &chunkRecorder{ResponseRecorder: httptest.NewRecorder()}
		ours.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.Len() < 100<<10 {
			t.Fatalf("%d, %d bytes", rec.Code, rec.Body.Len())
		}
		if len(rec.writes) < 3 || slices.Max(rec.writes) > 33<<10 {
			t.Fatalf("a %d-byte body left in writes of %v bytes", rec.Body.Len(), rec.writes)
		}
	})
}
