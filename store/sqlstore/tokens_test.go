package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// A token that existed before tokens had scopes (schema version 3) keeps working after
// the upgrade with every scope, as it could do everything before.
func TestMigrationGivesExistingTokensEveryScope(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := storeAtMigration(t, b, 3)
			// As release 0003 wrote a token: no scopes column yet.
			if _, err := s.DB().Exec(s.DB().Rebind(`INSERT INTO api_tokens (name, secret_hash, created_at) VALUES (?, ?, ?)`),
				"okta", "hash-okta", int64(1_700_000_000_000_000)); err != nil {
				t.Fatal(err)
			}
			n, err := s.MigrateCount(ctx)
			if err != nil || n < 1 {
				t.Fatalf("migrate from version 3: %d %v", n, err)
			}
			tok, err := s.LookupToken(ctx, "hash-okta")
			if err != nil {
				t.Fatal(err)
			}
			// Every scope there was when migration 0004 ran; later scopes (login) are not given.
			was := []store.Scope{store.ScopeSCIM, store.ScopeAdminRead, store.ScopeAdminWrite}
			if tok.Name != "okta" || !slices.Equal(tok.Scopes, was) {
				t.Fatalf("migrated token = %+v, want every scope of its time %v", tok, was)
			}
			// Tokens created after the migration have only what they were given.
			if err := s.CreateToken(ctx, "entra", "hash-entra", []store.Scope{store.ScopeSCIM}); err != nil {
				t.Fatal(err)
			}
			if tok, err := s.LookupToken(ctx, "hash-entra"); err != nil || !slices.Equal(tok.Scopes, []store.Scope{store.ScopeSCIM}) {
				t.Fatalf("new token = %+v %v", tok, err)
			}
		})
	}
}

// A scope a newer release wrote is kept and shown, and grants nothing here.
func TestUnknownStoredScopeIsKeptAndGrantsNothing(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		if _, err := s.DB().Exec(s.DB().Rebind(`INSERT INTO api_tokens (name, secret_hash, created_at, scopes) VALUES (?, ?, ?, ?)`),
			"future", "hash-future", int64(1_700_000_000_000_000), "scim users:purge"); err != nil {
			t.Fatal(err)
		}
		tok, err := s.LookupToken(ctx, "hash-future")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tok.Scopes, []store.Scope{"scim", "users:purge"}) || !tok.Has(store.ScopeSCIM) || tok.Has(store.ScopeAdminRead) {
			t.Fatalf("token = %+v", tok)
		}
	})
}
