package server_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestCursorPagination walks every list endpoint by cursor (RFC 9865) in pages of two
// while users and groups are created and deleted between pages: each resource that
// exists throughout comes back exactly once; cursor pages carry nextCursor until the
// last and never startIndex; cursors of another list or filter are 400 invalidCursor.
func TestCursorPagination(t *testing.T) {
	type endpoint struct {
		name  string
		fetch func(t *testing.T, srv *httptest.Server, filter, cursor string, extra string) response
		users bool
		group bool
	}
	get := func(path string) func(t *testing.T, srv *httptest.Server, filter, cursor, extra string) response {
		return func(t *testing.T, srv *httptest.Server, filter, cursor, extra string) response {
			q := "count=2&cursor=" + url.QueryEscape(cursor) + extra
			if filter != "" {
				q += "&filter=" + url.QueryEscape(filter)
			}
			return do(t, srv, "GET", "/scim/v2/"+path+"?"+q, "")
		}
	}
	post := func(path string) func(t *testing.T, srv *httptest.Server, filter, cursor, extra string) response {
		return func(t *testing.T, srv *httptest.Server, filter, cursor, extra string) response {
			body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "count": 2, "cursor": cursor}
			if filter != "" {
				body["filter"] = filter
			}
			if extra != "" {
				body["startIndex"] = 1
			}
			b, _ := json.Marshal(body)
			return do(t, srv, "POST", "/scim/v2/"+path, string(b))
		}
	}
	endpoints := []endpoint{
		{"GET /Users", get("Users"), true, false},
		{"GET /Groups", get("Groups"), false, true},
		{"POST /Users/.search", post("Users/.search"), true, false},
		{"POST /Groups/.search", post("Groups/.search"), false, true},
		{"POST /.search", post(".search"), true, true},
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		for _, ep := range endpoints {
			t.Run(ep.name, func(t *testing.T) {
				srv, _ := testServer(t, s)
				// Fresh names per endpoint: the database is shared by the subtests.
				prefix := fmt.Sprintf("c%d", len(ep.name)*7+int(ep.name[len(ep.name)-1]))
				created := func(kind, name string) string {
					var r response
					if kind == "Users" {
						r = do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`","displayName":"`+name+`"}`)
					} else {
						r = do(t, srv, "POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+name+`"}`)
					}
					if r.status != 201 {
						t.Fatalf("create %s: %d %s", name, r.status, r.raw)
					}
					return r.body["id"].(string)
				}
				filter := fmt.Sprintf(`displayName sw "%s"`, prefix)
				var ids []string
				kinds := map[string]string{}
				for i := range 5 {
					if ep.users {
						id := created("Users", fmt.Sprintf("%su%d", prefix, i))
						ids, kinds[id] = append(ids, id), "Users"
					}
					if ep.group {
						id := created("Groups", fmt.Sprintf("%sg%d", prefix, i))
						ids, kinds[id] = append(ids, id), "Groups"
					}
				}
				gone := map[string]bool{}
				live := len(ids)
				seen := map[string]int{}
				cur := ""
				for page := 0; ; page++ {
					if page > 20 {
						t.Fatal("the walk does not end")
					}
					r := ep.fetch(t, srv, filter, cur, "")
					if r.status != 200 {
						t.Fatalf("page %d: %d %s", page, r.status, r.raw)
					}
					if _, ok := r.body["startIndex"]; ok {
						t.Errorf("page %d: a cursor page with startIndex: %s", page, r.raw)
					}
					if r.body["totalResults"] != float64(live) {
						t.Errorf("page %d: totalResults %v, want %d", page, r.body["totalResults"], live)
					}
					res, _ := r.body["Resources"].([]any)
					if r.body["itemsPerPage"] != float64(len(res)) || len(res) > 2 {
						t.Errorf("page %d: itemsPerPage %v for %d resources", page, r.body["itemsPerPage"], len(res))
					}
					for _, x := range res {
						seen[x.(map[string]any)["id"].(string)]++
					}
					next, ok := r.body["nextCursor"].(string)
					if !ok {
						break
					}
					if next == "" || next == cur {
						t.Fatalf("page %d: nextCursor %q", page, next)
					}
					if page == 0 { // changes behind and ahead of the walk
						for _, i := range []int{0, len(ids) - 1} {
							id := ids[i]
							if r := do(t, srv, "DELETE", "/scim/v2/"+kinds[id]+"/"+id, ""); r.status != 204 {
								t.Fatalf("delete: %d %s", r.status, r.raw)
							}
							gone[id] = true
							live--
						}
						if ep.users {
							created("Users", prefix+"new")
						} else {
							created("Groups", prefix+"new")
						}
						live++
					}
					cur = next
				}
				for i, id := range ids {
					if !gone[id] && seen[id] != 1 {
						t.Errorf("resource %d (%s) existed throughout and was returned %d times", i, kinds[id], seen[id])
					}
				}
				if seen[ids[len(ids)-1]] != 0 {
					t.Errorf("a resource deleted before the walk reached it was returned")
				}

				// Errors.
				first := ep.fetch(t, srv, filter, "", "")
				next, _ := first.body["nextCursor"].(string)
				if next == "" {
					t.Fatalf("no nextCursor on a first page: %s", first.raw)
				}
				wantError(t, ep.fetch(t, srv, filter, "garbage!", ""), 400, "invalidCursor")
				wantError(t, ep.fetch(t, srv, filter, next+"A", ""), 400, "invalidCursor")
				wantError(t, ep.fetch(t, srv, `userName eq "other"`, next, ""), 400, "invalidCursor")
				wantError(t, ep.fetch(t, srv, filter, next, "&startIndex=1"), 400, "invalidValue")
				for _, other := range endpoints {
					if other.name != ep.name && other.fetch != nil && !(other.users == ep.users && other.group == ep.group) {
						wantError(t, other.fetch(t, srv, filter, next, ""), 400, "invalidCursor")
					}
				}
				// Index paging is unchanged: startIndex, no nextCursor.
				r := do(t, srv, "GET", "/scim/v2/Users?count=1", "")
				if r.body["startIndex"] != 1.0 || r.body["nextCursor"] != nil {
					t.Errorf("an index page: %s", r.raw)
				}
			})
		}
	})
}

// TestCursorCountZero: a cursor request with count 0 answers totalResults alone (RFC 7644
// §3.4.2.4) and no nextCursor, on every list endpoint: a nextCursor there would name the
// position the page began at, and a client following it would never end.
func TestCursorCountZero(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		for _, body := range []struct{ path, json string }{
			{"/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"zero@example.com"}`},
			{"/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Zero"}`},
		} {
			if r := do(t, srv, "POST", body.path, body.json); r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.raw)
			}
		}
		search := func(path string) response {
			return do(t, srv, "POST", path, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":0,"cursor":""}`)
		}
		for name, r := range map[string]response{
			"GET /Users":           do(t, srv, "GET", "/scim/v2/Users?count=0&cursor=", ""),
			"GET /Groups":          do(t, srv, "GET", "/scim/v2/Groups?count=0&cursor=", ""),
			"POST /Users/.search":  search("/scim/v2/Users/.search"),
			"POST /Groups/.search": search("/scim/v2/Groups/.search"),
			"POST /.search":        search("/scim/v2/.search"),
		} {
			res, _ := r.body["Resources"].([]any)
			if r.status != 200 || r.body["totalResults"] == float64(0) || len(res) != 0 || r.body["nextCursor"] != nil {
				t.Errorf("%s: want totalResults alone, no nextCursor: %d %s", name, r.status, r.raw)
			}
		}
	})
}

// TestCursorPreviousPages: from the last page of a walk by cursor, following
// previousCursor returns the walk's pages in reverse, up to the first, which has none;
// each page's nextCursor leads to the page after it. On every list endpoint, POST
// /.search across its users and groups included.
func TestCursorPreviousPages(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		for i := range 5 {
			for _, c := range []struct{ path, body string }{
				{"/scim/v2/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"prev%d","displayName":"prev u%d"}`, i, i)},
				{"/scim/v2/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"prev g%d"}`, i)},
			} {
				if r := do(t, srv, "POST", c.path, c.body); r.status != 201 {
					t.Fatalf("create: %d %s", r.status, r.raw)
				}
			}
		}
		const filter = `displayName sw "prev"`
		get := func(path string) func(cursor string) response {
			return func(cursor string) response {
				return do(t, srv, "GET", path+"?count=2&filter="+url.QueryEscape(filter)+"&cursor="+url.QueryEscape(cursor), "")
			}
		}
		post := func(path string) func(cursor string) response {
			return func(cursor string) response {
				b, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
					"count": 2, "filter": filter, "cursor": cursor})
				return do(t, srv, "POST", path, string(b))
			}
		}
		ids := func(r response) string {
			res, _ := r.body["Resources"].([]any)
			var out []string
			for _, x := range res {
				out = append(out, x.(map[string]any)["displayName"].(string))
			}
			return fmt.Sprint(out)
		}
		for name, fetch := range map[string]func(string) response{
			"GET /Users": get("/scim/v2/Users"), "GET /Groups": get("/scim/v2/Groups"),
			"POST /Users/.search": post("/scim/v2/Users/.search"), "POST /Groups/.search": post("/scim/v2/Groups/.search"),
			"POST /.search": post("/scim/v2/.search"),
		} {
			t.Run(name, func(t *testing.T) {
				var forward []string
				r := fetch("")
				if r.body["previousCursor"] != nil {
					t.Fatalf("the first page has a previousCursor: %s", r.raw)
				}
				for range 10 {
					if r.status != 200 {
						t.Fatalf("%d %s", r.status, r.raw)
					}
					forward = append(forward, ids(r))
					c, _ := r.body["nextCursor"].(string)
					if c == "" {
						break
					}
					r = fetch(c)
				}
				if len(forward) < 3 || (name == "POST /.search" && forward[2] != "[prev u4 prev g0]") {
					t.Fatalf("the fixture pages as %v", forward)
				}
				var backward []string
				for i := len(forward) - 1; ; i-- {
					if i < 0 {
						t.Fatalf("previousCursor goes past the first page: %s", r.raw)
					}
					backward = append([]string{ids(r)}, backward...)
					if c, _ := r.body["nextCursor"].(string); i < len(forward)-1 && c == "" {
						t.Errorf("page %d, reached backwards, has no nextCursor: %s", i+1, r.raw)
					} else if c != "" && ids(fetch(c)) != forward[i+1] {
						t.Errorf("page %d, reached backwards: its nextCursor leads to %s, want %s", i+1, ids(fetch(c)), forward[i+1])
					}
					c, _ := r.body["previousCursor"].(string)
					if c == "" {
						if i != 0 {
							t.Errorf("page %d has no previousCursor", i+1)
						}
						break
					}
					r = fetch(c)
					if r.status != 200 || r.body["totalResults"] == nil {
						t.Fatalf("previous page: %d %s", r.status, r.raw)
					}
				}
				if fmt.Sprint(backward) != fmt.Sprint(forward) {
					t.Errorf("backwards %v, forwards %v", backward, forward)
				}
			})
		}
	})
}
