package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// The provisioning rules (see README "Groups, teams and channels"):
//
//  1. Every active account is in at least one team: with no team from its groups (or an
//     import) it is in the default team.
//  2. Every team member is in that team's town-square and the configured team-join
//     channels; a channel member is always a member of the channel's team.
//  3. Group membership grants the teams and channels the group maps to; a membership
//     ends only when no source grants it any more.
//
// Memberships are stored one row per source ('default', 'group:<pk>', 'team', 'import',
// 'manual'), and reconcile recomputes the rows of a set of accounts from their groups, in the
// caller's transaction and under the accounts' row locks. Deactivated accounts keep their rows
// untouched (Mattermost keeps memberships of deactivated users) and are reconciled when
// they are reactivated.

const (
	sourceDefault     = "default"
	sourceTeam        = "team"
	sourceImport      = "import"
	sourceManual      = "manual" // added by hand (store.Admin); reconcile never removes it
	groupSourcePrefix = "group:"
	// sourceDelete is the journal's source of what a SCIM DELETE changes.
	sourceDelete = "delete"
)

// rulesFingerprint identifies a configuration, so that a change is noticed at start-up.
func rulesFingerprint(c rules.Config) string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func groupSource(groupPK int64) string { return groupSourcePrefix + strconv.FormatInt(groupPK, 10) }

// SetRules installs the mapping configuration. Call it before serving; the default is
// rules.Default().
func (s *Store) SetRules(c rules.Config) {
	s.rules = c
	s.join.Store(nil) // keyed by the rules anyway; this only frees it
}

// Rules returns the mapping configuration in force.
func (s *Store) Rules() rules.Config { return s.rules }

// ensureTeam returns the key of the named team, creating it with its town-square,
// off-topic and team-join channels if it does not exist: as the mapping declares it
// (Config.Teams), else open with its name as its display name.
func (s *Store) ensureTeam(ctx context.Context, tx *sqlx.Tx, name string) (int64, error) {
	return s.ensureRuleTeam(ctx, tx, name, "")
}

// ensureRuleTeam is ensureTeam for a team a rule names: an undeclared team it creates
// takes displayName when not "" (Target.TeamDisplayName, for the team made from an
// unmapped group).
func (s *Store) ensureRuleTeam(ctx context.Context, tx *sqlx.Tx, name, displayName string) (int64, error) {
	display, typ := given(displayName, name), store.TeamOpen
	if d, ok := s.rules.TeamDecl(name); ok {
		display = given(d.DisplayName, name)
		if d.Private {
			typ = store.TeamInviteOnly
		}
	}
	pk, _, err := s.ensureTeamCreated(ctx, tx, name, display, typ)
	return pk, err
}

// ensureRuleChannel is ensureChannel for a channel a rule names: one it creates is as
// the mapping declares it (Config.Channels), else public.
func (s *Store) ensureRuleChannel(ctx context.Context, tx *sqlx.Tx, teamPK int64, ref rules.ChannelRef) (int64, error) {
	d, ok := s.rules.ChannelDecl(ref.Team, ref.Channel)
	if !ok {
		return s.ensureChannel(ctx, tx, teamPK, ref.Channel)
	}
	typ := store.ChannelOpen
	if d.Private {
		typ = store.ChannelPrivate
	}
	pk, _, err := s.ensureChannelAs(ctx, tx, teamPK, ref.Channel, given(d.DisplayName, channelDisplayName(ref.Channel)), typ)
	return pk, err
}

// ensureTeamCreated is ensureTeam for a team of that display name and type (TeamOpen or
// TeamInviteOnly) when it creates one, reporting whether it did. Concurrent creators meet
// on the unique name: one inserts, the others find it.
func (s *Store) ensureTeamCreated(ctx context.Context, tx *sqlx.Tx, name, displayName, typ string) (_ int64, created bool, _ error) {
	var pk int64
	err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM teams WHERE name = ?`), name)
	if err == nil {
		return pk, false, nil
	}
	if mapErr(err) != store.ErrNotFound {
		return 0, false, fmt.Errorf("find team %q: %w", name, err)
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO teams (name, display_name, type, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`),
		name, displayName, typ, micros(now()))
	if err != nil {
		return 0, false, fmt.Errorf("create team %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, false, err
	} else if n == 1 {
		created = true
		if err := s.appendEvents(ctx, tx, []store.Event{{Kind: store.EventTeamCreated, Team: name}}); err != nil {
			return 0, false, err
		}
	}
	if err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM teams WHERE name = ?`), name); err != nil {
		return 0, false, fmt.Errorf("find team %q: %w", name, err)
	}
	for _, ch := range append([]string{rules.TownSquare, rules.OffTopic}, s.rules.TeamJoinChannels()...) {
		if _, err := s.ensureChannel(ctx, tx, pk, ch); err != nil {
			return 0, false, err
		}
	}
	return pk, created, nil
}

// ensureChannel returns the key of a channel of a team, creating it (public) if missing.
func (s *Store) ensureChannel(ctx context.Context, tx *sqlx.Tx, teamPK int64, name string) (int64, error) {
	pk, _, err := s.ensureChannelCreated(ctx, tx, teamPK, name)
	return pk, err
}

// ensureChannelCreated is ensureChannel, reporting whether it created the channel.
func (s *Store) ensureChannelCreated(ctx context.Context, tx *sqlx.Tx, teamPK int64, name string) (_ int64, created bool, _ error) {
	return s.ensureChannelAs(ctx, tx, teamPK, name, channelDisplayName(name), store.ChannelOpen)
}

// ensureChannelAs is ensureChannelCreated for a channel of that display name and type
// (ChannelOpen or ChannelPrivate) when it creates one.
func (s *Store) ensureChannelAs(ctx context.Context, tx *sqlx.Tx, teamPK int64, name, displayName, typ string) (_ int64, created bool, _ error) {
	var pk int64
	err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM channels WHERE team_pk = ? AND name = ?`), teamPK, name)
	if err == nil {
		return pk, false, nil
	}
	if mapErr(err) != store.ErrNotFound {
		return 0, false, fmt.Errorf("find channel %q: %w", name, err)
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO channels (team_pk, name, display_name, type, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (team_pk, name) DO NOTHING`),
		teamPK, name, displayName, typ, micros(now()))
	if err != nil {
		return 0, false, fmt.Errorf("create channel %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, false, err
	} else if n == 1 {
		created = true
		var team string
		if err := tx.GetContext(ctx, &team, tx.Rebind(`SELECT name FROM teams WHERE pk = ?`), teamPK); err != nil {
			return 0, false, fmt.Errorf("find team %d: %w", teamPK, err)
		}
		if err := s.appendEvents(ctx, tx, []store.Event{{Kind: store.EventChannelCreated, Team: team, Channel: name}}); err != nil {
			return 0, false, err
		}
	}
	if err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM channels WHERE team_pk = ? AND name = ?`), teamPK, name); err != nil {
		return 0, false, fmt.Errorf("find channel %q: %w", name, err)
	}
	return pk, created, nil
}

// channelDisplayName is what Mattermost shows for the two channels every team has.
func channelDisplayName(name string) string {
	switch name {
	case rules.TownSquare:
		return "Town Square"
	case rules.OffTopic:
		return "Off-Topic"
	}
	return name
}

// setGroupTargets resolves a group's mapping from the rules and stores it: its teams and
// channels (creating those that do not exist, as declared), its kind (rules.KindMember,
// KindGuest, KindNone), the system admin flag and the teams and channels whose admin
// role it grants. It reports whether any of these changed, so that a rename to the same
// name (Okta sends one with every membership change) costs no reconcile.
func (s *Store) setGroupTargets(ctx context.Context, tx *sqlx.Tx, groupPK int64, displayName, externalID string) (bool, error) {
	t := s.rules.Resolve(displayName, externalID)
	teams := map[int64]bool{}
	teamPKs := map[string]int64{}
	for _, name := range t.Teams {
		pk, err := s.ensureRuleTeam(ctx, tx, name, t.TeamDisplayName)
		if err != nil {
			return false, err
		}
		teams[pk], teamPKs[name] = true, pk
	}
	channels := map[int64]bool{}
	channelPKs := map[rules.ChannelRef]int64{}
	for _, ref := range t.Channels {
		teamPK, ok := teamPKs[ref.Team]
		if !ok {
			var err error
			if teamPK, err = s.ensureTeam(ctx, tx, ref.Team); err != nil {
				return false, err
			}
		}
		pk, err := s.ensureRuleChannel(ctx, tx, teamPK, ref)
		if err != nil {
			return false, err
		}
		channels[pk], channelPKs[ref] = true, pk
	}
	// Target.Teams and Channels hold every team and channel of the admin grants.
	teamAdmins := map[int64]bool{}
	for _, name := range t.TeamAdmin {
		teamAdmins[teamPKs[name]] = true
	}
	channelAdmins := map[int64]bool{}
	for _, ref := range t.ChannelAdmin {
		channelAdmins[channelPKs[ref]] = true
	}
	flags := groupFlags(t.Kind(), t.SystemAdmin)

	// What is stored, in one statement: sets 0–3 and the flags (set 4).
	var cur []struct {
		Set int   `db:"k"`
		PK  int64 `db:"pk"`
	}
	if err := tx.SelectContext(ctx, &cur, tx.Rebind(`SELECT 0 AS k, team_pk AS pk FROM group_teams WHERE group_pk = ?
		UNION ALL SELECT 1, channel_pk FROM group_channels WHERE group_pk = ?
		UNION ALL SELECT 2, team_pk FROM group_team_admins WHERE group_pk = ?
		UNION ALL SELECT 3, channel_pk FROM group_channel_admins WHERE group_pk = ?
		UNION ALL SELECT 4, `+groupFlagsSQL+` FROM groups WHERE pk = ?`), groupPK, groupPK, groupPK, groupPK, groupPK); err != nil {
		return false, fmt.Errorf("read the group's mapping: %w", err)
	}
	var sets [4][]int64
	curFlags := int64(-1)
	for _, r := range cur {
		if r.Set == 4 {
			curFlags = r.PK
		} else {
			sets[r.Set] = append(sets[r.Set], r.PK)
		}
	}
	changed := false
	for i, tbl := range []struct {
		table, col string
		want       map[int64]bool
	}{
		{"group_teams", "team_pk", teams},
		{"group_channels", "channel_pk", channels},
		{"group_team_admins", "team_pk", teamAdmins},
		{"group_channel_admins", "channel_pk", channelAdmins},
	} {
		if sameSet(sets[i], tbl.want) {
			continue
		}
		changed = true
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+tbl.table+` WHERE group_pk = ?`), groupPK); err != nil {
			return false, err
		}
		for pk := range tbl.want {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO `+tbl.table+` (group_pk, `+tbl.col+`) VALUES (?, ?)`), groupPK, pk); err != nil {
				return false, fmt.Errorf("map group (%s): %w", tbl.table, err)
			}
		}
	}
	if curFlags != flags {
		changed = true
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE groups SET kind = ?, system_admin = ? WHERE pk = ?`),
			t.Kind(), t.SystemAdmin, groupPK); err != nil {
			return false, fmt.Errorf("store the group's kind: %w", err)
		}
	}
	return changed, nil
}

// groupFlagsSQL encodes a groups row's kind and system_admin as groupFlags does.
const groupFlagsSQL = `(CASE kind WHEN 'member' THEN 1 WHEN 'guest' THEN 2 ELSE 0 END) + (CASE WHEN system_admin THEN 10 ELSE 0 END)`

func groupFlags(kind string, systemAdmin bool) int64 {
	var f int64
	switch kind {
	case rules.KindMember:
		f = 1
	case rules.KindGuest:
		f = 2
	}
	if systemAdmin {
		f += 10
	}
	return f
}

func sameSet(cur []int64, want map[int64]bool) bool {
	if len(cur) != len(want) {
		return false
	}
	for _, pk := range cur {
		if !want[pk] {
			return false
		}
	}
	return true
}

// lockUsers takes the row locks of the given accounts in key order (so that two
// transactions locking overlapping sets cannot deadlock: rows are locked in the order of
// the sort below the lock, and "follows" is computed on each row once it is locked) and returns those that are
// active and live, the ones whose memberships follow their groups.
//
// Inactive accounts are locked too. A reactivation (UpdateUser) reconciles under the
// account's lock; were a concurrent member change to skip the lock of an account it saw
// inactive, the reactivation would reconcile from a member list without that change, and
// the change, seeing an inactive account, would not reconcile at all.
func (s *Store) lockUsers(ctx context.Context, tx *sqlx.Tx, pks []int64) ([]int64, error) {
	if len(pks) == 0 {
		return nil, nil
	}
	sorted := append([]int64(nil), pks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	q, args := bind(s.d.lockUsers, params{"users": s.d.int64List(dedupeSorted(sorted))})
	var rows []struct {
		PK      int64 `db:"pk"`
		Follows bool  `db:"follows"`
	}
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("lock accounts: %w", err)
	}
	out := make([]int64, 0, len(rows))
	for _, r := range rows {
		if r.Follows {
			out = append(out, r.PK)
		}
	}
	return out, nil
}

// lockUsersSQL reads the accounts :users in key order, to be locked (dialect.lockUsers).
const lockUsersSQL = `SELECT pk, active AND scim_deleted_at IS NULL AS follows FROM users WHERE pk IN :users ORDER BY pk`

func dedupeSorted(xs []int64) []int64 {
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func chunkInts(xs []int64, n int) [][]int64 {
	var out [][]int64
	for len(xs) > 0 {
		k := min(n, len(xs))
		out = append(out, xs[:k])
		xs = xs[k:]
	}
	return out
}

// reconcile makes the team and channel rows of the given active accounts match their
// groups and the rules. The caller holds the accounts' row locks. The work is a fixed
// number of set-based statements per chunk of accounts, whatever their number, so a
// 1,000-member PATCH costs a few statements, not a few per member.
func (s *Store) reconcile(ctx context.Context, tx *sqlx.Tx, pks []int64) error {
	if len(pks) == 0 {
		return nil
	}
	defaultTeam, err := s.ensureTeam(ctx, tx, s.rules.DefaultTeam)
	if err != nil {
		return err
	}
	joinNames := s.rules.TeamJoinChannels()
	steps, err := s.stepsFor(ctx, tx, pks, allReconcileSteps)
	if err != nil {
		return err
	}
	for _, chunk := range chunkInts(pks, 400) {
		if err := s.journalMemberships(ctx, tx, func(c *memberChanges) error {
			return s.reconcileSteps(ctx, tx, chunk, defaultTeam, joinNames, c, steps)
		}); err != nil {
			return err
		}
	}
	return nil
}

// The steps of reconcileChunk, in order. Each dialect spells them (dialect.reconcile);
// every spelling takes the named parameters :users (the chunk's accounts), :joins (the
// team-join channel names), :ts (the time of the change) and :default_team (its key).
// Rules 1 and 2 are for members: a guest (users.guest, set by the first step) joins no
// default team and no team-join channel, and keeps only its groups' rows (roles.go).
const (
	stepSetGuest                 = iota // set users.guest from the groups: in a guest group and no member group
	stepLeaveTeams                      // leave teams no group grants any more
	stepJoinGroupTeams                  // join the teams groups grant: a group's teams, and the team of each channel it maps to
	stepLeaveGuestTeams                 // a guest leaves every team row no group grants (default, import, manual)
	stepLeaveDefaultTeam                // leave the default team when another team grants membership
	stepJoinDefaultTeam                 // join the default team when no team remains (not a guest)
	stepLeaveChannels                   // leave channels no group grants any more
	stepJoinGroupChannels               // join the channels groups grant
	stepLeaveGuestChannels              // a guest leaves every channel row no group grants (team-join, import, manual)
	stepLeaveChannelsOfTeamsLeft        // leave every channel of a team left
	stepLeaveOldTeamJoinChannels        // leave channels that are no longer public team-join channels
	stepJoinTeamJoinChannels            // join the public team-join channels of every team (not a guest)
	stepLeaveSystemAdmins               // end system admin grants of groups that no longer grant it
	stepJoinSystemAdmins                // grant system admin from the groups
	stepLeaveTeamAdmins                 // end team admin grants of teams left, or of groups that no longer grant them
	stepJoinTeamAdmins                  // grant team admin from the groups (of teams the account is in)
	stepLeaveChannelAdmins              // end channel admin grants of channels left, or of groups that no longer grant them
	stepJoinChannelAdmins               // grant channel admin from the groups (of channels the account is in)
	// Outside the full reconcile: an account that does not follow its groups
	// (deactivated) keeps its grants but those of the memberships an admin ends.
	stepLeaveTeamAdminsOfTeamsLeft       // end every team admin grant of a team left
	stepLeaveChannelAdminsOfChannelsLeft // end every channel admin grant of a channel left
	numReconcileSteps
)

// reconcileChunk runs the steps for the accounts pks; each returns the membership rows it
// wrote into c (journalMemberships).
func (s *Store) reconcileChunk(ctx context.Context, tx *sqlx.Tx, pks []int64, defaultTeam int64, joinNames []string, c *memberChanges) error {
	steps, err := s.stepsFor(ctx, tx, pks, allReconcileSteps)
	if err != nil {
		return err
	}
	return s.reconcileSteps(ctx, tx, pks, defaultTeam, joinNames, c, steps)
}

// stepsFor leaves out of steps those that cannot change anything for the accounts pks:
// the guest steps unless one of them is a guest or in a guest group, the role steps
// unless one of them holds a grant row or is in a group that grants a role. One
// statement, reading the accounts' rows by account, instead of up to nine. It is sound
// under concurrent changes: the caller holds the accounts' row locks, under which their
// group memberships and grants change, and a change of a group's kind or grants is
// followed by a reconcile of its members under their locks.
func (s *Store) stepsFor(ctx context.Context, tx *sqlx.Tx, pks []int64, steps []int) ([]int, error) {
	var f struct {
		Guests bool `db:"guests"`
		Roles  bool `db:"roles"`
	}
	q, args := bind(s.d.roleFeatures, params{"users": s.d.int64List(pks)})
	if err := tx.GetContext(ctx, &f, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("read which roles are in use: %w", err)
	}
	if f.Guests && f.Roles {
		return steps, nil
	}
	out := make([]int, 0, len(steps))
	for _, i := range steps {
		switch {
		case !f.Guests && (i == stepSetGuest || i == stepLeaveGuestTeams || i == stepLeaveGuestChannels):
		case !f.Roles && i >= stepLeaveSystemAdmins:
		default:
			out = append(out, i)
		}
	}
	return out, nil
}

// allReconcileSteps are the steps of reconcileChunk.
var allReconcileSteps = func() []int {
	out := make([]int, stepJoinChannelAdmins+1)
	for i := range out {
		out[i] = i
	}
	return out
}()

// reconcileSteps runs the given steps (in increasing order) for the accounts pks, as
// reconcileChunk runs them all. An admin's removal from an account that does not follow
// its groups (deactivated) runs only the steps of rules 1 and 2 (RemoveTeamMember).
func (s *Store) reconcileSteps(ctx context.Context, tx *sqlx.Tx, pks []int64, defaultTeam int64, joinNames []string, c *memberChanges, steps []int) error {
	p := params{"users": s.d.int64List(pks), "joins": s.d.textList(joinNames), "joins_count": len(joinNames),
		"ts": micros(now()), "default_team": defaultTeam}
	for _, i := range steps {
		st := s.d.reconcile[i]
		if i == stepJoinTeamJoinChannels {
			// Teams created before the team-join channels changed lack some of them.
			if err := s.ensureJoinChannels(ctx, tx, p, joinNames); err != nil {
				return err
			}
		}
		q, args := bind(st.sql, p)
		if err := c.query(ctx, tx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("reconcile memberships: %s: %w", st.what, err)
		}
	}
	return nil
}

// ensureJoinChannels creates missing team-join channels in the teams of the accounts
// p["users"] (teams created before default_channels changed lack them).
func (s *Store) ensureJoinChannels(ctx context.Context, tx *sqlx.Tx, p params, joinNames []string) error {
	q, args := bind(s.d.ensureJoinChannels, p)
	var teams []int64
	if err := tx.SelectContext(ctx, &teams, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("find teams lacking team-join channels: %w", err)
	}
	for _, team := range teams {
		for _, name := range joinNames {
			if _, err := s.ensureChannel(ctx, tx, team, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// reconcileUsers locks and reconciles the given accounts.
func (s *Store) reconcileUsers(ctx context.Context, tx *sqlx.Tx, pks []int64) error {
	live, err := s.lockUsers(ctx, tx, pks)
	if err != nil {
		return err
	}
	return s.reconcile(ctx, tx, live)
}

// groupMemberPKs lists the user keys of a group's members.
func groupMemberPKs(ctx context.Context, tx *sqlx.Tx, groupPK int64) ([]int64, error) {
	var pks []int64
	if err := tx.SelectContext(ctx, &pks, tx.Rebind(`SELECT user_pk FROM group_members WHERE group_pk = ?`), groupPK); err != nil {
		return nil, fmt.Errorf("read group members: %w", err)
	}
	return pks, nil
}

// chatUsername derives the account username for userName, skipping names other
// accounts (but not selfPK) or groups already use.
func (s *Store) chatUsername(ctx context.Context, tx *sqlx.Tx, userName string, selfPK int64) (string, error) {
	return rules.Username(userName, func(c string) (bool, error) { return s.usernameTaken(ctx, tx, c, selfPK) })
}

// usernameTaken reports whether an account other than selfPK, or a group, uses name.
func (s *Store) usernameTaken(ctx context.Context, tx *sqlx.Tx, name string, selfPK int64) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT (SELECT COUNT(*) FROM users WHERE username = ? AND pk <> ?) + (SELECT COUNT(*) FROM groups WHERE name = ?)`), name, selfPK, name)
	return n > 0, err
}

// accountEmail is the chat email of a user: its primary email, else its first, lower-cased
// as Mattermost stores emails.
func accountEmail(u *store.User) string {
	for _, e := range u.Emails {
		if e.Primary {
			return strings.ToLower(e.Value)
		}
	}
	if len(u.Emails) > 0 {
		return strings.ToLower(u.Emails[0].Value)
	}
	return ""
}
