package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/townsquare/townsquare/store"
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

// TestJournalSequencedAtInsertOnSQLite: on SQLite every row has its position once
// written (dialect_sqlite.go: insertPosition), in seq order, so readers never write.
func TestJournalSequencedAtInsertOnSQLite(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		if b.Name != "sqlite" {
			continue
		}
		s := sqltest.Open(t, b)
		ctx := context.Background()
		u := store.User{UserName: "alice", Active: true}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		// Several rows in one statement too (a group's members joining).
		g := store.Group{DisplayName: "g"}
		var ids []string
		for i := range 5 {
			u := store.User{UserName: fmt.Sprintf("u%d", i), Active: true}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		if err := s.CreateGroup(ctx, &g, ids); err != nil {
			t.Fatal(err)
		}
		var unsequenced, disorder, n int
		if err := s.DB().Get(&unsequenced, `SELECT COUNT(*) FROM journal WHERE position IS NULL`); err != nil {
			t.Fatal(err)
		}
		if err := s.DB().Get(&disorder, `SELECT COUNT(*) FROM journal a JOIN journal b ON b.seq > a.seq WHERE b.position <= a.position`); err != nil {
			t.Fatal(err)
		}
		if disorder != 0 {
			t.Fatalf("%d pairs of rows whose positions are not in seq order", disorder)
		}
		if err := s.DB().Get(&n, `SELECT COUNT(*) FROM journal`); err != nil {
			t.Fatal(err)
		}
		if unsequenced != 0 || n < 8 {
			t.Fatalf("%d of %d rows without a position", unsequenced, n)
		}
	}
}
