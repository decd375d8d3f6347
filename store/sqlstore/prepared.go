package sqlstore

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// The hot write paths (a create's one statement, a member add's delta) run through the
// same prepared-statement cache as the reads (stmtcache.go): lib/pq sends any other
// statement unnamed, parsed and planned on each execution, and modernc.org/sqlite
// compiles every statement afresh. As there, a statement not prepared yet runs
// unprepared; nobody waits for a preparation.

// prepared returns the pool's statement for q (already rebound), or nil when it is to run
// unprepared.
func (s *Store) prepared(q string) *sqlx.Stmt { return s.stmt(q) }

// queryRow runs q (already rebound) on the pool, prepared when ready.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sqlx.Row {
	if st := s.prepared(q); st != nil {
		return st.QueryRowxContext(ctx, args...)
	}
	return s.db.QueryRowxContext(ctx, q, args...)
}

// txStmt returns the prepared statement for q (already rebound) bound to tx, or nil when
// it is not ready. database/sql prepares it on the transaction's own connection if need
// be, and closes it with the transaction.
func (s *Store) txStmt(ctx context.Context, tx *sqlx.Tx, q string) *sqlx.Stmt {
	if st := s.prepared(q); st != nil {
		return tx.StmtxContext(ctx, st)
	}
	return nil
}

// txSelect is tx.SelectContext, through a prepared statement when ready.
func (s *Store) txSelect(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	if st := s.txStmt(ctx, tx, q); st != nil {
		return st.SelectContext(ctx, dest, args...)
	}
	return tx.SelectContext(ctx, dest, q, args...)
}

// txGet is tx.GetContext, through a prepared statement when ready.
func (s *Store) txGet(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	if st := s.txStmt(ctx, tx, q); st != nil {
		return st.GetContext(ctx, dest, args...)
	}
	return tx.GetContext(ctx, dest, q, args...)
}

// txExec is tx.ExecContext, through a prepared statement when ready.
func (s *Store) txExec(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.txStmt(ctx, tx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// txQueryRow is tx.QueryRowxContext, through a prepared statement when ready.
func (s *Store) txQueryRow(ctx context.Context, tx *sqlx.Tx, q string, args ...any) *sqlx.Row {
	if st := s.txStmt(ctx, tx, q); st != nil {
		return st.QueryRowxContext(ctx, args...)
	}
	return tx.QueryRowxContext(ctx, q, args...)
}
