package store

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// The hot write paths (a create's one statement on PostgreSQL, a member add's delta) run
// through the same prepared-statement cache as the reads (stmtcache.go): lib/pq sends any
// other statement unnamed, parsed and planned on each execution (a create's one statement
// spent more time there than in its inserts), and modernc.org/sqlite compiles every
// statement afresh.

// prepared returns the cached statement for q (already rebound), or nil when it is to run
// unprepared (the cache is full, or preparing failed: the unprepared run reports why).
func (s *Store) prepared(ctx context.Context, q string) (*sqlx.Stmt, error) {
	return s.stmt(q), nil
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
