package sqlstore

import (
	"context"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// stmtCache keeps the hot paths' statements prepared, by SQL text: the reads of users
// here, the create and member-add writes through prepared.go.
//
// Unprepared, every query is compiled afresh, and the read of a user with its children is
// a large statement to compile (docs/performance.md has what that cost). database/sql
// keeps one prepared copy per pooled connection (prepared lazily, reused by Tx.Stmt), so
// a cached statement costs one Bind/Execute round trip per use.
//
// On PostgreSQL a prepared statement may switch to a generic plan after five runs. The
// planner does so only when the generic plan is estimated no dearer than the custom plans
// it has made, and the read path's statements are key lookups and index-ordered pages
// whose plan does not depend on the values; filters put their SQL here with placeholders,
// never values, so one text serves every value.
//
// The texts are the store's own, so there are few of them; the cache still stops growing
// at maxCachedStmts, after which new texts simply run unprepared.
//
// Preparing a statement for the pool takes a connection of the pool. A caller inside a
// transaction already holds one, and if every other connection is held by transactions
// waiting for this one's locks (or, on SQLite, for the write lock), waiting for a
// connection would never end. So a statement is prepared in the background on first use, and
// that use, and any other until it is ready, runs unprepared; nobody waits for a
// preparation. The zero value is ready to use.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*cachedStmt
	closed bool
}

// cachedStmt is one text's statement: nil while first being prepared.
type cachedStmt struct {
	st       *sqlx.Stmt
	born     time.Time
	renewing bool
}

const maxCachedStmts = 128

// prepareTimeout bounds one background preparation.
const prepareTimeout = 30 * time.Second

// maxStmtAge is how long a prepared statement is used before it is prepared afresh.
// PostgreSQL switches a prepared statement to a generic plan after five runs and keeps it
// until the next ANALYZE of its tables, so a generic plan made while the tables were
// small (a sequential scan of a table that has since grown) would live on. Re-preparing
// plans again with the tables' current size, so a stale plan lives at most this long,
// whatever the server's autovacuum settings; planning every execution instead costs far
// more database CPU (docs/performance.md).
var maxStmtAge = 10 * time.Second // a variable so that tests can age statements at once

// retiredGrace is how long a replaced statement stays open for callers that fetched it
// just before it was replaced.
const retiredGrace = 5 * time.Minute

// stmt returns the prepared statement for query, or nil when it is to run unprepared:
// not ready yet (its preparation is then started, once), the cache is full, or the store
// is closing. A statement older than maxStmtAge is still returned while its replacement
// is prepared in the background.
func (s *Store) stmt(query string) *sqlx.Stmt {
	c := &s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	if e, ok := c.m[query]; ok {
		if e.st != nil && !e.renewing && time.Since(e.born) > maxStmtAge {
			e.renewing = true
			go s.prepareInBackground(query)
		}
		return e.st
	}
	if len(c.m) >= maxCachedStmts {
		return nil
	}
	if c.m == nil {
		c.m = make(map[string]*cachedStmt)
	}
	c.m[query] = &cachedStmt{} // preparing
	go s.prepareInBackground(query)
	return nil
}

func (s *Store) prepareInBackground(query string) {
	ctx, cancel := context.WithTimeout(context.Background(), prepareTimeout)
	defer cancel()
	st, err := s.db.PreparexContext(ctx, query)
	c := &s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[query]
	switch {
	case c.closed || e == nil:
		if err == nil {
			st.Close()
		}
	case err != nil:
		if e.st == nil {
			delete(c.m, query) // the unprepared runs report any real error; a later use retries
		} else {
			e.renewing, e.born = false, time.Now() // keep the old one; try again later
		}
	default:
		if old := e.st; old != nil {
			time.AfterFunc(retiredGrace, func() { old.Close() })
		}
		e.st, e.born, e.renewing = st, time.Now(), false
	}
}

// closeAll closes the cached statements; the Store is closing. Preparations still running
// close their statement when they finish.
func (c *stmtCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, e := range c.m {
		if e.st != nil {
			e.st.Close()
		}
		delete(c.m, q)
	}
}

// readSelect runs a read query into dest (a slice), in tx when tx is not nil, prepared
// when ready (prepared.go). The query uses '?' placeholders.
func (s *Store) readSelect(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	query = s.db.Rebind(query)
	if tx != nil {
		return s.txSelect(ctx, tx, dest, query, args...)
	}
	if st := s.prepared(query); st != nil {
		return st.SelectContext(ctx, dest, args...)
	}
	return s.db.SelectContext(ctx, dest, query, args...)
}

// readGet is readSelect for one row (sql.ErrNoRows when there is none).
func (s *Store) readGet(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	query = s.db.Rebind(query)
	if tx != nil {
		return s.txGet(ctx, tx, dest, query, args...)
	}
	if st := s.prepared(query); st != nil {
		return st.GetContext(ctx, dest, args...)
	}
	return s.db.GetContext(ctx, dest, query, args...)
}

// readRows runs a read query as readSelect does and calls fn for each row, to scan it.
func (s *Store) readRows(ctx context.Context, tx *sqlx.Tx, fn func(scanner) error, query string, args ...any) error {
	query = s.db.Rebind(query)
	var (
		rows *sqlx.Rows
		err  error
	)
	if tx != nil {
		if st := s.txStmt(ctx, tx, query); st != nil {
			rows, err = st.QueryxContext(ctx, args...)
		} else {
			rows, err = tx.QueryxContext(ctx, query, args...)
		}
	} else if st := s.prepared(query); st != nil {
		rows, err = st.QueryxContext(ctx, args...)
	} else {
		rows, err = s.db.QueryxContext(ctx, query, args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
