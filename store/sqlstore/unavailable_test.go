package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// callEveryMethod calls every method of store.Store that reaches the database and
// returns each one's error by name.
func callEveryMethod(s store.Store, userID, groupID string) map[string]error {
	ctx := context.Background()
	errs := map[string]error{}
	u := store.User{UserName: "new@example.com", Active: true}
	errs["CreateUser"] = s.CreateUser(ctx, &u)
	_, errs["GetUser"] = s.GetUser(ctx, userID)
	_, errs["UpdateUser"] = s.UpdateUser(ctx, userID, 0, func(u *store.User) error { u.Title = "t"; return nil })
	_, _, errs["ListUsers"] = s.ListUsers(ctx, store.Query{Count: 10})
	errs["DeleteUser"] = s.DeleteUser(ctx, userID, 0)
	g := store.Group{DisplayName: "new"}
	errs["CreateGroup"] = s.CreateGroup(ctx, &g, nil)
	_, errs["GetGroup"] = s.GetGroup(ctx, groupID)
	errs["EachGroupMember"] = s.EachGroupMember(ctx, groupID, func(store.Member) error { return nil })
	_, errs["UpdateGroup"] = s.UpdateGroup(ctx, groupID, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{userID}}})
	_, _, errs["ListGroups"] = s.ListGroups(ctx, store.Query{Count: 10})
	errs["DeleteGroup"] = s.DeleteGroup(ctx, groupID, 0)
	_, errs["ListTeams"] = s.ListTeams(ctx)
	_, errs["TeamChannels"] = s.TeamChannels(ctx, "everyone")
	_, errs["TeamMembers"] = s.TeamMembers(ctx, "everyone", 10, 0)
	_, errs["ChannelMembers"] = s.ChannelMembers(ctx, "everyone", "town-square", 10, 0)
	_, errs["AccountDetails"] = s.AccountDetails(ctx, userID)
	errs["CreateToken"] = s.CreateToken(ctx, "t2", "hash2", store.AllScopes)
	_, errs["CreateFirstToken"] = s.CreateFirstToken(ctx, "t3", "hash3", store.AllScopes)
	_, errs["LookupToken"] = s.LookupToken(ctx, "hash")
	_, errs["ListTokens"] = s.ListTokens(ctx)
	errs["RevokeToken"] = s.RevokeToken(ctx, "t")
	_, errs["ApplyRules"] = s.ApplyRules(ctx, store.ApplyOptions{})
	_, errs["PlanRules"] = s.PlanRules(ctx, rules.Default(), false)
	_, errs["CheckInvariants"] = s.CheckInvariants(ctx)
	errs["Ready"] = s.Ready(ctx)
	return errs
}

// TestEveryMethodIsUnavailableWhenTheSchemaIsGone: a database whose tables are gone (a
// database dropped and recreated empty, a file replaced) answers every method with an
// error matching store.ErrUnavailable, so that clients are told to come back rather
// than that their request failed.
func TestEveryMethodIsUnavailableWhenTheSchemaIsGone(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice@example.com", "")
		g := mustGroup(t, s, "Engineering", "", u.ID)
		if err := s.CreateToken(ctx, "t", "hash", store.AllScopes); err != nil {
			t.Fatal(err)
		}
		// Warm the statement cache, so that prepared statements meet the missing tables too.
		for range 3 {
			callEveryMethod(s, u.ID, g.ID)
		}
		tables := slices.Clone(sqlstore.ReadyTablesForTest())
		slices.Reverse(tables)                                          // the tables that refer to others first
		if _, err := s.DB().Exec(`DROP VIEW user_groups`); err != nil { // reads group_members and group_ancestors
			t.Fatalf("drop user_groups: %v", err)
		}
		for _, table := range append(tables, "schema_migrations") {
			if _, err := s.DB().Exec(`DROP TABLE ` + table); err != nil { // our own names
				t.Fatalf("drop %s: %v", table, err)
			}
		}
		for name, err := range callEveryMethod(s, u.ID, g.ID) {
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s: err = %v, want one matching ErrUnavailable", name, err)
			}
		}
	})
}

// TestReadyChecksTheSchemaVersion: Ready is a *store.SchemaVersionError (matching
// ErrUnavailable) when the newest migration applied is not the newest this build embeds,
// older (not migrated yet) or newer (migrated by a newer build).
func TestReadyChecksTheSchemaVersion(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		migs, err := s.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		want := migs[len(migs)-1].Version
		check := func(applied int) {
			t.Helper()
			err := s.Ready(ctx)
			var sv *store.SchemaVersionError
			if !errors.As(err, &sv) || sv.Applied != applied || sv.Want != want || !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("Ready = %v, want a SchemaVersionError{%d, %d}", err, applied, want)
			}
		}
		db := s.DB()
		if _, err := db.Exec(db.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)`), want+1); err != nil {
			t.Fatal(err)
		}
		check(want + 1)
		if _, err := db.Exec(db.Rebind(`DELETE FROM schema_migrations WHERE version >= ?`), want); err != nil {
			t.Fatal(err)
		}
		check(migs[len(migs)-2].Version) // the one before (versions may have gaps: a number reserved for a change not merged yet)
		if _, err := db.Exec(db.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)`),
			want, migs[len(migs)-1].Name); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("Ready after migrating: %v", err)
		}
	})
}

// TestReadyReadsEveryTable: Ready's list of tables is every table of the schema, so a
// table that a request would fail on fails Ready first.
func TestReadyReadsEveryTable(t *testing.T) {
	s := sqltest.Open(t, sqltest.Backends(t)[0]) // SQLite: its catalogue is a table
	var tables []string
	if err := s.DB().Select(&tables, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`); err != nil {
		t.Fatal(err)
	}
	ready := slices.Sorted(slices.Values(sqlstore.ReadyTablesForTest()))
	if !slices.Equal(ready, tables) {
		t.Fatalf("Ready reads %v; the schema's tables are %v", ready, tables)
	}
}

// TestDamagedSQLiteFileIsUnavailable: a SQLite file that is empty (replaced) or is not a
// database (overwritten) answers ErrUnavailable, through Ready and requests alike.
func TestDamagedSQLiteFileIsUnavailable(t *testing.T) {
	for name, content := range map[string][]byte{
		"empty":       nil,
		"overwritten": []byte(strings.Repeat("not a database ", 1000)),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "test.db")
			s, err := sqlstore.Connect(context.Background(), path) // as a server whose file changes under it
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// The connection Connect made stays busy, so the statements below open new ones
			// on the file as it now is.
			held, err := s.DB().Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.WriteFile(f, content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Ready(context.Background()); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Ready = %v, want ErrUnavailable", err)
			}
			if _, err := s.GetUser(context.Background(), "x"); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("GetUser = %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestDeadlineEndsABlockedStatement: a statement waiting for a lock another session
// holds ends when its context's deadline passes (lib/pq sends PostgreSQL a cancel
// request; modernc interrupts SQLite), with an error that is not ErrUnavailable (the
// caller tells its own deadline apart), and the store works on once the lock is gone.
func TestDeadlineEndsABlockedStatement(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice@example.com", "")
		blocker, err := s.DB().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer blocker.Rollback() //nolint:errcheck
		// The update holds the row's lock on PostgreSQL and the write lock on SQLite (the
		// transaction is IMMEDIATE): either blocks another update of the user.
		if _, err := blocker.Exec(`UPDATE users SET title = 'blocker'`); err != nil {
			t.Fatal(err)
		}
		const deadline = 300 * time.Millisecond
		dctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		start := time.Now()
		_, err = s.UpdateUser(dctx, u.ID, 0, func(u *store.User) error { u.Title = "blocked"; return nil })
		took := time.Since(start)
		if err == nil {
			t.Fatal("a blocked update succeeded")
		}
		if errors.Is(err, store.ErrUnavailable) {
			t.Errorf("a deadline is ErrUnavailable: %v", err)
		}
		if took > deadline+2*time.Second {
			t.Errorf("the blocked statement took %v to end after a deadline of %v", took, deadline)
		}
		if err := blocker.Rollback(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateUser(ctx, u.ID, 0, func(u *store.User) error { u.Title = "after"; return nil }); err != nil {
			t.Fatalf("update after the lock: %v", err)
		}
	})
}

// TestContextErrorsAreNotUnavailable: an operation that ends because its context did
// (here while waiting for the pool's only connection, which database/sql reports as
// the context's error) is not ErrUnavailable: the caller tells its own deadline apart.
func TestContextErrorsAreNotUnavailable(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "alice@example.com", "")
		s.DB().SetMaxOpenConns(1)
		held, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err = s.GetUser(dctx, u.ID)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("GetUser waiting for a connection past its deadline: %v, want the deadline and not ErrUnavailable", err)
		}
	})
}
