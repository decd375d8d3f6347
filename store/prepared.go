package store

import (
	"context"
	"database/sql"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Prepared statements for the hot write paths. lib/pq sends every other statement as an
// unnamed one, which PostgreSQL parses and plans on each execution (a create's one
// statement spent more time there than in its inserts), and modernc.org/sqlite prepares
// every statement afresh. A statement prepared once per text (and by database/sql once
// per connection, when first used on it) is parsed once, and PostgreSQL caches its plan.
//
// Preparing a statement for the pool takes a connection of the pool. A caller inside a
// transaction already holds one, and if every other connection is held by transactions
// waiting for this one's locks (or, on SQLite, for the write lock), waiting for a
// connection would never end. So a statement is prepared in the background on first use,
// while that use, and any other until it is ready, runs unprepared; nobody ever waits for
// a preparation.
//
// The texts are few (a create's depends only on how many emails, phone numbers and
// addresses it writes), but they come from requests, so the cache is bounded; past the
// bound a text is simply not prepared.
const maxPrepared = 64

type preparedStmts struct {
	mu     sync.Mutex
	stmts  map[string]*sqlx.Stmt // nil while being prepared
	closed bool
}

// prepared returns the pool's statement for q (already rebound), or nil when it is not
// ready: then it starts preparing it, unless the cache is full or already preparing it.
func (s *Store) prepared(q string) *sqlx.Stmt {
	p := &s.prep
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.stmts[q]
	if ok || p.closed || len(p.stmts) >= maxPrepared {
		return st
	}
	if p.stmts == nil {
		p.stmts = map[string]*sqlx.Stmt{}
	}
	p.stmts[q] = nil
	go func() {
		st, err := s.db.Preparex(q)
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case err != nil:
			delete(p.stmts, q) // tried again on a later use
		case p.closed:
			_ = st.Close()
		default:
			p.stmts[q] = st
		}
	}()
	return nil
}

// closePrepared releases the prepared statements; preparations still running close
// theirs when done.
func (s *Store) closePrepared() {
	p := &s.prep
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for q, st := range p.stmts {
		if st != nil {
			_ = st.Close()
		}
		delete(p.stmts, q)
	}
}

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
