package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/townsquare/townsquare/store"
)

// The read path of users. Every IdP lookup, GET, list page and PATCH reads users rows
// with their multi-valued attributes and memberships, which live in six child tables.
// Those are read in the row query itself: a "children" column, one JSON object per user
// aggregated by correlated subqueries, so a page or a lookup is one statement whatever
// the page size, and its text never varies with the page size either.

// userWithChildren is a users row read with its children column (dialect.selectUsers).
type userWithChildren struct {
	userRow
	Children []byte
}

// readUsers reads the users a query of dialect.selectUsers selects, with their children.
func (s *Store) readUsers(ctx context.Context, tx *sqlx.Tx, query string, args ...any) ([]store.User, error) {
	users := []store.User{}
	err := s.readRows(ctx, tx, func(sc scanner) error {
		var r userWithChildren
		if err := sc.Scan(append(r.dest(), &r.Children)...); err != nil {
			return err
		}
		u, err := r.full()
		users = append(users, u)
		return err
	}, query, args...)
	return users, err
}

// full is the user of the row with its children.
func (r *userWithChildren) full() (store.User, error) {
	u := r.userRow.user()
	if err := decodeUserChildren(r.Children, &u); err != nil {
		return store.User{}, fmt.Errorf("user %q: %w", r.ID, err)
	}
	return u, nil
}

// userChildren is the decoded children column.
type userChildren struct {
	Emails       []store.MultiValue
	PhoneNumbers []store.MultiValue
	Addresses    []store.Address
	Groups       []store.GroupRef
	Teams        []string
	Channels     []string
	Guest        bool
	SystemAdmin  bool
	TeamAdmin    []string
	ChannelAdmin []string
}

// decodeUserChildren sets the lists of u from a children column. An empty list is left
// nil, as reading the child tables row by row left it (SQLite aggregates no rows into
// [], PostgreSQL into null).
func decodeUserChildren(b []byte, u *store.User) error {
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
	u.Account.Guest, u.Account.SystemAdmin = c.Guest, c.SystemAdmin
	u.Account.TeamAdmin = nilIfEmpty(c.TeamAdmin)
	u.Account.ChannelAdmin = nilIfEmpty(c.ChannelAdmin)
	return nil
}

func nilIfEmpty[T any](xs []T) []T {
	if len(xs) == 0 {
		return nil
	}
	return xs
}
