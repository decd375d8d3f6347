// Package sqltest opens fresh, empty stores for tests, on every backend the test run
// can reach: always SQLite (a file in t.TempDir()), and PostgreSQL when
// TOWNSQUARE_TEST_DATABASE_URL is set, each test in a schema of its own.
package sqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver for the schema set-up connection
	"github.com/townsquare/townsquare/store/sqlstore"
)

// EnvPostgres names the variable that points the tests at a PostgreSQL server.
const EnvPostgres = "TOWNSQUARE_TEST_DATABASE_URL"

// Backend is a database the tests can run on.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// DSN returns the DSN of a new, empty database for t (dropped when t ends).
	DSN func(t testing.TB) string
}

var noticeOnce sync.Once

// Backends lists the backends of this run. Without TOWNSQUARE_TEST_DATABASE_URL it is
// SQLite only, and it says so once in the test log.
func Backends(t testing.TB) []Backend {
	b := []Backend{{Name: "sqlite", DSN: sqliteDSN}}
	if os.Getenv(EnvPostgres) != "" {
		b = append(b, Backend{Name: "postgres", DSN: postgresDSN})
	} else {
		noticeOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "sqltest: %s is not set: PostgreSQL tests are not run, SQLite only\n", EnvPostgres)
		})
	}
	return b
}

// Each runs fn as a subtest per backend, each with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, Open(t, b))
		})
	}
}

// Open opens a fresh migrated store on b, closed when t ends.
func Open(t testing.TB, b Backend) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), b.DSN(t))
	if err != nil {
		t.Fatalf("open %s store: %v", b.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sqliteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "test.db")
}

// postgresDSN creates a schema named after a random suffix and returns a DSN whose
// search_path points at it, so tests never see each other's rows.
func postgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil { // schema is ours, not input
		t.Fatalf("postgres: create schema (is %s reachable?): %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		if db, err := sqlx.Open("postgres", base); err == nil {
			_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres: parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
