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
// after the position (or, for a page before it, before it, walking the index
// backwards), from the same index an index page walks (a range scan instead of
// skipping OFFSET entries), and only those rows are read whole. It reads one key more
// than the page holds, to know whether more follow (or precede) without a second query.

// keysetTotal is pageTotal for a keyset page: the page tells the total only when it is
// the whole list (the first page after position 0, with nothing after it).
func keysetTotal(ks *store.Keyset, count, n int) (int, bool) {
	if count > 0 && ks.Before == 0 && ks.After == 0 && !ks.More {
		return n, true
	}
	return 0, false
}

// keysetLimit is how many rows a keyset page of count reads: one more, to see past it.
func keysetLimit(count int) int { return max(count, 0) + 1 }

// keysetRange is the condition on the key (after where) and the order a keyset page
// reads its keys in, with the position it compares to: after ks.After ascending, or
// before ks.Before descending (the count+1 keys nearest the position either way).
func keysetRange(ks *store.Keyset, key string) (cond string, pos int64) {
	if ks.Before > 0 {
		return key + ` < ? ORDER BY ` + key + ` DESC`, ks.Before
	}
	return key + ` > ? ORDER BY ` + key, ks.After
}

// endKeyset trims the page's read rows (keys ascending) to count and records its
// bounds in ks. It returns the range [lo, hi) of the rows the page keeps: the first
// count of a page after a position, the last count of a page before one (the extra row
// read is the one past the page, on the side it was read towards).
func endKeyset(ks *store.Keyset, count int, keys []int64) (lo, hi int) {
	count = max(count, 0)
	if ks.Before > 0 {
		lo, hi = max(len(keys)-count, 0), len(keys)
		ks.Earlier, ks.More = len(keys) > count, true
		ks.First, ks.Next = ks.Before, ks.Before-1
	} else {
		lo, hi = 0, min(len(keys), count)
		ks.Earlier, ks.More = ks.After > 0, len(keys) > count
		ks.First, ks.Next = ks.After+1, ks.After
	}
	if hi > lo {
		ks.First, ks.Next = keys[lo], keys[hi-1]
	}
	return lo, hi
}

// listUsersAfter is ListUsers for a keyset page; where and args select the matches.
func (s *Store) listUsersAfter(ctx context.Context, q store.Query, where string, args []any) ([]store.User, int, error) {
	ks := q.Keyset
	users := []store.User{}
	var keys []int64
	cond, pos := keysetRange(ks, "users.pk")
	pageArgs := append(append([]any{}, args...), pos, keysetLimit(q.Count))
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
		` AND `+cond+` LIMIT ?) ORDER BY users.pk`, pageArgs...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	lo, hi := endKeyset(ks, q.Count, keys)
	users = users[lo:hi]
	total, known := keysetTotal(ks, q.Count, len(users))
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
	cond, pos := keysetRange(ks, "groups.pk")
	pageArgs := append(append([]any{}, args...), pos, keysetLimit(q.Count))
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+groupColumns+` FROM groups WHERE groups.pk IN (SELECT groups.pk FROM groups WHERE (`+where+
		`) AND `+cond+` LIMIT ?) ORDER BY groups.pk`), pageArgs...); err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	keys := make([]int64, len(rows))
	for i, r := range rows {
		keys[i] = r.PK
	}
	lo, hi := endKeyset(ks, q.Count, keys)
	rows = rows[lo:hi]
	total, known := keysetTotal(ks, q.Count, len(rows))
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
