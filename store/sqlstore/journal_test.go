package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestJournalOutOfOrderCommits: on PostgreSQL a transaction that took a lower seq may
// commit after one that took a higher. A reader between the two commits sees the later
// seq; once the earlier seq commits, a reader resuming from its cursor still gets it
// (it is sequenced after everything already visible), and nothing is returned twice.
func TestJournalOutOfOrderCommits(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		if b.Name != "postgres" { // SQLite's transactions hold the database from BEGIN: they cannot interleave
			continue
		}
		s := sqltest.Open(t, b)
		ctx := context.Background()
		insert := `INSERT INTO journal (time_ms, actor, n, entries) VALUES (0, 'test', 1, '[{"k":"mattermost.dry_run","s":"' || $1 || '"}]') RETURNING seq`
		early, err := s.DB().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer early.Rollback()
		late, err := s.DB().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer late.Rollback()
		var seqEarly, seqLate int64
		if err := early.GetContext(ctx, &seqEarly, insert, "early"); err != nil {
			t.Fatal(err)
		}
		if err := late.GetContext(ctx, &seqLate, insert, "late"); err != nil {
			t.Fatal(err)
		}
		if seqEarly >= seqLate {
			t.Fatalf("seqs %d, %d", seqEarly, seqLate)
		}
		if err := late.Commit(); err != nil {
			t.Fatal(err)
		}
		first, err := s.Events(ctx, store.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(first) != 1 || first[0].Source != "late" {
			t.Fatalf("before the early transaction commits: %+v", first)
		}
		if err := early.Commit(); err != nil {
			t.Fatal(err)
		}
		next, err := s.Events(ctx, store.EventQuery{After: first[0].Cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(next) != 1 || next[0].Source != "early" || next[0].Cursor <= first[0].Cursor {
			t.Fatalf("after cursor %d: %+v", first[0].Cursor, next)
		}
		all, err := s.Events(ctx, store.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].Source != "late" || all[1].Source != "early" {
			t.Fatalf("the whole journal: %+v", all)
		}
		if c, _, err := s.JournalHead(ctx); err != nil || c != next[0].Cursor {
			t.Fatalf("head %d, %v", c, err)
		}
	}
}

// TestJournalSequencedAtInsertOnSQLite: on SQLite a row's position is its rowid, taken
// as it is written (migration 0007), so rows are in the order they were written, several
// rows of one statement too, and readers never write.
func TestJournalSequencedAtInsertOnSQLite(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		if b.Name != "sqlite" {
			continue
		}
		s := sqltest.Open(t, b)
		ctx := context.Background()
		var want []string // account.created, in the order the accounts were created
		var ids []string
		for i := range 6 {
			u := store.User{UserName: fmt.Sprintf("u%d", i), Active: true}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			want = append(want, u.ID)
			ids = append(ids, u.ID)
		}
		// Several rows in one statement (a group's members joining, one row each).
		g := store.Group{DisplayName: "g"}
		if err := s.CreateGroup(ctx, &g, ids); err != nil {
			t.Fatal(err)
		}
		es, err := s.Events(ctx, store.EventQuery{Limit: store.MaxEventPage})
		if err != nil {
			t.Fatal(err)
		}
		var created []string
		var last int64 = -1
		for _, e := range es {
			if e.Cursor <= last {
				t.Fatalf("cursor %d after %d", e.Cursor, last)
			}
			if e.Kind == store.EventAccountCreated {
				created = append(created, e.Account)
			}
			last = e.Cursor
		}
		if fmt.Sprint(created) != fmt.Sprint(want) {
			t.Fatalf("created in journal order %v, want %v", created, want)
		}
		var positions []int64
		if err := s.DB().Select(&positions, `SELECT position FROM journal ORDER BY position`); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(positions); i++ {
			if positions[i] != positions[i-1]+1 {
				t.Fatalf("positions %v: not consecutive (nothing was pruned)", positions)
			}
		}
		var unsequenced int
		if err := s.DB().Get(&unsequenced, `SELECT COUNT(*) FROM journal WHERE position IS NULL`); err != nil || unsequenced != 0 {
			t.Fatalf("%d rows without a position, %v", unsequenced, err)
		}
	}
}

// TestJournalPositionsNeverReusedOnSQLite: a rowid is never given twice (AUTOINCREMENT),
// even when the newest row is deleted (PruneEvents never does; anything else might) and
// the store restarts: a consumer's stored cursor is never overtaken by an older number.
func TestJournalPositionsNeverReusedOnSQLite(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		if b.Name != "sqlite" {
			continue
		}
		ctx := context.Background()
		dsn := b.DSN(t)
		s, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := s.AppendEvent(ctx, store.Event{Kind: store.EventMattermostDryRun, Source: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		top, _, err := s.JournalHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().Exec(`DELETE FROM journal WHERE position = (SELECT MAX(position) FROM journal)`); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.AppendEvent(ctx, store.Event{Kind: store.EventMattermostDryRun, Source: "after"}); err != nil {
			t.Fatal(err)
		}
		es, err := s.Events(ctx, store.EventQuery{After: top})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Source != "after" || es[0].Cursor <= top {
			t.Fatalf("after deleting the newest row (cursor %d) and restarting: %+v", top, es)
		}
	}
}

// TestJournalMigration0007 upgrades a journal written by the 0005 schema (positions
// given by the store, with gaps left by pruning, a row left unsequenced, and a stored
// cursor) to 0007's: every row keeps its position and entries, the unsequenced row comes
// after them, the cursor still points where it did, an account found only in the journal
// is still found, and new rows continue after the highest position, on SQLite even once
// the newest row is deleted (AUTOINCREMENT). On PostgreSQL 0007 changes nothing, which the
// same checks show (there the sequencer numbers the unsequenced row).
func TestJournalMigration0007(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := storeAtMigration(t, b, 6)
			// As release 0006 left them: rows 1, 2 and 4..6 pruned.
			for _, r := range []struct {
				pos     int64
				account string
				n       int
			}{{3, "gone-account", 2}, {7, "", 1}, {8, "gone-account", 1}} {
				entries := `[{"k":"account.updated","b":{"title":"a"},"a":{"title":"b"}}` + strings.Repeat(`,{"k":"account.deactivated"}`, r.n-1) + `]`
				if _, err := s.DB().Exec(s.DB().Rebind(`INSERT INTO journal (position, time_ms, actor, request_id, account_id, username, n, entries)
					VALUES (?, ?, 'okta', 'req', ?, 'gone', ?, ?)`), r.pos, r.pos*1000, r.account, r.n, entries); err != nil {
					t.Fatal(err)
				}
			}
			// Never written by SQLite's store, but 0007 follows the sequencer's rule.
			if _, err := s.DB().Exec(`INSERT INTO journal (time_ms, actor, n, entries) VALUES (9000, 'okta', 1, '[{"k":"mattermost.dry_run","s":"unsequenced"}]')`); err != nil {
				t.Fatal(err)
			}
			if err := s.SetCursor(ctx, "mattermost", 7<<10); err != nil {
				t.Fatal(err)
			}
			before, err := s.Events(ctx, store.EventQuery{Limit: store.MaxEventPage})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := s.MigrateCount(ctx); err != nil || n < 1 {
				t.Fatalf("migrate from version 6: %d, %v", n, err)
			}
			after, err := s.Events(ctx, store.EventQuery{Limit: store.MaxEventPage})
			if err != nil {
				t.Fatal(err)
			}
			// (PostgreSQL's Events sequenced the unsequenced row; SQLite's cannot.)
			if len(before) < 4 || len(after) != 5 || fmt.Sprintf("%+v", after[:4]) != fmt.Sprintf("%+v", before[:4]) {
				t.Fatalf("journal before the migration:\n%+v\nafter:\n%+v", before, after)
			}
			if after[4].Source != "unsequenced" || after[4].Cursor != 9<<10 {
				t.Fatalf("the unsequenced row after the migration: %+v", after[4])
			}
			if got := []int64{after[0].Cursor, after[1].Cursor, after[2].Cursor, after[3].Cursor}; fmt.Sprint(got) != fmt.Sprint([]int64{3 << 10, 3<<10 | 1, 7 << 10, 8 << 10}) {
				t.Fatalf("cursors %v", got)
			}
			if c, err := s.Cursor(ctx, "mattermost"); err != nil || c != 7<<10 {
				t.Fatalf("stored cursor %d, %v", c, err)
			}
			if id, err := s.AccountID(ctx, "gone-account"); err != nil || id != "gone-account" {
				t.Fatalf("account found in the journal: %q, %v", id, err)
			}
			if es, err := s.Events(ctx, store.EventQuery{Account: "gone-account"}); err != nil || len(es) != 3 {
				t.Fatalf("the account's entries: %+v, %v", es, err)
			}
			if err := s.AppendEvent(ctx, store.Event{Kind: store.EventMattermostDryRun, Source: "new"}); err != nil {
				t.Fatal(err)
			}
			es, err := s.Events(ctx, store.EventQuery{After: 8 << 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != 2 || es[1].Source != "new" || es[1].Cursor != 10<<10 {
				t.Fatalf("after the migration, a new entry: %+v", es)
			}
			if c, _, err := s.JournalHead(ctx); err != nil || c != 10<<10 {
				t.Fatalf("head %d, %v", c, err)
			}
			if b.Name != "sqlite" {
				return // PostgreSQL's sequencer numbers on from the newest row, which PruneEvents keeps
			}
			if _, err := s.DB().Exec(`DELETE FROM journal WHERE position = 10`); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendEvent(ctx, store.Event{Kind: store.EventMattermostDryRun, Source: "newer"}); err != nil {
				t.Fatal(err)
			}
			if es, err := s.Events(ctx, store.EventQuery{After: 9 << 10}); err != nil || len(es) != 1 || es[0].Cursor != 11<<10 {
				t.Fatalf("after deleting the newest row, a new entry: %+v, %v", es, err)
			}
		})
	}
}

// TestJournalPlans: every read of the journal (Events, with and without an account,
// JournalHead, AccountID's lookup, PruneEvents) reaches its rows through an index, on a
// journal of 20,000 rows: none scans the table, whose length is the retention's. On
// PostgreSQL after ANALYZE (autovacuum's, long before a journal is long; without any
// statistics PruneEvents' outer DELETE is planned as a hash join over the table).
func TestJournalPlans(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := sqltest.Open(t, b)
			if _, err := s.DB().Exec(`INSERT INTO journal (position, time_ms, actor, account_id, username, n, entries)
				SELECT i, i, 'okta', 'acc' || CAST(i % 1000 AS TEXT), 'u', 1, '[{"k":"mattermost.dry_run"}]'
				FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i FROM n) x`); err != nil {
				t.Fatal(err)
			}
			if b.Name == "postgres" {
				if _, err := s.DB().Exec(`ANALYZE journal`); err != nil {
					t.Fatal(err)
				}
			}
			for _, st := range s.JournalStatementsForTest() {
				if bad, plan := journalScans(t, s, st); len(bad) > 0 {
					t.Errorf("%s scans the journal (%v):\n%s", st.What, bad, plan)
				}
			}
		})
	}
}

// journalScans returns the accesses of st to the journal that read it whole: on SQLite a
// SCAN (of the table or of an index), on PostgreSQL a sequential scan.
func journalScans(t *testing.T, s *sqlstore.Store, st sqlstore.PlannedStatement) (bad []string, plan string) {
	t.Helper()
	var lines []string
	switch s.Backend() {
	case "sqlite":
		rows, err := s.DB().Queryx(`EXPLAIN QUERY PLAN `+st.SQL, st.Args...)
		if err != nil {
			t.Fatalf("%s: explain: %v", st.What, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
			if strings.HasPrefix(detail, "SCAN journal") {
				bad = append(bad, detail)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	case "postgres":
		rows, err := s.DB().Queryx(`EXPLAIN `+st.SQL, st.Args...)
		if err != nil {
			t.Fatalf("%s: explain: %v", st.What, err)
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, line)
			if strings.Contains(line, "Seq Scan on journal") {
				bad = append(bad, strings.TrimSpace(line))
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("no plan reader for backend %q", s.Backend())
	}
	return bad, strings.Join(lines, "\n")
}
