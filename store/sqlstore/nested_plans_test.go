package sqlstore_test

import (
	"regexp"
	"testing"

	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// nestPlanFixture is planFixture's 20,000 accounts with the groups g1…g10 nested in a
// chain (g1 contains g2, which contains g3, …), so that every account of those groups
// has indirect groups, and every group its own closure row.
func nestPlanFixture(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	planFixture(t, s, 1, 20000)
	qs := []string{
		`INSERT INTO group_ancestors (group_pk, ancestor_pk) SELECT pk, pk FROM groups WHERE true ON CONFLICT DO NOTHING`,
		`INSERT INTO group_groups (group_pk, member_pk) SELECT pk, pk + 1 FROM groups WHERE pk < 10`,
		`INSERT INTO group_ancestors (group_pk, ancestor_pk) SELECT d.pk, a.pk FROM groups d, groups a
		 WHERE d.pk <= 10 AND a.pk < d.pk ON CONFLICT DO NOTHING`,
	}
	for _, q := range qs {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatalf("fixture: %v\n%s", err, q)
		}
	}
}

// TestNestedReadPlans: the reads nested groups changed stay as cheap as the flat ones, on
// a database never analyzed. A users read (a list page, a lookup) reads each account's
// groups, direct and indirect, by account; a chunk of a group's members reads the
// group's rows by its key and the members' rows by theirs, never a whole table.
func TestNestedReadPlans(t *testing.T) {
	skipPlansUnderRace(t)
	if testing.Short() {
		t.Skip("fills 20,000 accounts")
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		nestPlanFixture(t, s)
		pks := samplePKs(t, s)
		for _, n := range []int{1, len(pks)} {
			st := s.UserReadStatementForTest(pks[:n])
			bad, plan := wideReads(t, s, st)
			if len(bad) > 0 {
				t.Errorf("%d accounts: %s reads all of %v:\n%s", n, st.What, bad, plan)
			}
			wantNoScan(t, st.What, plan)
		}
		for _, st := range s.MemberChunkStatementsForTest(3) {
			_, plan := wideReads(t, s, st)
			wantNoScan(t, st.What, plan)
		}
	})
}

// scanned finds a scan (SQLite's SCAN, PostgreSQL's Seq Scan) of a table of groups,
// whose size is the tenant's: the groups, and their memberships and closure. (users is
// wideReads's: PostgreSQL may scan it for hundreds of keys, its estimate being exact.)
var scanned = regexp.MustCompile(`(?m)^\s*(Seq Scan|SCAN) (groups|group_members|group_groups|group_ancestors)\b.*$`)

func wantNoScan(t *testing.T, what, plan string) {
	t.Helper()
	for _, line := range scanned.FindAllString(plan, -1) {
		t.Errorf("%s scans a whole table: %s\n%s", what, line, plan)
	}
}
