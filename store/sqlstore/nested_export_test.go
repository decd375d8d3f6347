package sqlstore

import "math"

// Hooks for the external tests of nested groups' reads (compiled only with the tests).

// UserReadStatementForTest is the read of the users pks with their children column, as a
// list page or a lookup reads them (dialect.selectUsers).
func (s *Store) UserReadStatementForTest(pks []int64) PlannedStatement {
	return s.planned("read users with their children", s.d.selectUsers+` WHERE users.pk IN :users`,
		params{"users": s.d.int64List(pks)})
}

// MemberChunkStatementsForTest are EachGroupMember's first chunks of the group groupPK:
// its users, then its groups.
func (s *Store) MemberChunkStatementsForTest(groupPK int64) []PlannedStatement {
	p := params{"group": groupPK, "after": int64(math.MinInt64), "limit": memberChunk}
	return []PlannedStatement{s.planned("a chunk of member users", s.d.memberChunk, p),
		s.planned("a chunk of member groups", s.d.memberGroupChunk, p)}
}
