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

// exportRecorder keeps the usernames and the memberships an export sends.
type exportRecorder struct{ lines []string }

func (r *exportRecorder) Team(t store.ExportTeam) error {
	r.lines = append(r.lines, "team "+t.Name)
	return nil
}
func (r *exportRecorder) Channel(c store.ExportChannel) error {
	r.lines = append(r.lines, "channel "+c.Team+"/"+c.Name)
	return nil
}
func (r *exportRecorder) User(u store.ExportUser) error {
	r.lines = append(r.lines, fmt.Sprintf("user %s %v", u.Username, u.Teams))
	return nil
}

// TestExportPages: an export read a few accounts a page (keyset pages on SQLite, FETCHes
// from a cursor on PostgreSQL) sends what one page sends, in byte order of usernames
// ('.' and '-' sort before digits and letters, as no locale's collation has it), with
// and without a team filter.
func TestExportPages(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var b store.ImportBatch
		b.Teams = []store.ImportTeam{{Line: 1, Name: "eng"}, {Line: 2, Name: "ops"}}
		for i, name := range []string{"b.x", "a-b", "ab", "a.c", "b1", "zed", "a_b", "aa", "c"} {
			team := []string{"eng", "ops"}[i%2]
			b.Users = append(b.Users, store.ImportUser{Line: 10 + i, Username: name, Email: name + "@example.com",
				Teams: []store.ImportTeamMembership{{Name: team}}})
		}
		if _, err := s.ImportChat(ctx, b, store.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		export := func(q store.ExportQuery) []string {
			var r exportRecorder
			if err := s.ExportChat(ctx, q, &r); err != nil {
				t.Fatal(err)
			}
			return r.lines
		}
		whole, eng := export(store.ExportQuery{}), export(store.ExportQuery{Teams: []string{"eng"}})
		var users []string
		for _, l := range whole {
			if len(l) > 5 && l[:5] == "user " {
				users = append(users, l)
			}
		}
		if !slices.IsSortedFunc(users, func(a, b string) int { return compareBytes(a, b) }) || len(users) != 9 {
			t.Fatalf("users not in byte order: %q", users)
		}
		for _, n := range []int{1, 2, 4} {
			sqlstore.SetExportPageForTest(t, n)
			if got := export(store.ExportQuery{}); !slices.Equal(got, whole) {
				t.Fatalf("pages of %d:\n%q\nwant\n%q", n, got, whole)
			}
			if got := export(store.ExportQuery{Teams: []string{"eng"}}); !slices.Equal(got, eng) {
				t.Fatalf("pages of %d of eng:\n%q\nwant\n%q", n, got, eng)
			}
		}
	})
}

func compareBytes(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
