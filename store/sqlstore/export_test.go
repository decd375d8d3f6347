package sqlstore

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// Hooks for the external tests of this package (compiled only with the tests).

// PlannedStatement is a statement as the store sends it, with its arguments.
type PlannedStatement struct {
	What string
	SQL  string
	Args []any
}

// ReconcileStatementsForTest returns the statements of one reconcile chunk for the
// accounts pks, rebound for the store's database, as reconcileChunk sends them.
func (s *Store) ReconcileStatementsForTest(pks []int64, defaultTeam int64) []PlannedStatement {
	joinNames := s.rules.TeamJoinChannels()
	lists := map[string]listParam{"users": s.int64List(pks), "joins": s.textList(joinNames)}
	var out []PlannedStatement
	text := ensureJoinChannelsSQL
	if s.dialect == Postgres {
		text = ensureJoinChannelsPostgres
	}
	q, args := bind(text, lists, len(joinNames))
	out = append(out, PlannedStatement{"find teams lacking team-join channels", s.db.Rebind(q), args})
	for _, st := range reconcileSteps {
		text := st.sql
		if s.dialect == Postgres {
			text = st.pg
		}
		q, args := bind(text, lists, st.scalars(micros(now()), defaultTeam)...)
		out = append(out, PlannedStatement{st.what, s.db.Rebind(q), args})
	}
	q, args = bind(lockUsersSQL(s.dialect), lists)
	out = append(out, PlannedStatement{"lock accounts", s.db.Rebind(q), args})
	return out
}

// SetJoinCacheForTest makes the default-team cache hold the given keys for the rules in
// force, as if they had been read earlier: how a test stands for a cache gone stale.
func (s *Store) SetJoinCacheForTest(teamPK int64, channels []int64) {
	s.join.Store(&joinTarget{team: s.rules.DefaultTeam, joins: s.rules.TeamJoinChannels(), teamPK: teamPK, channels: channels})
}

// ReconcileAllForTest reconciles every account as ApplyRules does, whatever the rules'
// fingerprint: the reference the delta paths are compared against.
func (s *Store) ReconcileAllForTest(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var all []int64
		if err := tx.SelectContext(ctx, &all, `SELECT pk FROM users`); err != nil {
			return err
		}
		return s.reconcileUsers(ctx, tx, all)
	})
}

// GrantGroupStatementsForTest returns the statements of one delta chunk (grantGroup) for
// the accounts pks joining the group groupPK, rebound, as grantGroup sends them.
// On PostgreSQL the statement that resolves, locks and inserts the members ids comes
// first.
func (s *Store) GrantGroupStatementsForTest(groupPK int64, pks []int64, ids []string) []PlannedStatement {
	joins := s.rules.TeamJoinChannels()
	lists := map[string]listParam{"users": s.int64List(pks), "joins": s.textList(joins), "ids": s.textList(ids)}
	src, ts := groupSource(groupPK), micros(now())
	if s.dialect == Postgres {
		lq, largs := bind(lockAndInsertMembersPostgres, lists, groupPK)
		q, args := bind(grantGroupPostgres, lists, groupPK, groupPK, lists["users"].arg, src, ts, src, ts, groupPK, ts, len(joins))
		return []PlannedStatement{{"lock and insert members", s.db.Rebind(lq), largs}, {"grant group memberships", s.db.Rebind(q), args}}
	}
	users := lists["users"].arg
	scalars := [][]any{{src, ts, users, groupPK, groupPK}, {src, ts, users, groupPK, ts, users, groupPK, groupPK}, nil, nil}
	var out []PlannedStatement
	for i, st := range grantGroupSQLite {
		q, args := bind(st.sql, lists, scalars[i]...)
		out = append(out, PlannedStatement{st.what, s.db.Rebind(q), args})
	}
	return out
}

// SetMemberChunkForTest makes EachGroupMember read n members per statement on PostgreSQL
// until the returned function restores the default.
func SetMemberChunkForTest(n int) (restore func()) {
	old := memberChunk
	memberChunk = n
	return func() { memberChunk = old }
}
