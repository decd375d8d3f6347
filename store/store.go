// Package store keeps Townsquare's data in SQLite or PostgreSQL through sqlx, and owns the
// rules that must hold across rows: every multi-row change happens in one transaction
// here, so no caller can leave half of it written.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	sqlite "modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"

	"github.com/townsquare/townsquare/store/rules"
)

// Sentinel errors. Callers see these, never a driver error.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("already exists")   // a unique constraint would be broken
	ErrPrecondition = errors.New("version mismatch") // If-Match did not match the stored version
)

// ConflictError is a write that would break a uniqueness rule. It matches ErrConflict
// under errors.Is; Attribute names the SCIM attribute (userName, externalId).
type ConflictError struct{ Attribute string }

func (e *ConflictError) Error() string {
	if e.Attribute == "" {
		return ErrConflict.Error()
	}
	return fmt.Sprintf("%s already exists", e.Attribute)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// errUsernameRace is a unique violation on the chat username: two transactions derived
// the same free name at once. The transaction is retried and derives another.
var errUsernameRace = errors.New("chat username taken concurrently")

// Store is the database. It is safe for concurrent use and holds no state of its own
// beyond the connection pool, its prepared statements, and a cache of the default team's
// keys that checks itself against the database on every use, so any number of server
// processes can share one database.
type Store struct {
	db      *sqlx.DB
	stmts   stmtCache // prepared statements of the hot paths, by SQL text (stmtcache.go)
	dialect Dialect
	rules   rules.Config
	// join caches the keys of the default team and its team-join channels, which every
	// new account joins (see defaultJoin).
	join atomic.Pointer[joinTarget]
}

// DefaultSQLitePath is where the embedded database lives when no DSN is given.
const DefaultSQLitePath = "townsquare.db"

// Open connects to dsn and applies pending migrations. A dsn starting with postgres://
// or postgresql:// selects PostgreSQL; anything else is a SQLite file path (or a file: URI).
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Connect connects to dsn without migrating.
func Connect(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" {
		dsn = DefaultSQLitePath
	}
	var (
		db      *sqlx.DB
		dialect Dialect
		err     error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		dialect = Postgres
		db, err = sqlx.Open("postgres", withBinaryParameters(dsn))
		if err == nil {
			db.SetMaxOpenConns(32)
			db.SetMaxIdleConns(32)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	} else {
		dialect = SQLite
		db, err = sqlx.Open("sqlite", sqliteDSN(dsn))
		if err == nil {
			// WAL lets readers run beside the one writer; every transaction begins
			// IMMEDIATE (see sqliteDSN) so writers queue on the busy timeout instead of
			// failing on a read-to-write upgrade.
			db.SetMaxOpenConns(8)
			db.SetMaxIdleConns(8)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, redact(err, dsn))
	}
	return &Store{db: db, dialect: dialect, rules: rules.Default()}, nil
}

// withBinaryParameters asks lib/pq to send parameters in binary with the statement in
// one round trip, instead of Parse/Describe then Bind/Execute: measured +19% on creates
// and lookups (docs/performance.md). A DSN that already sets it is left alone.
func withBinaryParameters(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	if q.Has("binary_parameters") {
		return dsn
	}
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()
	return u.String()
}

// sqliteDSN turns a path into a modernc.org/sqlite DSN with the pragmas every connection
// needs: WAL, a busy timeout, foreign keys, case-sensitive LIKE (the filter compiler
// lower-cases both sides itself where SCIM says caseExact=false) and IMMEDIATE
// transactions.
func sqliteDSN(path string) string {
	base, rawQuery, _ := strings.Cut(strings.TrimPrefix(path, "file:"), "?")
	q, _ := url.ParseQuery(rawQuery)
	if !strings.HasPrefix(base, ":memory:") {
		if dir := filepath.Dir(base); dir != "." {
			_ = os.MkdirAll(dir, 0o755)
		}
	}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)",
		"case_sensitive_like(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	return "file:" + base + "?" + q.Encode()
}

// redact keeps a DSN (which may hold a password) out of an error message.
func redact(err error, dsn string) error {
	msg := err.Error()
	if dsn != "" && strings.Contains(msg, dsn) {
		return errors.New(strings.ReplaceAll(msg, dsn, "<dsn>"))
	}
	return err
}

// Dialect reports which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close releases the connection pool.
func (s *Store) Close() error {
	s.stmts.closeAll()
	return s.db.Close()
}

// Ping checks that the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// DB exposes the pool to tests and tools in this module that inspect rows directly.
func (s *Store) DB() *sqlx.DB { return s.db }

// inTx runs fn in one transaction and commits it, or rolls it back if fn fails. On
// PostgreSQL a serialization failure or deadlock is retried a few times: both are the
// database asking us to try again, never a result to show a client.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.retry(ctx, func() error { return s.tryTx(ctx, fn) })
}

// retry runs fn, again after a short pause when it fails with an error isRetryable
// accepts, up to a few times. A lost race for a chat username is retried longer: each
// loss means another request took the name, so n requests deriving the same name
// concurrently all succeed within n attempts.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	for i := 1; ; i++ {
		err := fn()
		if err == nil || !isRetryable(err) || ctx.Err() != nil {
			return err
		}
		limit := 5
		if errors.Is(err, errUsernameRace) {
			limit = 25
		}
		if i >= limit {
			return err
		}
		// Jittered, so that requests that collided do not collide again in step.
		pause := time.Duration(min(i, 5)) * 5 * time.Millisecond
		time.Sleep(pause/2 + rand.N(pause))
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

func isRetryable(err error) bool {
	if errors.Is(err, errUsernameRace) || errors.Is(err, errJoinTargetChanged) {
		return true
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "40001" || pqErr.Code == "40P01"
	}
	var sErr *sqlite.Error
	if errors.As(err, &sErr) {
		code := sErr.Code() & 0xff
		return code == sqlitelib.SQLITE_BUSY || code == sqlitelib.SQLITE_LOCKED
	}
	return false
}

// mapErr turns driver errors that mean something to a caller into sentinels, keeping the
// original for logs.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		return conflict(pqErr.Constraint)
	}
	var sErr *sqlite.Error
	if errors.As(err, &sErr) {
		switch sErr.Code() {
		case sqlitelib.SQLITE_CONSTRAINT_UNIQUE, sqlitelib.SQLITE_CONSTRAINT_PRIMARYKEY:
			return conflict(err.Error())
		}
	}
	return err
}

// conflict maps a unique violation, named by its constraint (PostgreSQL) or message
// (SQLite), to the error callers see.
func conflict(what string) error {
	switch {
	case strings.Contains(what, "user_name_ci"):
		return &ConflictError{Attribute: "userName"}
	case strings.Contains(what, "users_username"), strings.Contains(what, "users.username"):
		return errUsernameRace
	case strings.Contains(what, "api_tokens"):
		return &ConflictError{Attribute: "name"}
	}
	return &ConflictError{}
}

// micros converts a time to the stored form; fromMicros converts it back.
func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// now is the store's clock, truncated to what it stores.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
