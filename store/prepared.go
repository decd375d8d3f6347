package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Prepared statements for the hot write paths. lib/pq sends every other statement as an
// unnamed one, which PostgreSQL parses and plans on each execution (a create's one
// statement spent more time there than in its inserts), and modernc.org/sqlite prepares
// every statement afresh. A statement prepared once per text (and by database/sql once
// per connection, when first used on it) is parsed once, and PostgreSQL caches its plan.
//
// The texts are few (a create's depends only on how many emails, phone numbers and
// addresses it writes), but they come from requests, so the cache is bounded; past the
// bound a text is simply not prepared.
const maxPrepared = 64

type preparedStmts struct {
	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

// prepared returns the statement for q (already rebound), preparing it on first use; nil
// when the cache is full.
func (s *Store) prepared(ctx context.Context, q string) (*sqlx.Stmt, error) {
	p := &s.prep
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[q]; ok {
		return st, nil
	}
	if len(p.stmts) >= maxPrepared {
		return nil, nil
	}
	st, err := s.db.PreparexContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if p.stmts == nil {
		p.stmts = map[string]*sqlx.Stmt{}
	}
	p.stmts[q] = st
	return st, nil
}

// closePrepared releases the prepared statements.
func (s *Store) closePrepared() {
	p := &s.prep
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range p.stmts {
		_ = st.Close()
		delete(p.stmts, q)
	}
}

// queryRow runs q (already rebound) on the pool, prepared when the cache allows.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) (*sqlx.Row, error) {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.db.QueryRowxContext(ctx, q, args...), nil
	}
	return st.QueryRowxContext(ctx, args...), nil
}

// txStmt returns the prepared statement for q (already rebound) bound to tx, or nil when
// the cache is full. database/sql closes it with the transaction.
func (s *Store) txStmt(ctx context.Context, tx *sqlx.Tx, q string) (*sqlx.Stmt, error) {
	st, err := s.prepared(ctx, q)
	if err != nil || st == nil {
		return nil, err
	}
	return tx.StmtxContext(ctx, st), nil
}

// txSelect is tx.SelectContext through a prepared statement when the cache allows.
func (s *Store) txSelect(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	st, err := s.txStmt(ctx, tx, q)
	if err != nil {
		return err
	}
	if st == nil {
		return tx.SelectContext(ctx, dest, q, args...)
	}
	return st.SelectContext(ctx, dest, args...)
}

// txGet is tx.GetContext through a prepared statement when the cache allows.
func (s *Store) txGet(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	st, err := s.txStmt(ctx, tx, q)
	if err != nil {
		return err
	}
	if st == nil {
		return tx.GetContext(ctx, dest, q, args...)
	}
	return st.GetContext(ctx, dest, args...)
}

// txExec is tx.ExecContext through a prepared statement when the cache allows.
func (s *Store) txExec(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return tx.ExecContext(ctx, q, args...)
	}
	return st.ExecContext(ctx, args...)
}

// txQueryRow is tx.QueryRowxContext through a prepared statement when the cache allows.
func (s *Store) txQueryRow(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (*sqlx.Row, error) {
	st, err := s.txStmt(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return tx.QueryRowxContext(ctx, q, args...), nil
	}
	return st.QueryRowxContext(ctx, args...), nil
}
