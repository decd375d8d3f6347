package store

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// Test-only access to internals, for the external store_test package (which can use
// storetest without an import cycle).

const MaxPrepared = maxPrepared

func (s *Store) PGet(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	return s.pget(ctx, tx, dest, q, args...)
}

func (s *Store) PSelect(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	return s.pselect(ctx, tx, dest, q, args...)
}

func (s *Store) PExec(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (sql.Result, error) {
	return s.pexec(ctx, tx, q, args...)
}

func (s *Store) Prepare(ctx context.Context, q string) error {
	_, err := s.prepared(ctx, q)
	return err
}

func (s *Store) PreparedCount() int {
	s.stmts.mu.RLock()
	defer s.stmts.mu.RUnlock()
	return len(s.stmts.m)
}

func (s *Store) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error { return s.inTx(ctx, fn) }
