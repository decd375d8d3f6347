package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/townsquare/townsquare/store"
)

// CheckInvariants checks the provisioning rules over the whole database and returns one
// line per violation (none when all hold). Rules 1 and 2 are for members: a guest is in
// exactly its guest groups' channels and their teams (store/roles.go). It is what the tests run after every scenario
// and after concurrent runs; it reads only, and costs a few full scans.
func (s *Store) CheckInvariants(ctx context.Context) (_ []string, err error) {
	defer s.classify(&err)
	joinChannels := s.rules.TeamJoinChannels()
	in := "(?" + strings.Repeat(", ?", len(joinChannels)-1) + ")"
	var joinArgs []any
	for _, c := range joinChannels {
		joinArgs = append(joinArgs, c)
	}
	activeLive := `u.active = ? AND u.scim_deleted_at IS NULL`
	checks := []struct {
		rule  string
		query string
		args  []any
	}{
		{"rule 1: an active account that is not a guest is in no team",
			`SELECT u.username FROM users u WHERE ` + activeLive + ` AND NOT u.guest AND NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = u.pk)`,
			[]any{true}},
		{"rule 2: a team member that is not a guest is not in a public team-join channel",
			`SELECT DISTINCT u.username || ' in ' || t.name || ' but not ' || c.name FROM team_members tm
			 JOIN users u ON u.pk = tm.user_pk JOIN teams t ON t.pk = tm.team_pk
			 JOIN channels c ON c.team_pk = t.pk AND c.name IN ` + in + ` AND c.type <> 'P'
			 WHERE NOT u.guest AND NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_pk = c.pk AND cm.user_pk = u.pk)`,
			joinArgs},
		{"rule 2: a team lacks a team-join channel",
			`SELECT t.name FROM teams t WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = t.pk AND c.name IN ` + in + `) < ?`,
			append(append([]any{}, joinArgs...), len(joinChannels))},
		{"rule 2: a channel member is not in the channel's team",
			`SELECT DISTINCT u.username || ' in ' || t.name || '/' || c.name FROM channel_members cm
			 JOIN users u ON u.pk = cm.user_pk JOIN channels c ON c.pk = cm.channel_pk JOIN teams t ON t.pk = c.team_pk
			 WHERE NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_pk = c.team_pk AND tm.user_pk = u.pk)`,
			nil},
		{"rule 3: a group member lacks a team its group maps to",
			`SELECT DISTINCT u.username || ' not in ' || t.name FROM user_groups gm JOIN users u ON u.pk = gm.user_pk
			 JOIN group_teams gt ON gt.group_pk = gm.group_pk JOIN teams t ON t.pk = gt.team_pk
			 WHERE ` + activeLive + ` AND NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_pk = gt.team_pk AND tm.user_pk = u.pk)`,
			[]any{true}},
		{"rule 3: a group member lacks a channel its group maps to",
			`SELECT DISTINCT u.username || ' not in ' || c.name FROM user_groups gm JOIN users u ON u.pk = gm.user_pk
			 JOIN group_channels gc ON gc.group_pk = gm.group_pk JOIN channels c ON c.pk = gc.channel_pk
			 WHERE ` + activeLive + ` AND NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_pk = gc.channel_pk AND cm.user_pk = u.pk)`,
			[]any{true}},
		{"rule 3: a membership claims a group the account is not in",
			`SELECT u.username || ' via ' || tm.source FROM team_members tm JOIN users u ON u.pk = tm.user_pk
			 WHERE ` + activeLive + ` AND tm.source LIKE 'group:%' AND NOT EXISTS (
			   SELECT 1 FROM user_groups gm WHERE gm.user_pk = u.pk AND 'group:' || CAST(gm.group_pk AS TEXT) = tm.source)
			 UNION ALL
			 SELECT u.username || ' via ' || cm.source FROM channel_members cm JOIN users u ON u.pk = cm.user_pk
			 WHERE ` + activeLive + ` AND cm.source LIKE 'group:%' AND NOT EXISTS (
			   SELECT 1 FROM user_groups gm WHERE gm.user_pk = u.pk AND 'group:' || CAST(gm.group_pk AS TEXT) = cm.source)`,
			[]any{true, true}},
		{"rule 3: a membership claims a grant its group no longer makes",
			`SELECT u.username || ' in team ' || t.name || ' via ' || tm.source FROM team_members tm
			 JOIN users u ON u.pk = tm.user_pk JOIN teams t ON t.pk = tm.team_pk
			 WHERE ` + activeLive + ` AND tm.source LIKE 'group:%' AND NOT EXISTS (
			   SELECT 1 FROM group_teams gt WHERE 'group:' || CAST(gt.group_pk AS TEXT) = tm.source AND gt.team_pk = tm.team_pk)
			 AND NOT EXISTS (
			   SELECT 1 FROM group_channels gc JOIN channels c ON c.pk = gc.channel_pk
			   WHERE 'group:' || CAST(gc.group_pk AS TEXT) = tm.source AND c.team_pk = tm.team_pk)
			 UNION ALL
			 SELECT u.username || ' in channel ' || c.name || ' via ' || cm.source FROM channel_members cm
			 JOIN users u ON u.pk = cm.user_pk JOIN channels c ON c.pk = cm.channel_pk
			 WHERE ` + activeLive + ` AND cm.source LIKE 'group:%' AND NOT EXISTS (
			   SELECT 1 FROM group_channels gc WHERE 'group:' || CAST(gc.group_pk AS TEXT) = cm.source AND gc.channel_pk = cm.channel_pk)`,
			[]any{true, true}},
		{"guests: users.guest disagrees with the account's groups (a guest group and no member group)",
			`SELECT u.username FROM users u WHERE ` + activeLive + ` AND u.guest <> (
			   EXISTS (SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk WHERE gm.user_pk = u.pk AND g.kind = 'guest')
			   AND NOT EXISTS (SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk WHERE gm.user_pk = u.pk AND g.kind = 'member'))`,
			[]any{true}},
		{"guests: a guest holds a membership no guest group's channel grants",
			`SELECT u.username || ' in team ' || t.name || ' via ' || tm.source FROM team_members tm
			 JOIN users u ON u.pk = tm.user_pk JOIN teams t ON t.pk = tm.team_pk
			 WHERE ` + activeLive + ` AND u.guest AND NOT EXISTS (
			   SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk JOIN group_channels gc ON gc.group_pk = g.pk
			   JOIN channels c ON c.pk = gc.channel_pk
			   WHERE gm.user_pk = u.pk AND g.kind = 'guest' AND c.team_pk = tm.team_pk AND 'group:' || CAST(g.pk AS TEXT) = tm.source)
			 UNION ALL
			 SELECT u.username || ' in channel ' || c.name || ' via ' || cm.source FROM channel_members cm
			 JOIN users u ON u.pk = cm.user_pk JOIN channels c ON c.pk = cm.channel_pk
			 WHERE ` + activeLive + ` AND u.guest AND NOT EXISTS (
			   SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk JOIN group_channels gc ON gc.group_pk = g.pk
			   WHERE gm.user_pk = u.pk AND g.kind = 'guest' AND gc.channel_pk = cm.channel_pk AND 'group:' || CAST(g.pk AS TEXT) = cm.source)`,
			[]any{true, true}},
		{"roles: an admin grant without its membership",
			`SELECT u.username || ' admin of team ' || t.name || ' via ' || ta.source FROM team_admins ta
			 JOIN users u ON u.pk = ta.user_pk JOIN teams t ON t.pk = ta.team_pk
			 WHERE NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = ta.user_pk AND tm.team_pk = ta.team_pk)
			 UNION ALL
			 SELECT u.username || ' admin of channel ' || c.name || ' via ' || ca.source FROM channel_admins ca
			 JOIN users u ON u.pk = ca.user_pk JOIN channels c ON c.pk = ca.channel_pk
			 WHERE NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_pk = ca.user_pk AND cm.channel_pk = ca.channel_pk)`,
			nil},
		{"roles: a grant claims a group that does not grant it to the account",
			`SELECT u.username || ' system admin via ' || sa.source FROM system_admins sa JOIN users u ON u.pk = sa.user_pk
			 WHERE ` + activeLive + ` AND sa.source LIKE 'group:%' AND NOT EXISTS (
			   SELECT 1 FROM user_groups gm JOIN groups g ON g.pk = gm.group_pk
			   WHERE gm.user_pk = u.pk AND g.system_admin AND 'group:' || CAST(g.pk AS TEXT) = sa.source)
			 UNION ALL
			 SELECT u.username || ' admin of team ' || t.name || ' via ' || ta.source FROM team_admins ta
			 JOIN users u ON u.pk = ta.user_pk JOIN teams t ON t.pk = ta.team_pk
			 WHERE ` + activeLive + ` AND ta.source LIKE 'group:%' AND NOT EXISTS (
			   SELECT 1 FROM user_groups gm JOIN group_team_admins ga ON ga.group_pk = gm.group_pk
			   WHERE gm.user_pk = u.pk AND ga.team_pk = ta.team_pk AND 'group:' || CAST(gm.group_pk AS TEXT) = ta.source)
			 UNION ALL
			 SELECT u.username || ' admin of channel ' || c.name || ' via ' || ca.source FROM channel_admins ca
			 JOIN users u ON u.pk = ca.user_pk JOIN channels c ON c.pk = ca.channel_pk
			 WHERE ` + activeLive + ` AND ca.source LIKE 'group:%' AND NOT EXISTS (
			   SELECT 1 FROM user_groups gm JOIN group_channel_admins ga ON ga.group_pk = gm.group_pk
			   WHERE gm.user_pk = u.pk AND ga.channel_pk = ca.channel_pk AND 'group:' || CAST(gm.group_pk AS TEXT) = ca.source)`,
			[]any{true, true, true}},
		{"roles: a group member lacks a role its group grants",
			`SELECT u.username || ' not system admin via group ' || g.display_name FROM user_groups gm
			 JOIN users u ON u.pk = gm.user_pk JOIN groups g ON g.pk = gm.group_pk
			 WHERE ` + activeLive + ` AND g.system_admin AND NOT EXISTS (
			   SELECT 1 FROM system_admins sa WHERE sa.user_pk = u.pk AND sa.source = 'group:' || CAST(g.pk AS TEXT))
			 UNION ALL
			 SELECT u.username || ' not admin of team ' || t.name FROM user_groups gm JOIN users u ON u.pk = gm.user_pk
			 JOIN group_team_admins ga ON ga.group_pk = gm.group_pk JOIN teams t ON t.pk = ga.team_pk
			 WHERE ` + activeLive + ` AND NOT EXISTS (
			   SELECT 1 FROM team_admins ta WHERE ta.user_pk = u.pk AND ta.team_pk = ga.team_pk AND ta.source = 'group:' || CAST(gm.group_pk AS TEXT))
			 UNION ALL
			 SELECT u.username || ' not admin of channel ' || c.name FROM user_groups gm JOIN users u ON u.pk = gm.user_pk
			 JOIN group_channel_admins ga ON ga.group_pk = gm.group_pk JOIN channels c ON c.pk = ga.channel_pk
			 WHERE ` + activeLive + ` AND NOT EXISTS (
			   SELECT 1 FROM channel_admins ca WHERE ca.user_pk = u.pk AND ca.channel_pk = ga.channel_pk AND ca.source = 'group:' || CAST(gm.group_pk AS TEXT))`,
			[]any{true, true, true}},
		{"nesting: a group lacks its own row of group_ancestors",
			`SELECT g.display_name FROM groups g WHERE NOT EXISTS (
			   SELECT 1 FROM group_ancestors a WHERE a.group_pk = g.pk AND a.ancestor_pk = g.pk)`,
			nil},
		{"nesting: group_groups holds a cycle",
			`SELECT p.display_name || ' contains ' || c.display_name || ', which contains it' FROM group_groups e
			 JOIN groups p ON p.pk = e.group_pk JOIN groups c ON c.pk = e.member_pk
			 WHERE e.group_pk = e.member_pk OR EXISTS (
			   SELECT 1 FROM group_ancestors a WHERE a.group_pk = e.group_pk AND a.ancestor_pk = e.member_pk)`,
			nil},
		{"nesting: group_ancestors differs from the closure of group_groups",
			`WITH RECURSIVE closure (group_pk, ancestor_pk) AS (
			   SELECT pk, pk FROM groups
			   UNION SELECT c.group_pk, e.group_pk FROM closure c JOIN group_groups e ON e.member_pk = c.ancestor_pk)
			 SELECT 'missing ' || CAST(c.group_pk AS TEXT) || ' in ' || CAST(c.ancestor_pk AS TEXT) FROM closure c
			 WHERE NOT EXISTS (SELECT 1 FROM group_ancestors a WHERE a.group_pk = c.group_pk AND a.ancestor_pk = c.ancestor_pk)
			 UNION ALL
			 SELECT 'stale ' || CAST(a.group_pk AS TEXT) || ' in ' || CAST(a.ancestor_pk AS TEXT) FROM group_ancestors a
			 WHERE NOT EXISTS (SELECT 1 FROM closure c WHERE c.group_pk = a.group_pk AND c.ancestor_pk = a.ancestor_pk)`,
			nil},
		{"nesting: a group has more than MaxGroupAncestors containing groups",
			`SELECT CAST(group_pk AS TEXT) FROM group_ancestors GROUP BY group_pk HAVING COUNT(*) - 1 > ?`,
			[]any{store.MaxGroupAncestors}},
		{"rule 1: an account is in the default team by default while it has another team",
			`SELECT u.username FROM team_members tm JOIN users u ON u.pk = tm.user_pk
			 WHERE ` + activeLive + ` AND tm.source = 'default' AND EXISTS (
			   SELECT 1 FROM team_members o WHERE o.user_pk = u.pk AND o.source <> 'default')`,
			[]any{true}},
	}
	var out []string
	for _, c := range checks {
		var rows []string
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(c.query), c.args...); err != nil {
			return nil, fmt.Errorf("check %q: %w", c.rule, err)
		}
		for _, r := range rows {
			out = append(out, c.rule+": "+r)
		}
	}
	return out, nil
}
