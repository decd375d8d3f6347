package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
)

// The change journal (store.Journal). Entries are appended by the code that makes a
// change, in its transaction (appendEvents), so an entry exists exactly when its change
// committed. Readers follow the journal by position, which the sequencer assigns to
// committed entries (migration 0005 explains why not by seq); each dialect says how
// (dialect.sequence).

// lockJournal serialises sequencers (dialect.sequence).
const lockJournal lockKey = 7476

// journalColumns are the columns appendEvents writes, in its order.
const journalColumns = `time_ms, kind, actor, request_id, account_id, username, team, channel, source, before_attrs, after_attrs`

// journalRowsPerInsert bounds one INSERT's rows: 11 parameters each, 5,500 in all, far
// below SQLite's 32,766 and PostgreSQL's 65,535.
const journalRowsPerInsert = 500

// appendEvents writes es to the journal in tx, stamped with the store's clock and ctx's
// actor and request id.
func appendEvents(ctx context.Context, tx *sqlx.Tx, es []store.Event) error {
	if len(es) == 0 {
		return nil
	}
	ms, actor, req := now().UnixMilli(), store.Actor(ctx), store.RequestID(ctx)
	for len(es) > 0 {
		n := min(len(es), journalRowsPerInsert)
		var b strings.Builder
		args := make([]any, 0, 11*n)
		b.WriteString(`INSERT INTO journal (` + journalColumns + `) VALUES `)
		for i, e := range es[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, ms, string(e.Kind), actor, req, e.Account, e.Username, e.Team, e.Channel, e.Source,
				attrsJSON(e.Before), attrsJSON(e.After))
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
			return fmt.Errorf("append to the journal: %w", err)
		}
		es = es[n:]
	}
	return nil
}

// attrsJSON is the stored form of an entry's attributes: a JSON object, or NULL for none.
func attrsJSON(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return string(b)
}

// sequence gives every committed entry that has none a position, in seq order, after
// every position given so far. It costs one indexed read when nothing waits (always, on
// a dialect that sequences at insert).
func (s *Store) sequence(ctx context.Context) error {
	if s.d.sequence == "" {
		return nil
	}
	var pending bool
	if err := s.db.GetContext(ctx, &pending, `SELECT EXISTS (SELECT 1 FROM journal WHERE position IS NULL)`); err != nil {
		return fmt.Errorf("look for unsequenced journal entries: %w", err)
	}
	if !pending {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Under the lock, the statement below starts after every earlier sequencer
		// committed, so it sees their positions and numbers on from the highest.
		if err := s.d.lock(ctx, tx, lockJournal); err != nil {
			return fmt.Errorf("lock the journal's sequencer: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.sequence); err != nil {
			return fmt.Errorf("sequence the journal: %w", err)
		}
		return nil
	})
}

// eventRow is a journal row as Events reads it.
type eventRow struct {
	Position  int64          `db:"position"`
	TimeMS    int64          `db:"time_ms"`
	Kind      string         `db:"kind"`
	Actor     string         `db:"actor"`
	RequestID string         `db:"request_id"`
	AccountID string         `db:"account_id"`
	Username  string         `db:"username"`
	Team      string         `db:"team"`
	Channel   string         `db:"channel"`
	Source    string         `db:"source"`
	Before    sql.NullString `db:"before_attrs"`
	After     sql.NullString `db:"after_attrs"`
}

func (r *eventRow) event() (store.Event, error) {
	e := store.Event{Cursor: r.Position, Time: time.UnixMilli(r.TimeMS).UTC(), Kind: store.EventKind(r.Kind),
		Actor: r.Actor, RequestID: r.RequestID, Account: r.AccountID, Username: r.Username, Team: r.Team,
		Channel: r.Channel, Source: r.Source}
	for _, a := range [...]struct {
		s   sql.NullString
		dst *map[string]string
	}{{r.Before, &e.Before}, {r.After, &e.After}} {
		if a.s.Valid {
			if err := json.Unmarshal([]byte(a.s.String), a.dst); err != nil {
				return e, fmt.Errorf("journal entry %d: attributes: %w", r.Position, err)
			}
		}
	}
	return e, nil
}

// Events returns committed entries after q.After in position order, sequencing first
// what committed since the last reader did.
func (s *Store) Events(ctx context.Context, q store.EventQuery) (_ []store.Event, err error) {
	defer s.classify(&err)
	if err := q.Check(); err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	if err := s.sequence(ctx); err != nil {
		return nil, err
	}
	query := `SELECT position, ` + journalColumns + ` FROM journal WHERE position IS NOT NULL AND position > ?`
	args := []any{q.After}
	if q.Account != "" {
		query += ` AND account_id = ?`
		args = append(args, q.Account)
	}
	query += ` ORDER BY position LIMIT ?`
	var rows []eventRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(query), append(args, q.PageSize())...); err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	out := make([]store.Event, len(rows))
	for i := range rows {
		if out[i], err = rows[i].event(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// JournalHead returns the newest entry's position and time, sequencing first.
func (s *Store) JournalHead(ctx context.Context) (_ int64, _ time.Time, err error) {
	defer s.classify(&err)
	if err := s.sequence(ctx); err != nil {
		return 0, time.Time{}, err
	}
	var head struct {
		Position int64 `db:"position"`
		TimeMS   int64 `db:"time_ms"`
	}
	err = s.db.GetContext(ctx, &head, `SELECT position, time_ms FROM journal WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1`)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, time.Time{}, nil
	case err != nil:
		return 0, time.Time{}, fmt.Errorf("read the journal's head: %w", err)
	}
	return head.Position, time.UnixMilli(head.TimeMS).UTC(), nil
}

// Cursor returns a consumer's stored position, 0 when it has none.
func (s *Store) Cursor(ctx context.Context, consumer string) (_ int64, err error) {
	defer s.classify(&err)
	if err := store.CheckCoordinationName("consumer", consumer); err != nil {
		return 0, err
	}
	var pos int64
	err = s.db.GetContext(ctx, &pos, s.db.Rebind(`SELECT position FROM cursors WHERE consumer = ?`), consumer)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cursor %q: %w", consumer, err)
	}
	return pos, nil
}

// SetCursor stores a consumer's position unless it has a higher one already, in one
// statement, so that concurrent writers leave the highest.
func (s *Store) SetCursor(ctx context.Context, consumer string, cursor int64) (err error) {
	defer s.classify(&err)
	if err := store.CheckCoordinationName("consumer", consumer); err != nil {
		return err
	}
	if cursor < 0 {
		return &store.InvalidError{Attribute: "cursor", Reason: "must not be negative"}
	}
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO cursors (consumer, position) VALUES (?, ?)
		ON CONFLICT (consumer) DO UPDATE SET position = excluded.position WHERE cursors.position < excluded.position`),
		consumer, cursor); err != nil {
		return fmt.Errorf("store cursor %q: %w", consumer, err)
	}
	return nil
}

// AcquireLease takes the lease when it is free (absent, or expired by the database's
// clock) or already holder's, in one statement: an upsert whose update applies only
// then, and returns a row only when it wrote one.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (_ bool, err error) {
	defer s.classify(&err)
	if err := store.CheckCoordinationName("lease", name); err != nil {
		return false, err
	}
	if err := store.CheckCoordinationName("holder", holder); err != nil {
		return false, err
	}
	if ttl <= 0 || ttl > store.MaxLeaseTTL {
		return false, &store.InvalidError{Attribute: "ttl", Reason: fmt.Sprintf("must be positive and at most %s", store.MaxLeaseTTL)}
	}
	q, args := bind(`INSERT INTO leases (name, holder, expires_at) VALUES (:name, :holder, `+s.d.nowMillis+` + CAST(:ttl AS BIGINT))
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= `+s.d.nowMillis+`
		RETURNING holder`, params{"name": name, "holder": holder, "ttl": ttl.Milliseconds()})
	var got string
	err = s.db.GetContext(ctx, &got, s.db.Rebind(q), args...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	return got == holder, nil
}

// ReleaseLease frees the lease if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) (err error) {
	defer s.classify(&err)
	if err := store.CheckCoordinationName("lease", name); err != nil {
		return err
	}
	if err := store.CheckCoordinationName("holder", holder); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM leases WHERE name = ? AND holder = ?`), name, holder); err != nil {
		return fmt.Errorf("release lease %q: %w", name, err)
	}
	return nil
}

// AppendEvent journals a connector's entry (kinds "mattermost.*" only).
func (s *Store) AppendEvent(ctx context.Context, e store.Event) (err error) {
	defer s.classify(&err)
	if err := e.CheckAppend(); err != nil {
		return fmt.Errorf("append to the journal: %w", err)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return appendEvents(ctx, tx, []store.Event{e}) })
}

// pruneBatch is the most entries one DELETE of PruneEvents removes, so that pruning a
// long journal holds no lock for long.
const pruneBatch = 10000

// PruneEvents deletes entries older than before, in batches, never one at or past the
// lowest stored cursor, and never the newest entry: it carries the highest position,
// from which the sequencer numbers on (so positions never restart after a prune).
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (_ int64, err error) {
	defer s.classify(&err)
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM journal WHERE seq IN (
			SELECT seq FROM journal WHERE position IS NOT NULL AND time_ms < ?
			AND position < (SELECT MAX(position) FROM journal)
			AND (NOT EXISTS (SELECT 1 FROM cursors) OR position <= (SELECT MIN(position) FROM cursors))
			ORDER BY position LIMIT ?)`), before.UnixMilli(), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune the journal: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune the journal: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// accountEvents are the entries of an account's change from before to after (its
// attributes, store.AccountAttributes): account.updated with the keys that changed, then
// account.deactivated or account.reactivated when its active state changed. None when
// nothing a chat server holds changed.
func accountEvents(id, username string, before, after map[string]string, source string) []store.Event {
	var es []store.Event
	if b, a := store.ChangedAttributes(before, after); b != nil {
		es = append(es, store.Event{Kind: store.EventAccountUpdated, Account: id, Username: username, Source: source, Before: b, After: a})
	}
	if was, is := before[store.AttrActive], after[store.AttrActive]; was != is {
		kind := store.EventAccountReactivated
		if is != "true" {
			kind = store.EventAccountDeactivated
		}
		es = append(es, store.Event{Kind: kind, Account: id, Username: username, Source: source,
			Before: map[string]string{store.AttrActive: was}, After: map[string]string{store.AttrActive: is}})
	}
	return es
}

// createdEvent is the entry of a new account u.
func createdEvent(u *store.User) store.Event {
	return store.Event{Kind: store.EventAccountCreated, Account: u.ID, Username: u.Account.Username, After: store.AccountAttributes(u)}
}

// joinEvents are the entries of a new account u joining t: the default team, then its
// team-join channels.
func (t *joinTarget) joinEvents(u *store.User) []store.Event {
	es := make([]store.Event, 0, 1+len(t.joins))
	es = append(es, store.Event{Kind: store.EventTeamJoined, Account: u.ID, Username: u.Account.Username, Team: t.team,
		Source: string(store.SourceDefault)})
	for _, ch := range t.joins {
		es = append(es, store.Event{Kind: store.EventChannelJoined, Account: u.ID, Username: u.Account.Username, Team: t.team,
			Channel: ch, Source: string(store.SourceTeamJoin)})
	}
	return es
}

// AccountID resolves an account's id, username or email to its SCIM user id, trying
// each in turn, one indexed statement each, and last the journal (a purged account). The email is found through user_emails' index
// (an account's email is one of its user's emails, lower-cased), not by scanning users.
func (s *Store) AccountID(ctx context.Context, key string) (_ string, err error) {
	defer s.classify(&err)
	if key == "" {
		return "", fmt.Errorf("resolve account: %w", store.ErrNotFound)
	}
	if err := store.CheckCoordinationName("account", key); err != nil {
		return "", err
	}
	lower := strings.ToLower(key)
	var ids []string
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`SELECT id FROM users WHERE id = ?`, []any{key}},
		{`SELECT id FROM users WHERE username = ?`, []any{lower}},
		{`SELECT DISTINCT u.id FROM user_emails e JOIN users u ON u.pk = e.user_pk WHERE e.value_ci = ? AND u.email = ? ORDER BY u.id LIMIT 2`,
			[]any{lower, lower}},
		{`SELECT account_id FROM journal WHERE account_id = ? AND position IS NOT NULL LIMIT 1`, []any{key}},
	} {
		if strings.Contains(q.sql, "FROM journal") {
			if err := s.sequence(ctx); err != nil { // journal_account holds sequenced entries
				return "", err
			}
		}
		if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(q.sql), q.args...); err != nil {
			return "", fmt.Errorf("resolve account %q: %w", key, err)
		}
		switch len(ids) {
		case 0:
			continue
		case 1:
			return ids[0], nil
		default:
			return "", &store.InvalidError{Attribute: "account", Reason: fmt.Sprintf("%q is the email of several accounts; name one by id or username", key)}
		}
	}
	return "", fmt.Errorf("resolve account %q: %w", key, store.ErrNotFound)
}
