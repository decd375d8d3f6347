package sqlstore

import "github.com/townsquare/townsquare/store"

// SortedPageStatementForTest is the statement that picks the keys of a page of 100 of
// every live user (table "users") or group ("groups"), from q.StartIndex, sorted as q
// asks, bound as ListUsers and ListGroups send it.
func (s *Store) SortedPageStatementForTest(table string, q store.Query) (PlannedStatement, error) {
	r, where := userFilter, "users.scim_deleted_at IS NULL"
	if table == "groups" {
		r, where = groupFilter, "1=1"
	}
	order, err := orderBy(r, q, s.d)
	if err != nil {
		return PlannedStatement{}, err
	}
	return PlannedStatement{"a sorted page", s.db.Rebind(pageKeysSQL(table, where, order)), []any{100, max(q.StartIndex, 1) - 1}}, nil
}
