package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestSQLitePathWithURICharacters: a plain database path is the file it names, even when
// it holds characters a file: URI gives a meaning ('#' a fragment, '%' an escape): a
// path cut at '#' once put the database in another file, shared by whatever else was
// cut to the same name.
func TestSQLitePathWithURICharacters(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "team#1 50%")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.Open(context.Background(), filepath.Join(dir, "town#square.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "team#1 50%" {
			t.Errorf("%s made beside the database's directory", e.Name())
		}
	}
}

// TestPostgresSessionsWithoutJIT: the store's PostgreSQL sessions run without JIT
// (withoutJIT), whose compilation, started by cost estimates that run high without
// statistics, costs a reconcile step many times its execution.
func TestPostgresSessionsWithoutJIT(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		if b.Name != "postgres" {
			continue
		}
		s := sqltest.Open(t, b)
		var jit string
		if err := s.DB().Get(&jit, `SHOW jit`); err != nil {
			t.Fatal(err)
		}
		if jit != "off" {
			t.Fatalf("jit = %q, want off", jit)
		}
	}
}
