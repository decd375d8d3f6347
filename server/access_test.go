package server_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// storedToken creates a token with scopes and returns its Authorization header.
func storedToken(t *testing.T, s store.Store, name string, scopes ...store.Scope) string {
	t.Helper()
	secret, err := server.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(t.Context(), name, server.HashToken(secret), scopes); err != nil {
		t.Fatal(err)
	}
	return "Bearer " + secret
}

// adminCodes is the status of every stable code of the admin API's errors (README:
// "Errors").
var adminCodes = map[string]int{
	"not_found": 404, "conflict": 409, "invalid": 400, "deactivated": 403, "private_team": 403, "scim_deleted": 409,
	"last_team": 409, "still_granted": 409, "not_member": 404, "not_team_member": 409, "guest": 403, "no_role": 404,
	"unavailable": 503, "internal": 500,
	"bad_request": 400, "unauthorized": 401, "forbidden": 403, "method_not_allowed": 405, "too_large": 413,
	"unsupported_media_type": 415, "rate_limited": 429,
}

// wantAdminError checks an admin API error: status, plain JSON, and the one error shape
// {"error": …, "code": …}, the error holding want and the code one whose status is
// status.
func wantAdminError(t *testing.T, r response, status int, want string) {
	t.Helper()
	wantAdminCode(t, r, status, "", want)
}

// wantAdminCode is wantAdminError for the code code ("" any code of the status).
func wantAdminCode(t *testing.T, r response, status int, code, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q, want application/json", ct)
	}
	msg, _ := r.body["error"].(string)
	got, _ := r.body["code"].(string)
	if len(r.body) != 2 || msg == "" || !strings.Contains(msg, want) {
		t.Fatalf("body %s, want {\"error\": …%s…, \"code\": …}", r.raw, want)
	}
	if s, known := adminCodes[got]; !known || s != status || code != "" && got != code {
		t.Fatalf("code %q (status %d), want %q of status %d; body %s", got, s, code, status, r.raw)
	}
}

// Each API asks its own scope: a valid token without it gets 403 naming the scope, in
// the API's own error shape; with it, the request goes through.
func TestScopes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		tokens := map[string]string{
			"idp":    storedToken(t, s, "idp", store.ScopeSCIM),
			"reader": storedToken(t, s, "reader", store.ScopeAdminRead),
			"writer": storedToken(t, s, "writer", store.ScopeAdminWrite),
			"all":    storedToken(t, s, "all", store.AllScopes...),
		}
		for _, tc := range []struct {
			token, method, path string
			status              int
			needs               store.Scope // the scope a 403 names
		}{
			{"idp", "GET", "/scim/v2/Users", 200, ""},
			{"idp", "POST", "/scim/v2/Users", 201, ""},
			{"idp", "GET", "/scim/v2/ServiceProviderConfig", 200, ""},
			{"idp", "GET", "/api/v1/teams", 403, store.ScopeAdminRead},
			{"idp", "GET", "/api/v1/accounts/x", 403, store.ScopeAdminRead},
			{"reader", "GET", "/api/v1/teams", 200, ""},
			{"reader", "GET", "/api/v1/nothing-here", 404, ""},
			{"reader", "POST", "/api/v1/teams", 403, store.ScopeAdminWrite},
			{"reader", "GET", "/scim/v2/Users", 403, store.ScopeSCIM},
			{"reader", "POST", "/scim/v2/Users", 403, store.ScopeSCIM},
			{"reader", "GET", "/scim/v2/Schemas", 403, store.ScopeSCIM},
			{"writer", "GET", "/api/v1/teams", 403, store.ScopeAdminRead},
			{"writer", "PUT", "/api/v1/teams", 405, ""},
			{"writer", "GET", "/scim/v2/Groups", 403, store.ScopeSCIM},
			{"all", "GET", "/api/v1/teams", 200, ""},
			{"all", "GET", "/scim/v2/Groups", 200, ""},
		} {
			t.Run(fmt.Sprintf("%s %s %s", tc.token, tc.method, tc.path), func(t *testing.T) {
				body := ""
				if tc.method == "POST" {
					body = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + tc.token + `@example.com"}`
				}
				r := do(t, srv, tc.method, tc.path, body, "Authorization", tokens[tc.token])
				switch {
				case tc.status != 403:
					if r.status != tc.status {
						t.Fatalf("status %d, want %d; body %s", r.status, tc.status, r.raw)
					}
				case strings.HasPrefix(tc.path, server.SCIMPrefix):
					wantError(t, r, 403, "")
					if d, _ := r.body["detail"].(string); !strings.Contains(d, `"`+string(tc.needs)+`"`) {
						t.Fatalf("detail %q does not name the scope %q", d, tc.needs)
					}
				default:
					wantAdminError(t, r, 403, `"`+string(tc.needs)+`"`)
				}
			})
		}
	})
}

// A token over its rate gets 429 with Retry-After, on either API in its own shape; other
// tokens go on.
func TestRateLimitPerToken(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		// 2 at once, then one a minute: the third request in a row is refused.
		srv, _ := testServerWith(t, server.Config{Store: s, Limits: server.Limits{TokenRate: 1.0 / 60, TokenBurst: 2}})
		busy := storedToken(t, s, "busy", store.AllScopes...)
		for i := range 2 {
			if r := do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", busy); r.status != 200 {
				t.Fatalf("request %d: %d %s", i+1, r.status, r.raw)
			}
		}
		r := do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", busy)
		wantError(t, r, 429, "")
		if d, _ := r.body["detail"].(string); !strings.Contains(d, `"busy"`) {
			t.Errorf("detail %q does not name the token", d)
		}
		if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 50 || ra > 60 {
			t.Errorf("Retry-After %q, want about 60", r.header.Get("Retry-After"))
		}
		r = do(t, srv, "GET", "/api/v1/teams", "", "Authorization", busy)
		wantAdminError(t, r, 429, "rate limit")
		if r.header.Get("Retry-After") == "" {
			t.Error("admin 429 without Retry-After")
		}
		// A refused request spends nothing, and writes nothing.
		r = do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"late@example.com"}`,
			"Authorization", busy)
		wantError(t, r, 429, "")
		if r := do(t, srv, "GET", "/scim/v2/Users?filter=userName+eq+%22late@example.com%22", ""); r.status != 200 || r.body["totalResults"] != float64(0) {
			t.Fatalf("a refused POST wrote: %d %s", r.status, r.raw)
		}
		other := storedToken(t, s, "other", store.ScopeSCIM)
		if r := do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", other); r.status != 200 {
			t.Fatalf("another token: %d %s", r.status, r.raw)
		}
	})
}

// An address that keeps failing authentication gets 429 with Retry-After before any
// token check, on either API in its own shape; a valid token the server knows still works
// from it.
func TestRateLimitFailedAuthentication(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServerWith(t, server.Config{Store: s, Limits: server.Limits{AuthFailRate: 1.0 / 60, AuthFailBurst: 2}})
		if r := do(t, srv, "GET", "/scim/v2/Users", ""); r.status != 200 { // the bootstrap token
			t.Fatal(r.status)
		}
		for _, h := range []string{"Bearer guess-1", ""} {
			wantError(t, do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", h), 401, "")
		}
		r := do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", "Bearer guess-2")
		wantError(t, r, 429, "")
		if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 50 || ra > 60 {
			t.Errorf("Retry-After %q, want about 60", r.header.Get("Retry-After"))
		}
		r = do(t, srv, "GET", "/api/v1/teams", "", "Authorization", "Bearer guess-3")
		wantAdminError(t, r, 429, "failed authentications")
		if r.header.Get("Retry-After") == "" {
			t.Error("admin 429 without Retry-After")
		}
		if r := do(t, srv, "GET", "/scim/v2/Users", ""); r.status != 200 {
			t.Fatalf("the bootstrap token from a throttled address: %d %s", r.status, r.raw)
		}
	})
}
