package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// userRow is the users table as sqlx scans it.
type userRow struct {
	PK                 int64          `db:"pk"`
	ID                 string         `db:"id"`
	ExternalID         sql.NullString `db:"external_id"`
	UserName           string         `db:"user_name"`
	NameFormatted      sql.NullString `db:"name_formatted"`
	FamilyName         sql.NullString `db:"family_name"`
	GivenName          sql.NullString `db:"given_name"`
	MiddleName         sql.NullString `db:"middle_name"`
	HonorificPrefix    sql.NullString `db:"honorific_prefix"`
	HonorificSuffix    sql.NullString `db:"honorific_suffix"`
	DisplayName        sql.NullString `db:"display_name"`
	NickName           sql.NullString `db:"nick_name"`
	ProfileURL         sql.NullString `db:"profile_url"`
	Title              sql.NullString `db:"title"`
	UserType           sql.NullString `db:"user_type"`
	PreferredLanguage  sql.NullString `db:"preferred_language"`
	Locale             sql.NullString `db:"locale"`
	Timezone           sql.NullString `db:"timezone"`
	Active             bool           `db:"active"`
	PasswordHash       sql.NullString `db:"password_hash"`
	EmployeeNumber     sql.NullString `db:"employee_number"`
	CostCenter         sql.NullString `db:"cost_center"`
	Organization       sql.NullString `db:"organization"`
	Division           sql.NullString `db:"division"`
	Department         sql.NullString `db:"department"`
	ManagerValue       sql.NullString `db:"manager_value"`
	ManagerRef         sql.NullString `db:"manager_ref"`
	ManagerDisplayName sql.NullString `db:"manager_display_name"`
	CreatedAt          int64          `db:"created_at"`
	UpdatedAt          int64          `db:"updated_at"`
	Version            int64          `db:"version"`
	Username           sql.NullString `db:"username"`
	Email              sql.NullString `db:"email"`
	Status             string         `db:"status"`
	DeleteAt           int64          `db:"delete_at"`
}

const userColumns = `users.pk, users.id, users.external_id, users.user_name, users.name_formatted,
	users.family_name, users.given_name, users.middle_name, users.honorific_prefix,
	users.honorific_suffix, users.display_name, users.nick_name, users.profile_url, users.title,
	users.user_type, users.preferred_language, users.locale, users.timezone, users.active,
	users.password_hash, users.employee_number, users.cost_center, users.organization,
	users.division, users.department, users.manager_value, users.manager_ref,
	users.manager_display_name, users.created_at, users.updated_at, users.version,
	users.username, users.email, users.status, users.delete_at`

// live restricts a users query to SCIM resources that exist: a user DELETEd in
// "deactivate" mode keeps its account row but is no SCIM resource any more.
const live = ` AND users.scim_deleted_at IS NULL`

func (r *userRow) user() store.User {
	return store.User{
		ID: r.ID, ExternalID: r.ExternalID.String, UserName: r.UserName,
		Name: store.Name{
			Formatted: r.NameFormatted.String, FamilyName: r.FamilyName.String,
			GivenName: r.GivenName.String, MiddleName: r.MiddleName.String,
			HonorificPrefix: r.HonorificPrefix.String, HonorificSuffix: r.HonorificSuffix.String,
		},
		DisplayName: r.DisplayName.String, NickName: r.NickName.String, ProfileURL: r.ProfileURL.String,
		Title: r.Title.String, UserType: r.UserType.String, PreferredLanguage: r.PreferredLanguage.String,
		Locale: r.Locale.String, Timezone: r.Timezone.String, Active: r.Active,
		PasswordHash: r.PasswordHash.String,
		Enterprise: store.Enterprise{
			EmployeeNumber: r.EmployeeNumber.String, CostCenter: r.CostCenter.String,
			Organization: r.Organization.String, Division: r.Division.String, Department: r.Department.String,
			Manager: store.Manager{Value: r.ManagerValue.String, Ref: r.ManagerRef.String, DisplayName: r.ManagerDisplayName.String},
		},
		Created: fromMicros(r.CreatedAt), LastModified: fromMicros(r.UpdatedAt), Version: r.Version,
		Account: store.Account{Username: r.Username.String, Email: r.Email.String, Status: r.Status, DeleteAt: r.DeleteAt},
	}
}

// null stores "" as NULL: SCIM does not tell an empty string from an unassigned value.
func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// userValues lists the writable columns of u in the order of userWriteColumns.
func userValues(u *store.User) []any {
	return []any{
		null(u.ExternalID), u.UserName, strings.ToLower(u.UserName),
		null(u.Name.Formatted), null(u.Name.FamilyName), null(u.Name.GivenName), null(u.Name.MiddleName),
		null(u.Name.HonorificPrefix), null(u.Name.HonorificSuffix),
		null(u.DisplayName), null(u.NickName), null(u.ProfileURL), null(u.Title), null(u.UserType),
		null(u.PreferredLanguage), null(u.Locale), null(u.Timezone), u.Active, null(u.PasswordHash),
		null(u.Enterprise.EmployeeNumber), null(u.Enterprise.CostCenter), null(u.Enterprise.Organization),
		null(u.Enterprise.Division), null(u.Enterprise.Department),
		null(u.Enterprise.Manager.Value), null(u.Enterprise.Manager.Ref), null(u.Enterprise.Manager.DisplayName),
		micros(u.LastModified), u.Version,
		null(u.Account.Username), null(u.Account.Email), u.Account.Status, u.Account.DeleteAt,
	}
}

var userWriteColumns = []string{
	"external_id", "user_name", "user_name_ci",
	"name_formatted", "family_name", "given_name", "middle_name", "honorific_prefix", "honorific_suffix",
	"display_name", "nick_name", "profile_url", "title", "user_type",
	"preferred_language", "locale", "timezone", "active", "password_hash",
	"employee_number", "cost_center", "organization", "division", "department",
	"manager_value", "manager_ref", "manager_display_name",
	"updated_at", "version",
	"username", "email", "status", "delete_at",
}

var (
	insertUserSQL = `INSERT INTO users (id, created_at, ` + strings.Join(userWriteColumns, ", ") +
		`) VALUES (?, ?` + strings.Repeat(", ?", len(userWriteColumns)) + `) RETURNING pk`
	updateUserSQL = `UPDATE users SET ` + strings.Join(userWriteColumns, " = ?, ") + ` = ?, scim_deleted_at = NULL WHERE pk = ?`
)

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
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
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
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		*u = in
		p, err := s.probeNewUser(ctx, tx, u)
		if err != nil {
			return err
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

// joinDefaultTeam puts a new account in the default team and its team-join channels.
func (s *Store) joinDefaultTeam(ctx context.Context, tx *sqlx.Tx, pk int64, u *store.User) error {
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
		// general path finds them, or creates them, by name.
		s.join.Store(nil)
		if err := s.reconcile(ctx, tx, []int64{pk}); err != nil {
			return err
		}
		return s.loadAccountMemberships(ctx, tx, pk, u)
	}
	t.setMemberships(u)
	return nil
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
	u.Account.Teams, u.Account.Channels = users[0].Account.Teams, users[0].Account.Channels
	return nil
}

// GetUser reads one user with its multi-valued attributes and groups, in one statement.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	var r userWithChildren
	if err := s.readGet(ctx, nil, &r, s.d.selectUsers+` WHERE users.id = ?`+live, id); err != nil {
		return store.User{}, fmt.Errorf("get user %q: %w", id, mapErr(err))
	}
	u, err := r.full()
	if err != nil {
		return store.User{}, fmt.Errorf("get user %q: %w", id, err)
	}
	return u, nil
}

// UpdateUser reads the user, lets fn change it, and writes it back, all in one
// transaction holding the row lock, so concurrent updates never lose each other's
// changes. ifVersion > 0 demands that the stored version still be that one
// (ErrPrecondition otherwise): that is how If-Match is honoured.
func (s *Store) UpdateUser(ctx context.Context, id string, ifVersion int64, fn func(u *store.User) error) (store.User, error) {
	var out store.User
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
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
	var r userRow
	if err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+userColumns+` FROM users WHERE users.id = ?`+live+s.d.lockForUpdate), id); err != nil {
		return r, mapErr(err)
	}
	return r, nil
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
func (s *Store) DeleteUser(ctx context.Context, id string, ifVersion int64) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		r, err := s.lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && r.Version != ifVersion {
			return store.ErrPrecondition
		}
		if s.rules.DeleteMode == rules.DeletePurge {
			_, err = tx.ExecContext(ctx, tx.Rebind(`DELETE FROM users WHERE pk = ?`), r.PK)
			return err
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
		_, err = tx.ExecContext(ctx, tx.Rebind(`DELETE FROM group_members WHERE user_pk = ?`), r.PK)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	return nil
}

// ListUsers returns one page of the users matching q, in a stable order (creation
// order), and the total number of matches.
//
// The page is one statement, children included. It is a deferred join: the inner query
// picks the page's keys, which for an unfiltered list is an index-only walk of
// users_live_pk (migration 0003), and only those rows are then read whole, so an OFFSET
// deep into the table skips index entries rather than rows. The COUNT, when the page
// does not tell the total (pageTotal), is index-only the same way.
func (s *Store) ListUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	cond, err := compileFilter(userFilter, q.Filter, s.d)
	if err != nil {
		return nil, 0, err
	}
	where := "users.scim_deleted_at IS NULL"
	if cond.sql != "" {
		where += " AND (" + cond.sql + ")"
	}
	start := max(q.StartIndex, 1)
	var rows []userWithChildren
	if q.Count > 0 {
		args := append(append([]any{}, cond.args...), q.Count, start-1)
		if err := s.readSelect(ctx, nil, &rows, s.d.selectUsers+` WHERE users.pk IN (SELECT users.pk FROM users WHERE `+where+
			` ORDER BY users.pk LIMIT ? OFFSET ?) ORDER BY users.pk`, args...); err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
	}
	total, known := pageTotal(start, q.Count, len(rows))
	if !known {
		if err := s.readGet(ctx, nil, &total, `SELECT COUNT(*) FROM users WHERE `+where, cond.args...); err != nil {
			return nil, 0, fmt.Errorf("count users: %w", err)
		}
	}
	users := make([]store.User, len(rows))
	for i := range rows {
		u, err := rows[i].full()
		if err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
		users[i] = u
	}
	return users, total, nil
}

// childTable is one multi-valued attribute of a user as its table stores it: the
// columns after user_pk and ord (the last is is_primary), and the values of row i.
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
		{"user_emails", "value, value_ci, display, type, is_primary", len(u.Emails),
			prev == nil || !slices.Equal(prev.Emails, u.Emails), func(i int) []any {
				e := u.Emails[i]
				return []any{null(e.Value), null(strings.ToLower(e.Value)), null(e.Display), null(e.Type), e.Primary}
			}},
		{"user_phone_numbers", "value, display, type, is_primary", len(u.PhoneNumbers),
			prev == nil || !slices.Equal(prev.PhoneNumbers, u.PhoneNumbers), func(i int) []any {
				p := u.PhoneNumbers[i]
				return []any{null(p.Value), null(p.Display), null(p.Type), p.Primary}
			}},
		{"user_addresses", "formatted, street_address, locality, region, postal_code, country, type, is_primary", len(u.Addresses),
			prev == nil || !slices.Equal(prev.Addresses, u.Addresses), func(i int) []any {
				a := u.Addresses[i]
				return []any{null(a.Formatted), null(a.StreetAddress), null(a.Locality), null(a.Region),
					null(a.PostalCode), null(a.Country), null(a.Type), a.Primary}
			}},
	}
}

// writeUserChildren writes the multi-valued attributes of the user with key pk: one
// multi-row INSERT per attribute, and, on update (prev != nil), only for the attributes
// that changed.
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
