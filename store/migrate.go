package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Migrations are embedded in the binary, one directory per dialect, named
// NNNN_description.sql. Each runs in its own transaction and is recorded in
// schema_migrations; a file once released is never edited, only followed by a new one.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migration is one embedded schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations for a dialect in version order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := "migrations/" + d.String()
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", name)
		}
		body, err := migrationFiles.ReadFile(dir + "/" + name)
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies every embedded migration not yet recorded and returns how many it
// applied. On PostgreSQL it holds an advisory lock, so replicas starting together
// migrate once.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.MigrateCount(ctx)
	return err
}

// MigrateCount is Migrate, reporting how many migrations it applied.
func (s *Store) MigrateCount(ctx context.Context) (int, error) {
	migs, err := Migrations(s.dialect)
	if err != nil {
		return 0, err
	}
	applied := 0
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == Postgres {
			// One lock per schema: replicas sharing a schema migrate one at a time, while
			// databases in other schemas (the tests' own) do not wait for each other.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7473, hashtext(current_schema()))`); err != nil {
				return fmt.Errorf("lock for migration: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		done := map[int]bool{}
		var versions []int
		if err := tx.SelectContext(ctx, &versions, `SELECT version FROM schema_migrations`); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		for _, v := range versions {
			done[v] = true
		}
		for _, m := range migs {
			if done[m.Version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
				m.Version, m.Name, micros(now())); err != nil {
				return fmt.Errorf("record migration %s: %w", m.Name, err)
			}
			applied++
		}
		return nil
	})
	return applied, err
}
