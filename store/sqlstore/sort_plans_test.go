package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestSortedPagePlans: a page sorted on an attribute of migration 0012 walks that
// attribute's index, in either direction, and stops once full, rather than sorting every
// live user: before statistics (a new tenant) and after.
func TestSortedPagePlans(t *testing.T) {
	skipPlansUnderRace(t)
	if testing.Short() {
		t.Skip("fills 20,000 accounts")
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		planFixture(t, s, 1, 20000)
		// Values for the sort keys, some absent.
		if _, err := s.DB().Exec(`UPDATE users SET display_name = 'D' || CAST(pk % 977 AS TEXT), family_name = 'f' || CAST(pk % 13 AS TEXT),
			given_name = CASE WHEN pk % 3 = 0 THEN NULL ELSE 'g' || CAST(pk AS TEXT) END,
			external_id = CASE WHEN pk % 5 = 0 THEN NULL ELSE 'x' || CAST(pk AS TEXT) END,
			created_at = pk, updated_at = 40000 - pk`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().Exec(`INSERT INTO groups (id, display_name, display_name_ci, name, external_id, created_at, updated_at, version)
			SELECT 'h' || CAST(i AS TEXT), 'h' || CAST(i AS TEXT), 'h' || CAST(i AS TEXT), 'h' || CAST(i AS TEXT),
				CASE WHEN i % 5 = 0 THEN NULL ELSE 'x' || CAST(i AS TEXT) END, i, 40000 - i, 1
			FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i FROM n) x`); err != nil {
			t.Fatal(err)
		}
		// Without statistics PostgreSQL estimates a new table's live users at a few rows
		// and sorts them, as it does an unsorted page's (users_live_pk); the plans that
		// matter are those once statistics exist, as autovacuum gathers them.
		for _, analyzed := range []bool{s.Backend() == "postgres", true} {
			if analyzed {
				if _, err := s.DB().Exec(`ANALYZE`); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct{ table, sortBy, index string }{
				{"users", "userName", "users_sort_user_name"},
				{"groups", "displayName", "groups_sort_display_name"},
			} {
				if alt, ok := sqliteIndex[c.index]; ok && s.Backend() == "sqlite" {
					c.index = alt
				}
				for _, desc := range []bool{false, true} {
					st, err := s.SortedPageStatementForTest(c.table, store.Query{SortBy: c.sortBy, SortDescending: desc})
					if err != nil {
						t.Fatal(err)
					}
					plan := explain(t, s, st)
					if !strings.Contains(plan, c.index) || strings.Contains(plan, "Sort") || strings.Contains(plan, "TEMP B-TREE") {
						t.Errorf("sortBy %s (descending %v, statistics %v) does not walk %s:\n%s", c.sortBy, desc, analyzed, c.index, plan)
					}
				}
			}
		}
	})
}

// sqliteIndex are the indexes SQLite sorts by instead of those of PostgreSQL's migration
// 0012: an index's entries end with the rowid, pk, and SQLite's binary collation is the
// sort's, so an index on the folded name alone is already in the order of the sort.
var sqliteIndex = map[string]string{
	"users_sort_user_name":     "users_user_name_ci_live",
	"groups_sort_display_name": "groups_display_name_ci",
}

// explain is the plan of st, one line per row of the backend's EXPLAIN.
func explain(t *testing.T, s *sqlstore.Store, st sqlstore.PlannedStatement) string {
	t.Helper()
	prefix := map[string]string{"postgres": "EXPLAIN ", "sqlite": "EXPLAIN QUERY PLAN "}[s.Backend()]
	rows, err := s.DB().Queryx(prefix+st.SQL, st.Args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		cols, err := rows.SliceScan()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(cols...))
	}
	return strings.Join(lines, "\n")
}
