package server_test

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestBulkRateLimit: a bulk request costs its token one request of its rate per
// operation. A request whose operations the token's budget covers exactly runs; one
// operation more is 429 with Retry-After before any operation runs (nothing is half
// applied); a request of more operations than the burst is 413, as maxOperations then
// says; single requests cost one as before.
func TestBulkRateLimit(t *testing.T) {
	const burst = 6
	// One a minute after the burst: no request of a test gets a refill that matters.
	limits := server.Limits{TokenRate: 1.0 / 60, TokenBurst: burst}
	deletes := func(n int) string { // n operations that cost the database one lookup each
		ops := make([]string, n)
		for i := range ops {
			ops[i] = `{"method":"DELETE","path":"/Users/none"}`
		}
		return bulkBody("", ops...)
	}
	users := func(prefix string, n int) string {
		ops := make([]string, n)
		for i := range ops {
			ops[i] = postUserOp(fmt.Sprint("u", i), fmt.Sprintf("%s%d@example.com", prefix, i), "")
		}
		return bulkBody("", ops...)
	}
	type env struct {
		t *testing.T
		// do sends a request with the test's token (its budget is the one under test),
		// or with the Authorization headers given.
		do  func(method, path, body string, headers ...string) response
		get func(times int) // spends times requests, each of which must pass
		// exists reports, with a token of its own, whether a user of userName exists.
		exists func(userName string) bool
		token  func(name string) string // a new token's Authorization header
	}
	wantRetryAfter := func(t *testing.T, r response, seconds int) {
		t.Helper()
		// The bucket refills 1/60 a second while the test runs: a few seconds' slack.
		if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra > seconds || ra < seconds-5 {
			t.Fatalf("Retry-After %q, want about %d: %s", r.header.Get("Retry-After"), seconds, r.raw)
		}
	}
	cases := []struct {
		name string
		run  func(e env)
	}{
		{"a budget of exactly n runs n operations, and is spent", func(e env) {
			e.get(2) // 4 left
			res := bulkResults(e.t, e.do("POST", "/scim/v2/Bulk", deletes(4)))
			wantStatuses(e.t, res, "", "404", "404", "404", "404")
			r := e.do("GET", "/scim/v2/Users", "")
			wantError(e.t, r, 429, "")
			wantRetryAfter(e.t, r, 60)
		}},
		{"n+1 operations on a budget of n: 429 with Retry-After, nothing run", func(e env) {
			e.get(2) // 4 left
			r := e.do("POST", "/scim/v2/Bulk", users("over", 5))
			wantError(e.t, r, 429, "")
			if d, _ := r.body["detail"].(string); !strings.Contains(d, "5 operations") || !strings.Contains(d, "none was run") {
				e.t.Errorf("detail %q", d)
			}
			// The refused request spent one (its body was read): 3 left, and the request
			// as a whole (5) is covered after 2 more, one a minute.
			wantRetryAfter(e.t, r, 120)
			for i := range 5 {
				if e.exists(fmt.Sprintf("over%d@example.com", i)) {
					e.t.Fatalf("operation %d of a refused request ran", i+1)
				}
			}
			res := bulkResults(e.t, e.do("POST", "/scim/v2/Bulk", users("under", 3)))
			wantStatuses(e.t, res, "", "201", "201", "201")
			wantError(e.t, e.do("GET", "/scim/v2/Users", ""), 429, "")
		}},
		{"a bulk request of one operation, or none, costs one request", func(e env) {
			for range burst - 1 {
				wantStatuses(e.t, bulkResults(e.t, e.do("POST", "/scim/v2/Bulk", deletes(1))), "", "404")
			}
			bulkResults(e.t, e.do("POST", "/scim/v2/Bulk", deletes(0)))
			r := e.do("POST", "/scim/v2/Bulk", deletes(1))
			wantError(e.t, r, 429, "")
			if d, _ := r.body["detail"].(string); !strings.Contains(d, "over its rate limit") {
				e.t.Errorf("the request itself is refused before its body is read: %q", d)
			}
		}},
		{"single requests cost one each", func(e env) {
			e.get(burst)
			wantError(e.t, e.do("GET", "/scim/v2/Users", ""), 429, "")
		}},
		{"more operations than the burst: 413 naming maxOperations, which says the burst", func(e env) {
			r := e.do("GET", "/scim/v2/ServiceProviderConfig", "")
			if b, _ := r.body["bulk"].(map[string]any); b["maxOperations"] != float64(burst) {
				e.t.Fatalf("bulk: %v", r.body["bulk"])
			}
			r = e.do("POST", "/scim/v2/Bulk", deletes(burst+1))
			wantError(e.t, r, 413, "")
			if d, _ := r.body["detail"].(string); !strings.Contains(d, fmt.Sprintf("maxOperations (%d)", burst)) {
				e.t.Errorf("detail %q", d)
			}
			// The 413 cost one request: burst-2 are left.
			wantStatuses(e.t, bulkResults(e.t, e.do("POST", "/scim/v2/Bulk", deletes(burst-2))), "", "404", "404", "404", "404")
			wantError(e.t, e.do("GET", "/scim/v2/Users", ""), 429, "")
		}},
		{"another token keeps its own budget", func(e env) {
			wantStatuses(e.t, bulkResults(e.t, e.do("POST", "/scim/v2/Bulk", deletes(burst))), "", "404", "404", "404", "404", "404", "404")
			wantError(e.t, e.do("POST", "/scim/v2/Bulk", deletes(1)), 429, "")
			other := e.token("other")
			res := bulkResults(e.t, e.do("POST", "/scim/v2/Bulk", deletes(burst), "Authorization", other))
			wantStatuses(e.t, res, "", "404", "404", "404", "404", "404", "404")
		}},
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		checker := storedToken(t, s, "checker", store.ScopeSCIM)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				srv, _ := testServerWith(t, server.Config{Store: s, Limits: limits})
				e := env{t: t}
				e.do = func(method, path, body string, headers ...string) response {
					return do(t, srv, method, path, body, headers...)
				}
				e.get = func(times int) {
					t.Helper()
					for i := range times {
						if r := e.do("GET", "/scim/v2/Users?count=0", ""); r.status != 200 {
							t.Fatalf("request %d: %d %s", i+1, r.status, r.raw)
						}
					}
				}
				e.exists = func(userName string) bool {
					t.Helper()
					r := e.do("GET", "/scim/v2/Users?count=0&filter="+url.QueryEscape(`userName eq "`+userName+`"`), "", "Authorization", checker)
					if r.status != 200 {
						t.Fatalf("%d %s", r.status, r.raw)
					}
					return r.body["totalResults"] != float64(0)
				}
				e.token = func(name string) string { return storedToken(t, s, name, store.ScopeSCIM) }
				c.run(e)
			})
		}
	})
}
