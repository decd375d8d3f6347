package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
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
func onlyAdds(ops []MemberOp) ([]string, bool) {
	c := coalesce(ops)
	switch {
	case len(c) == 0:
		return nil, true
	case len(c) == 1 && c[0].Kind == AddMembers:
		return c[0].IDs, true
	}
	return nil, false
}

// addMembers adds the users ids to the group and gives the active ones the group's
// memberships, locking them first (in key order, as lockUsers does) so that no
// concurrent change of the same accounts interleaves. Ids naming no user fail the whole
// request (UnknownMembersError).
func (s *Store) addMembers(ctx context.Context, tx *sqlx.Tx, groupPK int64, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	added, err := s.lockAndInsertMembers(ctx, tx, groupPK, ids)
	if err != nil {
		return err
	}
	for _, chunk := range chunkInts(added, 400) {
		if err := s.grantGroup(ctx, tx, groupPK, chunk); err != nil {
			return err
		}
	}
	return nil
}

// lockAndInsertMembers resolves ids to accounts, locks them, inserts the group_members
// rows and returns the accounts that were not members yet and are active: those whose
// memberships must now follow the group. A user DELETEd concurrently is seen once its
// lock is free, and is unknown.
func (s *Store) lockAndInsertMembers(ctx context.Context, tx *sqlx.Tx, groupPK int64, ids []string) ([]int64, error) {
	lists := map[string]listParam{"ids": s.textList(ids)}
	type member struct {
		PK      int64  `db:"pk"`
		ID      string `db:"id"`
		Live    bool   `db:"live"`
		Follows bool   `db:"follows"`
		Added   bool   `db:"added"`
	}
	var rows []member
	if s.dialect == Postgres {
		q, args := bind(lockAndInsertMembersPostgres, lists, groupPK)
		if err := s.txSelect(ctx, tx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("add members: %w", err)
		}
	} else {
		// SQLite: the transaction already holds the database's write lock.
		q, args := bind(`SELECT pk, id, scim_deleted_at IS NULL AS live, active AS follows, false AS added FROM users WHERE id IN :ids`, lists)
		if err := s.txSelect(ctx, tx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("resolve members: %w", err)
		}
		var pks []int64
		for _, r := range rows {
			if r.Live {
				pks = append(pks, r.PK)
			}
		}
		added, err := s.insertMembers(ctx, tx, groupPK, pks)
		if err != nil {
			return nil, err
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
	for _, r := range rows {
		found[r.ID] = r.Live
		if r.Added && r.Follows {
			out = append(out, r.PK)
		}
	}
	if missing := missingIDs(ids, found); len(missing) > 0 {
		return nil, &UnknownMembersError{IDs: missing}
	}
	return out, nil
}

// lockAndInsertMembersPostgres resolves, locks and inserts in one statement: the rows are
// locked in key order (the sort is below the lock), and the insert reads them from the
// CTE, so it runs once every lock is held.
//
// Whether a user is live is read, not filtered on: "scim_deleted_at IS NULL" in the WHERE
// clause lets a planner without statistics read every live user through the partial index
// users_user_name_ci_live, believing it selective.
const lockAndInsertMembersPostgres = `WITH r AS (SELECT pk, id, scim_deleted_at IS NULL AS live, active AS follows FROM users
	  WHERE id IN :ids ORDER BY pk FOR NO KEY UPDATE),
	i AS (INSERT INTO group_members (group_pk, user_pk) SELECT CAST(? AS BIGINT), r.pk FROM r WHERE r.live
	  ON CONFLICT DO NOTHING RETURNING user_pk)
	SELECT r.pk, r.id, r.live, r.follows, EXISTS (SELECT 1 FROM i WHERE i.user_pk = r.pk) AS added FROM r`

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

// groupTeamsSQL lists the teams a group grants: its teams, and the team of each channel it
// maps to (a channel join first joins its team). One parameter: the group's key.
const groupTeamsSQL = `(SELECT gt.team_pk FROM group_teams gt WHERE gt.group_pk = CAST(? AS BIGINT)
	UNION SELECT c.team_pk FROM group_channels gc JOIN channels c ON c.pk = gc.channel_pk WHERE gc.group_pk = CAST(? AS BIGINT))`

// grantGroupPostgres is the delta of a member add on PostgreSQL, in one statement. Its
// data-modifying CTEs all see the snapshot the statement started with, not each other's
// rows, which is why the leaving of the default team is told by the 'default' rows the
// statement deletes (RETURNING) and by the teams the group grants (gt), rather than by
// reading team_members again.
//
// Every read of a membership table is by account or by the key of a row just deleted, so
// the plan is per-account index access with or without statistics
// (TestDeltaPlans). The deletes need help: without statistics PostgreSQL takes
// "user_pk = ANY(400 keys)" to match the whole table and scans it, and with stale ones
// (gathered when the default team was small) it read the default team's channel rows
// channel by channel, every member of them, filtering on the account afterwards: 1.5 s
// for a 100-member PATCH. So the rows to delete are found account by account, each in a
// LATERAL subquery that OFFSET 0 keeps the planner from flattening into a join it could
// plan otherwise, and deleted by row address (a TID scan). The accounts are locked, so
// the addresses hold until the statement is done.
const grantGroupPostgres = `WITH gt AS ` + groupTeamsSQL + `,
	u AS (SELECT unnest(CAST(? AS BIGINT[])) AS pk),
	tm AS (INSERT INTO team_members (team_pk, user_pk, source, created_at)
	  SELECT gt.team_pk, u.pk, CAST(? AS TEXT), CAST(? AS BIGINT) FROM u CROSS JOIN gt ON CONFLICT DO NOTHING),
	cm AS (INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
	  SELECT gc.channel_pk, u.pk, CAST(? AS TEXT), CAST(? AS BIGINT) FROM u CROSS JOIN group_channels gc WHERE gc.group_pk = CAST(? AS BIGINT)
	  UNION ALL
	  SELECT c.pk, u.pk, 'team', CAST(? AS BIGINT) FROM u CROSS JOIN gt JOIN channels c ON c.team_pk = gt.team_pk WHERE c.name IN :joins
	  ON CONFLICT DO NOTHING),
	d AS (DELETE FROM team_members WHERE ctid = ANY(ARRAY(
	    SELECT x.ctid FROM u CROSS JOIN LATERAL (
	      SELECT t.ctid FROM team_members t WHERE t.user_pk = u.pk AND t.source = 'default' OFFSET 0) x))
	  AND EXISTS (SELECT 1 FROM gt)
	  RETURNING team_pk, user_pk),
	dc AS (DELETE FROM channel_members WHERE ctid = ANY(ARRAY(
	    SELECT x.ctid FROM d CROSS JOIN LATERAL (
	      SELECT cm.ctid FROM channel_members cm JOIN channels c ON c.pk = cm.channel_pk
	      WHERE cm.user_pk = d.user_pk AND c.team_pk = d.team_pk OFFSET 0) x
	    WHERE d.team_pk NOT IN (SELECT team_pk FROM gt)
	    AND NOT EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = d.user_pk AND o.team_pk = d.team_pk AND o.source <> 'default'))))
	SELECT COUNT(*) FROM gt WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = gt.team_pk AND c.name IN :joins) < ?`

// grantGroupSQLite is the same delta as separate statements, in an order that lets each
// see the rows of the ones before: the grants first, then the end of default
// memberships, which then can tell from team_members whether the account keeps the
// default team through the group.
var grantGroupSQLite = []struct{ what, sql string }{
	{"join the group's teams", `INSERT INTO team_members (team_pk, user_pk, source, created_at)
		SELECT gt.team_pk, u.value, CAST(? AS TEXT), CAST(? AS BIGINT) FROM json_each(?) u, ` + groupTeamsSQL + ` gt
		WHERE true ON CONFLICT DO NOTHING`},
	{"join the group's channels and the team-join channels of its teams", `INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
		SELECT gc.channel_pk, u.value, CAST(? AS TEXT), CAST(? AS BIGINT) FROM json_each(?) u, group_channels gc WHERE gc.group_pk = ?
		UNION ALL
		SELECT c.pk, u.value, 'team', CAST(? AS BIGINT) FROM json_each(?) u, ` + groupTeamsSQL + ` gt
		  JOIN channels c ON c.team_pk = gt.team_pk WHERE c.name IN :joins
		ON CONFLICT DO NOTHING`},
	{"leave the channels of a default team left", `DELETE FROM channel_members WHERE user_pk IN :users
		AND channel_pk IN (SELECT c.pk FROM team_members d JOIN channels c ON c.team_pk = d.team_pk
		  WHERE d.user_pk = channel_members.user_pk AND d.source = 'default'
		  AND EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = d.user_pk AND o.source <> 'default')
		  AND NOT EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = d.user_pk AND o.team_pk = d.team_pk AND o.source <> 'default'))`},
	{"leave the default team", `DELETE FROM team_members WHERE user_pk IN :users AND source = 'default'
		AND EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = team_members.user_pk AND o.source <> 'default')`},
}

// grantGroup gives the accounts pks (active, locked, new to the group) the group's
// memberships. Should a team the group grants lack some team-join channel (a team made
// under other rules by another server), the channels are created and the delta, which is
// idempotent, is applied again.
func (s *Store) grantGroup(ctx context.Context, tx *sqlx.Tx, groupPK int64, pks []int64) error {
	joins := s.rules.TeamJoinChannels()
	lists := map[string]listParam{"users": s.int64List(pks), "joins": s.textList(joins)}
	src, ts := groupSource(groupPK), micros(now())
	apply := func() (lacking bool, err error) {
		if s.dialect == Postgres {
			q, args := bind(grantGroupPostgres, lists, groupPK, groupPK, lists["users"].arg, src, ts, src, ts, groupPK, ts, len(joins))
			var n int
			if err := s.txGet(ctx, tx, &n, tx.Rebind(q), args...); err != nil {
				return false, fmt.Errorf("grant group memberships: %w", err)
			}
			return n > 0, nil
		}
		users := lists["users"].arg
		scalars := [][]any{
			{src, ts, users, groupPK, groupPK},
			{src, ts, users, groupPK, ts, users, groupPK, groupPK},
			nil,
			nil,
		}
		for i, st := range grantGroupSQLite {
			q, args := bind(st.sql, lists, scalars[i]...)
			if _, err := s.txExec(ctx, tx, tx.Rebind(q), args...); err != nil {
				return false, fmt.Errorf("grant group memberships: %s: %w", st.what, err)
			}
		}
		q, args := bind(`SELECT COUNT(*) FROM `+groupTeamsSQL+` gt
			WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = gt.team_pk AND c.name IN :joins) < ?`, lists, groupPK, groupPK, len(joins))
		var n int
		if err := s.txGet(ctx, tx, &n, tx.Rebind(q), args...); err != nil {
			return false, fmt.Errorf("find teams lacking team-join channels: %w", err)
		}
		return n > 0, nil
	}
	lacking, err := apply()
	if err != nil || !lacking {
		return err
	}
	var teams []int64
	if err := tx.SelectContext(ctx, &teams, tx.Rebind(`SELECT team_pk FROM `+groupTeamsSQL+` gt`), groupPK, groupPK); err != nil {
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
