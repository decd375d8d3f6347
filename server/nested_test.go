package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// Nested groups over HTTP: how a group nested in another is shown (members with type
// Group and a $ref to /Groups/), how a user's indirect groups are, what filters see, and
// that the store's refusal of a nesting (a cycle, the bound) is 400 invalidValue.

// nestSQL makes child a member of parent with SQL alone, as the store's write path
// leaves the rows (group_groups and the closure), so that the read side is tested on
// its own.
func nestSQL(t *testing.T, s *sqlstore.Store, parent, child string) {
	t.Helper()
	db := s.DB()
	var ppk, cpk int64
	for id, pk := range map[string]*int64{parent: &ppk, child: &cpk} {
		if err := db.Get(pk, db.Rebind(`SELECT pk FROM groups WHERE id = ?`), id); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{`INSERT INTO group_groups (group_pk, member_pk) VALUES (?, ?)`,
		`INSERT INTO group_ancestors (group_pk, ancestor_pk) SELECT d.group_pk, a.ancestor_pk FROM group_ancestors d, group_ancestors a
		 WHERE d.ancestor_pk = ? AND a.group_pk = ? ON CONFLICT DO NOTHING`} {
		args := []any{ppk, cpk}
		if strings.Contains(q, "ancestor") {
			args = []any{cpk, ppk}
		}
		if _, err := db.Exec(db.Rebind(q), args...); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNestedGroupsRendered(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		h := groupHandler(t, s)
		ann := store.User{UserName: "ann@example.com", DisplayName: "Ann", Active: true}
		if err := s.CreateUser(ctx, &ann); err != nil {
			t.Fatal(err)
		}
		eng, backend := store.Group{DisplayName: "Eng"}, store.Group{DisplayName: "Back <end>"}
		if err := s.CreateGroup(ctx, &eng, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateGroup(ctx, &backend, []string{ann.ID}); err != nil {
			t.Fatal(err)
		}
		nestSQL(t, s, eng.ID, backend.ID)

		// The parent lists the child as a Group member, in full and projected.
		a := serve(h, "GET", "/scim/v2/Groups/"+eng.ID, "")
		want := fmt.Sprintf(`"members":[{"$ref":"%s/Groups/%s","display":"Back \u003cend\u003e","type":"Group","value":"%s"}]`, groupsBaseURL, backend.ID, backend.ID)
		if a.status != http.StatusOK || !strings.Contains(a.body, want) {
			t.Fatalf("GET the parent: %d\n%s\nwant %s", a.status, a.body, want)
		}
		a = serve(h, "GET", "/scim/v2/Groups/"+backend.ID+"?attributes=members.type,members.value", "")
		want = fmt.Sprintf(`"members":[{"type":"User","value":"%s"}]`, ann.ID)
		if !strings.Contains(a.body, want) {
			t.Fatalf("GET the child projected: %d\n%s\nwant %s", a.status, a.body, want)
		}

		// The user shows the parent as an indirect group, the child as a direct one.
		a = serve(h, "GET", "/scim/v2/Users/"+ann.ID+"?attributes=groups", "")
		m := decode(a.body)
		groups, _ := m["groups"].([]any)
		var got []string
		for _, g := range groups {
			g := g.(map[string]any)
			got = append(got, fmt.Sprint(g["display"], " ", g["type"], " ", g["$ref"]))
		}
		wantGroups := []string{"Eng indirect " + groupsBaseURL + "/Groups/" + eng.ID, "Back <end> direct " + groupsBaseURL + "/Groups/" + backend.ID}
		if !slices.Equal(got, wantGroups) {
			t.Fatalf("the user's groups %q, want %q\n%s", got, wantGroups, a.body)
		}

		// The admin API's view of the account: by displayName, the indirect one marked.
		a = serve(h, "GET", "/api/v1/accounts/"+ann.ID, "")
		want = fmt.Sprintf(`"groups":[{"id":"%s","display_name":"Back \u003cend\u003e"},{"id":"%s","display_name":"Eng","indirect":true}]`, backend.ID, eng.ID)
		if a.status != http.StatusOK || !strings.Contains(a.body, want) {
			t.Fatalf("the account's groups: %d\n%s\nwant %s", a.status, a.body, want)
		}

		// Nesting the parent under the child would make a cycle: 400 invalidValue, saying so.
		a = serve(h, "PATCH", "/scim/v2/Groups/"+backend.ID, oktaPatch(`{"op":"add","path":"members","value":[{"value":"`+eng.ID+`","type":"Group"}]}`))
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `"scimType":"invalidValue"`) || !strings.Contains(a.body, "members would make a cycle") {
			t.Fatalf("a cycle: %d %s", a.status, a.body)
		}

		// Filters see both kinds of member and both kinds of group.
		for _, c := range []struct{ path, want string }{
			{`/scim/v2/Groups?filter=members[type eq "Group" and value eq "` + backend.ID + `"]&attributes=displayName`, `"displayName":"Eng"`},
			{`/scim/v2/Users?filter=groups[value eq "` + eng.ID + `" and type eq "indirect"]&attributes=userName`, `"userName":"ann@example.com"`},
		} {
			a := serve(h, "GET", strings.ReplaceAll(c.path, " ", "%20"), "")
			if a.status != http.StatusOK || !strings.Contains(a.body, `"totalResults":1`) || !strings.Contains(a.body, c.want) {
				t.Errorf("%s: %d %s", c.path, a.status, a.body)
			}
		}
	})
}

// refusingNesting is a store that refuses every member change as the store refuses a
// cycle or a nesting beyond MaxGroupAncestors.
type refusingNesting struct{ store.Store }

var errNesting = &store.InvalidError{Attribute: "members", Reason: "would make a cycle: Eng contains Backend"}

func (r refusingNesting) UpdateGroup(ctx context.Context, id string, ifVersion int64, fn func(g *store.Group) error, ops []store.MemberOp) (store.Group, error) {
	if len(ops) > 0 {
		return store.Group{}, fmt.Errorf("update group %q: %w", id, errNesting)
	}
	return r.Store.UpdateGroup(ctx, id, ifVersion, fn, ops)
}

func (r refusingNesting) CreateGroup(ctx context.Context, g *store.Group, members []string) error {
	if len(members) > 0 {
		return fmt.Errorf("create group: %w", errNesting)
	}
	return r.Store.CreateGroup(ctx, g, members)
}

// TestNestingRefusedIsInvalidValue: the store's InvalidError "members" (a cycle, or more
// than MaxGroupAncestors containing groups) is 400 invalidValue whose detail names the
// problem, on POST, PUT, PATCH and inside /Bulk.
func TestNestingRefusedIsInvalidValue(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		g := store.Group{DisplayName: "Backend"}
		if err := s.CreateGroup(context.Background(), &g, nil); err != nil {
			t.Fatal(err)
		}
		srv, _ := testServer(t, refusingNesting{s})
		member := `"members":[{"value":"` + g.ID + `","type":"Group"}]`
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng",` + member + `}`},
			{"PUT", "/scim/v2/Groups/" + g.ID, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Backend",` + member + `}`},
			{"PATCH", "/scim/v2/Groups/" + g.ID, oktaPatch(`{"op":"add","path":"members","value":[{"value":"` + g.ID + `"}]}`)},
		} {
			r := do(t, srv, c.method, c.path, c.body)
			wantError(t, r, http.StatusBadRequest, "invalidValue")
			if d, _ := r.body["detail"].(string); !strings.Contains(d, "members would make a cycle: Eng contains Backend") {
				t.Errorf("%s %s: detail %q does not name the problem", c.method, c.path, d)
			}
		}
		bulk := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"PATCH","path":"/Groups/` + g.ID +
			`","data":` + oktaPatch(`{"op":"add","path":"members","value":[{"value":"`+g.ID+`"}]}`) + `}]}`
		r := do(t, srv, "POST", "/scim/v2/Bulk", bulk)
		if r.status != http.StatusOK || !strings.Contains(r.raw, `"status":"400"`) || !strings.Contains(r.raw, `invalidValue`) || !strings.Contains(r.raw, "would make a cycle") {
			t.Errorf("bulk: %d %s", r.status, r.raw)
		}
	})
}
