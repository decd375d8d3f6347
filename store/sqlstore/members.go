package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/townsquare/townsquare/store"
)

// Member adds as deltas.
//
// Adding accounts to a group can only add memberships: the group's teams and channels
// (group_teams, group_channels, with the team of each channel), the team-join channels
// of those teams, and, for an account that was in the default team only by default, the
// end of that default membership (rule 1 wants it only while no other team is held). The
// full reconcile recomputes every membership of the accounts from all their groups; for
// an add that is the same result (TestDeltaAddMatchesReconcile checks it on randomized
// cases) at the cost of ~10 statements whose work grows with each account's groups. The
// delta is 1 statement per chunk on PostgreSQL and 5 on SQLite, whatever the group's size
// or the accounts' other memberships.
//
// It rests on what reconcile guarantees of every active account: its rows are exactly
// what its groups and the rules give (a fixpoint), so an account new to the group holds
// no row from the group yet and lacks nothing else. Deactivated accounts keep their rows
// frozen, as in reconcile: they join the group's member list and are reconciled when
// reactivated.

// onlyAdds returns the ids of ops when, once coalesced, they are a single add (or
// nothing): the case the delta handles.
func onlyAdds(ops []store.MemberOp) ([]string, bool) {
	c := coalesce(ops)
	switch {
	case len(c) == 0:
		return nil, true
	case len(c) == 1 && c[0].Kind == store.AddMembers:
		return c[0].IDs, true
	}
	return nil, false
}

// addMembers adds the members ids (users or groups) to the group and gives the active
// accounts they bring the memberships of the group and of every group containing it,
// locking them first (in key order, as lockUsers does) so that no concurrent change of
// the same accounts interleaves. Ids naming no user and no group fail the whole request
// (UnknownMembersError); a group that would make a cycle or break MaxGroupAncestors is an
// InvalidError (nestGroups). The caller holds the group's row lock (or created it), so
// the group's ancestors read here stay as they are until it commits (nesting.go).
func (s *Store) addMembers(ctx context.Context, tx *sqlx.Tx, groupPK int64, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	added, plain, nAncestors, missing, err := s.lockAndInsertMembers(ctx, tx, groupPK, ids)
	if err != nil {
		return err
	}
	// Ids that name no user may name groups: a second statement only then, so that an
	// add of users costs what it did before nesting.
	var children []int64
	if len(missing) > 0 {
		if children, missing, err = s.groupsByID(ctx, tx, missing); err != nil {
			return err
		}
		if len(missing) > 0 {
			return &store.UnknownMembersError{IDs: missing}
		}
	}
	switch {
	case len(added) == 0:
	case !plain:
		// A guest group or a group that grants a role (the group or one containing it),
		// or a guest joining a member group (a promotion): the full reconcile of the
		// accounts added, which are locked.
		if err := s.reconcile(ctx, tx, added); err != nil {
			return err
		}
	case nAncestors <= 1:
		// A group nested in none: its own delta, as before nesting.
		if err := s.grantGroups(ctx, tx, []int64{groupPK}, added); err != nil {
			return err
		}
	default:
		as, err := ancestors(ctx, tx, groupPK)
		if err != nil {
			return err
		}
		if err := s.grantGroups(ctx, tx, grantees(as), added); err != nil {
			return err
		}
	}
	if len(children) == 0 {
		return nil
	}
	below, err := s.nestGroups(ctx, tx, groupPK, children)
	if err != nil {
		return err
	}
	// Nesting is an add for the accounts below the children: each gets the group and
	// every group containing it.
	live, err := s.lockUsers(ctx, tx, below)
	if err != nil {
		return err
	}
	return s.grantNested(ctx, tx, groupPK, live)
}

// lockAndInsertMembers resolves ids to accounts, locks them, inserts the group_members
// rows and returns the accounts that were not members yet and are active: those whose
// memberships must now follow the group. A user DELETEd concurrently is seen once its
// lock is free, and is unknown; so is an id that could name nothing (PossibleID), which
// is not looked up. plain says that the delta (grantGroup) gives the accounts what a
// reconcile would: neither the group nor any group containing it is a guest group or
// grants a role, and no account added is a guest (the same statement reads both).
// nAncestors counts the groups containing the group, itself included (1: nested in
// none). missing are the ids that name no live user (the caller tries groups).
func (s *Store) lockAndInsertMembers(ctx context.Context, tx *sqlx.Tx, groupPK int64, ids []string) (_ []int64, plain bool, nAncestors int, missing []string, _ error) {
	p := params{"ids": s.d.textList(possibleIDs(ids)), "group": groupPK}
	type member struct {
		PK        int64  `db:"pk"`
		ID        string `db:"id"`
		Live      bool   `db:"live"`
		Follows   bool   `db:"follows"`
		Added     bool   `db:"added"`
		Guest     bool   `db:"guest"`
		Plain     bool   `db:"plain"`
		Ancestors int    `db:"ancestors"`
	}
	var rows []member
	if s.d.writableCTEs {
		q, args := bind(s.d.lockAndInsertMembers, p)
		if err := s.txSelect(ctx, tx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, false, 0, nil, fmt.Errorf("add members: %w", err)
		}
	} else {
		q, args := bind(s.d.resolveMembers, p)
		if err := s.txSelect(ctx, tx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, false, 0, nil, fmt.Errorf("resolve members: %w", err)
		}
		var pks []int64
		for _, r := range rows {
			if r.Live {
				pks = append(pks, r.PK)
			}
		}
		added, err := s.insertMembers(ctx, tx, groupPK, pks)
		if err != nil {
			return nil, false, 0, nil, err
		}
		isAdded := make(map[int64]bool, len(added))
		for _, pk := range added {
			isAdded[pk] = true
		}
		for i := range rows {
			rows[i].Added = isAdded[rows[i].PK]
		}
	}
	found := make(map[string]bool, len(rows))
	var out []int64
	plain = true
	for _, r := range rows {
		found[r.ID] = r.Live
		nAncestors = r.Ancestors
		if r.Added && r.Follows {
			out = append(out, r.PK)
			plain = plain && r.Plain && !r.Guest
		}
	}
	return out, plain, nAncestors, missingIDs(ids, found), nil
}

// plainGroupSQL is whether the group :group is one the delta serves (lockAndInsertMembers):
// neither it nor any group containing it is a guest group or grants a role. It names no
// row of the statement it is in, so it runs once.
const plainGroupSQL = `(SELECT NOT EXISTS (SELECT 1 FROM group_ancestors a JOIN groups g ON g.pk = a.ancestor_pk
	  WHERE a.group_pk = CAST(:group AS BIGINT) AND (g.kind = 'guest' OR g.system_admin
	  OR EXISTS (SELECT 1 FROM group_team_admins x WHERE x.group_pk = g.pk)
	  OR EXISTS (SELECT 1 FROM group_channel_admins x WHERE x.group_pk = g.pk))))`

// ancestorCountSQL counts the groups containing the group :group, itself included; like
// plainGroupSQL it runs once.
const ancestorCountSQL = `(SELECT COUNT(*) FROM group_ancestors WHERE group_pk = CAST(:group AS BIGINT))`

// lockAndInsertMembersSQL resolves, locks and inserts a member add's accounts in one
// statement, where the dialect has writable CTEs; lock ends a SELECT of rows to lock
// (dialect.lockForUpdate). The rows are locked in key order (the sort is below the
// lock), and the insert reads them from the CTE, so it runs once every lock is held.
// Whether a user is live is read, not filtered on: "scim_deleted_at IS NULL" in the
// WHERE clause lets a planner without statistics read every live user through the
// partial index users_user_name_ci_live, believing it selective.
func lockAndInsertMembersSQL(lock string) string {
	return `WITH r AS (SELECT pk, id, scim_deleted_at IS NULL AS live, active AS follows, guest FROM users
	  WHERE id IN :ids ORDER BY pk` + lock + `),
	i AS (INSERT INTO group_members (group_pk, user_pk) SELECT CAST(:group AS BIGINT), r.pk FROM r WHERE r.live
	  ON CONFLICT DO NOTHING RETURNING user_pk)
	SELECT r.pk, r.id, r.live, r.follows, EXISTS (SELECT 1 FROM i WHERE i.user_pk = r.pk) AS added, r.guest,
	  COALESCE(` + plainGroupSQL + `, false) AS plain, ` + ancestorCountSQL + ` AS ancestors FROM r`
}

// resolveMembersSQL resolves and locks a member add's accounts, where the dialect has no
// writable CTEs; insertMembers then inserts them.
func resolveMembersSQL(lock string) string {
	return `SELECT pk, id, scim_deleted_at IS NULL AS live, active AS follows, false AS added, guest,
	  COALESCE(` + plainGroupSQL + `, false) AS plain, ` + ancestorCountSQL + ` AS ancestors FROM users
	  WHERE id IN :ids ORDER BY pk` + lock
}

// possibleIDs are the ids that could name a user (store.PossibleID), the only ones a
// statement may carry: PostgreSQL refuses a NUL or invalid UTF-8 in any text, and the
// others would find nothing anyway. It returns ids itself when all could.
func possibleIDs(ids []string) []string {
	for i, id := range ids {
		if !store.PossibleID(id) {
			out := slices.Clone(ids[:i])
			for _, id := range ids[i+1:] {
				if store.PossibleID(id) {
					out = append(out, id)
				}
			}
			return out
		}
	}
	return ids
}

// missingIDs lists, once each and in order, the ids not in found.
func missingIDs(ids []string, found map[string]bool) []string {
	var missing []string
	seen := make(map[string]bool)
	for _, id := range ids {
		if !found[id] && !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	return missing
}

// groupTeamsSQL lists the teams a group (:group) grants: its teams, and the team of each
// channel it maps to (a channel join first joins its team).
const groupTeamsSQL = `(SELECT gt.team_pk FROM group_teams gt WHERE gt.group_pk = CAST(:group AS BIGINT)
	UNION SELECT c.team_pk FROM group_channels gc JOIN channels c ON c.pk = gc.channel_pk WHERE gc.group_pk = CAST(:group AS BIGINT))`

// opLacking is the op of the row of a grantGroup statement whose target counts the teams
// the group grants that lack a team-join channel.
const opLacking = "lacking"

// grantGroup gives the accounts pks (active, locked, new to the group) the group's
// memberships, and returns the membership rows it wrote into c (journalMemberships).
// Should a team the group grants lack some team-join channel (a team made under other
// rules by another server), the channels are created and the delta, which is
// idempotent, is applied again.
func (s *Store) grantGroup(ctx context.Context, tx *sqlx.Tx, groupPK int64, pks []int64, c *memberChanges) error {
	joins := s.rules.TeamJoinChannels()
	p := params{"users": s.d.int64List(pks), "joins": s.d.textList(joins), "joins_count": len(joins),
		"group": groupPK, "source": groupSource(groupPK), "ts": micros(now())}
	// apply runs the dialect's statements: each returns the rows it wrote, and one of
	// them a row whose op is "lacking" and whose target counts the lacking teams.
	apply := func() (lacking bool, err error) {
		c.lacking = 0
		for _, st := range s.d.grantGroup {
			q, args := bind(st.sql, p)
			if err := s.txQueryChanges(ctx, tx, c, tx.Rebind(q), args...); err != nil {
				return false, fmt.Errorf("grant group memberships: %s: %w", st.what, err)
			}
		}
		return c.lacking > 0, nil
	}
	lacking, err := apply()
	if err != nil || !lacking {
		return err
	}
	q, args := bind(`SELECT team_pk FROM `+groupTeamsSQL+` gt`, p)
	var teams []int64
	if err := tx.SelectContext(ctx, &teams, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("read the group's teams: %w", err)
	}
	for _, team := range teams {
		for _, name := range joins {
			if _, err := s.ensureChannel(ctx, tx, team, name); err != nil {
				return err
			}
		}
	}
	_, err = apply()
	return err
}
