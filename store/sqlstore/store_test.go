package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		n, err := s.MigrateCount(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("second migration applied %d migrations, want 0", n)
		}
	})
}

// TestSQLiteFileModes: a SQLite database the store creates is readable by its owner only
// (0600, and so are its -wal and -shm files), in directories it creates for the owner
// only (0700); a directory or file that exists keeps its mode.
func TestSQLiteFileModes(t *testing.T) {
	mode := func(path string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	write := func(s *sqlstore.Store) {
		t.Helper()
		if err := s.CreateToken(context.Background(), "t", "h", store.AllScopes); err != nil { // a write: the WAL exists
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}

	created := filepath.Join(root, "new", "nested", "townsquare.db")
	s, err := sqlstore.Open(context.Background(), created)
	if err != nil {
		t.Fatal(err)
	}
	write(s)
	for path, want := range map[string]os.FileMode{
		filepath.Join(root, "new"): 0o700, filepath.Join(root, "new", "nested"): 0o700,
		created: 0o600, created + "-wal": 0o600, created + "-shm": 0o600,
		root: 0o755, // it existed
	} {
		if got := mode(path); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	s.Close()

	existing := filepath.Join(root, "existing.db")
	if err := os.WriteFile(existing, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o640); err != nil { // whatever the umask
		t.Fatal(err)
	}
	s, err = sqlstore.Open(context.Background(), "file:"+existing+"?_pragma=cache_size(100)")
	if err != nil {
		t.Fatal(err)
	}
	write(s)
	s.Close()
	if got := mode(existing); got != 0o640 {
		t.Errorf("an existing file's mode became %o, want 640", got)
	}
}
