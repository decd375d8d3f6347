package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// newUserProbe is what a create must know before it writes: whether a DELETEd account
// with the same externalId is there to relink, whether a live account that no IdP made
// has it (to adopt), and whether the chat username the userName derives to first is
// taken.
type newUserProbe struct {
	relinkPK  sql.NullInt64
	adoptPK   sql.NullInt64
	baseTaken bool
}

// adoptable is the condition, on users, of a live account a SCIM create adopts by
// externalId: one made by hand, at first sign-in or by an import (every origin but
// scim), which no IdP has pushed yet (store.Users.CreateUser). It is spelled exactly as
// the partial index users_adoptable's predicate (migration 0009), so that the check
// every create makes reads that small index and never walks the live accounts
// (TestAdoptCheckPlan holds the plan).
const adoptable = `users.scim_deleted_at IS NULL AND users.origin <> '` + store.OriginSCIM + `'`

// probeNewUserSQL answers the three questions in one statement (one round trip instead of three).
const probeNewUserSQL = `SELECT
	(SELECT pk FROM users WHERE external_id = ? AND scim_deleted_at IS NOT NULL ORDER BY pk DESC LIMIT 1) AS relink_pk,
	(SELECT pk FROM users WHERE external_id = ? AND ` + adoptable + ` ORDER BY pk LIMIT 1) AS adopt_pk,
	(EXISTS (SELECT 1 FROM users WHERE username = ?) OR EXISTS (SELECT 1 FROM groups WHERE name = ?)) AS taken`

// baseUsername is the first chat username candidate for userName, the one a create uses
// unless it is taken.
func baseUsername(userName string) string {
	name, _ := rules.Username(userName, nil) // nothing taken: the base, and no error
	return name
}

func (s *Store) probeNewUser(ctx context.Context, tx *sqlx.Tx, u *store.User) (newUserProbe, error) {
	var p newUserProbe
	base := baseUsername(u.UserName)
	ext := null(u.ExternalID)
	if err := s.txQueryRow(ctx, tx, tx.Rebind(probeNewUserSQL), ext, ext, base, base).Scan(&p.relinkPK, &p.adoptPK, &p.baseTaken); err != nil {
		return p, fmt.Errorf("look for an account to relink or adopt and a free username: %w", err)
	}
	return p, nil
}

// lockAdoptCandidate reads and locks the live account of pk if it still has the
// externalId and an adoptable origin, or returns nil.
func (s *Store) lockAdoptCandidate(ctx context.Context, tx *sqlx.Tx, pk int64, externalID string) (*userRow, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE users.pk = ? AND users.external_id = ? AND users.scim_deleted_at IS NULL
		AND ` + adoptable + s.d.lockForUpdate
	r, err := scanUser(tx.QueryRowxContext(ctx, tx.Rebind(q), pk, externalID))
	switch err = mapErr(err); err {
	case nil:
		return &r, nil
	case store.ErrNotFound:
		return nil, nil
	default:
		return nil, fmt.Errorf("read the account to adopt: %w", err)
	}
}

// lockRelinkCandidate reads and locks the most recent DELETEd account with the given
// externalId, or returns nil if there is none (any more).
func (s *Store) lockRelinkCandidate(ctx context.Context, tx *sqlx.Tx, externalID string) (*userRow, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE users.external_id = ? AND users.scim_deleted_at IS NOT NULL ORDER BY users.pk DESC LIMIT 1` +
		s.d.lockForUpdate
	r, err := scanUser(tx.QueryRowxContext(ctx, tx.Rebind(q), externalID))
	switch err = mapErr(err); err {
	case nil:
		return &r, nil
	case store.ErrNotFound:
		return nil, nil
	default:
		return nil, fmt.Errorf("read the account to relink: %w", err)
	}
}

// insertUser stores u as a new SCIM account, its chat username derived from its
// userName (insertAccount). baseTaken is the probe's answer for the first username
// candidate.
func (s *Store) insertUser(ctx context.Context, tx *sqlx.Tx, u *store.User, baseTaken bool) error {
	name, err := rules.Username(u.UserName, s.usernameTakenAfter(ctx, tx, baseTaken))
	if err != nil {
		return fmt.Errorf("derive chat username: %w", err)
	}
	u.Account.Username = name
	_, err = s.insertAccount(ctx, tx, u, store.OriginSCIM, "")
	return err
}

// insertAccount stores u, whose chat username is set, as a new account of origin (with
// authService, "" for none): its id and times, the users row, the multi-valued
// attributes, and the default team with its team-join channels (a new account has no
// group and no import yet, so nothing else can apply), all journaled. Every create but
// an import's (a batch at a time) and the one-statement SCIM create comes through here.
func (s *Store) insertAccount(ctx context.Context, tx *sqlx.Tx, u *store.User, origin, authService string) (int64, error) {
	u.ID = uuid.NewString()
	u.Created = now()
	u.LastModified = u.Created
	u.Version = 1
	setNewAccountState(u)
	var pk int64
	args := append([]any{u.ID, micros(u.Created), origin, null(authService)}, userValues(u)...)
	if err := s.txQueryRow(ctx, tx, tx.Rebind(insertUserSQL), args...).Scan(&pk); err != nil {
		return 0, mapErr(err)
	}
	if err := writeUserChildren(ctx, tx, pk, u, nil); err != nil {
		return 0, err
	}
	return pk, s.joinDefaultTeam(ctx, tx, pk, u)
}

// usernameTakenAfter is the taken function of rules.Username for a new account whose
// first candidate was already checked (baseTaken): the others are asked of the database.
func (s *Store) usernameTakenAfter(ctx context.Context, tx *sqlx.Tx, baseTaken bool) func(string) (bool, error) {
	first := true
	return func(c string) (bool, error) {
		if first {
			first = false
			return baseTaken, nil
		}
		return s.usernameTaken(ctx, tx, c, 0)
	}
}

// userInsertCasts gives the type of the users columns that are not text. In INSERT ...
// SELECT (unlike VALUES) PostgreSQL does not take a parameter's type from the column it
// fills, so those parameters are cast.
var userInsertCasts = map[string]string{
	"created_at": "BIGINT", "updated_at": "BIGINT", "version": "BIGINT", "delete_at": "BIGINT", "active": "BOOLEAN",
}

// createUserOneStatement is CreateUser in one statement, outside any
// transaction (a single statement is atomic): the probe, the users row, its
// multi-valued attributes, and the default team and team-join channels from the cache.
// The writes are conditional on the probe, in the same snapshot, so that a statement
// that finds an account to relink or adopt, a taken username, or cached keys that no longer name
// the default team and its channels writes nothing and reports false: the caller then
// takes the general path, which handles all three. With no cache yet it reports false
// at once. Its parameters grow with the user's multi-valued attributes (see
// writeUserChildren): with all three at store.MaxMultiValues, about 2,050.
func (s *Store) createUserOneStatement(ctx context.Context, u *store.User) (bool, error) {
	t := s.cachedJoin()
	if t == nil {
		return false, nil
	}
	u.ID = uuid.NewString()
	u.Created = now()
	u.LastModified = u.Created
	u.Version = 1
	base := baseUsername(u.UserName)
	u.Account.Username = base
	setNewAccountState(u)
	ts := micros(u.Created)
	lists := params{"channels": s.d.int64List(t.channels), "joins": s.d.textList(t.joins)}

	var b strings.Builder
	var args []any
	add := func(text string, a ...any) {
		b.WriteString(text)
		args = append(args, a...)
	}
	addList := func(text string, scalars ...any) {
		q, a := bind(text, lists, scalars...)
		add(q, a...)
	}
	// relink: an account to relink or to adopt (probeNewUser); the general path does both.
	add(`WITH chk AS (SELECT
	  (EXISTS (SELECT 1 FROM users WHERE external_id = ? AND scim_deleted_at IS NOT NULL)
	   OR EXISTS (SELECT 1 FROM users WHERE external_id = ? AND `+adoptable+`)) AS relink,
	  (EXISTS (SELECT 1 FROM users WHERE username = ?) OR EXISTS (SELECT 1 FROM groups WHERE name = ?)) AS taken,
	  (EXISTS (SELECT 1 FROM teams WHERE pk = ? AND name = ?) AND `, null(u.ExternalID), null(u.ExternalID), base, base, t.teamPK, t.team)
	addList(`(SELECT COUNT(*) FROM channels c WHERE c.pk IN :channels AND c.team_pk = ? AND c.name IN :joins AND c.type <> 'P')`, t.teamPK)
	add(` = ?) AS joinable),
	u AS (INSERT INTO users (id, created_at, `+strings.Join(userWriteColumns, ", ")+`) SELECT ?, CAST(? AS BIGINT)`,
		len(t.channels), u.ID, ts)
	for i, v := range userValues(u) {
		if typ, ok := userInsertCasts[userWriteColumns[i]]; ok {
			add(`, CAST(? AS `+typ+`)`, v)
		} else {
			add(`, ?`, v)
		}
	}
	add(` FROM chk WHERE NOT chk.relink AND NOT chk.taken AND chk.joinable RETURNING pk)`)
	for k, c := range userChildTables(u, nil) {
		if c.n == 0 {
			continue
		}
		add(fmt.Sprintf(`,
	c%d AS (INSERT INTO %s (user_pk, ord, %s) SELECT u.pk, v.* FROM u, (VALUES `, k, c.name, c.cols))
		for i := 0; i < c.n; i++ {
			row := c.row(i)
			if i > 0 {
				add(`, `)
			}
			// ord first, is_primary and primary_false last, text between.
			add(`(CAST(? AS INTEGER)`+strings.Repeat(`, ?`, len(row)-2)+`, CAST(? AS BOOLEAN), CAST(? AS BOOLEAN))`, append([]any{i}, row...)...)
		}
		add(`) AS v)`)
	}
	add(`,
	tm AS (INSERT INTO team_members (team_pk, user_pk, source, created_at) SELECT CAST(? AS BIGINT), u.pk, 'default', CAST(? AS BIGINT) FROM u),
	cm AS (INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
	  SELECT c.pk, u.pk, 'team', CAST(? AS BIGINT) FROM u CROSS JOIN `, t.teamPK, ts, ts)
	// The new account's entries are one journal row (journalRows).
	row := journalRows(append([]store.Event{createdEvent(u)}, t.joinEvents(u)...))[0]
	addList(`ROWS(:channels) c),
	j AS (INSERT INTO journal (`+journalColumns+`) SELECT CAST(? AS BIGINT), ?, ?, ?, ?, CAST(? AS INTEGER), ? FROM u)
`, u.Created.UnixMilli(), store.Actor(ctx), store.RequestID(ctx), row.account, row.username, row.n, string(row.entries))
	add(`	SELECT chk.relink, chk.taken, chk.joinable, (SELECT pk FROM u) FROM chk`)

	var relink, taken, joinable bool
	var pk sql.NullInt64
	if err := s.queryRow(ctx, s.db.Rebind(b.String()), args...).Scan(&relink, &taken, &joinable, &pk); err != nil {
		if err = mapErr(err); errors.Is(err, errUsernameRace) || errors.Is(err, store.ErrConflict) {
			return false, err
		}
		return false, s.joinErr("create the account", err)
	}
	if !joinable {
		s.join.Store(nil)
	}
	if !pk.Valid {
		return false, nil
	}
	t.setMemberships(u)
	return true, nil
}

// setNewAccountState fills the account fields a new account derives from its SCIM user:
// its email, and its status (online, or offline since now when created inactive).
func setNewAccountState(u *store.User) {
	u.Account.Email = accountEmail(u)
	if u.Active {
		u.Account.Status, u.Account.DeleteAt = store.StatusOnline, 0
	} else {
		u.Account.Status, u.Account.DeleteAt = store.StatusOffline, u.LastModified.UnixMilli()
	}
}

// setMemberships records on u what a new account holds after joining t: no group, the
// default team, and its team-join channels, sorted as reads list them.
func (t *joinTarget) setMemberships(u *store.User) {
	u.Groups = nil
	u.Account.Teams = []string{t.team}
	u.Account.Channels = make([]string, len(t.joins))
	for i, n := range t.joins {
		u.Account.Channels[i] = t.team + "/" + n
	}
	slices.Sort(u.Account.Channels)
}
