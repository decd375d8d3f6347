package sqlstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// eachConnection runs fn on a store connected (without migrations: these tests run
// statements of their own) to each database of this run: a SQLite file, and the
// PostgreSQL database of TOWNSQUARE_TEST_DATABASE_URL when it is set. (sqltest, which
// the other tests use, imports this package.)
func eachConnection(t *testing.T, fn func(t *testing.T, s *Store)) {
	dsns := map[string]string{"sqlite": filepath.Join(t.TempDir(), "test.db")}
	if pg := os.Getenv("TOWNSQUARE_TEST_DATABASE_URL"); pg != "" {
		dsns["postgres"] = pg
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			s, err := Connect(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			fn(t, s)
		})
	}
}

// waitPrepared waits until query's background preparation has finished.
func waitPrepared(t *testing.T, s *Store, query string) {
	t.Helper()
	query = s.db.Rebind(query)
	deadline := time.Now().Add(10 * time.Second)
	for s.stmt(query) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("%q was never prepared", query)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStmtCacheIsBounded runs more distinct read statements than the cache keeps: the
// first maxCachedStmts are prepared and reused, the rest still run, unprepared.
func TestStmtCacheIsBounded(t *testing.T) {
	eachConnection(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for round := range 2 {
			for i := range maxCachedStmts + 10 {
				var got int
				if err := s.readGet(ctx, nil, &got, fmt.Sprintf("SELECT ? + %d", i), round); err != nil {
					t.Fatal(err)
				}
				if got != round+i {
					t.Fatalf("statement %d, round %d: got %d", i, round, got)
				}
			}
		}
		waitPrepared(t, s, "SELECT ? + 0")
		waitPrepared(t, s, fmt.Sprintf("SELECT ? + %d", maxCachedStmts-1))
		s.stmts.mu.Lock()
		n := len(s.stmts.m)
		s.stmts.mu.Unlock()
		if n != maxCachedStmts {
			t.Fatalf("%d statements cached, want %d", n, maxCachedStmts)
		}
		if s.stmt(s.db.Rebind(fmt.Sprintf("SELECT ? + %d", maxCachedStmts))) != nil {
			t.Fatal("a statement past the bound was cached")
		}
	})
}

// A use inside a transaction never waits for a pool connection to prepare on: with a
// one-connection pool held by the transaction, the read still completes (it deadlocked
// when the preparation was synchronous), and the statement is prepared once the
// connection is free.
func TestStmtCacheNeverWaitsForAConnection(t *testing.T) {
	eachConnection(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.db.SetMaxOpenConns(1)
		const q = "SELECT ? + 1"
		done := make(chan error, 1)
		go func() {
			done <- s.inTx(ctx, func(tx *sqlx.Tx) error {
				var got int
				return s.readGet(ctx, tx, &got, q, 1)
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a read in a transaction waited for a second connection")
		}
		waitPrepared(t, s, q)
		s.Close()
		if s.stmt("SELECT 2") != nil {
			t.Fatal("a closed store prepared a statement")
		}
	})
}

// A statement older than maxStmtAge is prepared afresh in the background (so PostgreSQL
// plans it again with the tables' current size); the old one keeps working meanwhile
// and for callers that fetched it just before the swap.
func TestStmtCacheRenewsOldStatements(t *testing.T) {
	eachConnection(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		defer func(old time.Duration) { maxStmtAge = old }(maxStmtAge)
		maxStmtAge = time.Hour
		const q = "SELECT ? + 1"
		waitPrepared(t, s, q)
		first := s.stmt(s.db.Rebind(q))
		if s.stmt(s.db.Rebind(q)) != first {
			t.Fatal("a young statement was replaced")
		}
		maxStmtAge = 0
		deadline := time.Now().Add(10 * time.Second)
		for s.stmt(s.db.Rebind(q)) == first {
			if time.Now().After(deadline) {
				t.Fatal("an old statement was never prepared afresh")
			}
			time.Sleep(time.Millisecond)
		}
		var got int
		if err := first.GetContext(ctx, &got, 1); err != nil || got != 2 {
			t.Fatalf("the replaced statement stopped working before its grace ended: %d %v", got, err)
		}
		if err := s.readGet(ctx, nil, &got, q, 2); err != nil || got != 3 {
			t.Fatalf("read through the renewed statement: %d %v", got, err)
		}
	})
}
