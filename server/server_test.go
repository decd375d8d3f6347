package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

const token = "test-token"

// testServer starts the full handler on s with the bootstrap token and the limits
// `townsquare serve` applies by default, logging into buf.
func testServer(t *testing.T, s store.Store) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	return testServerWith(t, server.Config{Store: s, Limits: server.DefaultLimits()})
}

// testServerWith starts the full handler on cfg, whose Log, BaseURL and BootstrapToken
// default to a JSON log into the returned buffer, the test server's URL and token.
func testServerWith(t *testing.T, cfg server.Config) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logBuf bytes.Buffer
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewJSONHandler(&syncWriter{w: &logBuf}, nil))
	}
	if cfg.BootstrapToken == "" {
		cfg.BootstrapToken = token
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	if cfg.BaseURL == "" {
		cfg.BaseURL = srv.URL + "/scim/v2"
	}
	h, err := server.Handler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	t.Cleanup(srv.Close)
	return srv, &logBuf
}

type syncWriter struct{ w io.Writer }

func (s *syncWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, srv *httptest.Server, method, path, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &r.body)
	}
	return r
}

// wantError checks a SCIM error response.
func wantError(t *testing.T, r response, status int, scimType string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("content type %q", ct)
	}
	schemas, _ := r.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Errorf("error schemas = %v; body %s", r.body["schemas"], r.raw)
	}
	if r.body["detail"] == "" || r.body["detail"] == nil {
		t.Errorf("error without detail: %s", r.raw)
	}
	if got, _ := r.body["scimType"].(string); got != scimType {
		t.Errorf("scimType %q, want %q; body %s", got, scimType, r.raw)
	}
}

const aliceJSON = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Alice@Example.com",
 "externalId":"00u1","name":{"givenName":"Alice","familyName":"Smith"},"password":"s3cret!",
 "emails":[{"value":"alice@example.com","type":"work","primary":true}],"active":true}`

func TestAuth(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		for _, h := range []string{"", "Bearer wrong", "Basic dGVzdA==", "Bearer "} {
			r := do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", h)
			wantError(t, r, 401, "")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate for %q", h)
			}
			if r.body["status"] != "401" {
				t.Errorf("status in body = %v", r.body["status"])
			}
		}
		if r := do(t, srv, "GET", "/scim/v2/Users", ""); r.status != 200 {
			t.Fatalf("bootstrap token refused: %d %s", r.status, r.raw)
		}
		// A stored token works, by its hash.
		secret, _ := server.NewTokenSecret()
		if err := s.CreateToken(t.Context(), "okta", server.HashToken(secret), []store.Scope{store.ScopeSCIM}); err != nil {
			t.Fatal(err)
		}
		if r := do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", "Bearer "+secret); r.status != 200 {
			t.Fatalf("stored token refused: %d", r.status)
		}
		// health endpoints need no token
		if r := do(t, srv, "GET", "/healthz", "", "Authorization", ""); r.status != 200 {
			t.Fatalf("healthz %d", r.status)
		}
		if r := do(t, srv, "GET", "/readyz", "", "Authorization", ""); r.status != 200 {
			t.Fatalf("readyz %d", r.status)
		}
	})
}

func TestUserLifecycleOverHTTP(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, logs := testServer(t, s)
		r := do(t, srv, "POST", "/scim/v2/Users", aliceJSON)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		id, _ := r.body["id"].(string)
		if id == "" || r.header.Get("Location") != srv.URL+"/scim/v2/Users/"+id {
			t.Fatalf("id %q, Location %q", id, r.header.Get("Location"))
		}
		if strings.Contains(r.raw, "password") || strings.Contains(r.raw, "s3cret") {
			t.Fatalf("password returned: %s", r.raw)
		}
		if r.header.Get("ETag") != `W/"1"` {
			t.Fatalf("ETag %q", r.header.Get("ETag"))
		}
		var hash string
		if err := s.DB().Get(&hash, s.DB().Rebind(`SELECT password_hash FROM users WHERE id = ?`), id); err != nil {
			t.Fatal(err)
		}
		if ok, err := resources.VerifyPassword(hash, "s3cret!"); !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "s3cret") || !ok {
			t.Fatalf("password stored as %q (verifies: %v, %v)", hash, ok, err)
		}
		// A PATCH changes it, hashed the same way.
		r = do(t, srv, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"password","value":"n3w!"}]}`)
		if r.status != 200 || strings.Contains(r.raw, "n3w") {
			t.Fatalf("password patch: %d %s", r.status, r.raw)
		}
		if err := s.DB().Get(&hash, s.DB().Rebind(`SELECT password_hash FROM users WHERE id = ?`), id); err != nil {
			t.Fatal(err)
		}
		if ok, err := resources.VerifyPassword(hash, "n3w!"); !ok || err != nil {
			t.Fatalf("patched password stored as %q (verifies: %v, %v)", hash, ok, err)
		}

		wantError(t, do(t, srv, "POST", "/scim/v2/Users", strings.Replace(aliceJSON, "Alice@Example.com", "alice@EXAMPLE.com", 1)), 409, "uniqueness")

		// Okta deactivates with a path-less PATCH; the user stays readable.
		r = do(t, srv, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
		if r.status != 200 || r.body["active"] != false {
			t.Fatalf("deactivate: %d %s", r.status, r.raw)
		}
		// Entra's capitalised op with a string boolean.
		r = do(t, srv, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`)
		if r.status != 200 || r.body["active"] != true {
			t.Fatalf("Entra reactivate: %d %s", r.status, r.raw)
		}
		// A PATCH whose second operation fails writes nothing.
		r = do(t, srv, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"replace","path":"displayName","value":"Changed"},{"op":"replace","path":"nosuch","value":"x"}]}`)
		if r.status != 400 {
			t.Fatalf("bad patch: %d %s", r.status, r.raw)
		}
		r = do(t, srv, "GET", "/scim/v2/Users/"+id, "")
		if r.body["displayName"] != nil {
			t.Fatalf("failed PATCH wrote displayName: %s", r.raw)
		}
		etag := r.header.Get("ETag")

		// PUT without active keeps it; If-Match is honoured.
		put := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice.smith@example.com","name":{"givenName":"Alice"}}`
		wantError(t, do(t, srv, "PUT", "/scim/v2/Users/"+id, put, "If-Match", `W/"999"`), 412, "preconditionFailed")
		r = do(t, srv, "PUT", "/scim/v2/Users/"+id, put, "If-Match", etag)
		if r.status != 200 || r.body["userName"] != "alice.smith@example.com" || r.body["emails"] != nil || r.body["active"] != true {
			t.Fatalf("put: %d %s", r.status, r.raw)
		}

		// Projection.
		r = do(t, srv, "GET", "/scim/v2/Users/"+id+"?attributes=userName", "")
		if r.body["userName"] == nil || r.body["name"] != nil || r.body["id"] != id {
			t.Fatalf("attributes=userName: %s", r.raw)
		}

		if r = do(t, srv, "DELETE", "/scim/v2/Users/"+id, ""); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		wantError(t, do(t, srv, "GET", "/scim/v2/Users/"+id, ""), 404, "")

		if !strings.Contains(logs.String(), `"token":"env:TOWNSQUARE_TOKEN"`) || !strings.Contains(logs.String(), `"status":201`) {
			t.Fatalf("access log lacks token name or status: %s", logs.String())
		}
	})
}

func TestListEnvelope(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		r := do(t, srv, "GET", "/scim/v2/Users", "")
		if r.status != 200 || r.raw == "" || !strings.Contains(r.raw, `"Resources":[]`) {
			t.Fatalf("empty list: %d %s", r.status, r.raw)
		}
		for _, name := range []string{"a", "b", "c"} {
			if r := do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`"}`); r.status != 201 {
				t.Fatal(r.raw)
			}
		}
		r = do(t, srv, "GET", "/scim/v2/Users?startIndex=2&count=5", "")
		if r.body["totalResults"] != 3.0 || r.body["itemsPerPage"] != 2.0 || r.body["startIndex"] != 2.0 {
			t.Fatalf("envelope: %s", r.raw)
		}
		res := r.body["Resources"].([]any)
		if res[0].(map[string]any)["userName"] != "b" {
			t.Fatalf("order: %s", r.raw)
		}
		r = do(t, srv, "GET", `/scim/v2/Users?filter=userName%20eq%20%22C%22`, "")
		if r.body["totalResults"] != 1.0 {
			t.Fatalf("case-insensitive userName eq: %s", r.raw)
		}
		wantError(t, do(t, srv, "GET", "/scim/v2/Users?count=abc", ""), 400, "invalidValue")
		wantError(t, do(t, srv, "GET", `/scim/v2/Users?filter=nosuch%20eq%20%22x%22`, ""), 400, "invalidFilter")
		wantError(t, do(t, srv, "GET", `/scim/v2/Users?filter=userName%20eq`, ""), 400, "invalidFilter")
	})
}

func TestProtocolErrors(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		wantError(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":`), 400, "invalidSyntax")
		wantError(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+strings.Repeat("x", 1<<20)+`"}`), 413, "")
		wantError(t, do(t, srv, "PUT", "/scim/v2/Users", `{}`), 405, "")
		wantError(t, do(t, srv, "POST", "/scim/v2/Users/abc", `{}`), 405, "")
		wantError(t, do(t, srv, "GET", "/scim/v2/Nope", ""), 404, "")
		wantError(t, do(t, srv, "GET", "/elsewhere", ""), 404, "")
		wantError(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":""}`), 400, "invalidValue")
	})
}

// TestPatchRemoveActive: a PATCH "remove" of active leaves the account as it is, active
// or deactivated (RFC 7644 §3.5.2.2 unassigns the attribute; RFC 7643 §4.1.1 gives
// active no default, and an IdP that drops the attribute has not asked for a
// deactivation or a reactivation). The answer says what is stored.
func TestPatchRemoveActive(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		r := do(t, srv, "POST", "/scim/v2/Users", aliceJSON)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		id := r.body["id"].(string)
		const remove = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"active"}]}`
		for _, c := range []struct {
			name   string
			before bool
		}{{"active", true}, {"deactivated", false}} {
			set := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":%v}]}`, c.before)
			if r := do(t, srv, "PATCH", "/scim/v2/Users/"+id, set); r.status != 200 {
				t.Fatalf("%s: set: %d %s", c.name, r.status, r.raw)
			}
			r := do(t, srv, "PATCH", "/scim/v2/Users/"+id, remove)
			if r.status != 200 || r.body["active"] != c.before {
				t.Fatalf("%s: remove active: %d %s", c.name, r.status, r.raw)
			}
			if r := do(t, srv, "GET", "/scim/v2/Users/"+id, ""); r.body["active"] != c.before {
				t.Fatalf("%s: read after remove: %s", c.name, r.raw)
			}
		}
	})
}
