// Package sqlstore implements store.Store on SQLite and PostgreSQL through sqlx. It owns
// the schema (migrations/, and the filter compiler that maps SCIM attributes to columns)
// and the provisioning rules that must hold across rows: every multi-row change happens
// in one transaction here, so no caller can leave half of it written. What differs
// between the databases is one dialect value (dialect.go), chosen when the store opens.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// errUsernameRace is a unique violation on the chat username: two transactions derived
// the same free name at once. The transaction is retried and derives another.
var errUsernameRace = errors.New("chat username taken concurrently")

// Store is the database. It is safe for concurrent use and holds no state of its own
// beyond the connection pool, its prepared statements, and a cache of the default team's
// keys that checks itself against the database on every use, so any number of server
// processes can share one database.
type Store struct {
	db    *sqlx.DB
	stmts stmtCache // prepared statements of the hot paths, by SQL text (stmtcache.go)
	d     *dialect  // what differs between the databases (dialect.go)
	rules rules.Config
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

// Connect connects to dsn without migrating. A dsn starting with postgres:// or
// postgresql:// is PostgreSQL; anything else is a SQLite file path (or a file: URI).
func Connect(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" {
		dsn = DefaultSQLitePath
	}
	d := dialectFor(dsn)
	db, err := d.open(dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d.name, redact(err, dsn))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d.name, redact(err, dsn))
	}
	return &Store{db: db, d: d, rules: rules.Default()}, nil
}

// redact keeps a DSN (which may hold a password) out of an error message.
func redact(err error, dsn string) error {
	msg := err.Error()
	if dsn != "" && strings.Contains(msg, dsn) {
		return errors.New(strings.ReplaceAll(msg, dsn, "<dsn>"))
	}
	return err
}

// Backend names the database: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name }

// Close releases the connection pool.
func (s *Store) Close() error {
	s.stmts.closeAll()
	return s.db.Close()
}

// Ready reports whether the store can serve: one statement reads every table of the
// schema (so a table gone or unreadable fails it, as it would fail requests) and the
// newest migration applied, which must be the newest this build embeds.
func (s *Store) Ready(ctx context.Context) (err error) {
	defer s.classify(&err)
	migs, err := migrations(s.d)
	if err != nil {
		return err
	}
	want := migs[len(migs)-1].Version
	var applied int
	if err := s.db.GetContext(ctx, &applied, readyQuery); err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	if applied != want {
		return &store.SchemaVersionError{Applied: applied, Want: want}
	}
	return nil
}

// readyTables are the tables the store serves from; Ready reads each
// (TestReadyReadsEveryTable keeps the list whole).
var readyTables = []string{"users", "user_emails", "user_phone_numbers", "user_addresses", "groups",
	"group_members", "group_groups", "group_ancestors", "api_tokens", "teams", "channels", "team_members", "channel_members",
	"group_teams", "group_channels", "group_team_admins", "group_channel_admins", "system_admins", "team_admins",
	"channel_admins", "settings", "journal", "cursors", "leases",
	"mm_users", "mm_teams", "mm_channels", "mm_owned_teams", "mm_owned_channels", "mm_dead_letters",
	"mm_deactivations", "mm_held", "mm_failures", "mm_status"}

// readyQuery reads no row of any table, yet needs each to exist and be readable (a
// statement's privileges are checked, and its tables locked, whatever its WHERE says).
var readyQuery = func() string {
	q := `SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE true`
	for _, t := range readyTables {
		q += ` AND NOT EXISTS (SELECT 1 FROM ` + t + ` WHERE false)`
	}
	return q
}()

// classify is deferred by every exported method that reaches the database: an error the
// dialect reports as the database unable to serve (dialect.unavailable) becomes one that
// matches store.ErrUnavailable and still wraps the driver's error, for logs. An error
// that a caller's function returned (callerError) is returned as that function returned
// it, even when it is a network error (a client gone): it is the caller's, not the
// database's.
func (s *Store) classify(err *error) {
	e := *err
	if e == nil {
		return
	}
	var ce *callerError
	if errors.As(e, &ce) {
		*err = ce.err
		return
	}
	if errors.Is(e, store.ErrUnavailable) {
		return
	}
	if s.d.unavailable(e) {
		*err = &unavailableError{e}
	}
}

// unavailableError is a database error that store.ErrUnavailable describes.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return "database unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() []error { return []error{store.ErrUnavailable, e.err} }

// callerError marks an error returned by a function the caller handed in, so that
// classify returns it as it is.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }
func (e *callerError) Unwrap() error { return e.err }

// DB exposes the pool to tests and tools in this module that inspect rows directly.
func (s *Store) DB() *sqlx.DB { return s.db }

// inTx runs fn in one transaction and commits it, or rolls it back if fn fails. On
// PostgreSQL a serialization failure or deadlock is retried a few times: both are the
// database asking us to try again, never a result to show a client.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.retry(ctx, func() error { return s.tryTx(ctx, fn) })
}

// retry runs fn, again after a short pause when it fails with an error isRetryable
// accepts, up to a few times. A lost race for a chat username, or for a row an import
// inserts, is retried longer: each loss means another request took the name, so n
// requests deriving the same name concurrently all succeed within n attempts.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	for i := 1; ; i++ {
		err := fn()
		if err == nil || !isRetryable(err) || ctx.Err() != nil {
			return err
		}
		limit := 5
		if errors.Is(err, errUsernameRace) || errors.Is(err, errInsertRace) {
			limit = 25
		}
		if i >= limit {
			return err
		}
		if errors.Is(err, errGraphFirst) {
			continue // no collision to wait out: the next attempt takes its locks in order
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
	if errors.Is(err, errUsernameRace) || errors.Is(err, errInsertRace) || errors.Is(err, errJoinTargetChanged) || errors.Is(err, errGraphFirst) ||
		errors.Is(err, errGroupGone) {
		return true
	}
	for _, d := range dialects { // each dialect knows its own driver's errors only
		if d.retryable(err) {
			return true
		}
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
		return store.ErrNotFound
	}
	for _, d := range dialects {
		if constraint, ok := d.uniqueViolation(err); ok {
			return conflict(constraint)
		}
	}
	return err
}

// conflict maps a unique violation, named by its constraint (PostgreSQL) or message
// (SQLite), to the error callers see.
func conflict(what string) error {
	switch {
	case strings.Contains(what, "user_name_ci"):
		return &store.ConflictError{Attribute: "userName"}
	case strings.Contains(what, "users_username"), strings.Contains(what, "users.username"):
		return errUsernameRace
	case strings.Contains(what, "groups_display_name_unique"), strings.Contains(what, "groups.display_name_ci"):
		return &store.ConflictError{Attribute: "displayName"}
	case strings.Contains(what, "api_tokens"):
		return &store.ConflictError{Attribute: "name"}
	}
	return &store.ConflictError{}
}

// micros converts a time to the stored form; fromMicros converts it back.
func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// now is the store's clock, truncated to what it stores.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

var _ store.Store = (*Store)(nil)
