package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestGroupNameMigration0010: groups that shared a name before names were unique keep it
// through the migration and are served as before; a new group of that name is refused;
// the later of two sharing a name keeps it while it keeps it, cannot come back to it once
// renamed, and the oldest keeps it whatever the others do.
func TestGroupNameMigration0010(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := storeAtMigration(t, b, 9)
			for _, g := range []struct{ id, name string }{{"g1", "Sales"}, {"g2", "SALES"}, {"g3", "sales"}, {"g4", "Ops"}} {
				if _, err := s.DB().Exec(s.DB().Rebind(`INSERT INTO groups (id, display_name, display_name_ci, name, created_at, updated_at, version)
					VALUES (?, ?, lower(?), lower(?), 0, 0, 1)`), g.id, g.name, g.name, g.name); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"g1", "g2", "g3"} {
				if _, err := s.GetGroup(ctx, id); err != nil {
					t.Fatalf("%s after the migration: %v", id, err)
				}
			}
			conflict := func(what string, err error) {
				t.Helper()
				var c *store.ConflictError
				if !errors.As(err, &c) || c.Attribute != "displayName" {
					t.Fatalf("%s: %v; want a displayName conflict", what, err)
				}
			}
			g := store.Group{DisplayName: "Sales"}
			conflict("a new group named like three", s.CreateGroup(ctx, &g, nil))
			rename := func(id, name string) error {
				_, err := s.UpdateGroup(ctx, id, 0, func(g *store.Group) error { g.DisplayName = name; return nil }, nil)
				return err
			}
			if err := rename("g2", "SALES"); err != nil {
				t.Fatalf("g2 keeping its shared name: %v", err)
			}
			if err := rename("g3", "Sales EMEA"); err != nil {
				t.Fatal(err)
			}
			conflict("g3 back to the shared name", rename("g3", "sales"))
			conflict("g4 onto the shared name", rename("g4", "Sales"))
			if err := rename("g1", "Sales"); err != nil {
				t.Fatalf("the oldest keeps the name: %v", err)
			}
		})
	}
}
