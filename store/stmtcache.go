package store

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
)

// stmtCache keeps the hot paths' statements prepared, by SQL text: the reads of users
// here, the create and member-add writes through prepared.go.
//
// Unprepared, every query is compiled afresh: on SQLite (modernc.org/sqlite) compiling
// the one large read of a user with its children was three quarters of the CPU of a
// `userName eq` lookup; on PostgreSQL, parsing and planning it was 0.45 of its 0.65 ms.
// database/sql keeps one prepared copy per pooled connection (prepared lazily, reused by
// Tx.Stmt), so a cached statement costs one Bind/Execute round trip per use.
//
// On PostgreSQL a prepared statement may switch to a generic plan after five runs. The
// planner does so only when the generic plan is estimated no dearer than the custom plans
// it has made, and the read path's statements are key lookups and index-ordered pages
// whose plan does not depend on the values; filters put their SQL here with placeholders,
// never values, so one text serves every value.
//
// The texts are the store's own, so there are few of them; the cache still stops growing
// at maxCachedStmts, after which new texts simply run unprepared. The zero value is ready
// to use.
type stmtCache struct {
	m sync.Map // SQL text → *sqlx.Stmt
	n atomic.Int32
}

const maxCachedStmts = 128

// stmt returns the prepared statement for query, preparing it on first use, or nil when
// the query should run unprepared (a full cache, a failed prepare: the unprepared run
// then reports the error).
func (s *Store) stmt(ctx context.Context, query string) *sqlx.Stmt {
	if st, ok := s.stmts.m.Load(query); ok {
		return st.(*sqlx.Stmt)
	}
	if s.stmts.n.Load() >= maxCachedStmts {
		return nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := s.stmts.m.LoadOrStore(query, st); loaded {
		st.Close() // another caller prepared it first
		return prev.(*sqlx.Stmt)
	}
	s.stmts.n.Add(1)
	return st
}

// closeAll closes the cached statements; the Store is closing.
func (c *stmtCache) closeAll() {
	c.m.Range(func(k, v any) bool {
		v.(*sqlx.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}

// readSelect runs a read query into dest (a slice), in tx when tx is not nil, prepared
// where stmt says so. The query uses '?' placeholders.
func (s *Store) readSelect(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	query = s.db.Rebind(query)
	if st := s.stmt(ctx, query); st != nil {
		if tx != nil {
			st = tx.StmtxContext(ctx, st) // closed with the transaction
		}
		return st.SelectContext(ctx, dest, args...)
	}
	if tx != nil {
		return tx.SelectContext(ctx, dest, query, args...)
	}
	return s.db.SelectContext(ctx, dest, query, args...)
}

// readGet is readSelect for one row (sql.ErrNoRows when there is none).
func (s *Store) readGet(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	query = s.db.Rebind(query)
	if st := s.stmt(ctx, query); st != nil {
		if tx != nil {
			st = tx.StmtxContext(ctx, st)
		}
		return st.GetContext(ctx, dest, args...)
	}
	if tx != nil {
		return tx.GetContext(ctx, dest, query, args...)
	}
	return s.db.GetContext(ctx, dest, query, args...)
}
