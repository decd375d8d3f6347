package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// Benchmarks of whole SCIM requests through the real handler (routing, auth, resources,
// store), in process, without a network: what one request costs the server.
// SQLite always; PostgreSQL with TOWNSQUARE_TEST_DATABASE_URL. The fixture has
// TOWNSQUARE_BENCH_USERS users (default 10000), all in one "big" group.
//
//	go test -run '^$' -bench BenchmarkSCIM -benchmem -cpuprofile cpu.out ./server
//	go tool pprof -top -cum server.test cpu.out

const benchToken = "bench-token"

func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("TOWNSQUARE_BENCH_USERS")); err == nil && n >= 100 {
		return n
	}
	return 10000
}

type benchFixture struct {
	h            http.Handler
	users, spare []string
	big, small   string
}

func benchUserBody(name string) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"externalId":%q,
		"name":{"givenName":"Given","familyName":"Family"},"displayName":"Given Family",
		"emails":[{"value":%q,"type":"work","primary":true}],"active":true}`, name+"@example.com", "ext-"+name, name+"@example.com")
}

func membersBody(op string, ids ...string) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"value":%q}`, id)
	}
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"` + op + `","path":"members","value":[` + b.String() + `]}]}`
}

// call serves one request and fails the benchmark on an unexpected status.
func call(b *testing.B, h http.Handler, method, path, body string, want int) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://bench"+path, rd)
	// net/http gives every request a context that ends with its connection, and the
	// drivers watch such a context during each statement; httptest's never ends, which
	// would spare them that work.
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	req = req.WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: status %d, want %d: %.300s", method, path, rec.Code, want, rec.Body.String())
	}
	return rec
}

func newBenchFixture(b *testing.B, be sqltest.Backend) *benchFixture {
	b.Helper()
	s := sqltest.Open(b, be)
	// The limiters run as they do in production, at a rate no benchmark reaches, so that
	// their cost is in the figures and no request is refused.
	limits := server.DefaultLimits()
	limits.TokenRate, limits.TokenBurst = 1e9, 1e9
	h, err := server.Handler(server.Config{Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseURL: "http://bench/scim/v2", BootstrapToken: benchToken, Limits: limits})
	if err != nil {
		b.Fatal(err)
	}
	f := &benchFixture{h: h}
	n := benchSize()
	create := func(prefix string, n int) []string {
		ids := make([]string, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					u := store.User{UserName: fmt.Sprintf("%s%d@example.com", prefix, i), ExternalID: fmt.Sprintf("ext-%s%d", prefix, i),
						Active: true, DisplayName: "Given Family", Name: store.Name{GivenName: "Given", FamilyName: "Family"},
						Emails: []store.MultiValue{{Value: fmt.Sprintf("%s%d@example.com", prefix, i), Type: "work", Primary: true}}}
					if err := s.CreateUser(context.Background(), &u); err != nil {
						b.Error(err)
						return
					}
					ids[i] = u.ID
				}
			}()
		}
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
		return ids
	}
	f.users = create("m", n)
	f.spare = create("x", 1000)
	for _, g := range []struct {
		name string
		id   *string
	}{{"big", &f.big}, {"small", &f.small}} {
		g := g
		rec := call(b, h, http.MethodPost, "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+g.name+`"}`, http.StatusCreated)
		*g.id = jsonField(b, rec.Body.String(), "id")
	}
	for i := 0; i < n; i += 1000 {
		call(b, h, http.MethodPatch, "/scim/v2/Groups/"+f.big, membersBody("add", f.users[i:min(i+1000, n)]...), http.StatusNoContent)
	}
	return f
}

// jsonField extracts a top-level string field without decoding the whole body.
func jsonField(b *testing.B, body, name string) string {
	i := strings.Index(body, `"`+name+`":"`)
	if i < 0 {
		b.Fatalf("no %s in %.200s", name, body)
	}
	rest := body[i+len(name)+4:]
	return rest[:strings.IndexByte(rest, '"')]
}

func BenchmarkSCIM(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			f := newBenchFixture(b, be)
			n := len(f.users)
			var seq atomic.Int64
			b.Run("POST_Users", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					call(b, f.h, http.MethodPost, "/scim/v2/Users", benchUserBody(fmt.Sprintf("c%d", seq.Add(1))), http.StatusCreated)
				}
			})
			// Okta sends a password with every create; hashing it is most of the cost.
			b.Run("POST_Users_password", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					body := strings.Replace(benchUserBody(fmt.Sprintf("p%d", seq.Add(1))), `"active":true`, `"active":true,"password":"1mz050nq"`, 1)
					call(b, f.h, http.MethodPost, "/scim/v2/Users", body, http.StatusCreated)
				}
			})
			for _, attr := range []string{"userName", "externalId"} {
				b.Run("GET_Users_"+attr+"_eq", func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						i = (i + 7919) % n
						v := fmt.Sprintf("m%d@example.com", i)
						if attr == "externalId" {
							v = fmt.Sprintf("ext-m%d", i)
						}
						call(b, f.h, http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(fmt.Sprintf("%s eq %q", attr, v))+"&startIndex=1&count=100", "", http.StatusOK)
					}
				})
			}
			b.Run("GET_Users_by_id", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i = (i + 7919) % n
					call(b, f.h, http.MethodGet, "/scim/v2/Users/"+f.users[i], "", http.StatusOK)
				}
			})
			for _, start := range []int{1, n - 99} {
				b.Run(fmt.Sprintf("GET_Users_page100_startIndex=%d", start), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						call(b, f.h, http.MethodGet, fmt.Sprintf("/scim/v2/Users?startIndex=%d&count=100", start), "", http.StatusOK)
					}
				})
			}
			for _, g := range []struct{ name, id string }{{"size=0", f.small}, {fmt.Sprintf("size=%d", n), f.big}} {
				b.Run("PATCH_Groups_add1_"+g.name, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						u := f.spare[i%len(f.spare)]
						call(b, f.h, http.MethodPatch, "/scim/v2/Groups/"+g.id, membersBody("add", u), http.StatusNoContent)
						b.StopTimer()
						call(b, f.h, http.MethodPatch, "/scim/v2/Groups/"+g.id, membersBody("remove", u), http.StatusNoContent)
						b.StartTimer()
					}
				})
				b.Run("PATCH_Groups_add1000_"+g.name, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						call(b, f.h, http.MethodPatch, "/scim/v2/Groups/"+g.id, membersBody("add", f.spare...), http.StatusNoContent)
						b.StopTimer()
						call(b, f.h, http.MethodPatch, "/scim/v2/Groups/"+g.id, membersBody("remove", f.spare...), http.StatusNoContent)
						b.StartTimer()
					}
				})
				b.Run("GET_Groups_excludedAttributes=members_"+g.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						call(b, f.h, http.MethodGet, "/scim/v2/Groups/"+g.id+"?excludedAttributes=members", "", http.StatusOK)
					}
				})
			}
			// Okta removes members with one operation per member and a filtered path.
			b.Run(fmt.Sprintf("PATCH_Groups_okta_remove500_size=%d", n), func(b *testing.B) {
				var ops strings.Builder
				for i, id := range f.spare[:500] {
					if i > 0 {
						ops.WriteByte(',')
					}
					fmt.Fprintf(&ops, `{"op":"remove","path":"members[value eq \"%s\"]"}`, id)
				}
				body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops.String() + `]}`
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					call(b, f.h, http.MethodPatch, "/scim/v2/Groups/"+f.big, membersBody("add", f.spare[:500]...), http.StatusNoContent)
					b.StartTimer()
					call(b, f.h, http.MethodPatch, "/scim/v2/Groups/"+f.big, body, http.StatusNoContent)
				}
			})
			// Okta repeats the group's name, with its id, in every membership PATCH.
			b.Run(fmt.Sprintf("PATCH_Groups_okta_rename_size=%d", n), func(b *testing.B) {
				body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"` + f.big + `","displayName":"big"}}]}`
				b.ReportAllocs()
				for b.Loop() {
					call(b, f.h, http.MethodPatch, "/scim/v2/Groups/"+f.big, body, http.StatusNoContent)
				}
			})
			b.Run(fmt.Sprintf("GET_Groups_full_size=%d", n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					call(b, f.h, http.MethodGet, "/scim/v2/Groups/"+f.big, "", http.StatusOK)
				}
			})
			b.Run("PATCH_Users_deactivate", func(b *testing.B) {
				b.ReportAllocs()
				deact := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
				react := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`
				for i := 0; i < b.N; i++ {
					id := f.spare[i%len(f.spare)]
					call(b, f.h, http.MethodPatch, "/scim/v2/Users/"+id, deact, http.StatusOK)
					b.StopTimer()
					call(b, f.h, http.MethodPatch, "/scim/v2/Users/"+id, react, http.StatusOK)
					b.StartTimer()
				}
			})
		})
	}
}
