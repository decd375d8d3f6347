package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"encoding/json"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/storetest"
)

// The server answers GET /Groups/{id} itself (streaming members). These tests send the same requests to
// the server and to the library handler it used to route them to, on the same store, and
// want the same answers: status, headers and body bytes.

const groupsBaseURL = "http://scim.test/scim/v2"

// groupHandlers returns the full server handler and the library path it replaced.
func groupHandlers(t *testing.T, s *store.Store) (ours, library http.Handler) {
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
func groupFixture(t *testing.T, s *store.Store) (users []string, full, empty store.Group) {
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
	storetest.Each(t, func(t *testing.T, s *store.Store) {
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
	storetest.Each(t, func(t *testing.T, s *store.Store) {
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
