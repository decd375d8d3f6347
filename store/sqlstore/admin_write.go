package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// store.Admin (store/admin.go): the admin's writes on accounts. Each call is one
// transaction (inTx, run again when it loses a race) holding the account's row lock, as
// SCIM's writes do; an account's attributes are written through writeUser, so that SCIM
// reads the result and the journal holds the same entries a SCIM write gives. Reads of
// the result (AccountDetails) follow the commit.

// Reasons of the admin's InvalidErrors.
const (
	reasonEmail       = "must be an email address (name@example.com)"
	reasonUsername    = "must be 3 to 22 characters of a-z, 0-9, '.', '-' and '_', start with a letter, and not be a reserved name (all, channel, matterbot, system)"
	reasonAuthPair    = "auth_service and auth_data are given together or not at all"
	reasonNoPassword  = "is required for an account without auth data (an SSO account signs in through its auth service)"
	reasonPasswordLen = "hash is too long"
)

// errUnchanged ends an UpdateUser whose fn finds nothing to do, so that nothing is written.
var errUnchanged = errors.New("unchanged")

// invalidValue is an InvalidError.
func invalidValue(attr, reason string) error {
	return &store.InvalidError{Attribute: attr, Reason: reason}
}

// checkName checks a short string an admin gives (store.MaxNameLength, as SCIM's).
func checkName(attr, v string) error {
	if !store.PossibleName(v) {
		return invalidValue(attr, fmt.Sprintf("must be valid UTF-8 without NUL, of at most %d characters", store.MaxNameLength))
	}
	return nil
}

// checkDisplayName checks a team's or channel's display name (store.MaxTextLength).
func checkDisplayName(v string) error {
	if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 || utf8.RuneCountInString(v) > store.MaxTextLength {
		return invalidValue("display_name", fmt.Sprintf("must be valid UTF-8 without NUL, of at most %d characters", store.MaxTextLength))
	}
	return nil
}

// checkEmail checks an email an admin or a sign-in gives: required, one bare address.
func checkEmail(e string) error {
	if e == "" {
		return invalidValue("email", "is required")
	}
	if err := checkName("email", e); err != nil {
		return err
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return invalidValue("email", reasonEmail)
	}
	return nil
}

// checkUsername checks a chat username an admin gives.
func checkUsername(name string) error {
	if name == "" {
		return invalidValue("username", "is required")
	}
	if !rules.ValidUsername(name) {
		return invalidValue("username", reasonUsername)
	}
	return nil
}

// checkNewAccount checks what CreateAccount is given, without the database.
func checkNewAccount(a store.NewAccount) error {
	if err := checkEmail(a.Email); err != nil {
		return err
	}
	if err := checkUsername(a.Username); err != nil {
		return err
	}
	for _, f := range []struct{ attr, v string }{
		{"first_name", a.FirstName}, {"last_name", a.LastName}, {"nickname", a.Nickname}, {"position", a.Position},
		{"auth_service", a.AuthService}, {"auth_data", a.AuthData},
	} {
		if err := checkName(f.attr, f.v); err != nil {
			return err
		}
	}
	switch {
	case (a.AuthService == "") != (a.AuthData == ""):
		return invalidValue("auth_data", reasonAuthPair)
	case a.AuthData == "" && a.PasswordHash == "":
		return invalidValue("password", reasonNoPassword)
	case len(a.PasswordHash) > store.MaxTextLength:
		return invalidValue("password", reasonPasswordLen)
	}
	return nil
}

// accountKeys are the unique keys of an account an admin call sets: "" for those it
// leaves as they are.
type accountKeys struct{ email, username, authData string }

// checkAccountKeys reports the first key of k that another account than selfPK holds,
// as a ConflictError: an email that is another account's email (any account: two
// accounts of one email could not be told apart) or a live user's userName; a username
// of another account or a group; auth data bound to another live account. One statement.
func (s *Store) checkAccountKeys(ctx context.Context, tx *sqlx.Tx, selfPK int64, k accountKeys) error {
	email := strings.ToLower(k.email)
	var r struct {
		Email    bool `db:"email"`
		Username bool `db:"username"`
		AuthData bool `db:"auth_data"`
	}
	err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT
		(EXISTS (SELECT 1 FROM user_emails e JOIN users u ON u.pk = e.user_pk WHERE e.value_ci = ? AND u.email = ? AND u.pk <> ?)
		 OR EXISTS (SELECT 1 FROM users WHERE user_name_ci = ? AND scim_deleted_at IS NULL AND pk <> ?)) AS email,
		(EXISTS (SELECT 1 FROM users WHERE username = ? AND pk <> ?) OR EXISTS (SELECT 1 FROM groups WHERE name = ?)) AS username,
		EXISTS (SELECT 1 FROM users WHERE external_id = ? AND scim_deleted_at IS NULL AND pk <> ?) AS auth_data`),
		email, email, selfPK, email, selfPK, k.username, selfPK, k.username, null(k.authData), selfPK)
	if err != nil {
		return fmt.Errorf("look for accounts holding the same keys: %w", err)
	}
	switch {
	case k.email != "" && r.Email:
		return &store.ConflictError{Attribute: "email"}
	case k.username != "" && r.Username:
		return &store.ConflictError{Attribute: "username"}
	case k.authData != "" && r.AuthData:
		return &store.ConflictError{Attribute: "auth_data"}
	}
	return nil
}

// emailConflict turns the userName conflict of an account whose userName is its email
// into the email conflict the admin sees.
func emailConflict(err error) error {
	var c *store.ConflictError
	if errors.As(err, &c) && c.Attribute == "userName" {
		return &store.ConflictError{Attribute: "email"}
	}
	return err
}

// newAccountUser is the SCIM user of an account an admin or a sign-in makes: userName
// its email, externalId its auth data.
func newAccountUser(email, authData, first, last, nickname, position, passwordHash string) store.User {
	return store.User{UserName: email, ExternalID: authData, Active: true,
		Name: store.Name{GivenName: first, FamilyName: last}, NickName: nickname, Title: position, PasswordHash: passwordHash,
		Emails: []store.MultiValue{{Value: email, Type: "work", Primary: true}}}
}

// CreateAccount makes an account by hand; see store.Admin.
func (s *Store) CreateAccount(ctx context.Context, a store.NewAccount) (_ store.AccountDetails, err error) {
	defer s.classify(&err)
	if err := checkNewAccount(a); err != nil {
		return store.AccountDetails{}, fmt.Errorf("create account: %w", err)
	}
	var id string
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.checkAccountKeys(ctx, tx, 0, accountKeys{a.Email, a.Username, a.AuthData}); err != nil {
			return err
		}
		u := newAccountUser(a.Email, a.AuthData, a.FirstName, a.LastName, a.Nickname, a.Position, a.PasswordHash)
		if err := u.Check(); err != nil {
			return err
		}
		u.Account.Username = a.Username
		if _, err := s.insertAccount(ctx, tx, &u, store.OriginManual, a.AuthService); err != nil {
			return emailConflict(err)
		}
		id = u.ID
		return nil
	})
	if err != nil {
		return store.AccountDetails{}, fmt.Errorf("create account %q: %w", a.Username, err)
	}
	return s.AccountDetails(ctx, id)
}

// accountRow is a users row read for an admin write, whatever its SCIM state.
type accountRow struct {
	userRow
	scimDeleted bool
	authService sql.NullString
}

// lockAccountRow reads and locks the account that where (a condition on users with one
// parameter) selects, SCIM-deleted or not; ErrNotFound when none.
func (s *Store) lockAccountRow(ctx context.Context, tx *sqlx.Tx, where string, arg any) (accountRow, error) {
	var r accountRow
	q := `SELECT ` + userColumns + `, users.scim_deleted_at IS NOT NULL, users.auth_service FROM users WHERE ` + where + s.d.lockForUpdate
	err := tx.QueryRowxContext(ctx, tx.Rebind(q), arg).Scan(append(r.dest(), &r.scimDeleted, &r.authService)...)
	return r, mapErr(err)
}

// name is how refusals name the account.
func (r *accountRow) name() string {
	if r.Username.Valid {
		return r.Username.String
	}
	return r.ID
}

// SetAccountActive deactivates or reactivates an account through UpdateUser, as a SCIM
// PATCH of active does; see store.Admin.
func (s *Store) SetAccountActive(ctx context.Context, id string, active bool) (_ store.AccountDetails, changed bool, err error) {
	defer s.classify(&err)
	fail := func(err error) (store.AccountDetails, bool, error) {
		return store.AccountDetails{}, false, fmt.Errorf("set account %q active %t: %w", id, active, err)
	}
	for range 3 { // a SCIM DELETE between the read and the update: read again
		d, err := s.AccountDetails(ctx, id)
		if err != nil {
			return fail(err)
		}
		if d.SCIMDeleted {
			if active {
				return fail(&store.RefusedError{Code: store.CodeSCIMDeleted, Reason: fmt.Sprintf(
					"%s's SCIM user was deleted: its identity provider owns the account and brings it back by creating it again", d.Username)})
			}
			return d, false, nil
		}
		changed = false
		_, err = s.UpdateUser(ctx, id, 0, func(u *store.User) error {
			changed = false
			if u.Active == active {
				return errUnchanged
			}
			u.Active, changed = active, true
			return nil
		})
		switch {
		case errors.Is(err, errUnchanged):
			changed = false
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return fail(err)
		}
		d, err = s.AccountDetails(ctx, id)
		if err != nil {
			return fail(err)
		}
		return d, changed, nil
	}
	return fail(errors.New("the account's SCIM state kept changing"))
}

// DeleteAccount purges an account whatever delete_mode says, by the path SCIM's purge
// takes (purgeAccount), journaling the memberships it leaves first; see store.Admin.
func (s *Store) DeleteAccount(ctx context.Context, id string) (err error) {
	defer s.classify(&err)
	if !store.PossibleID(id) {
		return fmt.Errorf("delete account: %w", store.ErrNotFound)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		r, err := s.lockAccountRow(ctx, tx, `users.id = ?`, id)
		if err != nil {
			return err
		}
		// The memberships it leaves are journaled before account.deleted (the rows
		// would go with the account anyway).
		if err := s.journalMemberships(ctx, tx, func(c *memberChanges) error {
			if err := c.query(ctx, tx, tx.Rebind(`DELETE FROM channel_members WHERE user_pk = ?`+returningChannelsLeft), r.PK); err != nil {
				return err
			}
			return c.query(ctx, tx, tx.Rebind(`DELETE FROM team_members WHERE user_pk = ?`+returningTeamsLeft), r.PK)
		}); err != nil {
			return fmt.Errorf("leave the memberships: %w", err)
		}
		return s.purgeAccount(ctx, tx, &r.userRow)
	})
	if err != nil {
		return fmt.Errorf("delete account %q: %w", id, err)
	}
	return nil
}

// checkEdit checks what EditAccount is given, without the database.
func checkEdit(e store.AccountEdit) error {
	if e.Email != nil {
		if err := checkEmail(*e.Email); err != nil {
			return err
		}
	}
	if e.Username != nil {
		if err := checkUsername(*e.Username); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		attr string
		v    *string
	}{
		{"first_name", e.FirstName}, {"last_name", e.LastName}, {"nickname", e.Nickname}, {"position", e.Position},
		{"auth_service", e.AuthService}, {"auth_data", e.AuthData},
	} {
		if f.v != nil {
			if err := checkName(f.attr, *f.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// setPrimaryEmail makes email u's primary email, keeping its other emails (not primary:
// the former primary's primary left out, an explicit false kept), as an import's new
// email does.
func setPrimaryEmail(u *store.User, email string) {
	emails := []store.MultiValue{{Value: email, Type: "work", Primary: true}}
	for _, e := range u.Emails {
		if !strings.EqualFold(e.Value, email) {
			e.Primary = false
			emails = append(emails, e)
		}
	}
	u.Emails = emails
}

// EditAccount changes an account's attributes by hand; see store.Admin.
func (s *Store) EditAccount(ctx context.Context, id string, e store.AccountEdit) (_ store.AccountDetails, err error) {
	defer s.classify(&err)
	if !store.PossibleID(id) {
		return store.AccountDetails{}, fmt.Errorf("edit account: %w", store.ErrNotFound)
	}
	if err := checkEdit(e); err != nil {
		return store.AccountDetails{}, fmt.Errorf("edit account %q: %w", id, err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		r, err := s.lockAccountRow(ctx, tx, `users.id = ?`, id)
		if err != nil {
			return err
		}
		if r.scimDeleted {
			return &store.RefusedError{Code: store.CodeSCIMDeleted, Reason: fmt.Sprintf(
				"%s's SCIM user was deleted: its identity provider owns the account", r.name())}
		}
		return s.editAccount(ctx, tx, &r, e)
	})
	if err != nil {
		return store.AccountDetails{}, fmt.Errorf("edit account %q: %w", id, err)
	}
	return s.AccountDetails(ctx, id)
}

// editAccount writes e over the locked account r: its attributes through writeUser (the
// journal's account.updated), its auth service beside them. Nothing is written when
// nothing changes.
func (s *Store) editAccount(ctx context.Context, tx *sqlx.Tx, r *accountRow, e store.AccountEdit) error {
	full, err := s.loadUserChildren(ctx, tx, []userRow{r.userRow})
	if err != nil {
		return err
	}
	prev := full[0]
	u := prev
	u.Emails = slices.Clone(prev.Emails)
	changed := false
	var keys accountKeys
	if e.Email != nil && !strings.EqualFold(*e.Email, prev.Account.Email) {
		setPrimaryEmail(&u, *e.Email)
		keys.email, changed = *e.Email, true
	}
	if e.Username != nil && *e.Username != r.Username.String {
		keys.username, changed = *e.Username, true
	}
	authService := r.authService.String
	if e.AuthData != nil && *e.AuthData != u.ExternalID {
		u.ExternalID, keys.authData, changed = *e.AuthData, *e.AuthData, true
		if u.ExternalID == "" {
			authService = "" // no IdP binds the account any more
		}
	}
	if e.AuthService != nil {
		authService = *e.AuthService
	}
	if authService != "" && u.ExternalID == "" {
		return invalidValue("auth_data", reasonAuthPair)
	}
	for _, f := range []struct {
		dst *string
		v   *string
	}{{&u.Name.GivenName, e.FirstName}, {&u.Name.FamilyName, e.LastName}, {&u.NickName, e.Nickname}, {&u.Title, e.Position}} {
		if f.v != nil && *f.dst != *f.v {
			*f.dst, changed = *f.v, true
		}
	}
	if keys != (accountKeys{}) {
		if err := s.checkAccountKeys(ctx, tx, r.PK, keys); err != nil {
			return err
		}
	}
	if changed {
		if err := u.Check(); err != nil {
			return err
		}
		if keys.username != "" {
			// writeUser keeps the username the row has while the userName derives the same
			// one; a later change of the userName derives it again.
			r.Username = sql.NullString{String: keys.username, Valid: true}
		}
		u.LastModified = now()
		u.Version = r.Version + 1
		if err := s.writeUser(ctx, tx, &r.userRow, &prev, &u); err != nil {
			return err
		}
	}
	if authService != r.authService.String {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET auth_service = ? WHERE pk = ?`), null(authService), r.PK); err != nil {
			return fmt.Errorf("set the auth service: %w", err)
		}
	}
	return nil
}

// ListAccounts pages accounts by username; see store.Admin. One statement counts and
// one reads the page, its rows whole (no query per account). Terms are matched with
// LIKE on lower-cased columns (ASCII letters fold, as the filter compiler's ascii
// attributes: SQLite's lower() folds no others); the page walks the username index
// (users_username on SQLite, users_username_c on PostgreSQL) and stops once full, while
// a search scans the accounts it filters, as a contains search must.
func (s *Store) ListAccounts(ctx context.Context, q store.AccountQuery) (_ store.AccountPage, err error) {
	defer s.classify(&err)
	if len(q.Terms) > store.MaxSearchTerms {
		return store.AccountPage{}, fmt.Errorf("list accounts: %w", invalidValue("terms", fmt.Sprintf("must be at most %d", store.MaxSearchTerms)))
	}
	for _, t := range q.Terms {
		if err := checkName("terms", t); err != nil {
			return store.AccountPage{}, fmt.Errorf("list accounts: %w", err)
		}
	}
	var teamPK int64
	if q.Team != "" {
		if !store.PossibleName(q.Team) {
			return store.AccountPage{}, fmt.Errorf("list accounts: team: %w", store.ErrNotFound)
		}
		if err := s.db.GetContext(ctx, &teamPK, s.db.Rebind(`SELECT pk FROM teams WHERE name = ?`), q.Team); err != nil {
			return store.AccountPage{}, fmt.Errorf("list accounts: team %q: %w", q.Team, mapErr(err))
		}
	}
	cond, args := s.accountCondition(q, teamPK)
	page := store.AccountPage{Accounts: []store.AccountSummary{}}
	if err := s.db.GetContext(ctx, &page.Total, s.db.Rebind(`SELECT COUNT(*) FROM users u WHERE `+cond), args...); err != nil {
		return store.AccountPage{}, fmt.Errorf("count accounts: %w", err)
	}
	limit, offset := min(max(q.Limit, 0), store.MaxAccountPage), max(q.Offset, 0)
	if limit == 0 || offset >= page.Total {
		return page, nil
	}
	var rows []struct {
		ID            string         `db:"id"`
		Username      sql.NullString `db:"username"`
		Email         sql.NullString `db:"email"`
		FirstName     sql.NullString `db:"given_name"`
		LastName      sql.NullString `db:"family_name"`
		Nickname      sql.NullString `db:"nick_name"`
		Active        bool           `db:"active"`
		Status        string         `db:"status"`
		SCIMDeletedAt sql.NullInt64  `db:"scim_deleted_at"`
		AuthService   sql.NullString `db:"auth_service"`
		AuthData      sql.NullString `db:"external_id"`
		Origin        string         `db:"origin"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(s.accountPageSQL(cond)), append(args, limit, offset)...); err != nil {
		return store.AccountPage{}, fmt.Errorf("list accounts: %w", err)
	}
	for _, r := range rows {
		page.Accounts = append(page.Accounts, store.AccountSummary{ID: r.ID, Username: r.Username.String, Email: r.Email.String,
			FirstName: r.FirstName.String, LastName: r.LastName.String, Nickname: r.Nickname.String, Active: r.Active,
			Status: r.Status, SCIMDeleted: r.SCIMDeletedAt.Valid, AuthService: r.AuthService.String, AuthData: r.AuthData.String,
			Origin: r.Origin})
	}
	return page, nil
}

// accountCondition is the WHERE condition (on users u) of q, with its arguments; teamPK
// is q.Team's key.
func (s *Store) accountCondition(q store.AccountQuery, teamPK int64) (string, []any) {
	where := []string{"true"}
	var args []any
	if q.Team != "" {
		where = append(where, `u.pk IN (SELECT tm.user_pk FROM team_members tm WHERE tm.team_pk = ?)`)
		args = append(args, teamPK)
	}
	if q.Inactive {
		where = append(where, `u.active = ?`)
		args = append(args, false)
	}
	for _, t := range q.Terms {
		pat := "%" + escapeLike(asciiLower(t)) + "%"
		var or []string
		for _, col := range []string{"username", "email", "given_name", "family_name", "nick_name"} {
			or = append(or, `lower(COALESCE(u.`+col+`, '')`+s.d.binaryCollation+`) LIKE ? ESCAPE '\'`)
			args = append(args, pat)
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	return strings.Join(where, " AND "), args
}

// accountPageSQL reads one page of the accounts cond selects, by username byte by byte;
// its last two parameters are the limit and the offset.
func (s *Store) accountPageSQL(cond string) string {
	return `SELECT u.id, u.username, u.email, u.given_name, u.family_name, u.nick_name,
		u.active, u.status, u.scim_deleted_at, u.auth_service, u.external_id, u.origin
		FROM users u WHERE ` + cond + ` ORDER BY ` + s.byName("u.username") + `, u.pk LIMIT ? OFFSET ?`
}
