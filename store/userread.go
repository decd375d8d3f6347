package store

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/lib/pq"
)

// The read path of users. Every IdP lookup, GET, list page and PATCH reads users rows
// with their multi-valued attributes and memberships, which live in six child tables.
// Those are read in the row query itself: a "children" column, one JSON object per user
// aggregated by correlated subqueries, so a page or a lookup is one statement whatever
// the page size, and its text never varies with the page size either.

// userChildrenPostgres and userChildrenSQLite are the children column of the users row in
// scope (correlated on users.pk). Each list keeps the order of the per-table queries it
// replaces: emails, phone numbers and addresses in the order they were written (ord),
// groups by key, teams and channels by name, each name once. The keys are the field
// names of the Go types, so the object decodes straight into userChildren.
//
// On PostgreSQL every list starts from the user's rows (an index on user_pk) and looks
// names up by primary key in scalar subqueries rather than joins: the subqueries run
// once per user, and a join there was planned as a hash join over a whole table per
// user (all 1,000 groups for each of 100 users: 14 ms of a 17 ms page at 100k users), a
// choice that follows the statistics. SQLite's planner already drives each of these
// joins from the user's index (see EXPLAIN QUERY PLAN), so its text keeps the joins.
const userChildrenPostgres = `json_build_object(
	'Emails', (SELECT json_agg(json_build_object('Value', x.value, 'Display', x.display, 'Type', x.type, 'Primary', x.is_primary) ORDER BY x.ord)
		FROM user_emails x WHERE x.user_pk = users.pk),
	'PhoneNumbers', (SELECT json_agg(json_build_object('Value', x.value, 'Display', x.display, 'Type', x.type, 'Primary', x.is_primary) ORDER BY x.ord)
		FROM user_phone_numbers x WHERE x.user_pk = users.pk),
	'Addresses', (SELECT json_agg(json_build_object('Formatted', x.formatted, 'StreetAddress', x.street_address, 'Locality', x.locality,
			'Region', x.region, 'PostalCode', x.postal_code, 'Country', x.country, 'Type', x.type, 'Primary', x.is_primary) ORDER BY x.ord)
		FROM user_addresses x WHERE x.user_pk = users.pk),
	'Groups', (SELECT json_agg((SELECT json_build_object('ID', g.id, 'DisplayName', g.display_name) FROM groups g WHERE g.pk = gm.group_pk)
			ORDER BY gm.group_pk)
		FROM group_members gm WHERE gm.user_pk = users.pk),
	'Teams', (SELECT json_agg(x.name ORDER BY x.name) FROM (SELECT DISTINCT (SELECT t.name FROM teams t WHERE t.pk = tm.team_pk) AS name
		FROM team_members tm WHERE tm.user_pk = users.pk) x),
	'Channels', (SELECT json_agg(x.name ORDER BY x.name) FROM (SELECT DISTINCT
			(SELECT t.name || '/' || c.name FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE c.pk = cm.channel_pk) AS name
		FROM channel_members cm WHERE cm.user_pk = users.pk) x)
)`

// SQLite loses the JSON subtype of a value that leaves a subquery, so each list is
// wrapped in json() to be embedded as an array rather than as a string; booleans are
// stored as 0/1 and are spelt as JSON booleans the same way.
const userChildrenSQLite = `json_object(
	'Emails', json((SELECT json_group_array(json_object('Value', x.value, 'Display', x.display, 'Type', x.type,
			'Primary', json(iif(x.is_primary, 'true', 'false'))) ORDER BY x.ord)
		FROM user_emails x WHERE x.user_pk = users.pk)),
	'PhoneNumbers', json((SELECT json_group_array(json_object('Value', x.value, 'Display', x.display, 'Type', x.type,
			'Primary', json(iif(x.is_primary, 'true', 'false'))) ORDER BY x.ord)
		FROM user_phone_numbers x WHERE x.user_pk = users.pk)),
	'Addresses', json((SELECT json_group_array(json_object('Formatted', x.formatted, 'StreetAddress', x.street_address, 'Locality', x.locality,
			'Region', x.region, 'PostalCode', x.postal_code, 'Country', x.country, 'Type', x.type,
			'Primary', json(iif(x.is_primary, 'true', 'false'))) ORDER BY x.ord)
		FROM user_addresses x WHERE x.user_pk = users.pk)),
	'Groups', json((SELECT json_group_array(json_object('ID', g.id, 'DisplayName', g.display_name) ORDER BY g.pk)
		FROM group_members gm JOIN groups g ON g.pk = gm.group_pk WHERE gm.user_pk = users.pk)),
	'Teams', json((SELECT json_group_array(DISTINCT t.name ORDER BY t.name)
		FROM team_members tm JOIN teams t ON t.pk = tm.team_pk WHERE tm.user_pk = users.pk)),
	'Channels', json((SELECT json_group_array(DISTINCT t.name || '/' || c.name ORDER BY t.name || '/' || c.name)
		FROM channel_members cm JOIN channels c ON c.pk = cm.channel_pk JOIN teams t ON t.pk = c.team_pk WHERE cm.user_pk = users.pk))
)`

// selectUsersPostgres and selectUsersSQLite read users rows with their children; callers
// append the WHERE clause. Built once, as the text is a few kilobytes.
var (
	selectUsersPostgres = `SELECT ` + userColumns + `, ` + userChildrenPostgres + ` AS children FROM users`
	selectUsersSQLite   = `SELECT ` + userColumns + `, ` + userChildrenSQLite + ` AS children FROM users`
)

func (s *Store) selectUsers() string {
	if s.dialect == Postgres {
		return selectUsersPostgres
	}
	return selectUsersSQLite
}

func (s *Store) userChildrenColumn() string {
	if s.dialect == Postgres {
		return userChildrenPostgres
	}
	return userChildrenSQLite
}

// userWithChildren is a users row read with its children column.
type userWithChildren struct {
	userRow
	Children []byte `db:"children"`
}

// full is the user of the row with its children.
func (r *userWithChildren) full() (User, error) {
	u := r.userRow.user()
	if err := decodeUserChildren(r.Children, &u); err != nil {
		return User{}, fmt.Errorf("user %q: %w", r.ID, err)
	}
	return u, nil
}

// userChildren is the decoded children column.
type userChildren struct {
	Emails       []MultiValue
	PhoneNumbers []MultiValue
	Addresses    []Address
	Groups       []GroupRef
	Teams        []string
	Channels     []string
}

// decodeUserChildren sets the lists of u from a children column. An empty list is left
// nil, as reading the child tables row by row left it (SQLite aggregates no rows into
// [], PostgreSQL into null).
func decodeUserChildren(b []byte, u *User) error {
	var c userChildren
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("decode children: %w", err)
	}
	u.Emails = nilIfEmpty(c.Emails)
	u.PhoneNumbers = nilIfEmpty(c.PhoneNumbers)
	u.Addresses = nilIfEmpty(c.Addresses)
	u.Groups = nilIfEmpty(c.Groups)
	u.Account.Teams = nilIfEmpty(c.Teams)
	u.Account.Channels = nilIfEmpty(c.Channels)
	return nil
}

func nilIfEmpty[T any](xs []T) []T {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

// usersPKIn is the condition "users.pk is one of pks" with its one argument. Its text is
// the same for any number of keys: one statement to parse and plan, where an IN list
// would be a new statement for every length.
func (s *Store) usersPKIn(pks []int64) (string, any) {
	if s.dialect == Postgres {
		return `users.pk = ANY(CAST(? AS BIGINT[]))`, pq.Array(pks)
	}
	b := make([]byte, 0, 2+8*len(pks))
	b = append(b, '[')
	for i, pk := range pks {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, pk, 10)
	}
	return `users.pk IN (SELECT value FROM json_each(?))`, string(append(b, ']'))
}
