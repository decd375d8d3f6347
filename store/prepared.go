package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Prepared statements for the fixed SQL of the hot paths (lookups, creates, member adds).
//
// Without them every statement is parsed, and on PostgreSQL planned, afresh: on SQLite,
// sqlite3_prepare was 57% of the server's CPU per lookup; on PostgreSQL the reference we
// measure against (pgbench -M prepared) pays neither cost (docs/performance.md).
// database/sql keeps one driver statement per pooled connection and re-prepares lazily on
// a new one, and Tx.Stmt reuses the connection's copy, so a cached *sqlx.Stmt costs one
// Bind/Execute per use. Only constant texts belong here: a text built from a variable
// number of placeholders would fill the cache with one-off plans.

// maxPrepared bounds the cache; past it, statements run unprepared rather than grow it.
const maxPrepared = 128

type stmtCache struct {
	mu sync.RWMutex
	m  map[string]*sqlx.Stmt
}

// prepared returns the cached statement for query (already rebound to the dialect), or
// nil when the cache is full.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.stmts.mu.RLock()
	st, ok := s.stmts.m[query]
	full := len(s.stmts.m) >= maxPrepared
	s.stmts.mu.RUnlock()
	if ok || full {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if prev, ok := s.stmts.m[query]; ok {
		st.Close() // another request prepared it first
		return prev, nil
	}
	if s.stmts.m == nil {
		s.stmts.m = make(map[string]*sqlx.Stmt)
	}
	s.stmts.m[query] = st
	return st, nil
}

// bound returns the statement for query, bound to tx when tx is not nil.
func (s *Store) bound(ctx context.Context, tx *sqlx.Tx, query string) (*sqlx.Stmt, error) {
	st, err := s.prepared(ctx, query)
	if err != nil || st == nil {
		return nil, err
	}
	if tx != nil {
		return tx.StmtxContext(ctx, st), nil
	}
	return st, nil
}

// pget runs a prepared single-row query into dest (sqlx.Get semantics: sql.ErrNoRows when
// there is no row). tx may be nil to use the pool.
func (s *Store) pget(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	st, err := s.bound(ctx, tx, query)
	if err != nil {
		return err
	}
	if st == nil {
		return s.queryer(tx).GetContext(ctx, dest, query, args...)
	}
	return st.GetContext(ctx, dest, args...)
}

// pselect runs a prepared query into the slice dest.
func (s *Store) pselect(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	st, err := s.bound(ctx, tx, query)
	if err != nil {
		return err
	}
	if st == nil {
		return s.queryer(tx).SelectContext(ctx, dest, query, args...)
	}
	return st.SelectContext(ctx, dest, args...)
}

// pexec runs a prepared statement.
func (s *Store) pexec(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.bound(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.queryer(tx).ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

// queryer is tx, or the pool when tx is nil.
func (s *Store) queryer(tx *sqlx.Tx) interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
} {
	if tx != nil {
		return tx
	}
	return s.db
}

// closePrepared releases every cached statement.
func (s *Store) closePrepared() {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for _, st := range s.stmts.m {
		st.Close()
	}
	s.stmts.m = nil
}
