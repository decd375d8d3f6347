package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/townsquare/townsquare/store"
)

// The admin read side: what teams, channels and accounts look like from the chat side,
// and why each membership exists. Everything here only reads; each call costs a fixed,
// small number of set-based queries, and member lists are paged in SQL so that a 50k
// member team is never loaded whole.

// byName returns an ORDER BY expression comparing expr byte by byte, whatever collation
// the database was created with.
func (s *Store) byName(expr string) string { return expr + s.d.binaryCollation }

// ListTeams returns every team, ordered by name.
func (s *Store) ListTeams(ctx context.Context) (_ []store.TeamSummary, err error) {
	defer s.classify(&err)
	var rows []struct {
		Name         string `db:"name"`
		DisplayName  string `db:"display_name"`
		Type         string `db:"type"`
		MemberCount  int    `db:"member_count"`
		ChannelCount int    `db:"channel_count"`
	}
	err = s.db.SelectContext(ctx, &rows, `SELECT t.name, t.display_name, t.type,
		(SELECT COUNT(DISTINCT tm.user_pk) FROM team_members tm WHERE tm.team_pk = t.pk) AS member_count,
		(SELECT COUNT(*) FROM channels c WHERE c.team_pk = t.pk) AS channel_count
		FROM teams t ORDER BY `+s.byName("t.name"))
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	out := make([]store.TeamSummary, len(rows))
	for i, r := range rows {
		out[i] = store.TeamSummary{Name: r.Name, DisplayName: r.DisplayName, Type: r.Type, MemberCount: r.MemberCount, ChannelCount: r.ChannelCount}
	}
	return out, nil
}

func (s *Store) teamPK(ctx context.Context, team string) (int64, error) {
	if !store.PossibleName(team) {
		return 0, fmt.Errorf("team: %w", store.ErrNotFound)
	}
	var pk int64
	if err := s.db.GetContext(ctx, &pk, s.db.Rebind(`SELECT pk FROM teams WHERE name = ?`), team); err != nil {
		return 0, fmt.Errorf("team %q: %w", team, mapErr(err))
	}
	return pk, nil
}

// TeamChannels returns the channels of a team, ordered by name; ErrNotFound when there
// is no such team.
func (s *Store) TeamChannels(ctx context.Context, team string) (_ []store.ChannelSummary, err error) {
	defer s.classify(&err)
	teamPK, err := s.teamPK(ctx, team)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Name        string `db:"name"`
		DisplayName string `db:"display_name"`
		Type        string `db:"type"`
		MemberCount int    `db:"member_count"`
	}
	err = s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT c.name, c.display_name, c.type,
		(SELECT COUNT(DISTINCT cm.user_pk) FROM channel_members cm WHERE cm.channel_pk = c.pk) AS member_count
		FROM channels c WHERE c.team_pk = ? ORDER BY `+s.byName("c.name")), teamPK)
	if err != nil {
		return nil, fmt.Errorf("channels of team %q: %w", team, err)
	}
	out := make([]store.ChannelSummary, len(rows))
	for i, r := range rows {
		out[i] = store.ChannelSummary{Name: r.Name, DisplayName: r.DisplayName, Type: r.Type, MemberCount: r.MemberCount}
	}
	return out, nil
}

// TeamMembers returns one page of a team's members, ordered by username, with the
// sources of each membership; ErrNotFound when there is no such team. limit is capped
// to MaxMemberPage; limit 0 asks only for the total.
func (s *Store) TeamMembers(ctx context.Context, team string, limit, offset int) (_ store.MemberPage, err error) {
	defer s.classify(&err)
	teamPK, err := s.teamPK(ctx, team)
	if err != nil {
		return store.MemberPage{}, err
	}
	page, err := s.memberPage(ctx, "team_members", "team_pk", teamPK, limit, offset)
	if err != nil {
		return store.MemberPage{}, fmt.Errorf("members of team %q: %w", team, err)
	}
	return page, nil
}

// ChannelMembers is TeamMembers for a channel of a team; ErrNotFound when there is no
// such team or channel.
func (s *Store) ChannelMembers(ctx context.Context, team, channel string, limit, offset int) (_ store.MemberPage, err error) {
	defer s.classify(&err)
	if !store.PossibleName(team) || !store.PossibleName(channel) {
		return store.MemberPage{}, fmt.Errorf("channel: %w", store.ErrNotFound)
	}
	var pk int64
	err = s.db.GetContext(ctx, &pk, s.db.Rebind(`SELECT c.pk FROM channels c JOIN teams t ON t.pk = c.team_pk
		WHERE t.name = ? AND c.name = ?`), team, channel)
	if err != nil {
		return store.MemberPage{}, fmt.Errorf("channel %q of team %q: %w", channel, team, mapErr(err))
	}
	page, err := s.memberPage(ctx, "channel_members", "channel_pk", pk, limit, offset)
	if err != nil {
		return store.MemberPage{}, fmt.Errorf("members of channel %q of team %q: %w", channel, team, err)
	}
	return page, nil
}

// memberPage pages the members of one team or channel: table and col are constants of
// this file (team_members/team_pk or channel_members/channel_pk), never input.
func (s *Store) memberPage(ctx context.Context, table, col string, pk int64, limit, offset int) (store.MemberPage, error) {
	limit = min(max(limit, 0), store.MaxMemberPage)
	offset = max(offset, 0)
	page := store.MemberPage{Members: []store.MemberSummary{}}
	if err := s.db.GetContext(ctx, &page.Total, s.db.Rebind(`SELECT COUNT(DISTINCT user_pk) FROM `+table+` WHERE `+col+` = ?`), pk); err != nil {
		return page, fmt.Errorf("count: %w", err)
	}
	if limit == 0 || offset >= page.Total {
		return page, nil
	}
	// The page is chosen in a subquery, and joined back to its membership rows: one
	// query, one row per (member of the page, source).
	var rows []struct {
		PK            int64         `db:"pk"`
		ID            string        `db:"id"`
		Username      string        `db:"username"`
		Active        bool          `db:"active"`
		Status        string        `db:"status"`
		SCIMDeletedAt sql.NullInt64 `db:"scim_deleted_at"`
		Guest         bool          `db:"guest"`
		Admin         bool          `db:"admin"`
		Source        string        `db:"source"`
	}
	admins, target := "team_admins", "team_pk"
	if table == "channel_members" {
		admins, target = "channel_admins", "channel_pk"
	}
	q := `SELECT p.pk, p.id, p.username, p.active, p.status, p.scim_deleted_at, p.guest, p.admin, m.source
		FROM (SELECT u.pk, u.id, COALESCE(u.username, '') AS username, u.active, u.status, u.scim_deleted_at, u.guest,
			EXISTS (SELECT 1 FROM ` + admins + ` a WHERE a.user_pk = u.pk AND a.` + target + ` = CAST(? AS BIGINT)) AS admin
			FROM users u WHERE u.pk IN (SELECT x.user_pk FROM ` + table + ` x WHERE x.` + col + ` = ?)
			ORDER BY ` + s.byName("COALESCE(u.username, '')") + `, u.pk LIMIT ? OFFSET ?) p
		JOIN ` + table + ` m ON m.user_pk = p.pk AND m.` + col + ` = ?
		ORDER BY ` + s.byName("p.username") + `, p.pk`
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), pk, pk, limit, offset, pk); err != nil {
		return page, fmt.Errorf("read page: %w", err)
	}
	var raw [][]string
	for i, r := range rows {
		if i == 0 || r.PK != rows[i-1].PK {
			page.Members = append(page.Members, store.MemberSummary{ID: r.ID, Username: r.Username, Active: r.Active,
				Status: r.Status, SCIMDeleted: r.SCIMDeletedAt.Valid, Guest: r.Guest, Admin: r.Admin && !r.Guest})
			raw = append(raw, nil)
		}
		raw[len(raw)-1] = append(raw[len(raw)-1], r.Source)
	}
	sources, err := s.resolveSources(ctx, raw)
	if err != nil {
		return page, err
	}
	for i := range page.Members {
		page.Members[i].Sources = sources[i]
	}
	return page, nil
}

// AccountDetails returns the account of a SCIM user id, including one whose SCIM
// resource was deleted (SCIMDeleted), with its memberships and groups; ErrNotFound when
// no account has that id.
func (s *Store) AccountDetails(ctx context.Context, id string) (_ store.AccountDetails, err error) {
	defer s.classify(&err)
	if !store.PossibleID(id) {
		return store.AccountDetails{}, fmt.Errorf("account: %w", store.ErrNotFound)
	}
	var u struct {
		PK            int64          `db:"pk"`
		ID            string         `db:"id"`
		UserName      string         `db:"user_name"`
		Username      sql.NullString `db:"username"`
		Email         sql.NullString `db:"email"`
		Active        bool           `db:"active"`
		Status        string         `db:"status"`
		DeleteAt      int64          `db:"delete_at"`
		SCIMDeletedAt sql.NullInt64  `db:"scim_deleted_at"`
		FirstName     sql.NullString `db:"given_name"`
		LastName      sql.NullString `db:"family_name"`
		Nickname      sql.NullString `db:"nick_name"`
		Position      sql.NullString `db:"title"`
		AuthService   sql.NullString `db:"auth_service"`
		AuthData      sql.NullString `db:"external_id"`
		Origin        string         `db:"origin"`
		Guest         bool           `db:"guest"`
	}
	if err := s.db.GetContext(ctx, &u, s.db.Rebind(`SELECT pk, id, user_name, username, email, active, status, delete_at, scim_deleted_at,
		given_name, family_name, nick_name, title, auth_service, external_id, origin, guest
		FROM users WHERE id = ?`), id); err != nil {
		return store.AccountDetails{}, fmt.Errorf("account %q: %w", id, mapErr(err))
	}
	d := store.AccountDetails{ID: u.ID, UserName: u.UserName, Username: u.Username.String, Email: u.Email.String,
		Active: u.Active, Status: u.Status, DeleteAt: u.DeleteAt, SCIMDeleted: u.SCIMDeletedAt.Valid,
		FirstName: u.FirstName.String, LastName: u.LastName.String, Nickname: u.Nickname.String, Position: u.Position.String,
		AuthService: u.AuthService.String, AuthData: u.AuthData.String, Origin: u.Origin, Guest: u.Guest,
		Teams: []store.TeamMembership{}, Channels: []store.ChannelMembership{}, Groups: []store.GroupRef{}}
	fail := func(what string, err error) (store.AccountDetails, error) {
		return store.AccountDetails{}, fmt.Errorf("account %q: %s: %w", id, what, err)
	}

	var teams []struct {
		Team   string `db:"team"`
		Source string `db:"source"`
	}
	if err := s.db.SelectContext(ctx, &teams, s.db.Rebind(`SELECT t.name AS team, tm.source FROM team_members tm
		JOIN teams t ON t.pk = tm.team_pk WHERE tm.user_pk = ? ORDER BY `+s.byName("t.name")), u.PK); err != nil {
		return fail("read teams", err)
	}
	var channels []struct {
		Team    string `db:"team"`
		Channel string `db:"channel"`
		Source  string `db:"source"`
	}
	if err := s.db.SelectContext(ctx, &channels, s.db.Rebind(`SELECT t.name AS team, c.name AS channel, cm.source FROM channel_members cm
		JOIN channels c ON c.pk = cm.channel_pk JOIN teams t ON t.pk = c.team_pk
		WHERE cm.user_pk = ? ORDER BY `+s.byName("t.name")+`, `+s.byName("c.name")), u.PK); err != nil {
		return fail("read channels", err)
	}
	// Role grants, one row per (kind, team, channel, source): kind 0 system admin, 1 a
	// team's admin, 2 a channel's.
	var grants []struct {
		Kind    int    `db:"kind"`
		Team    string `db:"team"`
		Channel string `db:"channel"`
		Source  string `db:"source"`
	}
	if err := s.db.SelectContext(ctx, &grants, s.db.Rebind(`SELECT 0 AS kind, '' AS team, '' AS channel, source FROM system_admins WHERE user_pk = ?
		UNION ALL SELECT 1, t.name, '', ta.source FROM team_admins ta JOIN teams t ON t.pk = ta.team_pk WHERE ta.user_pk = ?
		UNION ALL SELECT 2, t.name, c.name, ca.source FROM channel_admins ca JOIN channels c ON c.pk = ca.channel_pk
		  JOIN teams t ON t.pk = c.team_pk WHERE ca.user_pk = ?`), u.PK, u.PK, u.PK); err != nil {
		return fail("read roles", err)
	}
	// Direct and indirect groups (nested groups: user_groups), each once; indirect only
	// when no path to it is a direct membership.
	var groups []struct {
		ID          string `db:"id"`
		DisplayName string `db:"display_name"`
		Indirect    int    `db:"indirect"`
	}
	if err := s.db.SelectContext(ctx, &groups, s.db.Rebind(`SELECT g.id, g.display_name, x.indirect
		FROM (SELECT group_pk, MIN(CASE WHEN direct_pk = group_pk THEN 0 ELSE 1 END) AS indirect FROM user_groups WHERE user_pk = ? GROUP BY group_pk) x
		JOIN groups g ON g.pk = x.group_pk ORDER BY `+s.byName("g.display_name")+`, g.pk`), u.PK); err != nil {
		return fail("read groups", err)
	}
	for _, g := range groups {
		d.Groups = append(d.Groups, store.GroupRef{ID: g.ID, DisplayName: g.DisplayName, Indirect: g.Indirect != 0})
	}

	// Membership rows arrive ordered by team (and channel); collect each one's raw sources,
	// then resolve the group sources of all of them at once.
	var raw [][]string
	for i, t := range teams {
		if i == 0 || t.Team != teams[i-1].Team {
			d.Teams = append(d.Teams, store.TeamMembership{Team: t.Team})
			raw = append(raw, nil)
		}
		raw[len(raw)-1] = append(raw[len(raw)-1], t.Source)
	}
	for i, c := range channels {
		if i == 0 || c.Team != channels[i-1].Team || c.Channel != channels[i-1].Channel {
			d.Channels = append(d.Channels, store.ChannelMembership{Team: c.Team, Channel: c.Channel})
			raw = append(raw, nil)
		}
		raw[len(raw)-1] = append(raw[len(raw)-1], c.Source)
	}
	// The grants' sources follow, per role: the system admin role, then each team's and
	// each channel's admin role in the order of d.Teams and d.Channels.
	base := len(raw)
	teamAt := make(map[string]int, len(d.Teams))
	for i, t := range d.Teams {
		teamAt[t.Team] = i
	}
	channelAt := make(map[store.ChannelRef]int, len(d.Channels))
	for i, c := range d.Channels {
		channelAt[store.ChannelRef{Team: c.Team, Channel: c.Channel}] = i
	}
	raw = append(raw, make([][]string, 1+len(d.Teams)+len(d.Channels))...)
	for _, g := range grants {
		at := -1
		switch g.Kind {
		case 0:
			at = base
		case 1:
			if i, ok := teamAt[g.Team]; ok {
				at = base + 1 + i
			}
		case 2:
			if i, ok := channelAt[store.ChannelRef{Team: g.Team, Channel: g.Channel}]; ok {
				at = base + 1 + len(d.Teams) + i
			}
		}
		if at >= 0 { // a grant without its membership is CheckInvariants' to report
			raw[at] = append(raw[at], g.Source)
		}
	}
	sources, err := s.resolveSources(ctx, raw)
	if err != nil {
		return fail("read sources", err)
	}
	for i := range d.Teams {
		d.Teams[i].Sources = sources[i]
	}
	for i := range d.Channels {
		d.Channels[i].Sources = sources[len(d.Teams)+i]
	}
	if src := sources[base]; len(src) > 0 {
		d.SystemAdminSources, d.SystemAdmin = src, !d.Guest
	}
	for i := range d.Teams {
		if src := sources[base+1+i]; len(src) > 0 {
			d.Teams[i].AdminSources, d.Teams[i].Admin = src, !d.Guest
		}
	}
	for i := range d.Channels {
		if src := sources[base+1+len(d.Teams)+i]; len(src) > 0 {
			d.Channels[i].AdminSources, d.Channels[i].Admin = src, !d.Guest
		}
	}
	return d, nil
}

// resolveSources parses stored source values, looks up all the groups they name in one
// query per 500 groups, and returns each list in display order: groups (by displayName),
// team-join, default, import, manual, then unknown values.
func (s *Store) resolveSources(ctx context.Context, raw [][]string) ([][]store.MembershipSource, error) {
	return s.resolveSourcesIn(ctx, s.db, raw)
}

// selecter is a pool or a transaction.
type selecter interface {
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
	Rebind(query string) string
}

// resolveSourcesIn is resolveSources reading through q (a transaction's writes see
// their own groups).
func (s *Store) resolveSourcesIn(ctx context.Context, q selecter, raw [][]string) ([][]store.MembershipSource, error) {
	out := make([][]store.MembershipSource, len(raw))
	wanted := map[int64]bool{}
	for i, list := range raw {
		out[i] = make([]store.MembershipSource, 0, len(list))
		for _, src := range list {
			m := parseSource(src)
			if m.Kind == store.SourceGroup {
				wanted[m.GroupPK] = true
			}
			out[i] = append(out[i], m)
		}
	}
	groups := make(map[int64]*store.GroupRef, len(wanted))
	pks := make([]int64, 0, len(wanted))
	for pk := range wanted {
		pks = append(pks, pk)
	}
	sort.Slice(pks, func(i, j int) bool { return pks[i] < pks[j] })
	for _, chunk := range chunkInts(pks, 500) {
		args := make([]any, len(chunk))
		for i, pk := range chunk {
			args[i] = pk
		}
		var rows []struct {
			PK          int64  `db:"pk"`
			ID          string `db:"id"`
			DisplayName string `db:"display_name"`
		}
		if err := q.SelectContext(ctx, &rows, q.Rebind(`SELECT pk, id, display_name FROM groups WHERE pk IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`), args...); err != nil {
			return nil, fmt.Errorf("read source groups: %w", err)
		}
		for _, r := range rows {
			groups[r.PK] = &store.GroupRef{ID: r.ID, DisplayName: r.DisplayName}
		}
	}
	rank := sourceRank
	for _, list := range out {
		for i := range list {
			if list[i].Kind == store.SourceGroup {
				if g := groups[list[i].GroupPK]; g != nil {
					gc := *g
					list[i].Group = &gc
				}
			}
		}
		sort.SliceStable(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if rank[a.Kind] != rank[b.Kind] {
				return rank[a.Kind] < rank[b.Kind]
			}
			if a.Kind == store.SourceGroup {
				// Existing groups by displayName, deleted ones after them; then by key.
				if (a.Group == nil) != (b.Group == nil) {
					return a.Group != nil
				}
				if a.Group != nil && a.Group.DisplayName != b.Group.DisplayName {
					return a.Group.DisplayName < b.Group.DisplayName
				}
				return a.GroupPK < b.GroupPK
			}
			return a.Raw < b.Raw
		})
	}
	return out, nil
}

func parseSource(src string) store.MembershipSource {
	switch src {
	case sourceDefault:
		return store.MembershipSource{Kind: store.SourceDefault, Raw: src}
	case sourceTeam:
		return store.MembershipSource{Kind: store.SourceTeamJoin, Raw: src}
	case sourceImport:
		return store.MembershipSource{Kind: store.SourceImport, Raw: src}
	case sourceManual:
		return store.MembershipSource{Kind: store.SourceManual, Raw: src}
	}
	if rest, ok := strings.CutPrefix(src, groupSourcePrefix); ok {
		if pk, err := strconv.ParseInt(rest, 10, 64); err == nil {
			return store.MembershipSource{Kind: store.SourceGroup, GroupPK: pk, Raw: src}
		}
	}
	return store.MembershipSource{Kind: store.SourceOther, Raw: src}
}
