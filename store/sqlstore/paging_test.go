package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestListUsersTotals pages through users with DELETEd ones among them, through every
// way a total is found: from a COUNT (full pages, pages past the end, count=0) and from
// the page itself (a first page or a later page that is not full).
func TestListUsersTotals(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var live []string
		for i := range 10 {
			u := store.User{UserName: fmt.Sprintf("u%d", i), Active: i != 4, Emails: []store.MultiValue{{Value: fmt.Sprintf("u%d@x", i)}}}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			if i == 2 || i == 6 {
				if err := s.DeleteUser(ctx, u.ID, 0); err != nil {
					t.Fatal(err)
				}
				continue
			}
			live = append(live, u.ID)
		}
		check := func(name string, q store.Query, want []string, wantTotal int) {
			t.Helper()
			page, total, err := s.ListUsers(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var ids []string
			for _, u := range page {
				ids = append(ids, u.ID)
				if len(u.Emails) != 1 || u.Emails[0].Value != u.UserName+"@x" {
					t.Errorf("%s: %s has emails %+v", name, u.UserName, u.Emails)
				}
			}
			if page == nil || !slices.Equal(ids, want) || total != wantTotal {
				t.Errorf("%s: page %v total %d, want %v total %d", name, ids, total, want, wantTotal)
			}
		}
		n := len(live) // 8
		for _, c := range []struct {
			name         string
			start, count int
		}{
			{"first page full", 1, 3},
			{"first page partial", 1, 10},
			{"first page exactly all", 1, n},
			{"middle page", 4, 3},
			{"last page partial", 7, 3},
			{"last page of one", 8, 3},
			{"just past the end", n + 1, 3},
			{"far past the end", 50, 10},
			{"count 0", 3, 0},
		} {
			var want []string
			if c.start <= n {
				want = live[c.start-1 : min(c.start-1+c.count, n)]
			}
			check(c.name, store.Query{StartIndex: c.start, Count: c.count}, want, n)
		}

		// Filtered: the deleted u2 and u6 match the filter but are no resources.
		like := store.Where{SQL: "users.user_name_ci IN (?, ?, ?, ?)", Args: []any{"u1", "u2", "u6", "u7"}}
		check("filter, first page full", store.Query{Where: like, StartIndex: 1, Count: 1}, live[1:2], 2)
		check("filter, second page full", store.Query{Where: like, StartIndex: 2, Count: 1}, live[5:6], 2)
		check("filter, second page partial", store.Query{Where: like, StartIndex: 2, Count: 5}, live[5:6], 2)
		check("filter, past the end", store.Query{Where: like, StartIndex: 3, Count: 5}, nil, 2)
		gone := store.Where{SQL: "users.user_name_ci = ?", Args: []any{"u6"}}
		check("only deleted matches", store.Query{Where: gone, StartIndex: 1, Count: 5}, nil, 0)
		check("only deleted matches, past the start", store.Query{Where: gone, StartIndex: 2, Count: 5}, nil, 0)
		// An inactive user is a resource: listed and counted.
		inactive := store.Where{SQL: "users.active = ?", Args: []any{false}}
		check("inactive", store.Query{Where: inactive, StartIndex: 1, Count: 5}, live[3:4], 1)
	})
}

// TestListGroupsTotals is TestListUsersTotals for groups.
func TestListGroupsTotals(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var all []string
		for i := range 5 {
			g := store.Group{DisplayName: fmt.Sprintf("g%d", i)}
			if err := s.CreateGroup(ctx, &g, nil); err != nil {
				t.Fatal(err)
			}
			all = append(all, g.ID)
		}
		check := func(name string, q store.Query, want []string, wantTotal int) {
			t.Helper()
			page, total, err := s.ListGroups(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var ids []string
			for _, g := range page {
				ids = append(ids, g.ID)
			}
			if page == nil || !slices.Equal(ids, want) || total != wantTotal {
				t.Errorf("%s: page %v total %d, want %v total %d", name, ids, total, want, wantTotal)
			}
		}
		for _, c := range []struct {
			name         string
			start, count int
		}{
			{"first page full", 1, 2},
			{"first page partial", 1, 10},
			{"middle page", 2, 2},
			{"last page partial", 5, 2},
			{"just past the end", 6, 2},
			{"far past the end", 40, 2},
			{"count 0", 1, 0},
		} {
			var want []string
			if c.start <= len(all) {
				want = all[c.start-1 : min(c.start-1+c.count, len(all))]
			}
			check(c.name, store.Query{StartIndex: c.start, Count: c.count}, want, len(all))
		}
		w := store.Where{SQL: "groups.display_name_ci IN (?, ?)", Args: []any{"g1", "g3"}}
		check("filter, second page partial", store.Query{Where: w, StartIndex: 2, Count: 5}, all[3:4], 2)
		check("filter, past the end", store.Query{Where: w, StartIndex: 3, Count: 5}, nil, 2)
		none := store.Where{SQL: "groups.display_name_ci = ?", Args: []any{"nobody"}}
		check("filter, no match", store.Query{Where: none, StartIndex: 1, Count: 5}, nil, 0)
	})
}
