package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// testSortUsers sorts users by each kind of attribute (store.Query.SortBy): folded in Go
// (userName), folded in SQL (displayName, name.familyName: ASCII letters only), exact
// (externalId), times and booleans; absent values last ascending and first descending,
// ties in creation order; with a filter, with pages; and refuses what cannot be sorted.
func testSortUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	type u struct{ userName, displayName, familyName, externalID string }
	var ids []string
	for _, x := range []u{
		{"Carol", "beta", "Smith", "x2"},
		{"alice", "", "smith", ""},
		{"Bob", "Alpha", "Jones", "X1"},
		{"dave", "alpha", "", "x1"},
		{"Émile", "Zulu", "Émond", "a"},
	} {
		user := store.User{UserName: x.userName, DisplayName: x.displayName, ExternalID: x.externalID, Active: true,
			Name: store.Name{FamilyName: x.familyName}}
		if err := s.CreateUser(ctx, &user); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, user.ID)
	}
	list := func(q store.Query) ([]int, int, error) {
		users, total, err := s.ListUsers(ctx, q)
		var got []int
		for _, u := range users {
			got = append(got, slices.Index(ids, u.ID))
		}
		return got, total, err
	}
	for _, c := range []struct {
		sortBy    string
		asc, desc []int
	}{
		{"userName", []int{1, 2, 0, 3, 4}, []int{4, 3, 0, 2, 1}},
		{"USERNAME", []int{1, 2, 0, 3, 4}, []int{4, 3, 0, 2, 1}},
		{store.UserSchema + ":userName", []int{1, 2, 0, 3, 4}, []int{4, 3, 0, 2, 1}},
		{"displayName", []int{2, 3, 0, 4, 1}, []int{1, 4, 0, 3, 2}},
		{"name.familyName", []int{2, 0, 1, 4, 3}, []int{3, 4, 1, 0, 2}},
		{"externalId", []int{2, 4, 3, 0, 1}, []int{1, 0, 3, 4, 2}},
		{"meta.created", []int{0, 1, 2, 3, 4}, []int{4, 3, 2, 1, 0}},
		{"meta.lastModified", []int{0, 1, 2, 3, 4}, []int{4, 3, 2, 1, 0}},
		{"active", []int{0, 1, 2, 3, 4}, []int{4, 3, 2, 1, 0}},
		{"title", []int{0, 1, 2, 3, 4}, []int{4, 3, 2, 1, 0}}, // no values: all ties
	} {
		for _, desc := range []bool{false, true} {
			want := c.asc
			if desc {
				want = c.desc
			}
			got, total, err := list(store.Query{SortBy: c.sortBy, SortDescending: desc, StartIndex: 1, Count: 10})
			if err != nil || total != 5 || !slices.Equal(got, want) {
				t.Errorf("sortBy %s descending=%v: %v total %d err %v, want %v", c.sortBy, desc, got, total, err, want)
			}
			// The same order a page at a time.
			var paged []int
			for start := 1; start <= 5; start += 2 {
				page, _, err := list(store.Query{SortBy: c.sortBy, SortDescending: desc, StartIndex: start, Count: 2})
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, page...)
			}
			if !slices.Equal(paged, want) {
				t.Errorf("sortBy %s descending=%v in pages of 2: %v, want %v", c.sortBy, desc, paged, want)
			}
		}
	}
	got, total, err := list(store.Query{Filter: parseFilter(t, `userName sw "a" or userName sw "b"`), SortBy: "displayName",
		SortDescending: true, StartIndex: 1, Count: 10})
	if err != nil || total != 2 || !slices.Equal(got, []int{1, 2}) {
		t.Errorf("filtered and sorted: %v total %d err %v", got, total, err)
	}
	for _, bad := range []string{"emails", "emails.value", "name", "password", "nosuch", "meta", "meta.version", "groups",
		`displayName[value eq "x"]`, "urn:nosuch:userName"} {
		_, _, err := list(store.Query{SortBy: bad, Count: 10})
		var inv *store.InvalidError
		if !errors.As(err, &inv) || inv.Attribute != "sortBy" {
			t.Errorf("sortBy %q: %v, want an InvalidError sortBy", bad, err)
		}
	}
	_, _, err = list(store.Query{SortBy: "userName", Count: 10, Keyset: &store.Keyset{}})
	if inv := (*store.InvalidError)(nil); !errors.As(err, &inv) {
		t.Errorf("sortBy with a keyset: %v, want an InvalidError", err)
	}
}

// testSortGroups is testSortUsers for groups.
func testSortGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids []string
	for _, x := range []struct{ name, ext string }{{"beta", "b"}, {"Alpha", ""}, {"gamma", "B"}, {"Éclair", "a"}} {
		g := store.Group{DisplayName: x.name, ExternalID: x.ext}
		if err := s.CreateGroup(ctx, &g, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.ID)
	}
	for _, c := range []struct {
		sortBy    string
		asc, desc []int
	}{
		{"displayName", []int{1, 0, 2, 3}, []int{3, 2, 0, 1}},
		{"externalId", []int{2, 3, 0, 1}, []int{1, 0, 3, 2}},
		{"meta.created", []int{0, 1, 2, 3}, []int{3, 2, 1, 0}},
		{"meta.lastModified", []int{0, 1, 2, 3}, []int{3, 2, 1, 0}},
	} {
		for _, desc := range []bool{false, true} {
			want := c.asc
			if desc {
				want = c.desc
			}
			groups, total, err := s.ListGroups(ctx, store.Query{SortBy: c.sortBy, SortDescending: desc, StartIndex: 1, Count: 10})
			var got []int
			for _, g := range groups {
				got = append(got, slices.Index(ids, g.ID))
			}
			if err != nil || total != 4 || !slices.Equal(got, want) {
				t.Errorf("sortBy %s descending=%v: %v total %d err %v, want %v", c.sortBy, desc, got, total, err, want)
			}
		}
	}
	for _, bad := range []string{"members", "members.value", "userName", "meta.version"} {
		_, _, err := s.ListGroups(ctx, store.Query{SortBy: bad, Count: 10})
		var inv *store.InvalidError
		if !errors.As(err, &inv) || inv.Attribute != "sortBy" {
			t.Errorf("sortBy %q: %v, want an InvalidError sortBy", bad, err)
		}
	}
}
