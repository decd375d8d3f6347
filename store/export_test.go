package store

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
	q, args := bind(ensureJoinChannelsSQL, lists, len(joinNames))
	out = append(out, PlannedStatement{"find teams lacking team-join channels", s.db.Rebind(q), args})
	for _, st := range reconcileSteps {
		q, args := bind(st.sql, lists, st.scalars(micros(now()), defaultTeam)...)
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
