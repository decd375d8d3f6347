package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/jsonstr"
)

// The change journal (store.Journal). Entries are appended by the code that makes a
// change, in its transaction (appendEvents), so an entry exists exactly when its change
// committed. Readers follow the journal by position: on PostgreSQL the sequencer assigns
// it to committed entries (migration 0005 explains why not by seq, dialect.sequence); on
// SQLite it is the row's rowid, taken at insert (migration 0007).

// lockJournal serialises sequencers (dialect.sequence).
const lockJournal lockKey = 7476

// Storage. A journal row holds the consecutive entries one transaction appends for one
// account (or for no account: team and channel creation), as a JSON array: a create is
// one row, not one per entry, and a reconcile one per account it changes. An entry's
// Cursor is its row's position times entriesPerRow plus its index in the row, so the
// total order of rows is the total order of entries.

// entryBits is how many low bits of a Cursor index an entry within its row.
const entryBits = 10

// entriesPerRow is the most entries one row holds.
const entriesPerRow = 1 << entryBits

func cursorOf(position int64, i int) int64 { return position<<entryBits | int64(i) }

// journalColumns are the columns appendEvents writes, in its order.
const journalColumns = `time_ms, actor, request_id, account_id, username, n, entries`

// journalRowsPerInsert bounds one INSERT's rows: 7 parameters each, 3,500 in all, far
// below SQLite's 32,766 and PostgreSQL's 65,535.
const journalRowsPerInsert = 500

// storedEntry is an entry as its row's JSON array holds it; the row holds the rest.
type storedEntry struct {
	Kind    string            `json:"k"`
	Team    string            `json:"t,omitempty"`
	Channel string            `json:"c,omitempty"`
	Source  string            `json:"s,omitempty"`
	Before  map[string]string `json:"b,omitempty"`
	After   map[string]string `json:"a,omitempty"`
}

// journalRow is one row to append: its entries share Account and Username.
type journalRow struct {
	account, username string
	entries           []byte // JSON array of storedEntry
	n                 int
}

// journalRows groups es into rows: each run of consecutive entries with the same
// Account and Username, split at entriesPerRow.
func journalRows(es []store.Event) []journalRow {
	var rows []journalRow
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && j-i < entriesPerRow && es[j].Account == es[i].Account && es[j].Username == es[i].Username {
			j++
		}
		rows = append(rows, journalRow{account: es[i].Account, username: es[i].Username, entries: appendEntries(nil, es[i:j]), n: j - i})
		i = j
	}
	return rows
}

// appendEntries appends es as the JSON array of storedEntry a row holds, byte for byte
// what json.Marshal writes for it (TestAppendEntriesIsJSONMarshal), without reflection
// or the intermediate slice: it runs inside every write transaction, which on SQLite
// every other writer waits for.
func appendEntries(b []byte, es []store.Event) []byte {
	b = append(b, '[')
	for i := range es {
		e := &es[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"k":`...)
		b = jsonstr.Append(b, string(e.Kind))
		for _, f := range [...]struct{ key, v string }{{`,"t":`, e.Team}, {`,"c":`, e.Channel}, {`,"s":`, e.Source}} {
			if f.v != "" {
				b = jsonstr.Append(append(b, f.key...), f.v)
			}
		}
		if len(e.Before) > 0 {
			b = appendJSONMap(append(b, `,"b":`...), e.Before)
		}
		if len(e.After) > 0 {
			b = appendJSONMap(append(b, `,"a":`...), e.After)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONMap appends m as a JSON object, its keys sorted as json.Marshal sorts them.
func appendJSONMap(b []byte, m map[string]string) []byte {
	var buf [16]string // an account's attributes: no allocation for the usual maps
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, k)
		b = append(b, ':')
		b = jsonstr.Append(b, m[k])
	}
	return append(b, '}')
}

// appendEvents writes es to the journal in tx, stamped with the store's clock and ctx's
// actor and request id.
func (s *Store) appendEvents(ctx context.Context, tx *sqlx.Tx, es []store.Event) error {
	if len(es) == 0 {
		return nil
	}
	ms, actor, req := now().UnixMilli(), store.Actor(ctx), store.RequestID(ctx)
	rows := journalRows(es)
	for len(rows) > 0 {
		n := min(len(rows), journalRowsPerInsert)
		var b strings.Builder
		args := make([]any, 0, 7*n)
		// position is left to the database: NULL until sequenced on PostgreSQL, the rowid
		// on SQLite (rows of one statement take rowids in the order they are listed).
		b.WriteString(`INSERT INTO journal (` + journalColumns + `) VALUES `)
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, ms, actor, req, r.account, r.username, r.n, string(r.entries))
		}
		// Through the statement cache: a statement of one row (a create, an update) is
		// the usual one.
		if _, err := s.txExec(ctx, tx, tx.Rebind(b.String()), args...); err != nil {
			return fmt.Errorf("append to the journal: %w", err)
		}
		rows = rows[n:]
	}
	return nil
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

// The journal's reads. Each reaches its rows through an index whatever the journal's
// length (TestJournalPlans): position is journal_position's key on PostgreSQL and the
// rowid on SQLite; an account's rows are journal_account's. "position IS NOT NULL" lets
// PostgreSQL use its partial indexes; on SQLite it always holds.
const (
	// eventsSQL reads the rows from position ? on, at most ? of them.
	eventsSQL = `SELECT position, ` + journalColumns + ` FROM journal WHERE position IS NOT NULL AND position >= ?
		ORDER BY position LIMIT ?`
	// accountEventsSQL is eventsSQL for the account ? only.
	accountEventsSQL = `SELECT position, ` + journalColumns + ` FROM journal WHERE position IS NOT NULL AND position >= ?
		AND account_id = ? ORDER BY position LIMIT ?`
	// headSQL reads the newest row. MAX is one index probe on both databases (on SQLite,
	// ORDER BY position DESC LIMIT 1 is one too, but its plan reads as a scan).
	headSQL = `SELECT position, n, time_ms FROM journal WHERE position = (SELECT MAX(position) FROM journal)`
	// accountInJournalSQL finds an account the journal names (AccountID).
	accountInJournalSQL = `SELECT account_id FROM journal WHERE account_id = ? AND position IS NOT NULL LIMIT 1`
	// pruneSQL deletes at most ? rows written before ? (Unix ms) that hold no entry past
	// the lowest stored cursor (cursors hold position * ? + index), never the newest.
	pruneSQL = `DELETE FROM journal WHERE position IS NOT NULL AND position IN (
		SELECT position FROM journal WHERE position IS NOT NULL AND time_ms < ?
		AND position < (SELECT MAX(position) FROM journal)
		AND (NOT EXISTS (SELECT 1 FROM cursors) OR position * ? + n - 1 <= (SELECT MIN(cursors.position) FROM cursors))
		ORDER BY position LIMIT ?) RETURNING n`
)

// eventRow is a journal row as Events reads it.
type eventRow struct {
	Position  int64  `db:"position"`
	TimeMS    int64  `db:"time_ms"`
	Actor     string `db:"actor"`
	RequestID string `db:"request_id"`
	AccountID string `db:"account_id"`
	Username  string `db:"username"`
	N         int    `db:"n"`
	Entries   string `db:"entries"`
}

// events expands the row into its entries.
func (r *eventRow) events() ([]store.Event, error) {
	var stored []storedEntry
	if err := json.Unmarshal([]byte(r.Entries), &stored); err != nil {
		return nil, fmt.Errorf("journal row %d: %w", r.Position, err)
	}
	out := make([]store.Event, len(stored))
	for i, e := range stored {
		out[i] = store.Event{Cursor: cursorOf(r.Position, i), Time: time.UnixMilli(r.TimeMS).UTC(), Kind: store.EventKind(e.Kind),
			Actor: r.Actor, RequestID: r.RequestID, Account: r.AccountID, Username: r.Username, Team: e.Team,
			Channel: e.Channel, Source: e.Source, Before: e.Before, After: e.After}
	}
	return out, nil
}

// Events returns committed entries after q.After in cursor order, sequencing first what
// committed since the last reader did. It reads at most one row more than the page has
// entries: the row of q.After may hold no entry after it, and every other row holds one
// at least.
func (s *Store) Events(ctx context.Context, q store.EventQuery) (_ []store.Event, err error) {
	defer s.classify(&err)
	if err := q.Check(); err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	if err := s.sequence(ctx); err != nil {
		return nil, err
	}
	query, args := eventsSQL, []any{q.After >> entryBits}
	if q.Account != "" {
		query, args = accountEventsSQL, append(args, q.Account)
	}
	var rows []eventRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(query), append(args, q.PageSize()+1)...); err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	out := make([]store.Event, 0, q.PageSize())
	for i := range rows {
		es, err := rows[i].events()
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.Cursor > q.After && len(out) < q.PageSize() {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// JournalHead returns the newest entry's cursor and time, sequencing first.
func (s *Store) JournalHead(ctx context.Context) (_ int64, _ time.Time, err error) {
	defer s.classify(&err)
	if err := s.sequence(ctx); err != nil {
		return 0, time.Time{}, err
	}
	var head struct {
		Position int64 `db:"position"`
		N        int   `db:"n"`
		TimeMS   int64 `db:"time_ms"`
	}
	err = s.db.GetContext(ctx, &head, headSQL)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, time.Time{}, nil
	case err != nil:
		return 0, time.Time{}, fmt.Errorf("read the journal's head: %w", err)
	}
	return cursorOf(head.Position, head.N-1), time.UnixMilli(head.TimeMS).UTC(), nil
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
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return s.appendEvents(ctx, tx, []store.Event{e}) })
}

// pruneBatch is the most rows one DELETE of PruneEvents removes, so that pruning a long
// journal holds no lock for long.
const pruneBatch = 10000

// PruneEvents deletes the rows written before before, in batches, never one holding an
// entry past the lowest stored cursor, and never the newest row: it carries the highest
// position, from which the sequencer numbers on on PostgreSQL (so cursors never restart
// after a prune; on SQLite AUTOINCREMENT already never gives a rowid twice). It returns
// how many entries it deleted.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (_ int64, err error) {
	defer s.classify(&err)
	var total int64
	for {
		var ns []int64
		if err := s.db.SelectContext(ctx, &ns, s.db.Rebind(pruneSQL), before.UnixMilli(), entriesPerRow, pruneBatch); err != nil {
			return total, fmt.Errorf("prune the journal: %w", err)
		}
		for _, n := range ns {
			total += n
		}
		if len(ns) < pruneBatch {
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
		{accountInJournalSQL, []any{key}},
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
