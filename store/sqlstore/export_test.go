package sqlstore

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
)

// Hooks for the external tests of this package (compiled only with the tests).

// PlannedStatement is a statement as the store sends it, with its arguments.
type PlannedStatement struct {
	What string
	SQL  string
	Args []any
}

// planned binds a statement as the store does and rebinds it for the store's database.
func (s *Store) planned(what, text string, p params) PlannedStatement {
	q, args := bind(text, p)
	return PlannedStatement{what, s.db.Rebind(q), args}
}

// ReconcileStatementsForTest returns the statements of one reconcile chunk for the
// accounts pks, bound and rebound as reconcileChunk sends them: the search for teams
// lacking team-join channels, the dialect's reconcile steps, the journal's count of the
// pairs they wrote, and the lock of the accounts that precedes them (lockUsers).
func (s *Store) ReconcileStatementsForTest(pks []int64, defaultTeam int64) []PlannedStatement {
	joins := s.rules.TeamJoinChannels()
	p := params{"users": s.d.int64List(pks), "joins": s.d.textList(joins), "joins_count": len(joins),
		"ts": micros(now()), "default_team": defaultTeam}
	out := []PlannedStatement{s.planned("find teams lacking team-join channels", s.d.ensureJoinChannels, p),
		s.planned("find which roles are in use", s.d.roleFeatures, p)}
	for _, st := range s.d.reconcile {
		out = append(out, s.planned(st.what, st.sql, p))
	}
	out = append(out, s.countPairsForTest(pks))
	return append(out, s.planned("lock accounts", s.d.lockUsers, p))
}

// countPairsForTest is the journal's count of the membership rows of the pairs a change
// of the accounts pks wrote (journalMemberships), for a few teams and channels.
func (s *Store) countPairsForTest(pks []int64) PlannedStatement {
	teams, channels := s.d.int64List([]int64{1, 2}), s.d.int64List([]int64{1, 2, 3, 4})
	return s.planned("count the pairs written and read names, for the journal", s.d.countPairs+journalReadNames, params{
		"team_users": s.d.int64List(pks), "teams": teams, "channel_users": s.d.int64List(pks), "channels": channels,
		"name_users": s.d.int64List(pks), "name_teams": teams, "name_channels": channels, "name_groups": s.d.int64List([]int64{1})})
}

// CountPairsForTest is the journal's count for the accounts pks and many targets (the
// keys 1…targets as teams and as channels), as an import chunk spread over many teams
// writes them.
func (s *Store) CountPairsForTest(pks []int64, targets int) PlannedStatement {
	keys := make([]int64, targets)
	for i := range keys {
		keys[i] = int64(i + 1)
	}
	return s.planned("count the pairs written", s.d.countPairs, params{
		"team_users": s.d.int64List(pks), "teams": s.d.int64List(keys), "channel_users": s.d.int64List(pks), "channels": s.d.int64List(keys)})
}

// GrantGroupStatementsForTest returns the statements of a member add of the accounts pks
// (whose SCIM ids are ids) to the group groupPK, bound and rebound as addMembers sends
// them: those that resolve, lock and insert the members (lockAndInsertMembers: one
// statement where the dialect has writable CTEs, two where not), then the dialect's delta
// (grantGroup) and the journal's count of the pairs it wrote.
func (s *Store) GrantGroupStatementsForTest(groupPK int64, pks []int64, ids []string) []PlannedStatement {
	joins := s.rules.TeamJoinChannels()
	p := params{"users": s.d.int64List(pks), "joins": s.d.textList(joins), "joins_count": len(joins), "ids": s.d.textList(ids),
		"group": groupPK, "source": groupSource(groupPK), "ts": micros(now())}
	var out []PlannedStatement
	if s.d.writableCTEs {
		out = append(out, s.planned("lock and insert members", s.d.lockAndInsertMembers, p))
	} else {
		out = append(out, s.planned("resolve members", s.d.resolveMembers, p),
			s.planned("insert members", insertMembersSQL, p))
	}
	for _, st := range s.d.grantGroup {
		out = append(out, s.planned(st.what, st.sql, p))
	}
	return append(out, s.countPairsForTest(pks))
}

// LockForUpdateForTest returns what ends a SELECT of rows the store will update, as
// UpdateGroup locks a group's row: a test holding that lock in its own transaction
// stands for a concurrent member change.
func (s *Store) LockForUpdateForTest() string { return s.d.lockForUpdate }

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

// SetMemberChunkForTest makes EachGroupMember read n members per statement until the
// returned function restores the default.
func SetMemberChunkForTest(n int) (restore func()) {
	old := memberChunk
	memberChunk = n
	return func() { memberChunk = old }
}

// CompileUsersForTest and CompileGroupsForTest compile a filter for the store's database
// as ListUsers and ListGroups do, into a condition on the users or groups table.
func (s *Store) CompileUsersForTest(f store.Filter) (sql string, args []any, err error) {
	c, err := compileFilter(userFilter, f, s.d)
	return c.sql, c.args, err
}

func (s *Store) CompileGroupsForTest(f store.Filter) (sql string, args []any, err error) {
	c, err := compileFilter(groupFilter, f, s.d)
	return c.sql, c.args, err
}

// CheckCompiledSQLForTest fails t unless a compiled condition is built only from the
// compiler's own words (checkSQL, filter_internal_test.go).
func CheckCompiledSQLForTest(t *testing.T, input, sql string, args []any) {
	t.Helper()
	checkSQL(t, input, condition{sql: sql, args: args})
}

// MigrateToForTest applies the migrations up to version upTo only, as an older release
// left the database.
func (s *Store) MigrateToForTest(ctx context.Context, upTo int) (int, error) {
	return s.migrateTo(ctx, upTo)
}

// JournalStatementsForTest returns the journal's reads (journal.go), bound and rebound as
// Events, JournalHead, AccountID and PruneEvents send them, for a journal whose accounts
// are named acc0, acc1, … and whose time_ms are its positions: a prune of the oldest 1%,
// as a daily prune of a 90-day retention.
func (s *Store) JournalStatementsForTest() []PlannedStatement {
	return []PlannedStatement{
		{"Events", s.db.Rebind(eventsSQL), []any{int64(10000), 101}},
		{"Events of an account", s.db.Rebind(accountEventsSQL), []any{int64(10000), "acc7", 101}},
		{"JournalHead", headSQL, nil},
		{"AccountID in the journal", s.db.Rebind(accountInJournalSQL), []any{"acc7"}},
		{"PruneEvents", s.db.Rebind(pruneSQL), []any{int64(200), entriesPerRow, pruneBatch}},
	}
}

// ReadyTablesForTest returns the tables Ready reads.
func ReadyTablesForTest() []string { return readyTables }

// SetChatStateChunkForTest makes EachChatAccountState read n accounts at a time until
// the test ends.
func SetChatStateChunkForTest(t testing.TB, n int) {
	old := chatStateChunk
	chatStateChunk = n
	t.Cleanup(func() { chatStateChunk = old })
}

// SetExportPageForTest makes ExportChat read n accounts a page until the test ends.
func SetExportPageForTest(t testing.TB, n int) {
	old := exportPage
	exportPage = n
	t.Cleanup(func() { exportPage = old })
}

// AccountPageStatementForTest is ListAccounts' page statement for q (its team's key
// teamPK), bound as ListAccounts sends it.
func (s *Store) AccountPageStatementForTest(q store.AccountQuery, teamPK int64, limit, offset int) PlannedStatement {
	cond, args := s.accountCondition(q, teamPK)
	return PlannedStatement{"a page of accounts", s.db.Rebind(s.accountPageSQL(cond)), append(args, limit, offset)}
}

// AdoptableForTest is the condition of an account a SCIM create adopts (create.go).
const AdoptableForTest = adoptable
