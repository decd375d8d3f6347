package sqlstore

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/townsquare/townsquare/store"
)

// userStringColumns is the column of users that holds each of store.UserStrings, by the
// attribute's SCIM name (an extension attribute's prefixed with its URN and ":"). Storing
// one more string attribute is a line here, a column (migrations/), and the domain's
// line in store.UserStrings; the row scan, the writes and the filter compiler follow.
var userStringColumns = map[string]string{
	"name.formatted":       "name_formatted",
	"name.familyName":      "family_name",
	"name.givenName":       "given_name",
	"name.middleName":      "middle_name",
	"name.honorificPrefix": "honorific_prefix",
	"name.honorificSuffix": "honorific_suffix",
	"displayName":          "display_name",
	"nickName":             "nick_name",
	"profileUrl":           "profile_url",
	"title":                "title",
	"userType":             "user_type",
	"preferredLanguage":    "preferred_language",
	"locale":               "locale",
	"timezone":             "timezone",
	store.EnterpriseUserSchema + ":employeeNumber":      "employee_number",
	store.EnterpriseUserSchema + ":costCenter":          "cost_center",
	store.EnterpriseUserSchema + ":organization":        "organization",
	store.EnterpriseUserSchema + ":division":            "division",
	store.EnterpriseUserSchema + ":department":          "department",
	store.EnterpriseUserSchema + ":manager.value":       "manager_value",
	store.EnterpriseUserSchema + ":manager.$ref":        "manager_ref",
	store.EnterpriseUserSchema + ":manager.displayName": "manager_display_name",
}

// scimName is the key of an attribute in userStringColumns.
func scimName(a store.StringAttribute) string {
	if a.Schema == "" {
		return a.Name
	}
	return a.Schema + ":" + a.Name
}

// userStrings are store.UserStrings with their columns, in that order.
var userStrings = func() []userString {
	out := make([]userString, len(store.UserStrings))
	for i, a := range store.UserStrings {
		col, ok := userStringColumns[scimName(a)]
		if !ok {
			panic(fmt.Sprintf("sqlstore: no column for the User attribute %s", scimName(a)))
		}
		out[i] = userString{a, col}
	}
	return out
}()

type userString struct {
	store.StringAttribute
	col string
}

// userRow is a row of users as the store reads it.
type userRow struct {
	PK           int64
	ID           string
	ExternalID   sql.NullString
	UserName     string
	Active       bool
	PasswordHash sql.NullString
	CreatedAt    int64
	UpdatedAt    int64
	Version      int64
	Username     sql.NullString
	Email        sql.NullString
	Status       string
	DeleteAt     int64
	strings      []sql.NullString // the columns of userStrings, in order
}

// userColumns are the columns a userRow scans, in the order of its dest.
var userColumns = func() string {
	cols := []string{"pk", "id", "external_id", "user_name", "active", "password_hash", "created_at", "updated_at",
		"version", "username", "email", "status", "delete_at"}
	for _, s := range userStrings {
		cols = append(cols, s.col)
	}
	return "users." + strings.Join(cols, ", users.")
}()

// dest is what Scan fills for a row of userColumns.
func (r *userRow) dest() []any {
	r.strings = make([]sql.NullString, len(userStrings))
	d := make([]any, 0, 13+len(userStrings))
	d = append(d, &r.PK, &r.ID, &r.ExternalID, &r.UserName, &r.Active, &r.PasswordHash, &r.CreatedAt, &r.UpdatedAt,
		&r.Version, &r.Username, &r.Email, &r.Status, &r.DeleteAt)
	for i := range r.strings {
		d = append(d, &r.strings[i])
	}
	return d
}

// scanner is a row, or the current row of rows.
type scanner interface{ Scan(dest ...any) error }

// scanUser reads a row of userColumns.
func scanUser(sc scanner) (userRow, error) {
	var r userRow
	return r, sc.Scan(r.dest()...)
}

// user is the user of the row, without its multi-valued attributes and memberships.
func (r *userRow) user() store.User {
	u := store.User{
		ID: r.ID, ExternalID: r.ExternalID.String, UserName: r.UserName, Active: r.Active,
		PasswordHash: r.PasswordHash.String,
		Created:      fromMicros(r.CreatedAt), LastModified: fromMicros(r.UpdatedAt), Version: r.Version,
		Account: store.Account{Username: r.Username.String, Email: r.Email.String, Status: r.Status, DeleteAt: r.DeleteAt},
	}
	for i, s := range userStrings {
		if i < len(r.strings) {
			*s.Field(&u) = r.strings[i].String
		}
	}
	return u
}

// null stores "" as NULL: SCIM does not tell an empty string from an unassigned value.
func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// userWriteColumns are the columns a write of a user sets, in the order of userValues.
var userWriteColumns = func() []string {
	cols := []string{"external_id", "user_name", "user_name_ci", "active", "password_hash", "updated_at", "version",
		"username", "email", "status", "delete_at"}
	for _, s := range userStrings {
		cols = append(cols, s.col)
	}
	return cols
}()

// userValues lists the values of userWriteColumns for u.
func userValues(u *store.User) []any {
	v := make([]any, 0, len(userWriteColumns))
	v = append(v, null(u.ExternalID), u.UserName, strings.ToLower(u.UserName), u.Active, null(u.PasswordHash),
		micros(u.LastModified), u.Version, null(u.Account.Username), null(u.Account.Email), u.Account.Status, u.Account.DeleteAt)
	for _, s := range userStrings {
		v = append(v, null(*s.Field(u)))
	}
	return v
}

// The statements that write a users row.
var (
	insertUserSQL = `INSERT INTO users (id, created_at, origin, auth_service, ` + strings.Join(userWriteColumns, ", ") +
		`) VALUES (?, ?, ?, ?` + strings.Repeat(", ?", len(userWriteColumns)) + `) RETURNING pk`
	updateUserSQL = `UPDATE users SET ` + strings.Join(userWriteColumns, " = ?, ") + ` = ?, scim_deleted_at = NULL WHERE pk = ?`
)
