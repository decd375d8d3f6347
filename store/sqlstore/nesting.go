package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
)

// Nested groups (store/group.go: MaxGroupAncestors; migration 0013).
//
// group_groups holds the edges (group_pk contains member_pk) and group_ancestors their
// reflexive transitive closure, so that every group an account is in for provisioning is
// one join (the view user_groups): the reconcile steps, the role features, the
// invariants and the delta read it, each membership and grant with the containing group
// as its source ('group:' || user_groups.group_pk). Adding an edge extends the closure
// by one statement (every group below the child gets every ancestor of the parent);
// removing one, or deleting a group that has edges, recomputes the closure rows of the
// groups below it from group_groups (WITH RECURSIVE).
//
// Locking. Every change of group_groups or group_ancestors takes lockGroupGraph first,
// then the row locks of every group below the changed edge (lockGroupsBelow: the
// descendants from group_ancestors, in key order), then the accounts below them
// (lockUsers). So:
//   - a nesting is checked for cycles and for MaxGroupAncestors against a graph no one
//     else changes;
//   - a member add to a group G locks only G's row (UpdateGroup) and then reads G's
//     ancestors and their mappings: any edge change above G locks G's row too, so that
//     read is stable until the add commits, and the edge change, once it has G's row,
//     reads accounts below G that include the add's;
//   - a change of a group's mapping (setGroupTargets reports it changed) takes the same
//     locks over the groups below it before reading the accounts below it
//     (remapBelow), so that no member add below it is in flight with the old mapping.
//
// The order is lockGroupGraph, then group rows by key, then accounts by key. CreateGroup,
// UpdateGroup and DeleteGroup lock their own group's row (and an add its accounts) before
// they know whether they change the graph; the attempt that finds it does ends
// (errGraphFirst) and the next takes lockGroupGraph first (graphOrder), so no transaction
// waits for the graph lock while holding a row lock. SQLite's BEGIN IMMEDIATE serialises
// every writer, and its locks are no-ops.

// groupsByID resolves ids (in their order, without duplicates) to groups' keys, and
// returns the ids that name no group. Ids that could name nothing (PossibleID) are not
// looked up.
func (s *Store) groupsByID(ctx context.Context, tx *sqlx.Tx, ids []string) (pks []int64, missing []string, _ error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	var rows []struct {
		PK int64  `db:"pk"`
		ID string `db:"id"`
	}
	q, args := bind(`SELECT pk, id FROM groups WHERE id IN :ids`, params{"ids": s.d.textList(possibleIDs(ids))})
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return nil, nil, fmt.Errorf("resolve member groups: %w", err)
	}
	found := make(map[string]int64, len(rows))
	for _, r := range rows {
		found[r.ID] = r.PK
	}
	pks, missing = splitFound(ids, found)
	return pks, missing, nil
}

// graphOrder is how a write that may change the graph (CreateGroup, UpdateGroup,
// DeleteGroup) keeps lockGroupGraph before every row lock: it learns that it changes
// the graph only after it has locked its group's row (and, for an add, the accounts
// added), so the attempt that learns it stops (errGraphFirst) and the next one, in the
// same inTx, takes lockGroupGraph first. Graph changes are rare (nestings, renames that
// change a mapping, deletes of nested groups); member adds never pay for it.
type graphOrder struct {
	first bool // take lockGroupGraph at the start of each attempt
	held  bool // this attempt holds it
}

type graphOrderKey struct{}

// errGroupGone ends an attempt whose member group was deleted after its id was resolved;
// the next attempt resolves the ids again.
var errGroupGone = errors.New("a member group was deleted concurrently")

// errGraphFirst ends an attempt that needs lockGroupGraph after row locks; inTx runs the
// transaction again at once, taking the lock first (graphOrder).
var errGraphFirst = errors.New("sqlstore: the group graph lock is needed: again, taking it first")

// withGraphOrder gives ctx a graphOrder for the attempts of one inTx.
func withGraphOrder(ctx context.Context) (context.Context, *graphOrder) {
	o := &graphOrder{}
	return context.WithValue(ctx, graphOrderKey{}, o), o
}

// beginAttempt starts an attempt of a transaction under o: it takes lockGroupGraph first
// when an earlier attempt found it needed.
func (s *Store) beginAttempt(ctx context.Context, tx *sqlx.Tx, o *graphOrder) error {
	o.held = false
	if !o.first {
		return nil
	}
	return s.lockGraph(ctx, tx)
}

// lockGraph takes lockGroupGraph for the rest of the transaction. Under a graphOrder
// (ctx) that has not taken it first, where the database locks rows (lockForUpdate), it
// ends the attempt with errGraphFirst instead, so that it never waits for the graph lock
// while holding row locks (package comment).
func (s *Store) lockGraph(ctx context.Context, tx *sqlx.Tx) error {
	o, _ := ctx.Value(graphOrderKey{}).(*graphOrder)
	switch {
	case o != nil && o.held:
		return nil
	case o != nil && !o.first && s.d.lockForUpdate != "":
		o.first = true
		return errGraphFirst
	}
	if err := s.d.lock(ctx, tx, lockGroupGraph); err != nil {
		return fmt.Errorf("lock the group graph: %w", err)
	}
	if o != nil {
		o.held = true
	}
	return nil
}

// lockGroupsBelow locks the rows of the groups roots and of every group below them, in
// key order, and returns their keys. The caller holds lockGroupGraph, so the set is
// that of the graph until it commits.
func (s *Store) lockGroupsBelow(ctx context.Context, tx *sqlx.Tx, roots []int64) ([]int64, error) {
	if len(roots) == 0 {
		return nil, nil
	}
	q, args := bind(`SELECT pk FROM groups WHERE pk IN (SELECT group_pk FROM group_ancestors WHERE ancestor_pk IN :roots) ORDER BY pk`+s.d.lockForUpdate,
		params{"roots": s.d.int64List(roots)})
	var pks []int64
	if err := tx.SelectContext(ctx, &pks, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("lock the groups below: %w", err)
	}
	return pks, nil
}

// accountsBelow lists, once each, the accounts in the groups roots directly or through
// groups nested in them: those whose memberships a change of these groups may change.
func (s *Store) accountsBelow(ctx context.Context, tx *sqlx.Tx, roots []int64) ([]int64, error) {
	if len(roots) == 0 {
		return nil, nil
	}
	q, args := bind(`SELECT DISTINCT user_pk FROM user_groups WHERE group_pk IN :roots`, params{"roots": s.d.int64List(roots)})
	var pks []int64
	if err := tx.SelectContext(ctx, &pks, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("read the accounts below: %w", err)
	}
	return pks, nil
}

// remapBelow is what a change of the group's mapping needs before its accounts are
// reconciled: the graph lock and the rows of the groups below it (so that no member add
// below it runs with the old mapping, nor any nesting under it), then the accounts below.
func (s *Store) remapBelow(ctx context.Context, tx *sqlx.Tx, groupPK int64) ([]int64, error) {
	if err := s.lockGraph(ctx, tx); err != nil {
		return nil, err
	}
	if _, err := s.lockGroupsBelow(ctx, tx, []int64{groupPK}); err != nil {
		return nil, err
	}
	return s.accountsBelow(ctx, tx, []int64{groupPK})
}

// groupNames reads the displayNames of two groups, for an error.
func (s *Store) groupNames(ctx context.Context, tx *sqlx.Tx, a, b int64) (string, string, error) {
	var rows []struct {
		PK   int64  `db:"pk"`
		Name string `db:"display_name"`
	}
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT pk, display_name FROM groups WHERE pk IN (?, ?)`), a, b); err != nil {
		return "", "", fmt.Errorf("read group names: %w", err)
	}
	var na, nb string
	for _, r := range rows {
		if r.PK == a {
			na = r.Name
		}
		if r.PK == b {
			nb = r.Name
		}
	}
	return na, nb, nil
}

// nestGroups makes the groups children members of parent and returns the accounts below
// the children newly nested (those that now are in parent and its ancestors). A child
// that is parent or contains it is an InvalidError "members" (a cycle); so is a nesting
// that gives a group below a child more than store.MaxGroupAncestors ancestors. The
// caller rolls back on error, so nothing is written then. It takes the locks the package
// comment says, the accounts' excepted (the caller locks them).
func (s *Store) nestGroups(ctx context.Context, tx *sqlx.Tx, parent int64, children []int64) ([]int64, error) {
	if len(children) == 0 {
		return nil, nil
	}
	if err := s.lockGraph(ctx, tx); err != nil {
		return nil, err
	}
	locked, err := s.lockGroupsBelow(ctx, tx, children)
	if err != nil {
		return nil, err
	}
	// A child DELETEd since the caller resolved its id is not locked (its row is gone):
	// the attempt ends, and the next one finds the id naming nothing (UnknownMembersError)
	// instead of meeting the edge's foreign key.
	for _, child := range children {
		if !slices.Contains(locked, child) {
			return nil, fmt.Errorf("nest group %d: %w", child, errGroupGone)
		}
	}
	var nested []int64
	for _, child := range children {
		var cycle bool
		if err := tx.GetContext(ctx, &cycle, tx.Rebind(`SELECT EXISTS (SELECT 1 FROM group_ancestors WHERE group_pk = ? AND ancestor_pk = ?)`), parent, child); err != nil {
			return nil, fmt.Errorf("check for a cycle: %w", err)
		}
		if cycle || child == parent {
			p, c, err := s.groupNames(ctx, tx, parent, child)
			if err != nil {
				return nil, err
			}
			reason := fmt.Sprintf("would make a cycle: group %q cannot contain itself", p)
			if child != parent {
				reason = fmt.Sprintf("would make a cycle: group %q contains group %q, so it cannot be a member of it", c, p)
			}
			return nil, &store.InvalidError{Attribute: "members", Reason: reason}
		}
		var added []int64
		if err := tx.SelectContext(ctx, &added, tx.Rebind(`INSERT INTO group_groups (group_pk, member_pk) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING member_pk`), parent, child); err != nil {
			return nil, fmt.Errorf("nest group: %w", err)
		}
		if len(added) == 0 {
			continue // nested already: nothing changes
		}
		// Every group below the child (itself included) gets every group above the
		// parent (itself included).
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO group_ancestors (group_pk, ancestor_pk)
			SELECT d.group_pk, a.ancestor_pk FROM group_ancestors d, group_ancestors a WHERE d.ancestor_pk = ? AND a.group_pk = ?
			ON CONFLICT DO NOTHING`), child, parent); err != nil {
			return nil, fmt.Errorf("extend the group closure: %w", err)
		}
		var over []string
		if err := tx.SelectContext(ctx, &over, tx.Rebind(`SELECT g.display_name FROM groups g WHERE g.pk IN (
			SELECT d.group_pk FROM group_ancestors d WHERE d.group_pk IN (SELECT group_pk FROM group_ancestors WHERE ancestor_pk = ?)
			GROUP BY d.group_pk HAVING COUNT(*) - 1 > ?) ORDER BY g.pk`), child, store.MaxGroupAncestors); err != nil {
			return nil, fmt.Errorf("check the nesting bound: %w", err)
		}
		if len(over) > 0 {
			p, c, err := s.groupNames(ctx, tx, parent, child)
			if err != nil {
				return nil, err
			}
			return nil, &store.InvalidError{Attribute: "members", Reason: fmt.Sprintf(
				"nesting group %q in group %q would put group %q in more than %d groups (store.MaxGroupAncestors)", c, p, over[0], store.MaxGroupAncestors)}
		}
		nested = append(nested, child)
	}
	return s.accountsBelow(ctx, tx, nested)
}

// unnestGroups removes the groups children (those that are members of parent) from
// parent, recomputes the closure of the groups below them, and returns the accounts below
// them, whose memberships must be reconciled.
func (s *Store) unnestGroups(ctx context.Context, tx *sqlx.Tx, parent int64, children []int64) ([]int64, error) {
	if len(children) == 0 {
		return nil, nil
	}
	if err := s.lockGraph(ctx, tx); err != nil {
		return nil, err
	}
	below, err := s.lockGroupsBelow(ctx, tx, children)
	if err != nil {
		return nil, err
	}
	q, args := bind(`DELETE FROM group_groups WHERE group_pk = :group AND member_pk IN :children RETURNING member_pk`,
		params{"group": parent, "children": s.d.int64List(children)})
	var removed []int64
	if err := tx.SelectContext(ctx, &removed, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("un-nest groups: %w", err)
	}
	if len(removed) == 0 {
		return nil, nil
	}
	// The groups below children (a superset of those below the removed edges, closed
	// downwards) get their closure recomputed.
	if err := s.recomputeClosure(ctx, tx, below); err != nil {
		return nil, err
	}
	return s.accountsBelow(ctx, tx, removed)
}

// memberGroups lists the groups nested directly in the group.
func memberGroups(ctx context.Context, tx *sqlx.Tx, groupPK int64) ([]int64, error) {
	var pks []int64
	if err := tx.SelectContext(ctx, &pks, tx.Rebind(`SELECT member_pk FROM group_groups WHERE group_pk = ? ORDER BY member_pk`), groupPK); err != nil {
		return nil, fmt.Errorf("read member groups: %w", err)
	}
	return pks, nil
}

// recomputeClosure rewrites the closure rows of the groups (a set closed downwards: every
// group below one of them is one of them) from group_groups. The caller holds
// lockGroupGraph.
func (s *Store) recomputeClosure(ctx context.Context, tx *sqlx.Tx, groups []int64) error {
	if len(groups) == 0 {
		return nil
	}
	p := params{"groups": s.d.int64List(groups)}
	q, args := bind(`DELETE FROM group_ancestors WHERE group_pk IN :groups`, p)
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("recompute the group closure: %w", err)
	}
	q, args = bind(`WITH RECURSIVE c (group_pk, ancestor_pk) AS (
		  SELECT x.pk, x.pk FROM ROWS(:groups) x
		  UNION SELECT c.group_pk, e.group_pk FROM c JOIN group_groups e ON e.member_pk = c.ancestor_pk)
		INSERT INTO group_ancestors (group_pk, ancestor_pk) SELECT group_pk, ancestor_pk FROM c`, p)
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("recompute the group closure: %w", err)
	}
	return nil
}

// ancestor is a group containing another (itself included), as a member add's delta
// needs it: whether it grants something the delta does not give (a guest kind, a role),
// and whether it maps to any team or channel.
type ancestor struct {
	PK      int64 `db:"pk"`
	Special bool  `db:"special"`
	Maps    bool  `db:"maps"`
}

// ancestorsSQL lists the groups containing the group ? (itself included), by key.
const ancestorsSQL = `SELECT a.ancestor_pk AS pk,
	  (g.kind = 'guest' OR g.system_admin
	    OR EXISTS (SELECT 1 FROM group_team_admins x WHERE x.group_pk = g.pk)
	    OR EXISTS (SELECT 1 FROM group_channel_admins x WHERE x.group_pk = g.pk)) AS special,
	  (EXISTS (SELECT 1 FROM group_teams x WHERE x.group_pk = g.pk)
	    OR EXISTS (SELECT 1 FROM group_channels x WHERE x.group_pk = g.pk)) AS maps
	FROM group_ancestors a JOIN groups g ON g.pk = a.ancestor_pk WHERE a.group_pk = ? ORDER BY a.ancestor_pk`

// ancestors reads the groups containing the group (itself included), through the
// statement cache: a nested group's every member add reads them.
func (s *Store) ancestors(ctx context.Context, tx *sqlx.Tx, groupPK int64) ([]ancestor, error) {
	var out []ancestor
	if err := s.txSelect(ctx, tx, &out, tx.Rebind(ancestorsSQL), groupPK); err != nil {
		return nil, fmt.Errorf("read the groups containing a group: %w", err)
	}
	return out, nil
}

// grantees are the groups among as whose memberships a delta gives: those that map to
// some team or channel.
func grantees(as []ancestor) []int64 {
	var out []int64
	for _, a := range as {
		if a.Maps {
			out = append(out, a.PK)
		}
	}
	return out
}

// grantNested gives the accounts newly below parent (locked by the caller with lockUsers:
// active, live) the memberships of parent and of every group containing it: the delta,
// per group with that group as the source, when none of them is a guest group or grants a
// role and no account is a guest; else their full reconcile.
func (s *Store) grantNested(ctx context.Context, tx *sqlx.Tx, parent int64, accounts []int64) error {
	if len(accounts) == 0 {
		return nil
	}
	as, err := s.ancestors(ctx, tx, parent)
	if err != nil {
		return err
	}
	plain := !slices.ContainsFunc(as, func(a ancestor) bool { return a.Special })
	if plain {
		q, args := bind(`SELECT EXISTS (SELECT 1 FROM users WHERE pk IN :users AND guest)`, params{"users": s.d.int64List(accounts)})
		var guests bool
		if err := tx.GetContext(ctx, &guests, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("read guests: %w", err)
		}
		plain = !guests
	}
	if !plain {
		return s.reconcile(ctx, tx, accounts)
	}
	return s.grantGroups(ctx, tx, grantees(as), accounts)
}

// grantGroups runs the delta of each group of groups for the accounts (active, locked,
// new below it), a chunk at a time, each chunk's rows journaled together.
func (s *Store) grantGroups(ctx context.Context, tx *sqlx.Tx, groups, accounts []int64) error {
	if len(groups) == 0 {
		return nil
	}
	for _, chunk := range chunkInts(accounts, 400) {
		if err := s.journalMemberships(ctx, tx, func(c *memberChanges) error {
			for _, g := range groups {
				if err := s.grantGroup(ctx, tx, g, chunk, c); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
