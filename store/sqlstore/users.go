package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// live restricts a users query to SCIM resources that exist: a user DELETEd in
// "deactivate" mode keeps its account row but is no SCIM resource any more.
const live = ` AND users.scim_deleted_at IS NULL`

// CreateUser stores a new user and its chat account, assigning its ID, times and
// version, and joins the account to its teams and channels. A userName already taken (in
// any case) is a ConflictError. When an account DELETEd earlier (in deactivate mode) has
// the same externalId, the user is relinked to it instead: Mattermost's ID-attribute rule,
// under which email and userName may change but the IdP's id binds the account. The
// relinked user keeps its old id, creation time and memberships, and is reactivated.
// Live users may share an externalId: RFC 7643 gives it no uniqueness, and Microsoft's
// reference tests create several users with one.
//
// Where the database has writable CTEs, the usual create (nothing to relink, the
// username free, the default team's keys cached) is one statement; anything else takes
// the general path, a transaction.
//
// A live account that no IdP made (origin manual, login or import) with the POSTed
// externalId is adopted rather than doubled: the user takes the POSTed attributes and
// keeps the account's id, creation time and memberships, and its origin becomes scim
// (adoptAccount). Issue 13: the person an admin or a first sign-in provisioned is the
// same person the IdP later pushes.
func (s *Store) CreateUser(ctx context.Context, u *store.User) (err error) {
	defer s.classify(&err)
	if err := u.Check(); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	in := *u
	if s.d.writableCTEs {
		var done bool
		err := s.retry(ctx, func() error {
			*u = in
			var err error
			done, err = s.createUserOneStatement(ctx, u)
			return err
		})
		if err != nil {
			return fmt.Errorf("create user %q: %w", in.UserName, err)
		}
		if done {
			return nil
		}
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		*u = in
		p, err := s.probeNewUser(ctx, tx, u)
		if err != nil {
			return err
		}
		if p.adoptPK.Valid {
			old, err := s.lockAdoptCandidate(ctx, tx, p.adoptPK.Int64, u.ExternalID)
			switch {
			case err != nil:
				return err
			case old != nil:
				return s.adoptAccount(ctx, tx, old, u)
			}
			// Adopted or changed by another request meanwhile: run again, to see what is
			// there now.
			return errJoinTargetChanged
		}
		if p.relinkPK.Valid {
			old, err := s.lockRelinkCandidate(ctx, tx, u.ExternalID)
			switch {
			case err != nil:
				return err
			case old != nil:
				u.ID, u.Created, u.Version = old.ID, fromMicros(old.CreatedAt), old.Version+1
				u.LastModified = now()
				prev, err := s.loadUserChildren(ctx, tx, []userRow{*old})
				if err != nil {
					return err
				}
				return s.writeUser(ctx, tx, old, &prev[0], u)
			}
			// Relinked by another request meanwhile: a new account after all.
		}
		return s.insertUser(ctx, tx, u, p.baseTaken)
	})
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.UserName, err)
	}
	return nil
}

// writeUser overwrites the row old (whose user, as read, is prev) with u, deriving the
// account fields, and reconciles the account's memberships when it becomes active. It
// writes only what changed: a PATCH of active touches one row.
func (s *Store) writeUser(ctx context.Context, tx *sqlx.Tx, old *userRow, prev *store.User, u *store.User) error {
	// The chat username follows userName; a change that leaves the derived name as it
	// was (a change of case, say) keeps the username it has.
	if !old.Username.Valid || !sameUsernameBase(old.UserName, u.UserName) {
		name, err := s.chatUsername(ctx, tx, u.UserName, old.PK)
		if err != nil {
			return fmt.Errorf("derive chat username: %w", err)
		}
		u.Account.Username = name
	} else {
		u.Account.Username = old.Username.String
	}
	u.Account.Email = accountEmail(u)
	wasActive := old.Active && old.DeleteAt == 0
	switch {
	case u.Active:
		u.Account.Status, u.Account.DeleteAt = store.StatusOnline, 0
	case old.DeleteAt != 0:
		u.Account.Status, u.Account.DeleteAt = store.StatusOffline, old.DeleteAt
	default:
		u.Account.Status, u.Account.DeleteAt = store.StatusOffline, u.LastModified.UnixMilli()
	}
	pk := old.PK
	if _, err := tx.ExecContext(ctx, tx.Rebind(updateUserSQL), append(userValues(u), pk)...); err != nil {
		return mapErr(err)
	}
	// Journalled before the memberships a reactivation brings, which follow it.
	if err := s.appendEvents(ctx, tx, accountEvents(u.ID, u.Account.Username, store.AccountAttributes(prev), store.AccountAttributes(u), "")); err != nil {
		return err
	}
	if err := writeUserChildren(ctx, tx, pk, u, prev); err != nil {
		return err
	}
	if u.Active && !wasActive {
		// Joining again (reactivation, relink): memberships follow the groups of now.
		if err := s.reconcile(ctx, tx, []int64{pk}); err != nil {
			return err
		}
		return s.loadAccountMemberships(ctx, tx, pk, u)
	}
	// A deactivated account keeps its rows frozen; an active one already follows its
	// groups. Nothing changed, so what was read stands.
	u.Groups, u.Account.Teams, u.Account.Channels = prev.Groups, prev.Account.Teams, prev.Account.Channels
	return nil
}

// adoptAccount makes the live account old (locked) the SCIM user u: u's attributes
// over the account's, keeping its id, creation time and memberships (a deactivated one
// is reactivated when u is active, as a relink is), and origin scim from now on.
func (s *Store) adoptAccount(ctx context.Context, tx *sqlx.Tx, old *userRow, u *store.User) error {
	u.ID, u.Created, u.Version = old.ID, fromMicros(old.CreatedAt), old.Version+1
	u.LastModified = now()
	prev, err := s.loadUserChildren(ctx, tx, []userRow{*old})
	if err != nil {
		return err
	}
	if err := s.writeUser(ctx, tx, old, &prev[0], u); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET origin = ? WHERE pk = ?`), store.OriginSCIM, old.PK)
	return err
}

// joinDefaultTeam puts a new account in the default team and its team-join channels, and
// journals the account's creation and its joins (one journal row on the usual path).
func (s *Store) joinDefaultTeam(ctx context.Context, tx *sqlx.Tx, pk int64, u *store.User) error {
	created := createdEvent(u)
	t, err := s.defaultJoin(ctx, tx)
	if err != nil {
		return err
	}
	ok, err := s.insertDefaultMemberships(ctx, tx, pk, t, micros(now()))
	if err != nil {
		return err
	}
	if !ok {
		// The cached keys no longer name the default team and its channels (changed by
		// another process, or the cache filled by a transaction that rolled back): the
		// general path finds them, or creates them, by name. What was written is dropped
		// first, so that the journal sees the new account join from nothing.
		s.join.Store(nil)
		for _, table := range []string{"team_members", "channel_members"} {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+table+` WHERE user_pk = ?`), pk); err != nil {
				return err
			}
		}
		if err := s.appendEvents(ctx, tx, []store.Event{created}); err != nil {
			return err
		}
		if err := s.reconcile(ctx, tx, []int64{pk}); err != nil {
			return err
		}
		return s.loadAccountMemberships(ctx, tx, pk, u)
	}
	t.setMemberships(u)
	return s.appendEvents(ctx, tx, append([]store.Event{created}, t.joinEvents(u)...))
}

// sameUsernameBase reports whether two userNames derive the same chat username.
func sameUsernameBase(a, b string) bool {
	never := func(string) (bool, error) { return false, nil }
	x, errA := rules.Username(a, never)
	y, errB := rules.Username(b, never)
	return errA == nil && errB == nil && x == y
}

// loadAccountMemberships fills u.Account.Teams and Channels from the database.
func (s *Store) loadAccountMemberships(ctx context.Context, tx *sqlx.Tx, pk int64, u *store.User) error {
	users, err := s.loadUserChildren(ctx, tx, []userRow{{PK: pk}})
	if err != nil {
		return err
	}
	u.Groups = users[0].Groups
	a := users[0].Account
	u.Account.Teams, u.Account.Channels = a.Teams, a.Channels
	u.Account.Guest, u.Account.SystemAdmin, u.Account.TeamAdmin, u.Account.ChannelAdmin = a.Guest, a.SystemAdmin, a.TeamAdmin, a.ChannelAdmin
	return nil
}

// GetUser reads one user with its multi-valued attributes and groups, in one statement.
func (s *Store) GetUser(ctx context.Context, id string) (_ store.User, err error) {
	defer s.classify(&err)
	if !store.PossibleID(id) {
		return store.User{}, fmt.Errorf("get user: %w", store.ErrNotFound)
	}
	users, err := s.readUsers(ctx, nil, s.d.selectUsers+` WHERE users.id = ?`+live, id)
	if err == nil && len(users) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("get user %q: %w", id, err)
	}
	return users[0], nil
}

// UpdateUser reads the user, lets fn change it, and writes it back, all in one
// transaction holding the row lock, so concurrent updates never lose each other's
// changes. ifVersion > 0 demands that the stored version still be that one
// (ErrPrecondition otherwise): that is how If-Match is honoured. The user fn leaves is
// checked (User.Check) before anything is written.
func (s *Store) UpdateUser(ctx context.Context, id string, ifVersion int64, fn func(u *store.User) error) (_ store.User, err error) {
	defer s.classify(&err)
	if !store.PossibleID(id) {
		return store.User{}, fmt.Errorf("update user: %w", store.ErrNotFound)
	}
	var out store.User
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		r, prev, err := s.readUserForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		u := prev
		u.Emails = slices.Clone(prev.Emails)
		u.PhoneNumbers = slices.Clone(prev.PhoneNumbers)
		u.Addresses = slices.Clone(prev.Addresses)
		if ifVersion > 0 && u.Version != ifVersion {
			return store.ErrPrecondition
		}
		if err := fn(&u); err != nil {
			return err
		}
		if err := u.Check(); err != nil {
			return err
		}
		if u.SameAttributes(&prev) { // no change: nothing to write (the contract)
			out = prev
			return nil
		}
		u.ID, u.Created = r.ID, fromMicros(r.CreatedAt)
		u.LastModified = now()
		u.Version = r.Version + 1
		if err := s.writeUser(ctx, tx, &r, &prev, &u); err != nil {
			return err
		}
		out = u
		return nil
	})
	if err != nil {
		return store.User{}, fmt.Errorf("update user %q: %w", id, err)
	}
	return out, nil
}

// lockUser reads and locks a live user's row for the rest of tx.
func (s *Store) lockUser(ctx context.Context, tx *sqlx.Tx, id string) (userRow, error) {
	r, err := scanUser(tx.QueryRowxContext(ctx, tx.Rebind(`SELECT `+userColumns+` FROM users WHERE users.id = ?`+live+s.d.lockForUpdate), id))
	return r, mapErr(err)
}

// readUserForUpdate reads a live user and its children under the user's row lock.
//
// The children are a second statement, read once the lock is held. One statement reads
// with the snapshot it started with: had it waited for the lock, it would return the row
// as the other writer left it (the lock re-reads the row) but the children from before
// that writer committed, and a PATCH would then write stale emails back over the
// committed ones. A reconcile that only locks the row (a group change) would likewise be
// invisible in the memberships returned.
func (s *Store) readUserForUpdate(ctx context.Context, tx *sqlx.Tx, id string) (userRow, store.User, error) {
	r, err := s.lockUser(ctx, tx, id)
	if err != nil {
		return r, store.User{}, err
	}
	users, err := s.loadUserChildren(ctx, tx, []userRow{r})
	if err != nil {
		return r, store.User{}, err
	}
	return r, users[0], nil
}

// DeleteUser ends a SCIM user. With the rules' delete_mode "deactivate" (the default) the
// account is deactivated and kept with its team and channel memberships (history stays),
// while the SCIM resource disappears: it leaves its groups, later reads are ErrNotFound,
// and its userName is free again. With "purge" the account and everything hanging off it
// are removed. ifVersion > 0 works as in UpdateUser.
func (s *Store) DeleteUser(ctx context.Context, id string, ifVersion int64) (err error) {
	defer s.classify(&err)
	if !store.PossibleID(id) {
		return fmt.Errorf("delete user: %w", store.ErrNotFound)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		r, err := s.lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && r.Version != ifVersion {
			return store.ErrPrecondition
		}
		prev := r.user()
		if s.rules.DeleteMode == rules.DeletePurge {
			return s.purgeAccount(ctx, tx, &r)
		}
		t := now()
		deleteAt := r.DeleteAt
		if deleteAt == 0 {
			deleteAt = t.UnixMilli()
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET scim_deleted_at = ?, active = ?, delete_at = ?, status = ?,
			updated_at = ?, version = version + 1 WHERE pk = ?`), micros(t), false, deleteAt, store.StatusOffline, micros(t), r.PK); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, tx.Rebind(`DELETE FROM group_members WHERE user_pk = ?`), r.PK); err != nil {
			return err
		}
		// The account keeps its memberships (frozen while deactivated): only its state
		// changes, if it was active.
		after := store.AccountAttributes(&prev)
		after[store.AttrActive] = "false"
		return s.appendEvents(ctx, tx, accountEvents(r.ID, prev.Account.Username, store.AccountAttributes(&prev), after, sourceDelete))
	})
	if err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	return nil
}

// purgeAccount removes the locked account r and everything hanging off it (its
// multi-valued attributes, group memberships and memberships go with the row), and
// journals account.deleted: SCIM's DELETE in purge mode and the admin's DeleteAccount.
func (s *Store) purgeAccount(ctx context.Context, tx *sqlx.Tx, r *userRow) error {
	prev := r.user()
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM users WHERE pk = ?`), r.PK); err != nil {
		return err
	}
	return s.appendEvents(ctx, tx, []store.Event{{Kind: store.EventAccountDeleted, Account: r.ID, Username: prev.Account.Username,
		Source: sourceDelete, Before: store.AccountAttributes(&prev)}})
}

// ListUsers returns one page of the users matching q, in a stable order (creation
// order, or q's sort: orderBy), and the total number of matches. A keyset page is
// listUsersAfter's.
//
// The page is one statement, children included. It is a deferred join: the inner query
// picks the page's keys, which for an unfiltered list is an index-only walk of
// users_live_pk (migration 0003), and only those rows are then read whole, so an OFFSET
// deep into the table skips index entries rather than rows. The COUNT, when the page
// does not tell the total (pageTotal), is index-only the same way.
func (s *Store) ListUsers(ctx context.Context, q store.Query) (_ []store.User, _ int, err error) {
	defer s.classify(&err)
	cond, err := compileFilter(userFilter, q.Filter, s.d)
	if err != nil {
		return nil, 0, err
	}
	where := "users.scim_deleted_at IS NULL"
	if cond.sql != "" {
		where += " AND (" + cond.sql + ")"
	}
	order, err := orderBy(userFilter, q, s.d)
	if err != nil {
		return nil, 0, err
	}
	if q.Keyset != nil {
		return s.listUsersAfter(ctx, q, where, cond.args)
	}
	start := max(q.StartIndex, 1)
	users := []store.User{}
	if q.Count > 0 {
		args := append(append([]any{}, cond.args...), q.Count, start-1)
		if users, err = s.readUsers(ctx, nil, s.d.selectUsers+` WHERE users.pk IN (`+pageKeysSQL("users", where, order)+`) ORDER BY `+order, args...); err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
	}
	total, known := pageTotal(start, q.Count, len(users))
	if !known {
		if err := s.readGet(ctx, nil, &total, `SELECT COUNT(*) FROM users WHERE `+where, cond.args...); err != nil {
			return nil, 0, fmt.Errorf("count users: %w", err)
		}
	}
	return users, total, nil
}

// childTable is one multi-valued attribute of a user as its table stores it: the
// columns after user_pk and ord (the last two are is_primary and primary_false), and the
// values of row i.
type childTable struct {
	name, cols string
	n          int
	changed    bool // differs from the previous user (always, for a new one)
	row        func(i int) []any
}

// userChildTables lists the multi-valued attributes of u; prev is the user as it was, or
// nil for a new one.
func userChildTables(u, prev *store.User) []childTable {
	return []childTable{
		{"user_emails", "value, value_ci, display, type, is_primary, primary_false", len(u.Emails),
			prev == nil || !slices.Equal(prev.Emails, u.Emails), func(i int) []any {
				e := u.Emails[i]
				return []any{null(e.Value), null(strings.ToLower(e.Value)), null(e.Display), null(e.Type), e.Primary, primaryFalse(e.Primary, e.PrimaryFalse)}
			}},
		{"user_phone_numbers", "value, display, type, is_primary, primary_false", len(u.PhoneNumbers),
			prev == nil || !slices.Equal(prev.PhoneNumbers, u.PhoneNumbers), func(i int) []any {
				p := u.PhoneNumbers[i]
				return []any{null(p.Value), null(p.Display), null(p.Type), p.Primary, primaryFalse(p.Primary, p.PrimaryFalse)}
			}},
		{"user_addresses", "formatted, street_address, locality, region, postal_code, country, type, is_primary, primary_false", len(u.Addresses),
			prev == nil || !slices.Equal(prev.Addresses, u.Addresses), func(i int) []any {
				a := u.Addresses[i]
				return []any{null(a.Formatted), null(a.StreetAddress), null(a.Locality), null(a.Region),
					null(a.PostalCode), null(a.Country), null(a.Type), a.Primary, primaryFalse(a.Primary, a.PrimaryFalse)}
			}},
	}
}

// primaryFalse is the primary_false column of an element: an explicit false, never
// beside primary true (store.MultiValue).
func primaryFalse(primary, explicitFalse bool) bool { return explicitFalse && !primary }

// writeUserChildren writes the multi-valued attributes of the user with key pk: one
// multi-row INSERT per attribute, and, on update (prev != nil), only for the attributes
// that changed. Each row is a set of parameters, so a statement's parameters grow with
// the attribute's elements: User.Check bounds them (store.MaxMultiValues), and the
// largest, 100 addresses, binds 1,000 parameters, far below SQLite's limit of 32,766
// and PostgreSQL's of 65,535 (UserMultiValueLimits in the conformance suite writes them).
func writeUserChildren(ctx context.Context, tx *sqlx.Tx, pk int64, u, prev *store.User) error {
	for _, t := range userChildTables(u, prev) {
		if !t.changed {
			continue
		}
		if prev != nil {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+t.name+` WHERE user_pk = ?`), pk); err != nil {
				return fmt.Errorf("rewrite %s: %w", t.name, err)
			}
		}
		if t.n == 0 {
			continue
		}
		var b strings.Builder
		var args []any
		b.WriteString(`INSERT INTO ` + t.name + ` (user_pk, ord, ` + t.cols + `) VALUES `)
		for i := 0; i < t.n; i++ {
			row := t.row(i)
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?" + strings.Repeat(", ?", len(row)) + ")")
			args = append(append(args, pk, i), row...)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
			return fmt.Errorf("write %s: %w", t.name, err)
		}
	}
	return nil
}

// loadUserChildren turns rows into users, reading the multi-valued attributes and
// memberships of all of them in one statement of tx, whatever their number.
func (s *Store) loadUserChildren(ctx context.Context, tx *sqlx.Tx, rows []userRow) ([]store.User, error) {
	users := make([]store.User, len(rows))
	byPK := make(map[int64]*store.User, len(rows))
	pks := make([]int64, len(rows))
	for i := range rows {
		users[i] = rows[i].user()
		byPK[rows[i].PK] = &users[i]
		pks[i] = rows[i].PK
	}
	if len(rows) == 0 {
		return users, nil
	}
	query, args := bind(`SELECT users.pk, `+s.d.userChildren+` AS children FROM users WHERE users.pk IN :users`,
		params{"users": s.d.int64List(pks)})
	var cs []struct {
		PK       int64  `db:"pk"`
		Children []byte `db:"children"`
	}
	if err := s.readSelect(ctx, tx, &cs, query, args...); err != nil {
		return nil, fmt.Errorf("read user children: %w", err)
	}
	for _, c := range cs {
		if err := decodeUserChildren(c.Children, byPK[c.PK]); err != nil {
			return nil, err
		}
	}
	return users, nil
}
