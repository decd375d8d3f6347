package sqlstore

import (
	"context"
	"fmt"

	"github.com/townsquare/townsquare/store"
)

// Keyset pages (store.Keyset, RFC 9865 cursors). A position is the primary key of a
// row: users and groups are listed in key order, keys are never reused, and a user
// DELETEd keeps its place in the order whether its row stays (deactivate) or goes
// (purge), so a position stays meaningful whatever happens to the row at it.
//
// A page is one statement, as an index page is: the inner query picks the page's keys,
// after the position, from the same index an index page walks (a range scan instead
// of skipping OFFSET entries), and only those rows are read whole. It reads one key
// more than the page holds, to know whether more follow without a second query.

// keysetTotal is pageTotal for a keyset page: the page tells the total only when it is
// the whole list (the first page, with nothing after it).
func keysetTotal(after int64, count, n int, more bool) (int, bool) {
	if count > 0 && after == 0 && !more {
		return n, true
	}
	return 0, false
}

// keysetLimit is how many rows a keyset page of count reads: one more, to see past it.
func keysetLimit(count int) int { return max(count, 0) + 1 }

// endKeyset trims the page's n read rows (keys in order) to count and records where
// it ends in ks. It returns how many rows the page keeps.
func endKeyset(ks *store.Keyset, count int, keys []int64) int {
	count = max(count, 0)
	n := min(len(keys), count)
	ks.More = len(keys) > count
	ks.Next = ks.After
	if n > 0 {
		ks.Next = keys[n-1]
	}
	return n
}

// listUsersAfter is ListUsers for a keyset page; where and args select the matches.
func (s *Store) listUsersAfter(ctx context.Context, q store.Query, where string, args []any) ([]store.User, int, error) {
	ks := q.Keyset
	users := []store.User{}
	var keys []int64
	pageArgs := append(append([]any{}, args...), ks.After, keysetLimit(q.Count))
	err := s.readRows(ctx, nil, func(sc scanner) error {
		var r userWithChildren
		if err := sc.Scan(append(r.dest(), &r.Children)...); err != nil {
			return err
		}
		u, err := r.full()
		users = append(users, u)
		keys = append(keys, r.PK)
		return err
	}, s.d.selectUsers+` WHERE users.pk IN (SELECT users.pk FROM users WHERE `+where+
		` AND users.pk > ? ORDER BY users.pk LIMIT ?) ORDER BY users.pk`, pageArgs...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	users = users[:endKeyset(ks, q.Count, keys)]
	total, known := keysetTotal(ks.After, q.Count, len(users), ks.More)
	if !known {
		if err := s.readGet(ctx, nil, &total, `SELECT COUNT(*) FROM users WHERE `+where, args...); err != nil {
			return nil, 0, fmt.Errorf("count users: %w", err)
		}
	}
	return users, total, nil
}

// listGroupsAfter is ListGroups for a keyset page.
func (s *Store) listGroupsAfter(ctx context.Context, q store.Query, where string, args []any) ([]store.Group, int, error) {
	ks := q.Keyset
	var rows []groupRow
	pageArgs := append(append([]any{}, args...), ks.After, keysetLimit(q.Count))
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+groupColumns+` FROM groups WHERE groups.pk IN (SELECT groups.pk FROM groups WHERE (`+where+
		`) AND groups.pk > ? ORDER BY groups.pk LIMIT ?) ORDER BY groups.pk`), pageArgs...); err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	keys := make([]int64, len(rows))
	for i, r := range rows {
		keys[i] = r.PK
	}
	rows = rows[:endKeyset(ks, q.Count, keys)]
	total, known := keysetTotal(ks.After, q.Count, len(rows), ks.More)
	if !known {
		if err := s.db.GetContext(ctx, &total, s.db.Rebind(`SELECT COUNT(*) FROM groups WHERE `+where), args...); err != nil {
			return nil, 0, fmt.Errorf("count groups: %w", err)
		}
	}
	out := make([]store.Group, len(rows))
	for i, r := range rows {
		out[i] = r.group()
	}
	return out, total, nil
}
