package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Migrations are embedded in the binary, named NNNN_description.sql when every dialect
// runs the same SQL, or NNNN_description.<dialect>.sql (one file per dialect) when they
// differ. Each version runs in its own transaction and is recorded in schema_migrations
// by version and description; a file once released is never edited, only followed by a
// new one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one embedded schema change.
type Migration struct {
	Version int
	Name    string // NNNN_description, as schema_migrations records it
	SQL     string
}

// migrations lists the embedded migrations of dialect d in version order.
func migrations(d *dialect) ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := map[int]Migration{}
	variants := map[int]bool{} // versions written per dialect
	for _, e := range entries {
		file := e.Name()
		name := strings.TrimSuffix(file, ".sql")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(file, ".sql") {
			return nil, fmt.Errorf("migration file %q: want NNNN_description[.dialect].sql", file)
		}
		if base, dialectName, perDialect := strings.Cut(name, "."); perDialect {
			variants[v] = true
			if dialectName != d.name {
				continue
			}
			name = base
		}
		if prev, dup := byVersion[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q have the same version", prev.Name, file)
		}
		body, err := migrationFiles.ReadFile("migrations/" + file)
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", file, err)
		}
		byVersion[v] = Migration{Version: v, Name: name, SQL: string(body)}
	}
	out := make([]Migration, 0, len(byVersion))
	for v := range variants {
		if _, ok := byVersion[v]; !ok {
			return nil, fmt.Errorf("migration %04d is written per dialect but not for %s", v, d.name)
		}
	}
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrations lists the migrations this store's database runs, in version order.
func (s *Store) Migrations() ([]Migration, error) { return migrations(s.d) }

// Migrate applies every embedded migration not yet recorded. It holds the dialect's
// migration lock, so replicas starting together migrate once.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.MigrateCount(ctx)
	return err
}

// MigrateCount is Migrate, reporting how many migrations it applied.
func (s *Store) MigrateCount(ctx context.Context) (int, error) {
	return s.migrateTo(ctx, math.MaxInt)
}

// migrateTo applies the embedded migrations not yet recorded whose version is at most
// upTo (tests stop at an older schema to check what a later migration does to its rows).
func (s *Store) migrateTo(ctx context.Context, upTo int) (int, error) {
	migs, err := migrations(s.d)
	if err != nil {
		return 0, err
	}
	applied := 0
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.d.lock(ctx, tx, lockMigrate); err != nil {
			return fmt.Errorf("lock for migration: %w", err)
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
			if done[m.Version] || m.Version > upTo {
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
