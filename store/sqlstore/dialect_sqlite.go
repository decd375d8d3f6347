package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"context"

	"github.com/jmoiron/sqlx"
	sqlite "modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"
)

// sqliteDialect is SQLite (modernc.org/sqlite, no cgo), the embedded default: any DSN
// that is not another dialect's is a file path or a file: URI.
//
// Every transaction begins IMMEDIATE, taking the database's one write lock at BEGIN, so
// writers queue on the busy timeout instead of failing on a read-to-write upgrade, and a
// transaction's reads cannot be overtaken by another writer: row locks are not needed.
// SQLite's planner drives each membership read from the per-account indexes
// (team_members_user, channel_members_user, group_members_user) with or without
// statistics when the chunk's accounts (:users) are named on the table a statement
// changes and again inside each correlated subquery (TestReconcilePlansWithoutStatistics).
var sqliteDialect = &dialect{
	name:    "sqlite",
	matches: func(string) bool { return true },
	open: func(dsn string) (*sqlx.DB, error) {
		if err := createSQLiteFile(dsn); err != nil {
			return nil, err
		}
		db, err := sqlx.Open("sqlite", sqliteDSN(dsn))
		if err != nil {
			return nil, err
		}
		// WAL lets readers run beside the one writer.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		return db, nil
	},
	retryable: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		code := e.Code() & 0xff
		return code == sqlitelib.SQLITE_BUSY || code == sqlitelib.SQLITE_LOCKED
	},
	uniqueViolation: func(err error) (string, bool) {
		var e *sqlite.Error
		if errors.As(err, &e) {
			switch e.Code() {
			case sqlitelib.SQLITE_CONSTRAINT_UNIQUE, sqlitelib.SQLITE_CONSTRAINT_PRIMARYKEY:
				return e.Error(), true // the message names the table and columns
			}
		}
		return "", false
	},
	foreignKeyViolation: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlitelib.SQLITE_CONSTRAINT_FOREIGNKEY
	},
	unavailable:     sqliteUnavailable,
	lock:            func(context.Context, *sqlx.Tx, lockKey) error { return nil }, // BEGIN IMMEDIATE holds the database
	binaryCollation: "",                                                            // BINARY is the default collation
	// Read-only: the driver then begins DEFERRED instead of IMMEDIATE (_txlock), so the
	// transaction takes no write lock and writers go on beside it; in WAL mode its first
	// read fixes the snapshot it reads until it ends. SQLite ignores the isolation level.
	readSnapshot: sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	// Transactions hold the database from BEGIN (IMMEDIATE) to COMMIT, so they commit in
	// the order they write: a journal row's rowid, taken as it is written, is its position
	// (migration 0007), and nothing is ever left to sequence.
	sequence:  "",
	nowMillis: `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`,
	// A JSON array read back with json_each.
	int64List: func(xs []int64) listParam {
		if xs == nil {
			xs = []int64{}
		}
		b, _ := json.Marshal(xs) // a slice of integers always marshals
		return jsonList(string(b))
	},
	textList: func(xs []string) listParam {
		if xs == nil {
			xs = []string{}
		}
		b, _ := json.Marshal(xs) // a slice of strings always marshals
		return jsonList(string(b))
	},

	// SQLite loses the JSON subtype of a value that leaves a subquery, so each list is
	// wrapped in json() to be embedded as an array rather than as a string; booleans are
	// stored as 0/1 and are spelt as JSON booleans the same way.
	userChildren: `json_object(
	'Emails', json((SELECT json_group_array(json_object('Value', x.value, 'Display', x.display, 'Type', x.type,
			'Primary', json(iif(x.is_primary, 'true', 'false')), 'PrimaryFalse', json(iif(x.primary_false, 'true', 'false'))) ORDER BY x.ord)
		FROM user_emails x WHERE x.user_pk = users.pk)),
	'PhoneNumbers', json((SELECT json_group_array(json_object('Value', x.value, 'Display', x.display, 'Type', x.type,
			'Primary', json(iif(x.is_primary, 'true', 'false')), 'PrimaryFalse', json(iif(x.primary_false, 'true', 'false'))) ORDER BY x.ord)
		FROM user_phone_numbers x WHERE x.user_pk = users.pk)),
	'Addresses', json((SELECT json_group_array(json_object('Formatted', x.formatted, 'StreetAddress', x.street_address, 'Locality', x.locality,
			'Region', x.region, 'PostalCode', x.postal_code, 'Country', x.country, 'Type', x.type,
			'Primary', json(iif(x.is_primary, 'true', 'false')), 'PrimaryFalse', json(iif(x.primary_false, 'true', 'false'))) ORDER BY x.ord)
		FROM user_addresses x WHERE x.user_pk = users.pk)),
	'Groups', json((SELECT json_group_array(json_object('ID', g.id, 'DisplayName', g.display_name,
			'Indirect', json(iif(x.indirect, 'true', 'false'))) ORDER BY g.pk)
		FROM (SELECT ug.group_pk, min(ug.direct_pk <> ug.group_pk) AS indirect FROM user_groups ug WHERE ug.user_pk = users.pk GROUP BY ug.group_pk) x
		JOIN groups g ON g.pk = x.group_pk)),
	'Teams', json((SELECT json_group_array(DISTINCT t.name ORDER BY t.name)
		FROM team_members tm JOIN teams t ON t.pk = tm.team_pk WHERE tm.user_pk = users.pk)),
	'Channels', json((SELECT json_group_array(DISTINCT t.name || '/' || c.name ORDER BY t.name || '/' || c.name)
		FROM channel_members cm JOIN channels c ON c.pk = cm.channel_pk JOIN teams t ON t.pk = c.team_pk WHERE cm.user_pk = users.pk)),
	'Guest', json(iif(users.guest, 'true', 'false')),
	'SystemAdmin', json(iif(NOT users.guest AND EXISTS (SELECT 1 FROM system_admins x WHERE x.user_pk = users.pk), 'true', 'false')),
	'TeamAdmin', json(iif(users.guest, '[]', (SELECT json_group_array(DISTINCT t.name ORDER BY t.name)
		FROM team_admins x JOIN teams t ON t.pk = x.team_pk WHERE x.user_pk = users.pk))),
	'ChannelAdmin', json(iif(users.guest, '[]', (SELECT json_group_array(DISTINCT t.name || '/' || c.name ORDER BY t.name || '/' || c.name)
		FROM channel_admins x JOIN channels c ON c.pk = x.channel_pk JOIN teams t ON t.pk = c.team_pk WHERE x.user_pk = users.pk)))
)`,

	memberChunk: `SELECT gm.user_pk, u.id, COALESCE(u.display_name, u.user_name) AS display
		FROM group_members gm JOIN users u ON u.pk = gm.user_pk
		WHERE gm.group_pk = :group AND gm.user_pk > :after ORDER BY gm.user_pk LIMIT :limit`,
	memberGroupChunk: `SELECT gg.member_pk, g.id, g.display_name
		FROM group_groups gg JOIN groups g ON g.pk = gg.member_pk
		WHERE gg.group_pk = :group AND gg.member_pk > :after ORDER BY gg.member_pk LIMIT :limit`,

	reconcile: [numReconcileSteps]statement{
		stepSetGuest: {"set whether each account is a guest", `UPDATE users SET guest = NOT guest WHERE pk IN :users AND guest <> (
		  EXISTS (SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk
		    WHERE gm.user_pk = users.pk AND gm.user_pk IN :users AND g.kind = 'guest')
		  AND NOT EXISTS (SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk
		    WHERE gm.user_pk = users.pk AND gm.user_pk IN :users AND g.kind = 'member'))` + returningGuest},
		stepLeaveGuestTeams: {"a guest leaves the teams no group grants", `DELETE FROM team_members WHERE user_pk IN :users AND source NOT LIKE 'group:%'
		AND user_pk IN (SELECT pk FROM users WHERE pk IN :users AND guest)` + returningTeamsLeft},
		stepLeaveGuestChannels: {"a guest leaves the channels no group grants", `DELETE FROM channel_members WHERE user_pk IN :users AND source NOT LIKE 'group:%'
		AND user_pk IN (SELECT pk FROM users WHERE pk IN :users AND guest)` + returningChannelsLeft},
		stepLeaveSystemAdmins: {"end system admin grants no group makes any more", `DELETE FROM system_admins WHERE user_pk IN :users AND source LIKE 'group:%'
		AND NOT EXISTS (SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk
		  WHERE gm.user_pk = system_admins.user_pk AND gm.user_pk IN :users AND g.system_admin
		  AND 'group:' || CAST(gm.group_pk AS TEXT) = system_admins.source)` + returningSystemAdminsLeft},
		stepJoinSystemAdmins: {"grant system admin from the groups", `INSERT INTO system_admins (user_pk, source, created_at)
		SELECT gm.user_pk, 'group:' || CAST(gm.group_pk AS TEXT), CAST(:ts AS BIGINT) FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk
		WHERE gm.user_pk IN :users AND g.system_admin ON CONFLICT DO NOTHING` + returningSystemAdminsJoined},
		stepLeaveTeamAdmins: {"end team admin grants of teams left or no group makes any more", `DELETE FROM team_admins WHERE user_pk IN :users
		AND (NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = team_admins.user_pk AND tm.user_pk IN :users AND tm.team_pk = team_admins.team_pk)
		  OR (source LIKE 'group:%' AND NOT EXISTS (SELECT 1 FROM user_groups gm JOIN group_team_admins ga ON ga.group_pk = gm.group_pk
		    WHERE gm.user_pk = team_admins.user_pk AND gm.user_pk IN :users AND ga.team_pk = team_admins.team_pk
		    AND 'group:' || CAST(gm.group_pk AS TEXT) = team_admins.source)))` + returningTeamAdminsLeft},
		stepJoinTeamAdmins: {"grant team admin from the groups", `INSERT INTO team_admins (team_pk, user_pk, source, created_at)
		SELECT ga.team_pk, gm.user_pk, 'group:' || CAST(gm.group_pk AS TEXT), CAST(:ts AS BIGINT)
		FROM user_groups gm JOIN group_team_admins ga ON ga.group_pk = gm.group_pk
		WHERE gm.user_pk IN :users AND EXISTS (SELECT 1 FROM team_members tm
		  WHERE tm.user_pk = gm.user_pk AND tm.user_pk IN :users AND tm.team_pk = ga.team_pk) ON CONFLICT DO NOTHING` + returningTeamAdminsJoined},
		stepLeaveChannelAdmins: {"end channel admin grants of channels left or no group makes any more", `DELETE FROM channel_admins WHERE user_pk IN :users
		AND (NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_pk = channel_admins.user_pk AND cm.user_pk IN :users AND cm.channel_pk = channel_admins.channel_pk)
		  OR (source LIKE 'group:%' AND NOT EXISTS (SELECT 1 FROM user_groups gm JOIN group_channel_admins ga ON ga.group_pk = gm.group_pk
		    WHERE gm.user_pk = channel_admins.user_pk AND gm.user_pk IN :users AND ga.channel_pk = channel_admins.channel_pk
		    AND 'group:' || CAST(gm.group_pk AS TEXT) = channel_admins.source)))` + returningChannelAdminsLeft},
		stepJoinChannelAdmins: {"grant channel admin from the groups", `INSERT INTO channel_admins (channel_pk, user_pk, source, created_at)
		SELECT ga.channel_pk, gm.user_pk, 'group:' || CAST(gm.group_pk AS TEXT), CAST(:ts AS BIGINT)
		FROM user_groups gm JOIN group_channel_admins ga ON ga.group_pk = gm.group_pk
		WHERE gm.user_pk IN :users AND EXISTS (SELECT 1 FROM channel_members cm
		  WHERE cm.user_pk = gm.user_pk AND cm.user_pk IN :users AND cm.channel_pk = ga.channel_pk) ON CONFLICT DO NOTHING` + returningChannelAdminsJoined},
		stepLeaveTeamAdminsOfTeamsLeft: {"end team admin grants of teams left", `DELETE FROM team_admins WHERE user_pk IN :users
		AND NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = team_admins.user_pk AND tm.user_pk IN :users AND tm.team_pk = team_admins.team_pk)` + returningTeamAdminsLeft},
		stepLeaveChannelAdminsOfChannelsLeft: {"end channel admin grants of channels left", `DELETE FROM channel_admins WHERE user_pk IN :users
		AND NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_pk = channel_admins.user_pk AND cm.user_pk IN :users AND cm.channel_pk = channel_admins.channel_pk)` + returningChannelAdminsLeft},
		stepLeaveTeams: {"leave teams no group grants any more", `DELETE FROM team_members WHERE user_pk IN :users AND source LIKE 'group:%'
		AND NOT EXISTS (SELECT 1 FROM user_groups gm JOIN group_teams gt ON gt.group_pk = gm.group_pk
		  WHERE gm.user_pk = team_members.user_pk AND gm.user_pk IN :users AND gt.team_pk = team_members.team_pk
		  AND 'group:' || CAST(gm.group_pk AS TEXT) = team_members.source)
		AND NOT EXISTS (SELECT 1 FROM user_groups gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
		  JOIN channels c ON c.pk = gc.channel_pk
		  WHERE gm.user_pk = team_members.user_pk AND gm.user_pk IN :users AND c.team_pk = team_members.team_pk
		  AND 'group:' || CAST(gm.group_pk AS TEXT) = team_members.source)` + returningTeamsLeft},
		stepJoinGroupTeams: {"join teams groups grant", `INSERT INTO team_members (team_pk, user_pk, source, created_at)
		SELECT g.team_pk, g.user_pk, g.source, CAST(:ts AS BIGINT) FROM (
		  SELECT gt.team_pk, gm.user_pk, 'group:' || CAST(gm.group_pk AS TEXT) AS source
		    FROM user_groups gm JOIN group_teams gt ON gt.group_pk = gm.group_pk WHERE gm.user_pk IN :users
		  UNION
		  SELECT c.team_pk, gm.user_pk, 'group:' || CAST(gm.group_pk AS TEXT)
		    FROM user_groups gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
		    JOIN channels c ON c.pk = gc.channel_pk WHERE gm.user_pk IN :users) g
		WHERE true ON CONFLICT DO NOTHING` + returningTeamsJoined},
		stepLeaveDefaultTeam: {"leave the default team when another team grants membership", `DELETE FROM team_members WHERE user_pk IN :users AND source = 'default'
		AND EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = team_members.user_pk AND o.user_pk IN :users AND o.source <> 'default')` + returningTeamsLeft},
		stepJoinDefaultTeam: {"join the default team when no team remains", `INSERT INTO team_members (team_pk, user_pk, source, created_at)
		SELECT CAST(:default_team AS BIGINT), u.pk, 'default', CAST(:ts AS BIGINT) FROM users u WHERE u.pk IN :users AND NOT u.guest
		AND NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = u.pk AND tm.user_pk IN :users) ON CONFLICT DO NOTHING` + returningTeamsJoined},
		stepLeaveChannels: {"leave channels no group grants any more", `DELETE FROM channel_members WHERE user_pk IN :users AND source LIKE 'group:%'
		AND NOT EXISTS (SELECT 1 FROM user_groups gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
		  WHERE gm.user_pk = channel_members.user_pk AND gm.user_pk IN :users AND gc.channel_pk = channel_members.channel_pk
		  AND 'group:' || CAST(gm.group_pk AS TEXT) = channel_members.source)` + returningChannelsLeft},
		stepJoinGroupChannels: {"join channels groups grant", `INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
		SELECT gc.channel_pk, gm.user_pk, 'group:' || CAST(gm.group_pk AS TEXT), CAST(:ts AS BIGINT) FROM user_groups gm
		JOIN group_channels gc ON gc.group_pk = gm.group_pk WHERE gm.user_pk IN :users ON CONFLICT DO NOTHING` + returningChannelsJoined},
		stepLeaveChannelsOfTeamsLeft: {"leave every channel of a team left", `DELETE FROM channel_members WHERE user_pk IN :users
		AND NOT EXISTS (SELECT 1 FROM channels c JOIN team_members tm ON tm.team_pk = c.team_pk
		  WHERE c.pk = channel_members.channel_pk AND tm.user_pk = channel_members.user_pk AND tm.user_pk IN :users)` + returningChannelsLeft},
		stepLeaveOldTeamJoinChannels: {"leave channels that are no longer team-join channels", `DELETE FROM channel_members WHERE user_pk IN :users AND source = 'team'
		AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.pk = channel_members.channel_pk AND c.name IN :joins AND c.type <> 'P')` + returningChannelsLeft},
		stepJoinTeamJoinChannels: {"join the team-join channels of every team", `INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
		SELECT DISTINCT c.pk, tm.user_pk, 'team', CAST(:ts AS BIGINT) FROM team_members tm JOIN channels c ON c.team_pk = tm.team_pk
		WHERE tm.user_pk IN :users AND c.name IN :joins AND c.type <> 'P'
		AND tm.user_pk NOT IN (SELECT pk FROM users WHERE pk IN :users AND guest) ON CONFLICT DO NOTHING` + returningChannelsJoined},
	},

	roleFeatures: `SELECT
	(EXISTS (SELECT 1 FROM users WHERE pk IN :users AND guest)
	 OR EXISTS (SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk
	   WHERE gm.user_pk IN :users AND g.kind = 'guest')) AS guests,
	(EXISTS (SELECT 1 FROM system_admins WHERE user_pk IN :users)
	 OR EXISTS (SELECT 1 FROM team_admins WHERE user_pk IN :users)
	 OR EXISTS (SELECT 1 FROM channel_admins WHERE user_pk IN :users)
	 OR EXISTS (SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk WHERE gm.user_pk IN :users
	   AND (g.system_admin OR EXISTS (SELECT 1 FROM group_team_admins a WHERE a.group_pk = g.pk)
	     OR EXISTS (SELECT 1 FROM group_channel_admins a WHERE a.group_pk = g.pk)))) AS roles`,

	ensureJoinChannels: `SELECT t.team_pk FROM (SELECT DISTINCT team_pk FROM team_members WHERE user_pk IN :users) t
	WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = t.team_pk AND c.name IN :joins) < :joins_count`,

	// The delta as separate statements, in an order that lets each see the rows of the
	// ones before: the grants first, then the end of default memberships, which can then
	// tell from team_members whether the account keeps the default team through the group.
	// Each returns the rows it wrote; the last, the count of lacking teams (opLacking).
	grantGroup: []statement{
		{"join the group's teams", `INSERT INTO team_members (team_pk, user_pk, source, created_at)
		SELECT gt.team_pk, u.pk, CAST(:source AS TEXT), CAST(:ts AS BIGINT) FROM ROWS(:users) u, ` + groupTeamsSQL + ` gt
		WHERE true ON CONFLICT DO NOTHING` + returningTeamsJoined},
		{"join the group's channels and the team-join channels of its teams", `INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
		SELECT gc.channel_pk, u.pk, CAST(:source AS TEXT), CAST(:ts AS BIGINT) FROM ROWS(:users) u, group_channels gc WHERE gc.group_pk = :group
		UNION ALL
		SELECT c.pk, u.pk, 'team', CAST(:ts AS BIGINT) FROM ROWS(:users) u, ` + groupTeamsSQL + ` gt
		  JOIN channels c ON c.team_pk = gt.team_pk WHERE c.name IN :joins AND c.type <> 'P'
		ON CONFLICT DO NOTHING` + returningChannelsJoined},
		{"leave the channels of a default team left", `DELETE FROM channel_members WHERE user_pk IN :users
		AND channel_pk IN (SELECT c.pk FROM team_members d JOIN channels c ON c.team_pk = d.team_pk
		  WHERE d.user_pk = channel_members.user_pk AND d.source = 'default'
		  AND EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = d.user_pk AND o.source <> 'default')
		  AND NOT EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = d.user_pk AND o.team_pk = d.team_pk AND o.source <> 'default'))` + returningChannelsLeft},
		{"leave the default team", `DELETE FROM team_members WHERE user_pk IN :users AND source = 'default'
		AND EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = team_members.user_pk AND o.source <> 'default')` + returningTeamsLeft},
		// An admin grant of the default team, or of one of its channels, made by hand
		// while the account was there by default ends with the membership, as in
		// reconcile (stepLeaveTeamAdmins, stepLeaveChannelAdmins).
		{"end the admin grants of a team left", `DELETE FROM team_admins WHERE user_pk IN :users
		AND NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = team_admins.user_pk AND tm.user_pk IN :users AND tm.team_pk = team_admins.team_pk)` + returningTeamAdminsLeft},
		{"end the admin grants of a channel left", `DELETE FROM channel_admins WHERE user_pk IN :users
		AND NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_pk = channel_admins.user_pk AND cm.user_pk IN :users AND cm.channel_pk = channel_admins.channel_pk)` + returningChannelAdminsLeft},
		{"find teams lacking team-join channels", `SELECT 'lacking' AS op, 0 AS user_pk, COUNT(*) AS target, '' AS source FROM ` + groupTeamsSQL + ` gt
		WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = gt.team_pk AND c.name IN :joins) < :joins_count`},
	},
	// By account, as on PostgreSQL: each account's rows through team_members_user and
	// channel_members_user, the targets a filter. The '+' keeps SQLite from taking the
	// targets as index constraints of the primary keys, which is one probe per pair of
	// the product accounts × targets: an import chunk of 400 accounts spread over 1,200
	// channels made that 480,000 probes and half the import's time.
	countPairs: `SELECT 0 AS kind, user_pk AS pk, team_pk AS target, COUNT(*) AS n, '' AS a, '' AS b FROM team_members
	WHERE user_pk IN :team_users AND +team_pk IN :teams GROUP BY user_pk, team_pk
	UNION ALL
	SELECT 1, user_pk, channel_pk, COUNT(*), '', '' FROM channel_members
	WHERE user_pk IN :channel_users AND +channel_pk IN :channels GROUP BY user_pk, channel_pk`,
}

// sqliteUnavailable reports the errors of a SQLite database that cannot serve now,
// whatever the statement: its file cannot be opened (CANTOPEN, PERM), read or written
// (IOERR, READONLY: the file or its directory lost its permissions, the disk failed),
// is not a database or is damaged (NOTADB, CORRUPT: replaced or overwritten), or its
// disk or memory is full (FULL, NOMEM); the write lock stayed taken beyond the busy
// timeout and the retries (BUSY, LOCKED); or the store's tables are gone (the file was
// replaced by an empty one), which SQLite reports only as a generic error with "no such
// table" in its message (every statement names only the store's own tables, so no
// request causes it). Constraint violations, SQL errors in general (a bug of ours, to
// be seen as one) and interrupts (the caller's context, which the caller tells apart)
// are not here.
func sqliteUnavailable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlitelib.SQLITE_CANTOPEN, sqlitelib.SQLITE_PERM, sqlitelib.SQLITE_IOERR, sqlitelib.SQLITE_READONLY,
		sqlitelib.SQLITE_NOTADB, sqlitelib.SQLITE_CORRUPT, sqlitelib.SQLITE_FULL, sqlitelib.SQLITE_NOMEM,
		sqlitelib.SQLITE_BUSY, sqlitelib.SQLITE_LOCKED:
		return true
	case sqlitelib.SQLITE_ERROR:
		return strings.Contains(e.Error(), "no such table")
	}
	return false
}

// jsonList is a list bound as one JSON array parameter.
func jsonList(arg string) listParam {
	return listParam{in: ` IN (SELECT value FROM json_each(?))`, rows: `(SELECT value AS pk FROM json_each(?))`, arg: arg}
}

// createSQLiteFile creates a database file that does not exist yet, readable and
// writable by its owner only (0600), in directories it creates for the owner only
// (0700): the file holds every user's personal data and the tokens' hashes. SQLite gives
// its -wal and -shm files the database file's permissions. A file or directory that
// exists is left as it is (its owner chose), and so are in-memory and read-only DSNs.
func createSQLiteFile(dsn string) error {
	base, rawQuery, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	q, _ := url.ParseQuery(rawQuery)
	if base == "" || strings.HasPrefix(base, ":memory:") || q.Get("mode") == "memory" || q.Get("mode") == "ro" {
		return nil
	}
	if dir := filepath.Dir(base); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create the database's directory: %w", err)
		}
	}
	f, err := os.OpenFile(base, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("create the database file: %w", err)
	}
	return f.Close() // an empty file is an empty SQLite database
}

// sqliteDSN turns a path into a modernc.org/sqlite DSN with the pragmas every connection
// needs: WAL, a busy timeout, foreign keys, case-sensitive LIKE (the filter compiler
// lower-cases both sides itself where SCIM says caseExact=false) and IMMEDIATE
// transactions.
func sqliteDSN(path string) string {
	uri := strings.HasPrefix(path, "file:")
	base, rawQuery, _ := strings.Cut(strings.TrimPrefix(path, "file:"), "?")
	if !uri {
		// A plain path becomes a file: URI, in which '#' would end the path and '%'
		// start an escape: a file named "team#1.db" must be that file, not "team".
		base = strings.NewReplacer("%", "%25", "#", "%23").Replace(base)
	}
	q, _ := url.ParseQuery(rawQuery)
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)",
		"case_sensitive_like(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	return "file:" + base + "?" + q.Encode()
}
