package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// postgresDialect is PostgreSQL (lib/pq), for DSNs starting with postgres:// or
// postgresql://: the database several replicas share.
//
// Its planner follows table statistics, which are missing on a new tenant and stale on a
// grown one (or on any server with autovacuum off). So the statements that read
// memberships for a set of accounts read them account by account, each in a LATERAL
// subquery over ROWS(:users) that OFFSET 0 (or a UNION) keeps from being flattened into a
// join the planner could plan otherwise, and delete rows by address (ctid = ANY(ARRAY(…)),
// a TID scan; the accounts are locked, so the addresses hold). Each read is then an index
// probe per account, whatever the statistics say (TestReconcilePlansWithoutStatistics,
// TestDeltaPlans).
var postgresDialect = &dialect{
	name: "postgres",
	matches: func(dsn string) bool {
		return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
	},
	open: func(dsn string) (*sqlx.DB, error) {
		db, err := sqlx.Open("postgres", withoutJIT(withBinaryParameters(dsn)))
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
		return db, nil
	},
	retryable: func(err error) bool {
		var e *pq.Error
		return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01") // serialization failure, deadlock
	},
	uniqueViolation: func(err error) (string, bool) {
		var e *pq.Error
		if errors.As(err, &e) && e.Code == "23505" {
			return e.Constraint, true
		}
		return "", false
	},
	foreignKeyViolation: func(err error) bool {
		var e *pq.Error
		return errors.As(err, &e) && e.Code == "23503"
	},
	unavailable: postgresUnavailable,
	// NO KEY: the foreign keys of membership rows take KEY SHARE locks on the rows they
	// name, which FOR UPDATE would conflict with (and deadlock against).
	lockForUpdate: ` FOR NO KEY UPDATE`,
	lockForDelete: ` FOR UPDATE`,
	// One lock per schema: replicas sharing a schema wait for each other, while databases
	// in other schemas (the tests' own) do not.
	lock: func(ctx context.Context, tx *sqlx.Tx, key lockKey) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, int64(key))
		return err
	},
	binaryCollation: ` COLLATE "C"`,
	// REPEATABLE READ: every statement reads the snapshot of the first; READ ONLY takes
	// no row lock, and PostgreSQL readers never block writers.
	readSnapshot: sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	// An array compared with = ANY, which the planner turns into index probes whatever
	// the statistics say.
	int64List: func(xs []int64) listParam {
		return listParam{in: ` = ANY(CAST(? AS BIGINT[]))`, rows: `(SELECT unnest(CAST(? AS BIGINT[])) AS pk)`, arg: pq.Array(xs)}
	},
	textList: func(xs []string) listParam {
		return listParam{in: ` = ANY(CAST(? AS TEXT[]))`, rows: `(SELECT unnest(CAST(? AS TEXT[])) AS pk)`, arg: pq.Array(xs)}
	},
	writableCTEs: true,
	cursors:      true,
	// Transactions take seqs as they insert and may commit in another order, so the
	// entries committed since the last run are numbered here, on from the highest
	// position: an entry that commits late is numbered late, after every entry a reader
	// may already have seen (TestJournalOutOfOrderCommits).
	sequence: `UPDATE journal SET position = n.base + n.rn
		FROM (SELECT seq, COALESCE((SELECT position FROM journal WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1), 0) AS base, row_number() OVER (ORDER BY seq) AS rn
		      FROM journal WHERE position IS NULL) AS n
		WHERE journal.seq = n.seq`,
	nowMillis: `CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)`,

	// Every list starts from the user's rows (an index on user_pk) and looks names up by
	// primary key in scalar subqueries rather than joins: the subqueries run once per
	// user, where a join was planned as a hash join over a whole table per user, a choice
	// that follows the statistics. A user's groups are user_groups spelt out, with each direct
	// group's closure rows read through LATERAL for the same reason (the join hashed all
	// of group_ancestors).
	userChildren: `json_build_object(
	'Emails', (SELECT json_agg(json_build_object('Value', x.value, 'Display', x.display, 'Type', x.type, 'Primary', x.is_primary,
			'PrimaryFalse', x.primary_false) ORDER BY x.ord)
		FROM user_emails x WHERE x.user_pk = users.pk),
	'PhoneNumbers', (SELECT json_agg(json_build_object('Value', x.value, 'Display', x.display, 'Type', x.type, 'Primary', x.is_primary,
			'PrimaryFalse', x.primary_false) ORDER BY x.ord)
		FROM user_phone_numbers x WHERE x.user_pk = users.pk),
	'Addresses', (SELECT json_agg(json_build_object('Formatted', x.formatted, 'StreetAddress', x.street_address, 'Locality', x.locality,
			'Region', x.region, 'PostalCode', x.postal_code, 'Country', x.country, 'Type', x.type, 'Primary', x.is_primary,
			'PrimaryFalse', x.primary_false) ORDER BY x.ord)
		FROM user_addresses x WHERE x.user_pk = users.pk),
	'Groups', (SELECT json_agg((SELECT json_build_object('ID', g.id, 'DisplayName', g.display_name, 'Indirect', x.indirect) FROM groups g WHERE g.pk = x.group_pk)
			ORDER BY x.group_pk)
		FROM (SELECT a.ancestor_pk AS group_pk, bool_and(a.ancestor_pk <> gm.group_pk) AS indirect FROM group_members gm
			CROSS JOIN LATERAL (SELECT ancestor_pk FROM group_ancestors WHERE group_ancestors.group_pk = gm.group_pk OFFSET 0) a
			WHERE gm.user_pk = users.pk GROUP BY a.ancestor_pk) x),
	'Teams', (SELECT json_agg(x.name ORDER BY x.name) FROM (SELECT DISTINCT (SELECT t.name FROM teams t WHERE t.pk = tm.team_pk) AS name
		FROM team_members tm WHERE tm.user_pk = users.pk) x),
	'Channels', (SELECT json_agg(x.name ORDER BY x.name) FROM (SELECT DISTINCT
			(SELECT t.name || '/' || c.name FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE c.pk = cm.channel_pk) AS name
		FROM channel_members cm WHERE cm.user_pk = users.pk) x),
	'Guest', users.guest,
	'SystemAdmin', NOT users.guest AND EXISTS (SELECT 1 FROM system_admins x WHERE x.user_pk = users.pk),
	'TeamAdmin', CASE WHEN NOT users.guest THEN (SELECT json_agg(x.name ORDER BY x.name) FROM (SELECT DISTINCT
			(SELECT t.name FROM teams t WHERE t.pk = ta.team_pk) AS name FROM team_admins ta WHERE ta.user_pk = users.pk) x) END,
	'ChannelAdmin', CASE WHEN NOT users.guest THEN (SELECT json_agg(x.name ORDER BY x.name) FROM (SELECT DISTINCT
			(SELECT t.name || '/' || c.name FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE c.pk = ca.channel_pk) AS name
		FROM channel_admins ca WHERE ca.user_pk = users.pk) x) END
)`,

	// A chunk is an index range of group_members' primary key (group_pk, user_pk), each
	// member's row one primary-key probe (the LATERAL subquery cannot be flattened into a
	// join that would hash the whole users table).
	memberChunk: `SELECT gm.user_pk, u.id, COALESCE(u.display_name, u.user_name) AS display
		FROM (SELECT user_pk FROM group_members WHERE group_pk = :group AND user_pk > :after ORDER BY user_pk LIMIT :limit) gm
		CROSS JOIN LATERAL (SELECT id, display_name, user_name FROM users WHERE users.pk = gm.user_pk OFFSET 0) u
		ORDER BY gm.user_pk`,
	// The same over group_groups' primary key (group_pk, member_pk).
	memberGroupChunk: `SELECT gg.member_pk, g.id, g.display_name
		FROM (SELECT member_pk FROM group_groups WHERE group_pk = :group AND member_pk > :after ORDER BY member_pk LIMIT :limit) gg
		CROSS JOIN LATERAL (SELECT id, display_name FROM groups WHERE groups.pk = gg.member_pk OFFSET 0) g
		ORDER BY gg.member_pk`,

	reconcile: [numReconcileSteps]statement{
		// Per account through LATERAL: a member group's members are as many as the tenant.
		stepSetGuest: {"set whether each account is a guest", `UPDATE users SET guest = x.is_guest FROM (
		  SELECT u.pk AS upk, k.is_guest FROM ROWS(:users) u CROSS JOIN LATERAL (
		    SELECT COALESCE(bool_or(g.kind = 'guest'), false) AND NOT COALESCE(bool_or(g.kind = 'member'), false) AS is_guest
		    FROM ` + userGroupsPostgres + ` gm JOIN groups g ON g.pk = gm.group_pk WHERE gm.user_pk = u.pk OFFSET 0) k) x
		WHERE users.pk = x.upk AND users.guest <> x.is_guest` + returningGuest},
		stepLeaveGuestTeams: {"a guest leaves the teams no group grants", deleteEach("team_members", `x.source NOT LIKE 'group:%'
		  AND EXISTS (SELECT 1 FROM users g WHERE g.pk = u.pk AND g.guest)`)},
		stepLeaveGuestChannels: {"a guest leaves the channels no group grants", deleteEach("channel_members", `x.source NOT LIKE 'group:%'
		  AND EXISTS (SELECT 1 FROM users g WHERE g.pk = u.pk AND g.guest)`)},
		stepLeaveSystemAdmins: {"end system admin grants no group makes any more", deleteEachReturning("system_admins", `x.source LIKE 'group:%'
		  AND NOT EXISTS (SELECT 1 FROM `+userGroupsPostgres+` gm JOIN groups g ON g.pk = gm.group_pk
		    WHERE gm.user_pk = u.pk AND g.system_admin AND 'group:' || CAST(gm.group_pk AS TEXT) = x.source)`, returningSystemAdminsLeft)},
		stepJoinSystemAdmins: {"grant system admin from the groups", `INSERT INTO system_admins (user_pk, source, created_at)
		SELECT u.pk, g.source, CAST(:ts AS BIGINT) FROM ROWS(:users) u CROSS JOIN LATERAL (
		  SELECT 'group:' || CAST(gm.group_pk AS TEXT) AS source FROM ` + userGroupsPostgres + ` gm JOIN groups g ON g.pk = gm.group_pk
		  WHERE gm.user_pk = u.pk AND g.system_admin OFFSET 0) g
		ON CONFLICT DO NOTHING` + returningSystemAdminsJoined},
		stepLeaveTeamAdmins: {"end team admin grants of teams left or no group makes any more", deleteEachReturning("team_admins",
			`(NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = u.pk AND tm.team_pk = x.team_pk)
		  OR (x.source LIKE 'group:%' AND NOT EXISTS (SELECT 1 FROM `+userGroupsPostgres+` gm JOIN group_team_admins ga ON ga.group_pk = gm.group_pk
		    WHERE gm.user_pk = u.pk AND ga.team_pk = x.team_pk AND 'group:' || CAST(gm.group_pk AS TEXT) = x.source)))`, returningTeamAdminsLeft)},
		stepJoinTeamAdmins: {"grant team admin from the groups", `INSERT INTO team_admins (team_pk, user_pk, source, created_at)
		SELECT g.team_pk, u.pk, g.source, CAST(:ts AS BIGINT) FROM ROWS(:users) u CROSS JOIN LATERAL (
		  SELECT ga.team_pk, 'group:' || CAST(gm.group_pk AS TEXT) AS source
		  FROM ` + userGroupsPostgres + ` gm JOIN group_team_admins ga ON ga.group_pk = gm.group_pk
		  WHERE gm.user_pk = u.pk AND EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = u.pk AND tm.team_pk = ga.team_pk) OFFSET 0) g
		ON CONFLICT DO NOTHING` + returningTeamAdminsJoined},
		stepLeaveChannelAdmins: {"end channel admin grants of channels left or no group makes any more", deleteEachReturning("channel_admins",
			`(NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_pk = u.pk AND cm.channel_pk = x.channel_pk)
		  OR (x.source LIKE 'group:%' AND NOT EXISTS (SELECT 1 FROM `+userGroupsPostgres+` gm JOIN group_channel_admins ga ON ga.group_pk = gm.group_pk
		    WHERE gm.user_pk = u.pk AND ga.channel_pk = x.channel_pk AND 'group:' || CAST(gm.group_pk AS TEXT) = x.source)))`, returningChannelAdminsLeft)},
		stepJoinChannelAdmins: {"grant channel admin from the groups", `INSERT INTO channel_admins (channel_pk, user_pk, source, created_at)
		SELECT g.channel_pk, u.pk, g.source, CAST(:ts AS BIGINT) FROM ROWS(:users) u CROSS JOIN LATERAL (
		  SELECT ga.channel_pk, 'group:' || CAST(gm.group_pk AS TEXT) AS source
		  FROM ` + userGroupsPostgres + ` gm JOIN group_channel_admins ga ON ga.group_pk = gm.group_pk
		  WHERE gm.user_pk = u.pk AND EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_pk = u.pk AND cm.channel_pk = ga.channel_pk) OFFSET 0) g
		ON CONFLICT DO NOTHING` + returningChannelAdminsJoined},
		stepLeaveTeamAdminsOfTeamsLeft: {"end team admin grants of teams left", deleteEachReturning("team_admins",
			`NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = u.pk AND tm.team_pk = x.team_pk)`, returningTeamAdminsLeft)},
		stepLeaveChannelAdminsOfChannelsLeft: {"end channel admin grants of channels left", deleteEachReturning("channel_admins",
			`NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_pk = u.pk AND cm.channel_pk = x.channel_pk)`, returningChannelAdminsLeft)},
		stepLeaveTeams: {"leave teams no group grants any more", deleteEach("team_members", `x.source LIKE 'group:%'
		  AND NOT EXISTS (SELECT 1 FROM `+userGroupsPostgres+` gm JOIN group_teams gt ON gt.group_pk = gm.group_pk
		    WHERE gm.user_pk = u.pk AND gt.team_pk = x.team_pk AND 'group:' || CAST(gm.group_pk AS TEXT) = x.source)
		  AND NOT EXISTS (SELECT 1 FROM `+userGroupsPostgres+` gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
		    JOIN channels c ON c.pk = gc.channel_pk
		    WHERE gm.user_pk = u.pk AND c.team_pk = x.team_pk AND 'group:' || CAST(gm.group_pk AS TEXT) = x.source)`)},
		// UNION ALL: ON CONFLICT DO NOTHING skips the duplicates (an account in a group by
		// two paths, a team both mapped and a channel's); UNION hashed each account's rows
		// in a table sized by the estimate, which runs high without statistics on
		// group_ancestors (docs/performance.md, "Issue 15: nested groups").
		stepJoinGroupTeams: {"join teams groups grant", `INSERT INTO team_members (team_pk, user_pk, source, created_at)
		SELECT g.team_pk, u.pk, g.source, CAST(:ts AS BIGINT) FROM ROWS(:users) u CROSS JOIN LATERAL (
		  SELECT gt.team_pk, 'group:' || CAST(gm.group_pk AS TEXT) AS source
		    FROM ` + userGroupsPostgres + ` gm JOIN group_teams gt ON gt.group_pk = gm.group_pk WHERE gm.user_pk = u.pk
		  UNION ALL
		  SELECT c.team_pk, 'group:' || CAST(gm.group_pk AS TEXT)
		    FROM ` + userGroupsPostgres + ` gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
		    JOIN channels c ON c.pk = gc.channel_pk WHERE gm.user_pk = u.pk) g
		ON CONFLICT DO NOTHING` + returningTeamsJoined},
		stepLeaveDefaultTeam: {"leave the default team when another team grants membership", deleteEach("team_members", `x.source = 'default'
		  AND EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = u.pk AND o.source <> 'default')`)},
		stepJoinDefaultTeam: {"join the default team when no team remains", `INSERT INTO team_members (team_pk, user_pk, source, created_at)
		SELECT CAST(:default_team AS BIGINT), u.pk, 'default', CAST(:ts AS BIGINT) FROM ROWS(:users) u CROSS JOIN LATERAL (
		  SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = u.pk)
		  AND NOT EXISTS (SELECT 1 FROM users g WHERE g.pk = u.pk AND g.guest) OFFSET 0) none
		ON CONFLICT DO NOTHING` + returningTeamsJoined},
		stepLeaveChannels: {"leave channels no group grants any more", deleteEach("channel_members", `x.source LIKE 'group:%'
		  AND NOT EXISTS (SELECT 1 FROM `+userGroupsPostgres+` gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
		    WHERE gm.user_pk = u.pk AND gc.channel_pk = x.channel_pk AND 'group:' || CAST(gm.group_pk AS TEXT) = x.source)`)},
		stepJoinGroupChannels: {"join channels groups grant", `INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
		SELECT g.channel_pk, u.pk, g.source, CAST(:ts AS BIGINT) FROM ROWS(:users) u CROSS JOIN LATERAL (
		  SELECT gc.channel_pk, 'group:' || CAST(gm.group_pk AS TEXT) AS source FROM ` + userGroupsPostgres + ` gm
		  JOIN group_channels gc ON gc.group_pk = gm.group_pk WHERE gm.user_pk = u.pk OFFSET 0) g
		ON CONFLICT DO NOTHING` + returningChannelsJoined},
		stepLeaveChannelsOfTeamsLeft: {"leave every channel of a team left", deleteEach("channel_members", `NOT EXISTS (SELECT 1 FROM channels c JOIN team_members tm ON tm.team_pk = c.team_pk
		    WHERE c.pk = x.channel_pk AND tm.user_pk = u.pk)`)},
		stepLeaveOldTeamJoinChannels: {"leave channels that are no longer team-join channels", deleteEach("channel_members", `x.source = 'team'
		  AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.pk = x.channel_pk AND c.name IN :joins AND c.type <> 'P')`)},
		stepJoinTeamJoinChannels: {"join the team-join channels of every team", `INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
		SELECT DISTINCT j.pk, u.pk, 'team', CAST(:ts AS BIGINT) FROM ROWS(:users) u CROSS JOIN LATERAL (
		  SELECT c.pk FROM team_members tm JOIN channels c ON c.team_pk = tm.team_pk
		  WHERE tm.user_pk = u.pk AND c.name IN :joins AND c.type <> 'P'
		  AND NOT EXISTS (SELECT 1 FROM users g WHERE g.pk = u.pk AND g.guest) OFFSET 0) j
		ON CONFLICT DO NOTHING` + returningChannelsJoined},
	},

	// Through LATERAL: EXISTS correlated on the account, once OR-ed, is planned as a
	// hashed subplan over the whole table.
	roleFeatures: `SELECT
	EXISTS (SELECT 1 FROM ROWS(:users) u CROSS JOIN LATERAL (
	  SELECT 1 FROM users x WHERE x.pk = u.pk AND x.guest
	  UNION ALL
	  SELECT 1 FROM ` + userGroupsPostgres + ` gm JOIN groups g ON g.pk = gm.group_pk WHERE gm.user_pk = u.pk AND g.kind = 'guest' OFFSET 0) y) AS guests,
	EXISTS (SELECT 1 FROM ROWS(:users) u CROSS JOIN LATERAL (
	  SELECT 1 FROM system_admins x WHERE x.user_pk = u.pk
	  UNION ALL SELECT 1 FROM team_admins x WHERE x.user_pk = u.pk
	  UNION ALL SELECT 1 FROM channel_admins x WHERE x.user_pk = u.pk
	  UNION ALL SELECT 1 FROM ` + userGroupsPostgres + ` gm JOIN groups g ON g.pk = gm.group_pk WHERE gm.user_pk = u.pk
	    AND (g.system_admin OR EXISTS (SELECT 1 FROM group_team_admins a WHERE a.group_pk = g.pk)
	      OR EXISTS (SELECT 1 FROM group_channel_admins a WHERE a.group_pk = g.pk))
	  OFFSET 0) y) AS roles`,

	ensureJoinChannels: `SELECT t.team_pk FROM (SELECT DISTINCT m.team_pk FROM ROWS(:users) u CROSS JOIN LATERAL (
	  SELECT tm.team_pk FROM team_members tm WHERE tm.user_pk = u.pk OFFSET 0) m) t
	WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = t.team_pk AND c.name IN :joins) < :joins_count`,

	// One statement. Its data-modifying CTEs all see the snapshot the statement started
	// with, not each other's rows, which is why the end of a default membership is told
	// by the 'default' rows the statement deletes (RETURNING) and by the teams the group
	// grants (gt), rather than by reading team_members again. It returns the rows each
	// CTE wrote, and the count of lacking teams as a row of its own (opLacking). An admin
	// grant of a default team left, or of its channels (made by hand while the account
	// was there by default), ends with it (ta, ca), as in reconcile.
	grantGroup: []statement{{"grant group memberships", `WITH gt AS ` + groupTeamsSQL + `,
	u AS ROWS(:users),
	tm AS (INSERT INTO team_members (team_pk, user_pk, source, created_at)
	  SELECT gt.team_pk, u.pk, CAST(:source AS TEXT), CAST(:ts AS BIGINT) FROM u CROSS JOIN gt ON CONFLICT DO NOTHING` + returningTeamsJoined + `),
	cm AS (INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
	  SELECT gc.channel_pk, u.pk, CAST(:source AS TEXT), CAST(:ts AS BIGINT) FROM u CROSS JOIN group_channels gc WHERE gc.group_pk = CAST(:group AS BIGINT)
	  UNION ALL
	  SELECT c.pk, u.pk, 'team', CAST(:ts AS BIGINT) FROM u CROSS JOIN gt JOIN channels c ON c.team_pk = gt.team_pk WHERE c.name IN :joins AND c.type <> 'P'
	  ON CONFLICT DO NOTHING` + returningChannelsJoined + `),
	d AS (DELETE FROM team_members WHERE ctid = ANY(ARRAY(
	    SELECT x.ctid FROM u CROSS JOIN LATERAL (
	      SELECT t.ctid FROM team_members t WHERE t.user_pk = u.pk AND t.source = 'default' OFFSET 0) x))
	  AND EXISTS (SELECT 1 FROM gt)` + returningTeamsLeft + `),
	dc AS (DELETE FROM channel_members WHERE ctid = ANY(ARRAY(
	    SELECT x.ctid FROM d CROSS JOIN LATERAL (
	      SELECT cm.ctid FROM channel_members cm JOIN channels c ON c.pk = cm.channel_pk
	      WHERE cm.user_pk = d.user_pk AND c.team_pk = d.target OFFSET 0) x
	    WHERE d.target NOT IN (SELECT team_pk FROM gt)
	    AND NOT EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = d.user_pk AND o.team_pk = d.target AND o.source <> 'default')))` +
		returningChannelsLeft + `),
	ta AS (DELETE FROM team_admins WHERE ctid = ANY(ARRAY(
	    SELECT x.ctid FROM d CROSS JOIN LATERAL (
	      SELECT a.ctid FROM team_admins a WHERE a.user_pk = d.user_pk AND a.team_pk = d.target OFFSET 0) x
	    WHERE d.target NOT IN (SELECT team_pk FROM gt)
	    AND NOT EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = d.user_pk AND o.team_pk = d.target AND o.source <> 'default')))` +
		returningTeamAdminsLeft + `),
	ca AS (DELETE FROM channel_admins WHERE ctid = ANY(ARRAY(
	    SELECT x.ctid FROM dc CROSS JOIN LATERAL (
	      SELECT a.ctid FROM channel_admins a WHERE a.user_pk = dc.user_pk AND a.channel_pk = dc.target OFFSET 0) x))` +
		returningChannelAdminsLeft + `)
	SELECT op, user_pk, target, source FROM tm UNION ALL SELECT op, user_pk, target, source FROM cm
	UNION ALL SELECT op, user_pk, target, source FROM d UNION ALL SELECT op, user_pk, target, source FROM dc
	UNION ALL SELECT op, user_pk, target, source FROM ta UNION ALL SELECT op, user_pk, target, source FROM ca
	UNION ALL SELECT 'lacking', 0, COUNT(*), '' FROM gt
	  WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = gt.team_pk AND c.name IN :joins) < :joins_count`}},
	countPairs: countPairsPostgres,
}

// userGroupsPostgres is the view user_groups (an account's groups, directly or through
// nesting: migration 0013) as the reconcile steps and roleFeatures read it on
// PostgreSQL: each of the account's group_members rows, then that group's closure rows
// through group_ancestors' primary key, in a LATERAL subquery OFFSET 0 keeps per row.
// Through the view, the planner, without statistics on group_ancestors, began from
// groups (the system admin or guest ones) and read the closure whole for each account,
// a cost growing with the number of groups (docs/performance.md, "Issue 15: nested
// groups").
const userGroupsPostgres = `(SELECT m.user_pk, a.ancestor_pk AS group_pk FROM group_members m CROSS JOIN LATERAL (
	  SELECT x.ancestor_pk FROM group_ancestors x WHERE x.group_pk = m.group_pk OFFSET 0) a)`

// countPairsPostgres is postgresDialect.countPairs: per account through LATERAL, so that
// no plan reads a team's or channel's rows whatever the statistics say. Each account's
// rows are read through team_members_user and channel_members_user and the targets
// filter them ("+ 0" keeps the planner from probing the primary key once per target for
// each account: an import chunk of 400 accounts over 1,200 channels made that 480,000
// probes, 150 ms a chunk).
const countPairsPostgres = `SELECT 0 AS kind, u.pk, x.target, x.n, '' AS a, '' AS b FROM ROWS(:team_users) u CROSS JOIN LATERAL (
	  SELECT team_pk AS target, COUNT(*) AS n FROM team_members WHERE user_pk = u.pk AND team_pk + 0 IN :teams GROUP BY team_pk OFFSET 0) x
	UNION ALL
	SELECT 1, u.pk, x.target, x.n, '', '' FROM ROWS(:channel_users) u CROSS JOIN LATERAL (
	  SELECT channel_pk AS target, COUNT(*) AS n FROM channel_members WHERE user_pk = u.pk AND channel_pk + 0 IN :channels GROUP BY channel_pk OFFSET 0) x`

// deleteEach deletes the rows of table (alias x) that cond selects for account u.pk,
// for each account of :users, returning the rows deleted (journalMemberships).
func deleteEach(table, cond string) string {
	returning := returningTeamsLeft
	if table == "channel_members" {
		returning = returningChannelsLeft
	}
	return deleteEachReturning(table, cond, returning)
}

// deleteEachReturning is deleteEach for any table with a user_pk column, returning what
// returning says.
func deleteEachReturning(table, cond, returning string) string {
	return `DELETE FROM ` + table + ` WHERE ctid = ANY(ARRAY(SELECT d.ctid FROM ROWS(:users) u CROSS JOIN LATERAL (
		  SELECT x.ctid FROM ` + table + ` x WHERE x.user_pk = u.pk AND ` + cond + ` OFFSET 0) d))` + returning
}

// withBinaryParameters asks lib/pq to send parameters in binary with the statement in
// one round trip, instead of Parse/Describe then Bind/Execute. A DSN that already sets
// it is left alone.
func withBinaryParameters(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	if q.Has("binary_parameters") {
		return dsn
	}
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()
	return u.String()
}

// withoutJIT turns PostgreSQL's JIT compilation off for the store's sessions (the
// run-time parameter jit, sent at connection start), unless the DSN sets it. JIT starts
// when a statement's estimated cost passes jit_above_cost, and estimates without
// statistics (a new tenant, a small table autovacuum has not analyzed yet) run high: a
// reconcile step reading user_groups, with group_ancestors never analyzed, spent many
// times its execution compiling (docs/performance.md, "Issue 15: nested groups"). Every
// statement here is a few index probes per account, which JIT cannot speed up.
func withoutJIT(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	if q.Has("jit") {
		return dsn
	}
	q.Set("jit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// postgresUnavailable reports the errors of a PostgreSQL server that cannot serve this
// one now, whatever the statement:
//
//   - no connection: a dial refused or timed out, a connection broken mid-statement
//     (database/sql's ErrBadConn, an EOF, a network error);
//   - SQLSTATE class 08 (connection exception), class 28 (the role may no longer log in:
//     dropped, or its password changed), class 53 (insufficient resources: too many
//     connections, disk full, out of memory);
//   - 57P01–57P03 (the server is shutting down, crashed, or not accepting connections yet);
//   - 3D000 (the database does not exist: dropped), 42501 (privileges revoked), 42P01
//     (the schema's tables are gone): none of them can be caused by a request, since
//     every statement names only the store's own tables;
//   - 25006 (a read-only transaction: the server became a standby after a failover) and
//     58030 (an I/O error on the server).
//
// A cancelled statement (57014) is not here: it is the request's deadline or its client
// going away, which the caller tells from its context.
func postgresUnavailable(err error) bool {
	var e *pq.Error
	if errors.As(err, &e) {
		switch e.Code.Class() {
		case "08", "28", "53":
			return true
		}
		switch e.Code {
		case "57P01", "57P02", "57P03", "3D000", "42501", "42P01", "25006", "58030":
			return true
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false // the caller's context (a deadline is also a net.Error): the caller tells it apart
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}
