package server_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestConditionalRequests: If-Match and If-None-Match on a resource (RFC 7644 §3.14, RFC
// 9110 §13). A GET whose If-None-Match names the current version (or is "*") is 304
// with the ETag and no body; one whose If-Match names another version is 412, If-Match
// deciding first. A PUT, PATCH or DELETE whose If-None-Match names the current version
// is 412 and changes nothing; naming another version, it is applied.
func TestConditionalRequests(t *testing.T) {
	type env struct {
		t    *testing.T
		srv  *httptest.Server
		path string // the resource's path
		body string // a PUT body for it
		tag  string // its current ETag
	}
	const other = `W/"999999"`
	get := func(e env, headers ...string) response {
		return do(e.t, e.srv, "GET", e.path, "", headers...)
	}
	wantNotModified := func(e env, r response) {
		e.t.Helper()
		if r.status != 304 || r.header.Get("ETag") != e.tag || r.raw != "" {
			e.t.Fatalf("want 304 with ETag %s and no body: %d %q %s", e.tag, r.status, r.header.Get("ETag"), r.raw)
		}
	}
	wantUnchanged := func(e env) {
		e.t.Helper()
		if r := get(e); r.status != 200 || r.header.Get("ETag") != e.tag {
			e.t.Fatalf("the resource changed: %d %q", r.status, r.header.Get("ETag"))
		}
	}
	patchBody := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"externalId","value":"cond"}]}`
	cases := []struct {
		name string
		run  func(e env)
	}{
		{"GET, If-None-Match the current version: 304", func(e env) {
			wantNotModified(e, get(e, "If-None-Match", e.tag))
		}},
		{"GET, If-None-Match a list holding it, or *: 304", func(e env) {
			wantNotModified(e, get(e, "If-None-Match", other+", "+e.tag))
			wantNotModified(e, get(e, "If-None-Match", "*"))
			wantNotModified(e, get(e, "If-None-Match", e.tag[2:])) // weak comparison: the strong form names it too
		}},
		{"GET, If-None-Match another version: 200", func(e env) {
			if r := get(e, "If-None-Match", other); r.status != 200 || r.body["id"] == nil {
				e.t.Fatalf("%d %s", r.status, r.raw)
			}
		}},
		{"GET, If-Match another version: 412; the current one or *: 200", func(e env) {
			wantError(e.t, get(e, "If-Match", other), 412, "preconditionFailed")
			for _, h := range []string{e.tag, "*"} {
				if r := get(e, "If-Match", h); r.status != 200 {
					e.t.Fatalf("If-Match %s: %d %s", h, r.status, r.raw)
				}
			}
		}},
		{"GET, a failed If-Match decides before If-None-Match", func(e env) {
			wantError(e.t, get(e, "If-Match", other, "If-None-Match", e.tag), 412, "preconditionFailed")
			wantNotModified(e, get(e, "If-Match", e.tag, "If-None-Match", e.tag))
		}},
		{"writes, If-None-Match the current version or *: 412, nothing changed", func(e env) {
			for _, h := range []string{e.tag, "*"} {
				wantError(e.t, do(e.t, e.srv, "PUT", e.path, e.body, "If-None-Match", h), 412, "preconditionFailed")
				wantError(e.t, do(e.t, e.srv, "PATCH", e.path, patchBody, "If-None-Match", h), 412, "preconditionFailed")
				wantError(e.t, do(e.t, e.srv, "DELETE", e.path, "", "If-None-Match", h), 412, "preconditionFailed")
			}
			wantUnchanged(e)
		}},
		{"writes, If-None-Match another version: applied", func(e env) {
			if r := do(e.t, e.srv, "PATCH", e.path, patchBody, "If-None-Match", other); r.status != 200 && r.status != 204 {
				e.t.Fatalf("PATCH: %d %s", r.status, r.raw)
			}
			if r := do(e.t, e.srv, "DELETE", e.path, "", "If-None-Match", other); r.status != 204 {
				e.t.Fatalf("DELETE: %d %s", r.status, r.raw)
			}
		}},
		{"writes, If-Match decides before If-None-Match", func(e env) {
			wantError(e.t, do(e.t, e.srv, "PATCH", e.path, patchBody, "If-Match", other, "If-None-Match", other), 412, "preconditionFailed")
			wantUnchanged(e)
			if r := do(e.t, e.srv, "PATCH", e.path, patchBody, "If-Match", e.tag, "If-None-Match", other); r.status != 200 && r.status != 204 {
				e.t.Fatalf("both conditions hold: %d %s", r.status, r.raw)
			}
		}},
		{"no resource: 404 whatever the conditions", func(e env) {
			gone := e
			gone.path = e.path[:len(e.path)-36] + "00000000-0000-4000-8000-000000000000"
			wantError(e.t, get(gone, "If-None-Match", "*"), 404, "")
			wantError(e.t, do(e.t, e.srv, "DELETE", gone.path, "", "If-None-Match", other), 404, "")
		}},
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		for _, kind := range []struct{ endpoint, body string }{
			{"/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"cond%d@example.com"}`},
			{"/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Cond %d"}`},
		} {
			for i, c := range cases {
				t.Run(kind.endpoint[9:]+"/"+c.name, func(t *testing.T) {
					body := fmt.Sprintf(kind.body, i)
					r := do(t, srv, "POST", kind.endpoint, body)
					if r.status != 201 {
						t.Fatalf("create: %d %s", r.status, r.raw)
					}
					c.run(env{t: t, srv: srv, path: kind.endpoint + "/" + r.body["id"].(string), body: body, tag: r.header.Get("ETag")})
				})
			}
		}
	})
}
