package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

type groupRow struct {
	PK          int64   `db:"pk"`
	ID          string  `db:"id"`
	ExternalID  *string `db:"external_id"`
	DisplayName string  `db:"display_name"`
	CreatedAt   int64   `db:"created_at"`
	UpdatedAt   int64   `db:"updated_at"`
	Version     int64   `db:"version"`
}

const groupColumns = `groups.pk, groups.id, groups.external_id, groups.display_name, groups.created_at, groups.updated_at, groups.version`

func (r groupRow) group() store.Group {
	g := store.Group{ID: r.ID, DisplayName: r.DisplayName, Created: fromMicros(r.CreatedAt),
		LastModified: fromMicros(r.UpdatedAt), Version: r.Version}
	if r.ExternalID != nil {
		g.ExternalID = *r.ExternalID
	}
	return g
}

// CreateGroup stores a new group with its initial members (users and groups), assigning
// ID, times and version. Member ids that name no user and no group fail the whole create
// (UnknownMembersError).
func (s *Store) CreateGroup(ctx context.Context, g *store.Group, memberIDs []string) (err error) {
	defer s.classify(&err)
	if err := g.Check(); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	g.ID = uuid.NewString()
	g.Created = now()
	g.LastModified = g.Created
	g.Version = 1
	ctx, order := withGraphOrder(ctx)
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.beginAttempt(ctx, tx, order); err != nil {
			return err
		}
		var pk int64
		err := tx.QueryRowxContext(ctx, tx.Rebind(`INSERT INTO groups (id, external_id, display_name, display_name_ci, name, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING pk`),
			g.ID, null(g.ExternalID), g.DisplayName, strings.ToLower(g.DisplayName), rules.GroupNameFrom(g.DisplayName),
			micros(g.Created), micros(g.LastModified), g.Version).Scan(&pk)
		if err != nil {
			return mapErr(err)
		}
		// Its own row of the closure (migration 0013): every group contains itself.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO group_ancestors (group_pk, ancestor_pk) VALUES (?, ?)`), pk, pk); err != nil {
			return err
		}
		if _, err := s.setGroupTargets(ctx, tx, pk, g.DisplayName, g.ExternalID); err != nil {
			return err
		}
		// Every member is new to the group: its memberships are a delta.
		return s.addMembers(ctx, tx, pk, memberIDs)
	})
	if err != nil {
		return fmt.Errorf("create group %q: %w", g.DisplayName, err)
	}
	return nil
}

// GetGroup reads a group without its members.
func (s *Store) GetGroup(ctx context.Context, id string) (_ store.Group, err error) {
	defer s.classify(&err)
	if !store.PossibleID(id) {
		return store.Group{}, fmt.Errorf("get group: %w", store.ErrNotFound)
	}
	var r groupRow
	if err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+groupColumns+` FROM groups WHERE groups.id = ?`), id); err != nil {
		return store.Group{}, fmt.Errorf("get group %q: %w", id, mapErr(err))
	}
	return r.group(), nil
}

// EachGroupMember calls fn for each direct member of the group: its users in key order,
// then its groups (nested groups) in key order, memberChunk at a time. Each chunk is one
// statement over an index range of group_members' (or group_groups') primary key, so the
// first member leaves after one chunk and every chunk costs the same, whatever the
// group's size. The chunks share one read-only transaction, so the members listed are
// those of one moment, as with one statement.
func (s *Store) EachGroupMember(ctx context.Context, groupID string, fn func(store.Member) error) (err error) {
	defer s.classify(&err)
	if !store.PossibleID(groupID) {
		return nil // no such group: no members
	}
	opts := s.d.readSnapshot
	tx, err := s.db.BeginTxx(ctx, &opts)
	if err != nil {
		return fmt.Errorf("read members of group %q: %w", groupID, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to keep
	// Whether it has member groups comes with its key, so that a group without any (most
	// groups, and every group a list page streams) costs no statement more than before
	// groups nested.
	var g struct {
		PK     int64 `db:"pk"`
		Groups bool  `db:"has_groups"`
	}
	switch err := mapErr(tx.GetContext(ctx, &g, tx.Rebind(`SELECT pk, EXISTS (SELECT 1 FROM group_groups gg WHERE gg.group_pk = groups.pk) AS has_groups
		FROM groups WHERE id = ?`), groupID)); {
	case errors.Is(err, store.ErrNotFound):
		return nil // no such group: no members
	case err != nil:
		return fmt.Errorf("read members of group %q: %w", groupID, err)
	}
	if err := s.eachMemberChunk(ctx, tx, s.d.memberChunk, store.MemberTypeUser, groupID, g.PK, fn); err != nil || !g.Groups {
		return err
	}
	return s.eachMemberChunk(ctx, tx, s.d.memberGroupChunk, store.MemberTypeGroup, groupID, g.PK, fn)
}

// eachMemberChunk calls fn for each row of the chunked statement chunk (key, id,
// display), as members of type typ.
func (s *Store) eachMemberChunk(ctx context.Context, tx *sqlx.Tx, chunk, typ, groupID string, groupPK int64, fn func(store.Member) error) error {
	// Every row is scanned into the same destinations; the key goes into an any, which
	// database/sql fills without reflection (it converts into an *int64 by reflection, a
	// cost per member).
	var (
		m     = store.Member{Type: typ}
		key   any
		after = int64(math.MinInt64)
		dest  = []any{&key, &m.Value, &m.Display}
	)
	for {
		q, args := bind(chunk, params{"group": groupPK, "after": after, "limit": memberChunk})
		n := 0
		err := s.readRows(ctx, tx, func(sc scanner) error {
			if err := sc.Scan(dest...); err != nil {
				return fmt.Errorf("read members of group %q: %w", groupID, err)
			}
			pk, ok := key.(int64)
			if !ok {
				return fmt.Errorf("read members of group %q: member key %T", groupID, key)
			}
			after = pk
			n++
			if err := fn(m); err != nil {
				return &callerError{err}
			}
			return nil
		}, q, args...)
		if err != nil || n < memberChunk {
			return err
		}
	}
}

// memberChunk is how many members one statement of EachGroupMember reads (a variable so
// that tests can make chunks small).
var memberChunk = 1000

// UpdateGroup changes a group in one transaction: fn edits its scalar attributes, then
// ops change its member list. ifVersion > 0 demands the stored version (If-Match). The
// group fn leaves is checked (Group.Check) before anything is written.
func (s *Store) UpdateGroup(ctx context.Context, id string, ifVersion int64, fn func(g *store.Group) error, ops []store.MemberOp) (_ store.Group, err error) {
	defer s.classify(&err)
	if !store.PossibleID(id) {
		return store.Group{}, fmt.Errorf("update group: %w", store.ErrNotFound)
	}
	var out store.Group
	ctx, order := withGraphOrder(ctx)
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.beginAttempt(ctx, tx, order); err != nil {
			return err
		}
		var r groupRow
		if err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+groupColumns+` FROM groups WHERE groups.id = ?`+s.d.lockForUpdate), id); err != nil {
			return mapErr(err)
		}
		if ifVersion > 0 && r.Version != ifVersion {
			return store.ErrPrecondition
		}
		g := r.group()
		if fn != nil {
			if err := fn(&g); err != nil {
				return err
			}
			if err := g.Check(); err != nil {
				return err
			}
		}
		if stored := r.group(); len(ops) == 0 && g.DisplayName == stored.DisplayName && g.ExternalID == stored.ExternalID {
			out = stored // no change: nothing to write (the contract)
			return nil
		}
		g.ID, g.Created = r.ID, fromMicros(r.CreatedAt)
		g.LastModified = now()
		g.Version = r.Version + 1
		// A group keeps a name it shared before names were unique (name_dup, migration
		// 0010) only while it keeps that name.
		ci := strings.ToLower(g.DisplayName)
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE groups SET external_id = ?, display_name = ?, display_name_ci = ?, name = ?, updated_at = ?, version = ?,
			name_dup = CASE WHEN display_name_ci = ? THEN name_dup ELSE 0 END WHERE pk = ?`),
			null(g.ExternalID), g.DisplayName, ci, rules.GroupNameFrom(g.DisplayName),
			micros(g.LastModified), g.Version, ci, r.PK); err != nil {
			return mapErr(err)
		}
		renamed := g.DisplayName != r.DisplayName || g.ExternalID != r.group().ExternalID
		if ids, ok := onlyAdds(ops); ok && !renamed {
			// Adds only (every IdP's usual PATCH) with the group's mapping unchanged: the
			// memberships they bring are a delta; no account needs a full reconcile.
			if err := s.addMembers(ctx, tx, r.PK, ids); err != nil {
				return err
			}
			out = g
			return nil
		}
		affected, err := s.applyMemberOps(ctx, tx, r.PK, ops)
		if err != nil {
			return err
		}
		// A rename (or new externalId) is matched against the rules again; the same name
		// again, as Okta sends with every membership change, changes nothing and costs
		// nothing more.
		if renamed {
			changed, err := s.setGroupTargets(ctx, tx, r.PK, g.DisplayName, g.ExternalID)
			if err != nil {
				return err
			}
			if changed {
				// Every account below the group, under the locks that keep member adds
				// and nestings below it out until this commits (nesting.go).
				all, err := s.remapBelow(ctx, tx, r.PK)
				if err != nil {
					return err
				}
				affected = append(affected, all...)
			}
		}
		if err := s.reconcileUsers(ctx, tx, affected); err != nil {
			return err
		}
		out = g
		return nil
	})
	if err != nil {
		return store.Group{}, fmt.Errorf("update group %q: %w", id, err)
	}
	return out, nil
}

// DeleteGroup removes a group and its memberships.
func (s *Store) DeleteGroup(ctx context.Context, id string, ifVersion int64) (err error) {
	defer s.classify(&err)
	if !store.PossibleID(id) {
		return fmt.Errorf("delete group: %w", store.ErrNotFound)
	}
	ctx, order := withGraphOrder(ctx)
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.beginAttempt(ctx, tx, order); err != nil {
			return err
		}
		// The group's row is locked before its members are read: member changes hold it
		// until they commit, so the list read is the one the delete removes.
		var r groupRow
		if err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+groupColumns+` FROM groups WHERE groups.id = ?`+s.d.lockForDelete), id); err != nil {
			return mapErr(err)
		}
		if ifVersion > 0 && r.Version != ifVersion {
			return store.ErrPrecondition
		}
		// A group with member groups or containing groups changes the graph: the graph
		// lock, then the rows of the groups below it (nesting.go), before the accounts
		// below it are read.
		var nested bool
		if err := tx.GetContext(ctx, &nested, tx.Rebind(`SELECT EXISTS (SELECT 1 FROM group_groups WHERE group_pk = ? OR member_pk = ?)`), r.PK, r.PK); err != nil {
			return fmt.Errorf("read the group's nesting: %w", err)
		}
		var below []int64
		if nested {
			if err := s.lockGraph(ctx, tx); err != nil {
				return err
			}
			var err error
			if below, err = s.lockGroupsBelow(ctx, tx, []int64{r.PK}); err != nil {
				return err
			}
		}
		members, err := s.accountsBelow(ctx, tx, []int64{r.PK})
		if err != nil {
			return err
		}
		// Its edges and closure rows go with it (ON DELETE CASCADE); the groups that
		// were below it lose the groups above it, unless another path keeps them.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM groups WHERE pk = ?`), r.PK); err != nil {
			return err
		}
		if err := s.recomputeClosure(ctx, tx, slices.DeleteFunc(below, func(pk int64) bool { return pk == r.PK })); err != nil {
			return err
		}
		// A deleted group is all of its members removed from it; the journal names it.
		return s.reconcileUsers(withDeletedGroup(ctx, r.PK, r.DisplayName), tx, members)
	})
	if err != nil {
		return fmt.Errorf("delete group %q: %w", id, err)
	}
	return nil
}

// ListGroups returns one page of the groups matching q, in creation order (or q's sort:
// orderBy), and the total number of matches. As in ListUsers, the page's keys are picked first, from the
// primary key index alone, and only those rows are read (a deferred join), and the
// COUNT runs only when the page does not tell the total (pageTotal). A keyset page is
// listGroupsAfter's.
func (s *Store) ListGroups(ctx context.Context, q store.Query) (_ []store.Group, _ int, err error) {
	defer s.classify(&err)
	cond, err := compileFilter(groupFilter, q.Filter, s.d)
	if err != nil {
		return nil, 0, err
	}
	where := "1=1"
	if cond.sql != "" {
		where = cond.sql
	}
	order, err := orderBy(groupFilter, q, s.d)
	if err != nil {
		return nil, 0, err
	}
	if q.Keyset != nil {
		return s.listGroupsAfter(ctx, q, where, cond.args)
	}
	start := max(q.StartIndex, 1)
	var rows []groupRow
	if q.Count > 0 {
		args := append(append([]any{}, cond.args...), q.Count, start-1)
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+groupColumns+` FROM groups WHERE groups.pk IN (`+pageKeysSQL("groups", where, order)+`) ORDER BY `+order), args...); err != nil {
			return nil, 0, fmt.Errorf("list groups: %w", err)
		}
	}
	total, known := pageTotal(start, q.Count, len(rows))
	if !known {
		if err := s.db.GetContext(ctx, &total, s.db.Rebind(`SELECT COUNT(*) FROM groups WHERE `+where), cond.args...); err != nil {
			return nil, 0, fmt.Errorf("count groups: %w", err)
		}
	}
	out := make([]store.Group, len(rows))
	for i, r := range rows {
		out[i] = r.group()
	}
	return out, total, nil
}

// applyMemberOps applies member changes in order and returns the keys of the accounts
// whose memberships may have changed: the users added or removed, and the accounts below
// the groups nested or un-nested. Ids are resolved to users, then to groups, in batches;
// an added id naming neither fails the request with UnknownMembersError.
func (s *Store) applyMemberOps(ctx context.Context, tx *sqlx.Tx, groupPK int64, ops []store.MemberOp) ([]int64, error) {
	var affected []int64
	for _, op := range coalesce(ops) {
		switch op.Kind {
		case store.RemoveAllMembers, store.ReplaceMembers:
			old, err := groupMemberPKs(ctx, tx, groupPK)
			if err != nil {
				return nil, err
			}
			affected = append(affected, old...)
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM group_members WHERE group_pk = ?`), groupPK); err != nil {
				return nil, fmt.Errorf("clear members: %w", err)
			}
			children, err := memberGroups(ctx, tx, groupPK)
			if err != nil {
				return nil, err
			}
			below, err := s.unnestGroups(ctx, tx, groupPK, children)
			if err != nil {
				return nil, err
			}
			affected = append(affected, below...)
			if op.Kind == store.RemoveAllMembers {
				continue
			}
			fallthrough
		case store.AddMembers:
			pks, children, err := s.memberPKs(ctx, tx, op.IDs, true)
			if err != nil {
				return nil, err
			}
			if _, err := s.insertMembers(ctx, tx, groupPK, pks); err != nil {
				return nil, err
			}
			affected = append(affected, pks...)
			below, err := s.nestGroups(ctx, tx, groupPK, children)
			if err != nil {
				return nil, err
			}
			affected = append(affected, below...)
		case store.RemoveMembers:
			pks, children, err := s.memberPKs(ctx, tx, op.IDs, false)
			if err != nil {
				return nil, err
			}
			if len(pks) > 0 {
				q, args := bind(`DELETE FROM group_members WHERE group_pk = :group AND user_pk IN :users`,
					params{"group": groupPK, "users": s.d.int64List(pks)})
				if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
					return nil, fmt.Errorf("remove members: %w", err)
				}
				affected = append(affected, pks...)
			}
			below, err := s.unnestGroups(ctx, tx, groupPK, children)
			if err != nil {
				return nil, err
			}
			affected = append(affected, below...)
		default:
			return nil, fmt.Errorf("unknown member operation %d", op.Kind)
		}
	}
	return affected, nil
}

// memberPKs resolves member ids to users' keys and groups' keys, in the order of ids,
// without duplicates: users first, then the ids naming no user among groups (a second
// statement only when some id names no user). With strict, an id naming neither is an
// UnknownMembersError.
func (s *Store) memberPKs(ctx context.Context, tx *sqlx.Tx, ids []string, strict bool) (users, groups []int64, _ error) {
	users, missing, err := s.userPKs(ctx, tx, ids)
	if err != nil {
		return nil, nil, err
	}
	groups, missing, err = s.groupsByID(ctx, tx, missing)
	if err != nil {
		return nil, nil, err
	}
	if strict && len(missing) > 0 {
		return nil, nil, &store.UnknownMembersError{IDs: missing}
	}
	return users, groups, nil
}

// coalesce merges runs of adds and runs of removes into one operation each, which
// changes nothing (within a run order does not matter) but turns Okta's 500
// `remove members[value eq …]` operations into one statement instead of 500.
func coalesce(ops []store.MemberOp) []store.MemberOp {
	var out []store.MemberOp
	for _, op := range ops {
		if n := len(out); n > 0 && op.Kind == out[n-1].Kind && (op.Kind == store.AddMembers || op.Kind == store.RemoveMembers) {
			out[n-1].IDs = append(out[n-1].IDs, op.IDs...)
			continue
		}
		out = append(out, store.MemberOp{Kind: op.Kind, IDs: append([]string(nil), op.IDs...)})
	}
	return out
}

// userPKs maps SCIM user ids to internal keys, in the order of ids, without duplicates,
// and returns the ids naming no live user (once each, in order). Ids that could name
// nothing (PossibleID) are missing without being looked up.
func (s *Store) userPKs(ctx context.Context, tx *sqlx.Tx, ids []string) ([]int64, []string, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	var rows []struct {
		PK   int64  `db:"pk"`
		ID   string `db:"id"`
		Live bool   `db:"live"`
	}
	// Liveness is read rather than filtered on, as in lockAndInsertMembersPostgres.
	q, args := bind(`SELECT pk, id, scim_deleted_at IS NULL AS live FROM users WHERE id IN :ids`,
		params{"ids": s.d.textList(possibleIDs(ids))})
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return nil, nil, fmt.Errorf("resolve members: %w", err)
	}
	found := make(map[string]int64, len(rows))
	for _, r := range rows {
		if r.Live {
			found[r.ID] = r.PK
		}
	}
	pks, missing := splitFound(ids, found)
	return pks, missing, nil
}

// splitFound returns, in the order of ids and once each, the keys found gives and the
// ids it does not know.
func splitFound(ids []string, found map[string]int64) (pks []int64, missing []string) {
	pks = make([]int64, 0, len(found))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if pk, ok := found[id]; ok {
			pks = append(pks, pk)
		} else {
			missing = append(missing, id)
		}
	}
	return pks, missing
}

// insertMembersSQL inserts the accounts :users into the group :group. WHERE true:
// without it SQLite would read ON CONFLICT as a join constraint.
const insertMembersSQL = `INSERT INTO group_members (group_pk, user_pk)
	SELECT CAST(:group AS BIGINT), x.pk FROM ROWS(:users) x WHERE true ON CONFLICT DO NOTHING RETURNING user_pk`

// insertMembers adds the users to the group and returns those that were not members yet.
func (s *Store) insertMembers(ctx context.Context, tx *sqlx.Tx, groupPK int64, userPKs []int64) ([]int64, error) {
	if len(userPKs) == 0 {
		return nil, nil
	}
	q, args := bind(insertMembersSQL, params{"group": groupPK, "users": s.d.int64List(userPKs)})
	var added []int64
	if err := s.txSelect(ctx, tx, &added, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("add members: %w", err)
	}
	return added, nil
}
