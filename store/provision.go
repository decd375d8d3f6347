package store

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
// Memberships are stored one row per source ('default', 'group:<pk>', 'team', 'import'),
// and reconcileUser recomputes one account's rows from its groups, in the caller's
// transaction and under the account's row lock. Deactivated accounts keep their rows
// untouched (Mattermost keeps memberships of deactivated users) and are reconciled when
// they are reactivated.

const (
	sourceDefault     = "default"
	sourceTeam        = "team"
	sourceImport      = "import"
	groupSourcePrefix = "group:"
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
func (s *Store) SetRules(c rules.Config) { s.rules = c }

// Rules returns the mapping configuration in force.
func (s *Store) Rules() rules.Config { return s.rules }

// ensureTeam returns the key of the named team, creating it with its town-square,
// off-topic and team-join channels if it does not exist. Concurrent creators meet on the
// unique name: one inserts, the others find it.
func (s *Store) ensureTeam(ctx context.Context, tx *sqlx.Tx, name string) (int64, error) {
	var pk int64
	err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM teams WHERE name = ?`), name)
	if err == nil {
		return pk, nil
	}
	if mapErr(err) != ErrNotFound {
		return 0, fmt.Errorf("find team %q: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO teams (name, display_name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`),
		name, name, micros(now())); err != nil {
		return 0, fmt.Errorf("create team %q: %w", name, err)
	}
	if err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM teams WHERE name = ?`), name); err != nil {
		return 0, fmt.Errorf("find team %q: %w", name, err)
	}
	for _, ch := range append([]string{rules.TownSquare, rules.OffTopic}, s.rules.TeamJoinChannels()...) {
		if _, err := s.ensureChannel(ctx, tx, pk, ch); err != nil {
			return 0, err
		}
	}
	return pk, nil
}

// ensureChannel returns the key of a channel of a team, creating it (public) if missing.
func (s *Store) ensureChannel(ctx context.Context, tx *sqlx.Tx, teamPK int64, name string) (int64, error) {
	var pk int64
	err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM channels WHERE team_pk = ? AND name = ?`), teamPK, name)
	if err == nil {
		return pk, nil
	}
	if mapErr(err) != ErrNotFound {
		return 0, fmt.Errorf("find channel %q: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO channels (team_pk, name, display_name, type, created_at) VALUES (?, ?, ?, 'O', ?) ON CONFLICT (team_pk, name) DO NOTHING`),
		teamPK, name, channelDisplayName(name), micros(now())); err != nil {
		return 0, fmt.Errorf("create channel %q: %w", name, err)
	}
	if err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM channels WHERE team_pk = ? AND name = ?`), teamPK, name); err != nil {
		return 0, fmt.Errorf("find channel %q: %w", name, err)
	}
	return pk, nil
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

// setGroupTargets resolves a group's mapping from the rules and stores it, creating the
// teams and channels it names. It reports whether the mapping changed, so that a rename
// to the same name (Okta sends one with every membership change) costs no reconcile.
func (s *Store) setGroupTargets(ctx context.Context, tx *sqlx.Tx, groupPK int64, displayName, externalID string) (bool, error) {
	t := s.rules.Resolve(displayName, externalID)
	teams := map[int64]bool{}
	for _, name := range t.Teams {
		pk, err := s.ensureTeam(ctx, tx, name)
		if err != nil {
			return false, err
		}
		teams[pk] = true
	}
	channels := map[int64]bool{}
	for _, ref := range t.Channels {
		teamPK, err := s.ensureTeam(ctx, tx, ref.Team)
		if err != nil {
			return false, err
		}
		pk, err := s.ensureChannel(ctx, tx, teamPK, ref.Channel)
		if err != nil {
			return false, err
		}
		channels[pk] = true
	}
	var curTeams, curChannels []int64
	if err := tx.SelectContext(ctx, &curTeams, tx.Rebind(`SELECT team_pk FROM group_teams WHERE group_pk = ?`), groupPK); err != nil {
		return false, fmt.Errorf("read group teams: %w", err)
	}
	if err := tx.SelectContext(ctx, &curChannels, tx.Rebind(`SELECT channel_pk FROM group_channels WHERE group_pk = ?`), groupPK); err != nil {
		return false, fmt.Errorf("read group channels: %w", err)
	}
	if sameSet(curTeams, teams) && sameSet(curChannels, channels) {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM group_teams WHERE group_pk = ?`), groupPK); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM group_channels WHERE group_pk = ?`), groupPK); err != nil {
		return false, err
	}
	for pk := range teams {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO group_teams (group_pk, team_pk) VALUES (?, ?)`), groupPK, pk); err != nil {
			return false, fmt.Errorf("map group to team: %w", err)
		}
	}
	for pk := range channels {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO group_channels (group_pk, channel_pk) VALUES (?, ?)`), groupPK, pk); err != nil {
			return false, fmt.Errorf("map group to channel: %w", err)
		}
	}
	return true, nil
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
// transactions locking overlapping sets cannot deadlock) and returns those that are
// active and live, the ones whose memberships follow their groups.
func (s *Store) lockUsers(ctx context.Context, tx *sqlx.Tx, pks []int64) ([]int64, error) {
	if len(pks) == 0 {
		return nil, nil
	}
	sorted := append([]int64(nil), pks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var out []int64
	for _, chunk := range chunkInts(dedupeSorted(sorted), 500) {
		q := `SELECT pk FROM users WHERE pk IN (?` + strings.Repeat(", ?", len(chunk)-1) + `) AND active = ? AND scim_deleted_at IS NULL ORDER BY pk`
		if s.dialect == Postgres {
			q += ` FOR NO KEY UPDATE`
		}
		args := make([]any, 0, len(chunk)+1)
		for _, pk := range chunk {
			args = append(args, pk)
		}
		args = append(args, true)
		var got []int64
		if err := tx.SelectContext(ctx, &got, tx.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("lock accounts: %w", err)
		}
		out = append(out, got...)
	}
	return out, nil
}

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

type membershipKey struct {
	pk     int64
	source string
}

// reconcileUser makes an active account's team and channel rows match its groups and the
// rules. The caller holds the account's row lock.
func (s *Store) reconcileUser(ctx context.Context, tx *sqlx.Tx, userPK int64) error {
	type pair struct {
		Target int64 `db:"target"`
		Group  int64 `db:"group_pk"`
	}
	// Teams granted by groups, directly or through a mapped channel (a channel join
	// first joins its team).
	var grants []pair
	if err := tx.SelectContext(ctx, &grants, tx.Rebind(`
		SELECT gt.team_pk AS target, gm.group_pk FROM group_members gm JOIN group_teams gt ON gt.group_pk = gm.group_pk WHERE gm.user_pk = ?
		UNION
		SELECT c.team_pk AS target, gm.group_pk FROM group_members gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
			JOIN channels c ON c.pk = gc.channel_pk WHERE gm.user_pk = ?`), userPK, userPK); err != nil {
		return fmt.Errorf("read granted teams: %w", err)
	}
	wantTeams := map[membershipKey]bool{}
	teams := map[int64]bool{}
	for _, g := range grants {
		wantTeams[membershipKey{g.Target, groupSource(g.Group)}] = true
		teams[g.Target] = true
	}
	var imported []int64
	if err := tx.SelectContext(ctx, &imported, tx.Rebind(`SELECT team_pk FROM team_members WHERE user_pk = ? AND source = ?`), userPK, sourceImport); err != nil {
		return fmt.Errorf("read imported teams: %w", err)
	}
	for _, t := range imported {
		wantTeams[membershipKey{t, sourceImport}] = true
		teams[t] = true
	}
	if len(teams) == 0 {
		pk, err := s.ensureTeam(ctx, tx, s.rules.DefaultTeam)
		if err != nil {
			return err
		}
		wantTeams[membershipKey{pk, sourceDefault}] = true
		teams[pk] = true
	}

	wantChannels := map[membershipKey]bool{}
	var chGrants []pair
	if err := tx.SelectContext(ctx, &chGrants, tx.Rebind(`SELECT gc.channel_pk AS target, gm.group_pk FROM group_members gm
		JOIN group_channels gc ON gc.group_pk = gm.group_pk WHERE gm.user_pk = ?`), userPK); err != nil {
		return fmt.Errorf("read granted channels: %w", err)
	}
	for _, g := range chGrants {
		wantChannels[membershipKey{g.Target, groupSource(g.Group)}] = true
	}
	joinNames := s.rules.TeamJoinChannels()
	for team := range teams {
		for _, name := range joinNames {
			pk, err := s.ensureChannel(ctx, tx, team, name)
			if err != nil {
				return err
			}
			wantChannels[membershipKey{pk, sourceTeam}] = true
		}
	}
	// Imported channel rows stay while their team does.
	var importedCh []pair
	if err := tx.SelectContext(ctx, &importedCh, tx.Rebind(`SELECT cm.channel_pk AS target, c.team_pk AS group_pk FROM channel_members cm
		JOIN channels c ON c.pk = cm.channel_pk WHERE cm.user_pk = ? AND cm.source = ?`), userPK, sourceImport); err != nil {
		return fmt.Errorf("read imported channels: %w", err)
	}
	for _, c := range importedCh {
		if teams[c.Group] {
			wantChannels[membershipKey{c.Target, sourceImport}] = true
		}
	}

	if err := s.syncRows(ctx, tx, "team_members", "team_pk", userPK, wantTeams); err != nil {
		return err
	}
	return s.syncRows(ctx, tx, "channel_members", "channel_pk", userPK, wantChannels)
}

// syncRows makes the membership rows of one user in table equal to want.
func (s *Store) syncRows(ctx context.Context, tx *sqlx.Tx, table, col string, userPK int64, want map[membershipKey]bool) error {
	var cur []struct {
		PK     int64  `db:"pk"`
		Source string `db:"source"`
	}
	if err := tx.SelectContext(ctx, &cur, tx.Rebind(`SELECT `+col+` AS pk, source FROM `+table+` WHERE user_pk = ?`), userPK); err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	have := map[membershipKey]bool{}
	for _, r := range cur {
		k := membershipKey{r.PK, r.Source}
		have[k] = true
		if !want[k] {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+table+` WHERE `+col+` = ? AND user_pk = ? AND source = ?`), r.PK, userPK, r.Source); err != nil {
				return fmt.Errorf("leave (%s): %w", table, err)
			}
		}
	}
	ts := micros(now())
	for k := range want {
		if have[k] {
			continue
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO `+table+` (`+col+`, user_pk, source, created_at) VALUES (?, ?, ?, ?)`), k.pk, userPK, k.source, ts); err != nil {
			return fmt.Errorf("join (%s): %w", table, err)
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
	for _, pk := range live {
		if err := s.reconcileUser(ctx, tx, pk); err != nil {
			return err
		}
	}
	return nil
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
	return rules.Username(userName, func(c string) (bool, error) {
		var n int
		err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT (SELECT COUNT(*) FROM users WHERE username = ? AND pk <> ?) + (SELECT COUNT(*) FROM groups WHERE name = ?)`), c, selfPK, c)
		return n > 0, err
	})
}

// accountEmail is the chat email of a user: its primary email, else its first, lower-cased
// as Mattermost stores emails.
func accountEmail(u *User) string {
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

// ApplyRules re-resolves every group's mapping when the rules differ from those last
// applied to this database (a fingerprint is kept in settings), and reconciles the
// members of each group whose mapping changed. Servers call it at start-up.
func (s *Store) ApplyRules(ctx context.Context) (int, error) {
	fp := rulesFingerprint(s.rules)
	changed := 0
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		changed = 0
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7474, hashtext(current_schema()))`); err != nil {
				return err
			}
		}
		var cur string
		err := tx.GetContext(ctx, &cur, `SELECT value FROM settings WHERE key = 'rules_fingerprint'`)
		if err != nil && mapErr(err) != ErrNotFound {
			return fmt.Errorf("read rules fingerprint: %w", err)
		}
		if cur == fp {
			return nil
		}
		var groups []struct {
			PK          int64   `db:"pk"`
			DisplayName string  `db:"display_name"`
			ExternalID  *string `db:"external_id"`
		}
		if err := tx.SelectContext(ctx, &groups, `SELECT pk, display_name, external_id FROM groups ORDER BY pk`); err != nil {
			return fmt.Errorf("read groups: %w", err)
		}
		var affected []int64
		for _, g := range groups {
			ext := ""
			if g.ExternalID != nil {
				ext = *g.ExternalID
			}
			ch, err := s.setGroupTargets(ctx, tx, g.PK, g.DisplayName, ext)
			if err != nil {
				return err
			}
			if ch {
				changed++
				pks, err := groupMemberPKs(ctx, tx, g.PK)
				if err != nil {
					return err
				}
				affected = append(affected, pks...)
			}
		}
		// Team-join channels or the default team may have changed too: every active
		// account is reconciled when the rules change.
		var all []int64
		if err := tx.SelectContext(ctx, &all, tx.Rebind(`SELECT pk FROM users WHERE active = ? AND scim_deleted_at IS NULL`), true); err != nil {
			return err
		}
		if err := s.reconcileUsers(ctx, tx, append(affected, all...)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = 'rules_fingerprint'`); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO settings (key, value) VALUES ('rules_fingerprint', ?)`), fp)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("apply mapping rules: %w", err)
	}
	return changed, nil
}
