package server_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestSortOverHTTP: sortBy and sortOrder (RFC 7644 §3.4.2.3) on GET /Users, /Groups and
// their POST .search, with index pages; the refusals are 400 invalidValue.
func TestSortOverHTTP(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		users := map[string]string{}
		for _, u := range []struct{ userName, displayName string }{{"sb", "beta"}, {"sa", ""}, {"sc", "Alpha"}} {
			body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + u.userName + `"`
			if u.displayName != "" {
				body += `,"displayName":"` + u.displayName + `"`
			}
			r := do(t, srv, "POST", "/scim/v2/Users", body+"}")
			if r.status != 201 {
				t.Fatal(r.raw)
			}
			users[r.body["id"].(string)] = u.userName
		}
		groups := map[string]string{}
		for _, name := range []string{"gb", "GA", "gc"} {
			r := do(t, srv, "POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+name+`"}`)
			if r.status != 201 {
				t.Fatal(r.raw)
			}
			groups[r.body["id"].(string)] = name
		}
		names := func(r response, of map[string]string) []string {
			t.Helper()
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			var out []string
			for _, x := range r.body["Resources"].([]any) {
				out = append(out, of[x.(map[string]any)["id"].(string)])
			}
			return out
		}
		for _, c := range []struct {
			method, path, body string
			of                 map[string]string
			want               []string
		}{
			{"GET", "/Users?sortBy=userName", "", users, []string{"sa", "sb", "sc"}},
			{"GET", "/Users?sortBy=userName&sortOrder=descending", "", users, []string{"sc", "sb", "sa"}},
			{"GET", "/Users?sortBy=displayName", "", users, []string{"sc", "sb", "sa"}},
			{"GET", "/Users?sortBy=displayName&sortOrder=descending&startIndex=2&count=1", "", users, []string{"sb"}},
			{"GET", "/Users?sortBy=name.familyName&filter=" + url.QueryEscape(`userName sw "s"`), "", users, []string{"sb", "sa", "sc"}},
			{"POST", "/Users/.search", `{"sortBy":"userName","sortOrder":"descending","count":2}`, users, []string{"sc", "sb"}},
			{"GET", "/Groups?sortBy=displayName", "", groups, []string{"GA", "gb", "gc"}},
			{"POST", "/Groups/.search", `{"sortBy":"displayName","sortOrder":"descending"}`, groups, []string{"gc", "gb", "GA"}},
		} {
			if got := names(do(t, srv, c.method, "/scim/v2"+c.path, c.body), c.of); !slices.Equal(got, c.want) {
				t.Errorf("%s %s %s: %v, want %v", c.method, c.path, c.body, got, c.want)
			}
		}
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/Users?sortBy=emails", ""},
			{"GET", "/Users?sortBy=nosuch", ""},
			{"GET", "/Groups?sortBy=members", ""},
			{"GET", "/Users?sortBy=userName&sortOrder=sideways", ""},
			{"GET", "/Users?sortBy=userName&cursor=", ""},
			{"POST", "/.search", `{"sortBy":"displayName"}`},
		} {
			wantError(t, do(t, srv, c.method, "/scim/v2"+c.path, c.body), 400, "invalidValue")
		}
		r := do(t, srv, "GET", "/scim/v2/ServiceProviderConfig", "")
		if sort, _ := r.body["sort"].(map[string]any); sort["supported"] != true {
			t.Errorf("sort: %s", fmt.Sprint(r.body["sort"]))
		}
	})
}
