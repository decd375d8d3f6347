package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/townsquare/townsquare/resources/limits"
	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The reproductions of issue 10's findings 1–6, over HTTP, on every backend: each answers
// a 4xx the same on SQLite and PostgreSQL, never a 5xx.

// probe is one request and the answer it must get: status, and for a SCIM error its
// scimType and a fragment of its detail.
type probe struct {
	method, path, body string
	status             int
	scimType           string
	detail             string
}

func (p probe) check(t *testing.T, r response) {
	t.Helper()
	if strings.HasPrefix(p.path, "/api/") { // scimType: the code
		if code, _ := r.body["code"].(string); r.status != p.status || !strings.Contains(r.raw, `"error":`) ||
			p.scimType != "" && code != p.scimType {
			t.Errorf("%s %s: %d %s, want %d with an admin error %s", p.method, p.path, r.status, r.raw, p.status, p.scimType)
		}
		return
	}
	if r.status != p.status {
		t.Errorf("%s %s: %d %s, want %d", p.method, p.path, r.status, shortBody(r.raw), p.status)
		return
	}
	if p.status < 400 {
		return
	}
	if got, _ := r.body["scimType"].(string); got != p.scimType {
		t.Errorf("%s %s: scimType %q, want %q; %s", p.method, p.path, got, p.scimType, shortBody(r.raw))
	}
	if d, _ := r.body["detail"].(string); !strings.Contains(d, p.detail) {
		t.Errorf("%s %s: detail %q, want it to say %q", p.method, p.path, shortBody(d), p.detail)
	}
}

func shortBody(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

const (
	userSchemaJSON  = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]`
	groupSchemaJSON = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]`
)

func patchBody(ops string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
}

// TestNULInvalidUTF8AndLongStrings is finding 4: NUL bytes or invalid UTF-8 in a string,
// id or path segment, and strings longer than their limit, answer 400 invalidValue (404
// for ids) on both databases; PostgreSQL answered 500.
func TestNULInvalidUTF8AndLongStrings(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		uid := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{`+userSchemaJSON+`,"userName":"someone@example.com"}`))
		gid := scimCreate(t, do(t, srv, "POST", "/scim/v2/Groups", `{`+groupSchemaJSON+`,"displayName":"Some Group"}`))
		long := strings.Repeat("a", 65)
		user := func(attrs string) string { return `{` + userSchemaJSON + `,` + attrs + `}` }
		put := user(`"userName":"x@example.com"`)
		groupPut := `{` + groupSchemaJSON + `,"displayName":"x"}`
		rename := patchBody(`{"op":"replace","path":"displayName","value":"x"}`)
		var probes []probe
		for _, id := range []string{"%00", "a%00b", "%FF", "%C3", long} {
			// An account is named by id, username or email: a NUL or invalid UTF-8 is
			// no name at all.
			accountStatus, accountCode := 400, "invalid"
			if id == long {
				accountStatus, accountCode = 404, "not_found"
			}
			probes = append(probes, []probe{
				{"GET", "/scim/v2/Users/" + id, "", 404, "", "not found"},
				{"PUT", "/scim/v2/Users/" + id, put, 404, "", "not found"},
				{"PATCH", "/scim/v2/Users/" + id, rename, 404, "", "not found"},
				{"DELETE", "/scim/v2/Users/" + id, "", 404, "", "not found"},
				{"GET", "/scim/v2/Groups/" + id, "", 404, "", "not found"},
				{"PUT", "/scim/v2/Groups/" + id, groupPut, 404, "", "not found"},
				{"PATCH", "/scim/v2/Groups/" + id, rename, 404, "", "not found"},
				{"DELETE", "/scim/v2/Groups/" + id, "", 404, "", "not found"},
				{"GET", "/api/v1/accounts/" + id, "", accountStatus, accountCode, ""},
				{"GET", "/api/v1/teams/" + id + "/members", "", 404, "", ""},
				{"GET", "/api/v1/teams/" + id + "/channels", "", 404, "", ""},
				{"GET", "/api/v1/teams/everyone/channels/" + id + "/members", "", 404, "", ""},
			}...)
		}
		probes = append(probes, []probe{
			{"POST", "/scim/v2/Users", user(`"userName":"a\u0000b"`), 400, "invalidValue", "userName must not contain a NUL"},
			{"POST", "/scim/v2/Users", user(`"userName":"` + strings.Repeat("é", 257) + `"`), 400, "invalidValue", "userName must not be longer than 256 characters"},
			{"POST", "/scim/v2/Users", user(`"userName":"` + strings.Repeat("a", 2800) + `"`), 400, "invalidValue", "userName must not be longer"},
			{"POST", "/scim/v2/Users", user(`"userName":"n@example.com","externalId":"\u0000"`), 400, "invalidValue", "externalId must not contain a NUL"},
			{"POST", "/scim/v2/Users", user(`"userName":"n@example.com","displayName":"x\u0000"`), 400, "invalidValue", "displayName must not contain a NUL"},
			{"POST", "/scim/v2/Users", user(`"userName":"n@example.com","name":{"givenName":"\u0000"}`), 400, "invalidValue", "name.givenName"},
			{"POST", "/scim/v2/Users", user(`"userName":"n@example.com","emails":[{"value":"\u0000"}]`), 400, "invalidValue", "emails.value must not contain a NUL"},
			{"POST", "/scim/v2/Users", user(`"userName":"n@example.com","addresses":[{"streetAddress":"` + strings.Repeat("a", 2049) + `"}]`), 400, "invalidValue", "addresses.streetAddress must not be longer than 2048"},
			{"POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"n@example.com",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"\u0000"}}`, 400, "invalidValue", "enterprise:2.0:User:department must not contain a NUL"},
			{"PUT", "/scim/v2/Users/" + uid, user(`"userName":"a\u0000b"`), 400, "invalidValue", "userName must not contain a NUL"},
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(`{"op":"replace","path":"title","value":"\u0000"}`), 400, "invalidValue", "title must not contain a NUL"},
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(`{"op":"replace","value":{"userName":"` + strings.Repeat("a", 257) + `"}}`), 400, "invalidValue", "userName must not be longer"},
			{"POST", "/scim/v2/Groups", `{` + groupSchemaJSON + `,"displayName":"a\u0000b"}`, 400, "invalidValue", "displayName must not contain a NUL"},
			{"POST", "/scim/v2/Groups", `{` + groupSchemaJSON + `,"displayName":"` + strings.Repeat("a", 257) + `"}`, 400, "invalidValue", "displayName must not be longer"},
			{"POST", "/scim/v2/Groups", `{` + groupSchemaJSON + `,"displayName":"G2","members":[{"value":"\u0000"}]}`, 400, "invalidValue", "members: no user or group with id"},
			{"PUT", "/scim/v2/Groups/" + gid, `{` + groupSchemaJSON + `,"displayName":"G2","members":[{"value":"a\u0000b"}]}`, 400, "invalidValue", "members: no user or group with id"},
			{"PATCH", "/scim/v2/Groups/" + gid, patchBody(`{"op":"add","path":"members","value":[{"value":"\u0000"}]}`), 400, "invalidValue", "members: no user or group with id"},
			{"PATCH", "/scim/v2/Groups/" + gid, patchBody(`{"op":"remove","path":"members","value":[{"value":"\u0000"}]}`), 204, "", ""},
			{"PATCH", "/scim/v2/Groups/" + gid, patchBody(`{"op":"remove","path":"members[value eq \"` + long + `\"]"}`), 204, "", ""},
			{"PATCH", "/scim/v2/Groups/" + gid, patchBody(`{"op":"replace","path":"externalId","value":"\u0000"}`), 400, "invalidValue", "externalId must not contain a NUL"},
			{"GET", "/scim/v2/Users?filter=userName%20eq%20%22a%00%22", "", 400, "invalidFilter", ""},
			{"GET", "/scim/v2/Users?filter=userName%20eq%20%22a%FF%22", "", 400, "invalidFilter", ""},
			{"GET", "/scim/v2/Groups?filter=displayName%20co%20%22%00%22", "", 400, "invalidFilter", ""},
		}...)
		for _, p := range probes {
			p.check(t, do(t, srv, p.method, p.path, p.body))
		}
		// Nothing was written by any of them but the two removes that succeed (each
		// PATCH that succeeds is a new version).
		if r := do(t, srv, "GET", "/scim/v2/Users", ""); r.body["totalResults"] != 1.0 {
			t.Errorf("users after the probes: %s", shortBody(r.raw))
		}
		r := do(t, srv, "GET", "/scim/v2/Groups/"+gid, "")
		if r.body["displayName"] != "Some Group" || r.body["meta"].(map[string]any)["version"] != `W/"3"` {
			t.Errorf("group after the probes: %s", shortBody(r.raw))
		}
	})
}

// serveForTest runs the whole server as `townsquare serve` does (server.Serve, with its
// http.Server settings) on a loopback port, on s, until the test ends.
func serveForTest(t *testing.T, s store.Store) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	h, err := server.Handler(server.Config{Store: s, Log: slog.New(slog.DiscardHandler), BaseURL: base + "/scim/v2", BootstrapToken: token})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, h, slog.New(slog.DiscardHandler), time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return base
}

// getRaw sends a GET whose request target is sent exactly as given (parentheses
// unescaped, as a client may send them), with extra header bytes, and returns the status
// and the SCIM error's scimType.
func getRaw(t *testing.T, base, target string, headerBytes int) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = target
	req.Header.Set("Authorization", "Bearer "+token)
	if headerBytes > 0 {
		req.Header.Set("X-Padding", strings.Repeat("p", headerBytes))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %.80s…: %v", target, err)
	}
	defer resp.Body.Close()
	var body struct{ ScimType string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.ScimType
}

// TestDeepFilters is finding 1: a filter nested 100,000 levels deep (200 KB) made the
// parser overflow Go's stack, killing the process. The server now refuses a request line
// and headers over server.MaxHeaderBytes (431) before reading them whole, and a filter
// over its length, depth or term limits (resources/limits) is 400 invalidFilter before
// any parser sees it; the server keeps serving.
func TestDeepFilters(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		base := serveForTest(t, s)
		users := "/scim/v2/Users?filter="
		for _, c := range []struct {
			name        string
			target      string
			headerBytes int
			status      int
			scimType    string
		}{
			{"100,000 levels (200 KB)", users + nested(100000, "userName%20pr"), 0, 431, ""},
			{"20,000 levels (40 KB)", users + nested(20000, "userName%20pr"), 0, 400, "invalidFilter"},
			{"4,000 levels (8 KB)", users + nested(4000, "userName%20pr"), 0, 400, "invalidFilter"},
			{"11 levels", users + nested(11, "userName%20pr"), 0, 400, "invalidFilter"},
			{"10 levels", users + nested(10, "userName%20pr"), 0, 200, ""},
			{"10 levels in a value path", users + nested(9, "emails%5Bvalue%20pr%5D"), 0, 200, ""},
			{"11 levels in a value path", users + nested(10, "emails%5Bvalue%20pr%5D"), 0, 400, "invalidFilter"},
			{"headers just under the limit", users + "userName%20pr", server.MaxHeaderBytes - 1024, 200, ""},
			{"headers over the limit and its slack", users + "userName%20pr", server.MaxHeaderBytes + 8192, 431, ""},
			{"a group filter", "/scim/v2/Groups?filter=" + nested(11, "displayName%20pr"), 0, 400, "invalidFilter"},
		} {
			status, scimType := getRaw(t, base, c.target, c.headerBytes)
			if status != c.status || scimType != c.scimType {
				t.Errorf("%s: %d %q, want %d %q", c.name, status, scimType, c.status, c.scimType)
			}
		}
		// A PATCH path's value filter is a filter, in a body of up to 1 MiB: bounded alike.
		srv, _ := testServer(t, s)
		uid := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{`+userSchemaJSON+`,"userName":"deep@example.com"}`))
		gid := scimCreate(t, do(t, srv, "POST", "/scim/v2/Groups", `{`+groupSchemaJSON+`,"displayName":"Deep"}`))
		deep := `emails[` + nested(100000, `type eq \"work\"`) + `].value`
		for _, p := range []probe{
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(`{"op":"replace","path":"` + deep + `","value":"x"}`), 400, "invalidPath", "the path is longer than 8192 bytes"},
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(`{"op":"replace","value":{"` + deep + `":"x"}}`), 400, "invalidValue", "the path is longer than 8192 bytes"},
			{"PATCH", "/scim/v2/Groups/" + gid, patchBody(`{"op":"remove","path":"members[` + nested(100000, `value eq \"x\"`) + `]"}`), 400, "invalidPath", "the path is longer than 8192 bytes"},
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(`{"op":"replace","path":"emails[` + nested(10, `type eq \"work\"`) + `].value","value":"x"}`), 400, "invalidPath", "the path is nested more than 10 levels"},
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"w@example.com"}`), 200, "", ""},
		} {
			p.check(t, do(t, srv, p.method, p.path, p.body))
		}
		// Still serving.
		if status, _ := getRaw(t, base, "/scim/v2/Users", 0); status != 200 {
			t.Errorf("after the deep filters: %d", status)
		}
	})
}

func nested(n int, f string) string { return strings.Repeat("(", n) + f + strings.Repeat(")", n) }

// TestPatchLimits is finding 2: one PATCH of 10,000 email adds took 51 s of CPU and held
// SQLite's write lock all along. A PATCH now holds at most limits.MaxPatchOperations
// operations and names at most limits.MaxPatchMemberIDs members, a user's emails,
// phoneNumbers and addresses hold at most store.MaxMultiValues values each, and the
// applier's cost is linear (resources/patch: TestApplyCostIsLinear); beyond a limit the
// answer is 400 invalidValue naming it, and nothing is written.
func TestPatchLimits(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		uid := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{`+userSchemaJSON+`,"userName":"patched@example.com"}`))
		gid := scimCreate(t, do(t, srv, "POST", "/scim/v2/Groups", `{`+groupSchemaJSON+`,"displayName":"Patched"}`))
		emails := func(n int) string {
			var b strings.Builder
			for i := range n {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"value":"e%d@example.com","type":"work"}`, i)
			}
			return b.String()
		}
		repeat := func(op string, n int) string { return strings.TrimSuffix(strings.Repeat(op+",", n), ",") }
		ids := func(n int) string {
			var b strings.Builder
			for i := range n {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"value":"00000000-0000-0000-0000-%012d"}`, i)
			}
			return b.String()
		}
		start := time.Now()
		for _, p := range []probe{
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(`{"op":"add","path":"emails","value":[` + emails(10000) + `]}`), 400, "invalidValue", "emails must not hold more than 100 values"},
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(repeat(`{"op":"add","path":"emails","value":[{"value":"x@example.com"}]}`, 10000)), 400, "invalidValue", "at most 2000 operations"},
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(repeat(`{"op":"replace","path":"title","value":"t"}`, 2001)), 400, "invalidValue", "at most 2000 operations; this one has 2001"},
			{"PATCH", "/scim/v2/Groups/" + gid, patchBody(`{"op":"remove","path":"members","value":[` + ids(10001) + `]}`), 400, "invalidValue", "at most 10000 members"},
			{"POST", "/scim/v2/Users", `{` + userSchemaJSON + `,"userName":"many@example.com","emails":[` + emails(101) + `]}`, 400, "invalidValue", "emails must not hold more than 100 values"},
		} {
			p.check(t, do(t, srv, p.method, p.path, p.body))
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("the refused PATCHes took %v", d)
		}
		r := do(t, srv, "GET", "/scim/v2/Users/"+uid, "")
		if r.body["emails"] != nil || r.body["title"] != nil || r.header.Get("ETag") != `W/"1"` {
			t.Fatalf("a refused PATCH wrote: %s", shortBody(r.raw))
		}
		// At the limits.
		for _, p := range []probe{
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(`{"op":"add","path":"emails","value":[` + emails(100) + `]}`), 200, "", ""},
			{"PATCH", "/scim/v2/Users/" + uid, patchBody(repeat(`{"op":"replace","path":"title","value":"t"}`, 2000)), 200, "", ""},
			{"PATCH", "/scim/v2/Groups/" + gid, patchBody(`{"op":"remove","path":"members","value":[` + ids(10000) + `]}`), 204, "", ""},
			{"PATCH", "/scim/v2/Groups/" + gid, patchBody(repeat(`{"op":"remove","path":"members[value eq \"00000000-0000-0000-0000-000000000001\"]"}`, 2000)), 204, "", ""},
		} {
			p.check(t, do(t, srv, p.method, p.path, p.body))
		}
		if r := do(t, srv, "GET", "/scim/v2/Users/"+uid, ""); len(r.body["emails"].([]any)) != 100 || r.body["title"] != "t" {
			t.Fatalf("at the limits: %s", shortBody(r.raw))
		}
	})
}

// TestSQLParameterBounds is finding 3: SQLite answered 500 above about 4,700 emails ("too
// many SQL variables") and for co values over about 50 KB ("LIKE pattern too complex");
// PostgreSQL took 10,000 emails, and every later update of that user failed with 500
// (65,535 parameters). The statements' sizes now follow bounded inputs: a user with
// every multi-valued attribute at store.MaxMultiValues is created, replaced and patched
// on both databases, and a co filter at limits.MaxFilterLength, every character escaped
// in its LIKE pattern, runs; one over either limit is a 400.
func TestSQLParameterBounds(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		list := func(n int, format string) string {
			var b strings.Builder
			for i := range n {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, format, i, i)
			}
			return b.String()
		}
		long := strings.Repeat("é", store.MaxNameLength-8)
		text := strings.Repeat("é", store.MaxTextLength)
		user := func(userName string, n int) string {
			return `{` + userSchemaJSON + `,"userName":"` + userName + `",
			"emails":[` + list(n, `{"value":"%03d`+long[:len(long)-14]+`@example.com","type":"work%d"}`) + `],
			"phoneNumbers":[` + list(n, `{"value":"+1 555 %04d","type":"`+long+`%d"}`) + `],
			"addresses":[` + list(n, `{"streetAddress":"%d `+text[:len(text)-16]+`","locality":"`+long+`%d"}`) + `]}`
		}
		id := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", user("full@example.com", store.MaxMultiValues)))
		for _, p := range []probe{
			{"PUT", "/scim/v2/Users/" + id, user("full2@example.com", store.MaxMultiValues), 200, "", ""},
			{"PATCH", "/scim/v2/Users/" + id, patchBody(`{"op":"replace","path":"emails","value":[` + list(store.MaxMultiValues, `{"value":"r%03d@example.com","display":"%d"}`) + `]}`), 200, "", ""},
			{"PATCH", "/scim/v2/Users/" + id, patchBody(`{"op":"replace","path":"active","value":false}`), 200, "", ""},
			{"POST", "/scim/v2/Users", user("over@example.com", store.MaxMultiValues+1), 400, "invalidValue", "emails must not hold more than 100 values"},
		} {
			p.check(t, do(t, srv, p.method, p.path, p.body))
		}
		r := do(t, srv, "GET", "/scim/v2/Users/"+id, "")
		for _, attr := range []string{"emails", "phoneNumbers", "addresses"} {
			if l, _ := r.body[attr].([]any); len(l) != store.MaxMultiValues {
				t.Errorf("%s: %d values, want %d", attr, len(l), store.MaxMultiValues)
			}
		}
		// The filter's LIKE pattern at its longest: every character escaped.
		prefix := `userName co "`
		escaped := strings.Repeat("%", limits.MaxFilterLength-len(prefix)-1)
		for _, c := range []struct {
			filter string
			status int
		}{
			{prefix + escaped + `"`, 200},
			{prefix + escaped + `%"`, 400},
		} {
			r := do(t, srv, "GET", "/scim/v2/Users?filter="+url.QueryEscape(c.filter), "")
			if r.status != c.status {
				t.Errorf("a co filter of %d bytes: %d %s", len(c.filter), r.status, shortBody(r.raw))
			}
		}
	})
}

// TestStrictBodies is finding 5: a body with data after its JSON value was accepted, and a
// text/plain body was read as SCIM. A body is now exactly one JSON value (whitespace
// aside), else 400 invalidSyntax; its Content-Type is application/scim+json or
// application/json (any parameters, a charset only UTF-8), else 415; a body without
// Content-Type is read as JSON.
func TestStrictBodies(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		uid := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{`+userSchemaJSON+`,"userName":"strict@example.com"}`))
		gid := scimCreate(t, do(t, srv, "POST", "/scim/v2/Groups", `{`+groupSchemaJSON+`,"displayName":"Strict"}`))
		n := 0
		user := func() string { n++; return fmt.Sprintf(`{`+userSchemaJSON+`,"userName":"u%d@example.com"}`, n) }
		rename := patchBody(`{"op":"replace","path":"displayName","value":"x"}`)
		for _, c := range []struct {
			method, path, body, contentType string
			status                          int
			scimType                        string
		}{
			{"POST", "/scim/v2/Users", user() + `{}`, "application/scim+json", 400, "invalidSyntax"},
			{"POST", "/scim/v2/Users", user() + ` trailing`, "application/scim+json", 400, "invalidSyntax"},
			{"POST", "/scim/v2/Users", user() + `}`, "application/scim+json", 400, "invalidSyntax"},
			{"POST", "/scim/v2/Users", user() + " \r\n\t", "application/scim+json", 201, ""},
			{"PUT", "/scim/v2/Users/" + uid, `{` + userSchemaJSON + `,"userName":"strict@example.com"}[]`, "application/scim+json", 400, "invalidSyntax"},
			{"PATCH", "/scim/v2/Users/" + uid, rename + `{}`, "application/scim+json", 400, "invalidSyntax"},
			{"PATCH", "/scim/v2/Groups/" + gid, rename + `x`, "application/scim+json", 400, "invalidSyntax"},
			{"POST", "/scim/v2/Groups", `{` + groupSchemaJSON + `,"displayName":"G2"} {}`, "application/json", 400, "invalidSyntax"},
			{"POST", "/scim/v2/Users", user(), "text/plain", 415, ""},
			{"POST", "/scim/v2/Users", user(), "application/xml", 415, ""},
			{"POST", "/scim/v2/Users", user(), "application/x-www-form-urlencoded", 415, ""},
			{"POST", "/scim/v2/Users", user(), "application/json; charset=iso-8859-1", 415, ""},
			{"POST", "/scim/v2/Users", user(), "not a media type;;", 415, ""},
			{"PUT", "/scim/v2/Users/" + uid, `{` + userSchemaJSON + `,"userName":"strict@example.com"}`, "text/plain", 415, ""},
			{"PATCH", "/scim/v2/Users/" + uid, rename, "text/plain; charset=utf-8", 415, ""},
			{"PATCH", "/scim/v2/Groups/" + gid, rename, "multipart/form-data", 415, ""},
			{"POST", "/scim/v2/Users", user(), "application/scim+json; charset=utf-8", 201, ""},
			{"POST", "/scim/v2/Users", user(), "application/json", 201, ""},
			{"POST", "/scim/v2/Users", user(), "Application/JSON; Charset=UTF-8", 201, ""},
			{"POST", "/scim/v2/Users", user(), "application/json;charset=utf8", 201, ""},
			{"POST", "/scim/v2/Users", user(), "", 201, ""}, // no Content-Type: read as JSON
			{"PATCH", "/scim/v2/Groups/" + gid, rename, "application/json; charset=UTF-8", 204, ""},
		} {
			r := do(t, srv, c.method, c.path, c.body, "Content-Type", c.contentType)
			if r.status != c.status {
				t.Errorf("%s %s with %q, %.40q: %d %s, want %d", c.method, c.path, c.contentType, c.body, r.status, shortBody(r.raw), c.status)
				continue
			}
			if c.status >= 400 {
				wantError(t, r, c.status, c.scimType)
			}
		}
		r := do(t, srv, "GET", "/scim/v2/Users/"+uid, "")
		if r.header.Get("ETag") != `W/"1"` || r.body["displayName"] != nil {
			t.Errorf("a refused body wrote: %s", shortBody(r.raw))
		}
	})
}

// idRecorder is a store that records the id of every call that takes one.
type idRecorder struct {
	store.Store
	mu  sync.Mutex
	ids []string
}

func (r *idRecorder) record(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
}

func (r *idRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ids) == 0 {
		return "(none)"
	}
	return r.ids[len(r.ids)-1]
}

func (r *idRecorder) GetUser(ctx context.Context, id string) (store.User, error) {
	r.record(id)
	return r.Store.GetUser(ctx, id)
}

func (r *idRecorder) UpdateUser(ctx context.Context, id string, v int64, fn func(*store.User) error) (store.User, error) {
	r.record(id)
	return r.Store.UpdateUser(ctx, id, v, fn)
}

func (r *idRecorder) DeleteUser(ctx context.Context, id string, v int64) error {
	r.record(id)
	return r.Store.DeleteUser(ctx, id, v)
}

func (r *idRecorder) GetGroup(ctx context.Context, id string) (store.Group, error) {
	r.record(id)
	return r.Store.GetGroup(ctx, id)
}

func (r *idRecorder) UpdateGroup(ctx context.Context, id string, v int64, fn func(*store.Group) error, ops []store.MemberOp) (store.Group, error) {
	r.record(id)
	return r.Store.UpdateGroup(ctx, id, v, fn, ops)
}

func (r *idRecorder) DeleteGroup(ctx context.Context, id string, v int64) error {
	r.record(id)
	return r.Store.DeleteGroup(ctx, id, v)
}

// TestIDsAreUnescapedOnce is finding 6: /Groups/{id} ids were unescaped twice, so %2500
// named the id NUL. The router's unescaping is the only one: %2500 is the three
// characters %00, %252500 is %2500, and a real NUL (%00) is an id that names nothing:
// 404, never a 5xx, on every method of both endpoints and on both databases.
func TestIDsAreUnescapedOnce(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		rec := &idRecorder{Store: s}
		h := groupHandler(t, rec)
		for _, endpoint := range []string{"Users", "Groups", "users", "groups"} {
			body := map[string]string{
				"PUT":   `{` + userSchemaJSON + `,"userName":"x@example.com"}`,
				"PATCH": patchBody(`{"op":"replace","path":"displayName","value":"x"}`),
			}
			if strings.EqualFold(endpoint, "Groups") {
				body["PUT"] = `{` + groupSchemaJSON + `,"displayName":"x"}`
			}
			for _, method := range []string{"GET", "PUT", "PATCH", "DELETE"} {
				for _, c := range []struct{ escaped, id string }{
					{"%2500", "%00"},
					{"%252500", "%2500"},
					{"%25zz", "%zz"},
					{"%00", "\x00"},
					{"a%00b", "a\x00b"},
					{"%FF", "\xff"},
				} {
					a := serve(h, method, "/scim/v2/"+endpoint+"/"+c.escaped, body[method], "Content-Type", "application/scim+json")
					if a.status != 404 {
						t.Errorf("%s /%s/%s: %d %s, want 404", method, endpoint, c.escaped, a.status, shortBody(a.body))
					}
					if got := rec.last(); got != c.id {
						t.Errorf("%s /%s/%s: the store was asked for %q, want %q", method, endpoint, c.escaped, got, c.id)
					}
				}
			}
		}
	})
}
