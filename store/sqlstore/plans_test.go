package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// skipPlansUnderRace skips a plan test in a race-detector build. A plan test fills tens of
// thousands of rows into SQLite, which the detector slows about tenfold (a third of this
// package's time under -race), and asks the planner a question no data race can change
// the answer to; "make test" runs them once more without -race.
func skipPlansUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("a query plan test: run without -race (make test does)")
	}
}

// planFixture adds the accounts from..to (1-based, in key order) to a store, with SQL
// rather than the store's API so that 20,000 take a second: odd accounts in the default
// team only (with its team-join channels), even ones in two of 50 groups mapped to 10
// teams. The first call also makes the teams, channels and groups. It runs no ANALYZE:
// right after it a database is in the state of a newly provisioned tenant, or of any
// server with autovacuum off, until statistics are first gathered.
func planFixture(t *testing.T, s *sqlstore.Store, from, to int) {
	t.Helper()
	n := fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) `, from, to) // ints, not input
	var qs []string
	if from == 1 {
		qs = append(qs,
			`INSERT INTO teams (name, display_name, created_at) VALUES ('everyone', 'everyone', 0)`,
			`INSERT INTO teams (name, display_name, created_at) SELECT 'team' || CAST(i AS TEXT), 'team', 0
			 FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT i FROM n) x`,
			`INSERT INTO channels (team_pk, name, display_name, type, created_at)
			 SELECT t.pk, c.name, c.name, 'O', 0 FROM teams t, (SELECT 'town-square' AS name UNION ALL SELECT 'off-topic') c`,
			`INSERT INTO groups (id, display_name, display_name_ci, name, created_at, updated_at, version)
			 SELECT 'g' || CAST(i AS TEXT), 'g' || CAST(i AS TEXT), 'g' || CAST(i AS TEXT), 'g' || CAST(i AS TEXT), 0, 0, 1
			 FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) SELECT i FROM n) x`,
			`INSERT INTO group_teams (group_pk, team_pk) SELECT g.pk, t.pk FROM groups g JOIN teams t
			 ON t.name = 'team' || CAST(1 + g.pk % 10 AS TEXT)`,
			`INSERT INTO group_ancestors (group_pk, ancestor_pk) SELECT pk, pk FROM groups`) // each group's own closure row
	}
	fresh := `u.pk NOT IN (SELECT user_pk FROM team_members)`
	qs = append(qs,
		`INSERT INTO users (id, user_name, user_name_ci, created_at, updated_at, version, username, active)
		 SELECT 'u' || CAST(i AS TEXT), 'u' || CAST(i AS TEXT), 'u' || CAST(i AS TEXT), 0, 0, 1, 'u' || CAST(i AS TEXT), true
		 FROM (`+n+`SELECT i FROM n) x`,
		`INSERT INTO group_members (group_pk, user_pk) SELECT g.pk, u.pk FROM users u JOIN groups g
		 ON g.pk = 1 + u.pk % 50 OR g.pk = 1 + (u.pk + 7) % 50 WHERE u.pk % 2 = 0 AND `+fresh,
		`INSERT INTO team_members (team_pk, user_pk, source, created_at) SELECT gt.team_pk, gm.user_pk, 'group:' || CAST(gm.group_pk AS TEXT), 0
		 FROM group_members gm JOIN group_teams gt ON gt.group_pk = gm.group_pk JOIN users u ON u.pk = gm.user_pk WHERE `+fresh,
		`INSERT INTO team_members (team_pk, user_pk, source, created_at) SELECT t.pk, u.pk, 'default', 0
		 FROM users u, teams t WHERE t.name = 'everyone' AND u.pk % 2 = 1 AND `+fresh,
		`INSERT INTO channel_members (channel_pk, user_pk, source, created_at) SELECT DISTINCT c.pk, tm.user_pk, 'team', 0
		 FROM team_members tm JOIN channels c ON c.team_pk = tm.team_pk
		 WHERE tm.user_pk NOT IN (SELECT user_pk FROM channel_members)`)
	for _, q := range qs {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatalf("fixture: %v\n%s", err, q)
		}
	}
}

// samplePKs returns 400 account keys spread over the table, all in the default team
// only: a reconcile chunk, or accounts joining their first group.
func samplePKs(t *testing.T, s *sqlstore.Store) []int64 {
	t.Helper()
	var pks []int64
	if err := s.DB().Select(&pks, `SELECT pk FROM users WHERE pk % 50 = 3 ORDER BY pk LIMIT 400`); err != nil {
		t.Fatal(err)
	}
	return pks
}

var bigTables = map[string]bool{"users": true, "team_members": true, "channel_members": true, "group_members": true}

// perAccount reports whether the condition an index is searched with names the account:
// "user_pk" for the membership tables, "pk" for users. Any other access to a big table
// (a sequential scan, or an index searched by group, team or channel) reads rows in
// proportion to the tenant, not to the accounts at hand.
func perAccount(table, cond string) bool {
	if table == "users" {
		return regexp.MustCompile(`\b(pk|rowid|id)\b`).MatchString(cond)
	}
	return strings.Contains(cond, "user_pk")
}

// wideReads returns the accesses of st to bigTables that are not per account, from the
// plan s's database chooses now, and the plan for the failure message. The plan tests
// are about each database's planner and each database explains a plan in its own format,
// so the reader is picked by backend (planReaders); a backend without one fails the test
// rather than passing it unchecked.
func wideReads(t *testing.T, s *sqlstore.Store, st sqlstore.PlannedStatement) (bad []string, plan string) {
	t.Helper()
	read, ok := planReaders[s.Backend()]
	if !ok {
		t.Fatalf("no plan reader for backend %q", s.Backend())
	}
	return read(t, s.DB(), st)
}

var planReaders = map[string]func(t *testing.T, q sqlx.Queryer, st sqlstore.PlannedStatement) (bad []string, plan string){
	"postgres": postgresWideReads,
	"sqlite":   sqliteWideReads,
}

// postgresWideReads reads EXPLAIN (FORMAT JSON).
func postgresWideReads(t *testing.T, q sqlx.Queryer, st sqlstore.PlannedStatement) (bad []string, plan string) {
	t.Helper()
	var js []byte
	if err := q.QueryRowx(`EXPLAIN (FORMAT JSON) `+st.SQL, st.Args...).Scan(&js); err != nil {
		t.Fatalf("%s: explain: %v", st.What, err)
	}
	var root []struct{ Plan map[string]any }
	if err := json.Unmarshal(js, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(n map[string]any, depth int)
	var lines []string
	walk = func(n map[string]any, depth int) {
		typ, _ := n["Node Type"].(string)
		rel, _ := n["Relation Name"].(string)
		cond := ""
		for _, k := range []string{"Index Cond", "Recheck Cond", "Filter"} {
			if c, ok := n[k].(string); ok {
				cond += k + ": " + c + " "
			}
		}
		lines = append(lines, strings.Repeat("  ", depth)+typ+" "+rel+" "+cond)
		// A TID scan reads rows by address: as narrow as it gets. users is read by its
		// unique keys (pk, id), for which the planner's row estimate is exact even
		// without statistics, so its choice of a sequential scan for hundreds of keys
		// on a small table is a sound one; what must not happen is an index read by
		// anything else (such as every live user through users_user_name_ci_live).
		if bigTables[rel] && typ != "ModifyTable" && typ != "Tid Scan" && !(rel == "users" && typ == "Seq Scan") {
			ic, _ := n["Index Cond"].(string)
			rc, _ := n["Recheck Cond"].(string)
			if !perAccount(rel, ic+" "+rc) {
				bad = append(bad, typ+" on "+rel)
			}
		}
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			walk(k.(map[string]any), depth+1)
		}
	}
	walk(root[0].Plan, 0)
	return bad, strings.Join(lines, "\n")
}

// sqliteWideReads reads EXPLAIN QUERY PLAN.
func sqliteWideReads(t *testing.T, q sqlx.Queryer, st sqlstore.PlannedStatement) (bad []string, plan string) {
	t.Helper()
	rows, err := q.Queryx(`EXPLAIN QUERY PLAN `+st.SQL, st.Args...)
	if err != nil {
		t.Fatalf("%s: explain: %v", st.What, err)
	}
	defer rows.Close()
	re := regexp.MustCompile(`\b(SCAN|SEARCH) (\w+)(.*)`)
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
		if m := re.FindStringSubmatch(detail); m != nil && bigTables[m[2]] {
			if m[1] == "SCAN" || !perAccount(m[2], m[3]) {
				bad = append(bad, detail)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return bad, strings.Join(lines, "\n")
}

// TestReconcilePlansWithoutStatistics checks that the statements of a reconcile read the
// big tables per account, on a database that was never analyzed, for one account (a
// reactivation, a one-member change) and for a chunk of 400: none may read a whole
// membership or users table, whose size is the tenant's, not the chunk's.
func TestReconcilePlansWithoutStatistics(t *testing.T) {
	skipPlansUnderRace(t)
	if testing.Short() {
		t.Skip("fills 20,000 accounts")
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		planFixture(t, s, 1, 20000)
		var team int64
		if err := s.DB().Get(&team, `SELECT pk FROM teams WHERE name = 'everyone'`); err != nil {
			t.Fatal(err)
		}
		pks := samplePKs(t, s)
		check := func(name string, pks []int64) {
			for _, st := range s.ReconcileStatementsForTest(pks, team) {
				if bad, plan := wideReads(t, s, st); len(bad) > 0 {
					t.Errorf("%s: %s reads all of %v:\n%s", name, st.What, bad, plan)
				}
			}
		}
		check("1 account", pks[:1])
		check("400 accounts", pks)
	})
}

// TestDeltaPlans checks the statements of a member add's delta the same way, for one
// account and for a 400-account chunk, on both backends, without statistics and with
// stale ones (gathered when the tables held 1% of their rows, as between two runs of
// autovacuum's analyze on a growing tenant): they must read the big tables only by
// account whatever the planner believes.
func TestDeltaPlans(t *testing.T) {
	skipPlansUnderRace(t)
	if testing.Short() {
		t.Skip("fills 20,000 accounts")
	}
	for _, b := range sqltest.Backends(t) {
		for _, stats := range []string{"no statistics", "stale statistics"} {
			t.Run(b.Name+"/"+stats, func(t *testing.T) {
				s := sqltest.Open(t, b)
				from := 1
				if stats == "stale statistics" {
					planFixture(t, s, 1, 200)
					if _, err := s.DB().Exec(`ANALYZE`); err != nil {
						t.Fatal(err)
					}
					from = 201
				}
				planFixture(t, s, from, 20000)
				pks := samplePKs(t, s)
				var ids []string
				if err := s.DB().Select(&ids, `SELECT id FROM users WHERE pk % 50 = 3 ORDER BY pk LIMIT 400`); err != nil {
					t.Fatal(err)
				}
				for _, n := range []int{1, len(pks)} {
					for _, st := range s.GrantGroupStatementsForTest(7, pks[:n], ids[:n]) {
						bad, plan := wideReads(t, s, st)
						if len(bad) > 0 {
							t.Errorf("%d accounts: %s reads all of %v:\n%s", n, st.What, bad, plan)
						}
						if os.Getenv("TS_PLAN_LOG") != "" {
							t.Logf("%d accounts: %s:\n%s", n, st.What, plan)
						}
					}
				}
			})
		}
	}
}

// TestCountPairsReadsByAccount: the journal's count of the pairs a change wrote reads
// each account's rows and filters them by target, for a chunk of 400 accounts and 1,200
// targets (an import spread over a hundred teams): searching the primary key by target
// and account is one probe per pair of the product, 480,000 here, which was half of a
// bulk import's time on both databases.
func TestCountPairsReadsByAccount(t *testing.T) {
	skipPlansUnderRace(t)
	if testing.Short() {
		t.Skip("fills 20,000 accounts")
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		planFixture(t, s, 1, 20000)
		st := s.CountPairsForTest(samplePKs(t, s), 1200)
		bad, plan := wideReads(t, s, st)
		if len(bad) > 0 {
			t.Fatalf("%s reads all of %v:\n%s", st.What, bad, plan)
		}
		for _, line := range strings.Split(plan, "\n") {
			if strings.Contains(line, "_members") && regexp.MustCompile(`(team|channel)_pk ?=`).MatchString(line) {
				t.Errorf("%s searches by target: %s\n%s", st.What, line, plan)
			}
		}
	})
}

// TestAccountPagePlan: pages of ListAccounts walk the byte-order username index and stop
// once full, rather than sort every account: the first page without statistics (whose
// row estimate for a new table is low, so that PostgreSQL sorts larger pages), and pages
// of the listing once statistics are there.
func TestAccountPagePlan(t *testing.T) {
	skipPlansUnderRace(t)
	if testing.Short() {
		t.Skip("fills 20,000 accounts")
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		planFixture(t, s, 1, 20000)
		wantAccountPagePlan(t, s, s.AccountPageStatementForTest(store.AccountQuery{}, 0, 100, 0))
		if _, err := s.DB().Exec(`ANALYZE`); err != nil {
			t.Fatal(err)
		}
		for _, page := range []struct{ limit, offset int }{{100, 0}, {store.MaxAccountPage, 0}, {100, 1000}} {
			wantAccountPagePlan(t, s, s.AccountPageStatementForTest(store.AccountQuery{}, 0, page.limit, page.offset))
		}
	})
}

func wantAccountPagePlan(t *testing.T, s *sqlstore.Store, st sqlstore.PlannedStatement) {
	t.Helper()
	{ // one plan
		var explain, index string
		var sorted []string // what a plan that sorts says
		switch s.Backend() {
		case "postgres":
			explain, index, sorted = `EXPLAIN `, "users_username_c", []string{"Sort"}
		case "sqlite":
			explain, index, sorted = `EXPLAIN QUERY PLAN `, "users_username", []string{"TEMP B-TREE"}
		default:
			t.Fatalf("no plan reader for backend %q", s.Backend())
		}
		rows, err := s.DB().Queryx(explain+st.SQL, st.Args...)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for rows.Next() {
			cols, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprint(cols...))
		}
		rows.Close()
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, index) {
			t.Errorf("the page does not walk %s:\n%s", index, plan)
		}
		for _, w := range sorted {
			if strings.Contains(plan, w) {
				t.Errorf("the page sorts the accounts:\n%s", plan)
			}
		}
	}
}

// TestAdoptCheckPlan: the look for an account to adopt, which every SCIM create makes, reads
// the partial index users_adoptable, before and after statistics, and with PostgreSQL's
// generic plan (the one a cached statement gets): through users_live_pk it walked every
// live account, doubling a create's statement at 10,000 accounts.
func TestAdoptCheckPlan(t *testing.T) {
	skipPlansUnderRace(t)
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		planFixture(t, s, 1, 20000)
		q := `SELECT 1 FROM users WHERE external_id = $1 AND ` + sqlstore.AdoptableForTest
		for _, analyzed := range []bool{false, true} {
			if analyzed {
				if _, err := s.DB().Exec(`ANALYZE`); err != nil {
					t.Fatal(err)
				}
			}
			conn, err := s.DB().Connx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			switch s.Backend() {
			case "postgres":
				for _, stmt := range []string{`SET plan_cache_mode = force_generic_plan`, `PREPARE adopt(text) AS ` + q} {
					if _, err := conn.ExecContext(ctx, stmt); err != nil {
						t.Fatal(err)
					}
				}
				err = conn.SelectContext(ctx, &rows, `EXPLAIN EXECUTE adopt('x')`)
				_, _ = conn.ExecContext(ctx, `DEALLOCATE adopt; RESET plan_cache_mode`)
			default:
				var plan []struct {
					ID, Parent, NotUsed int
					Detail              string
				}
				err = conn.SelectContext(ctx, &plan, `EXPLAIN QUERY PLAN `+strings.Replace(q, "$1", "?", 1), "x")
				for _, p := range plan {
					rows = append(rows, p.Detail)
				}
			}
			conn.Close()
			if err != nil {
				t.Fatal(err)
			}
			if text := strings.Join(rows, "\n"); !strings.Contains(text, "users_adoptable") {
				t.Errorf("analyzed %v: the adopt check does not read users_adoptable:\n%s", analyzed, text)
			}
		}
	})
}
