package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// store.Admin (store/admin.go): teams, channels, memberships by hand, and on-demand
// provisioning at first sign-in. A membership an admin adds is a row of source 'manual',
// which reconcile never removes: a group change leaves it, and only RemoveTeamMember and
// RemoveChannelMember take it away (with an import's rows). After its rows change, an
// account that follows its groups is reconciled under its row lock, so that rules 1 and
// 2 hold when the call returns; every row written is journaled (journalMemberships).

// handSources are the sources an admin's remove takes away: what hand or import added.
var handSources = []string{sourceManual, sourceImport}

// handSourcesSQL is handSources as an SQL list.
const handSourcesSQL = `('` + sourceManual + `', '` + sourceImport + `')`

// memberAccount is an account as a membership call reads it, under its row lock.
type memberAccount struct {
	PK          int64          `db:"pk"`
	ID          string         `db:"id"`
	Username    sql.NullString `db:"username"`
	Active      bool           `db:"active"`
	DeleteAt    int64          `db:"delete_at"`
	SCIMDeleted bool           `db:"scim_deleted"`
	Guest       bool           `db:"guest"`
}

func (a *memberAccount) name() string {
	if a.Username.Valid {
		return a.Username.String
	}
	return a.ID
}

// follows reports whether the account's memberships follow its groups (lockUsers).
func (a *memberAccount) follows() bool { return a.Active && !a.SCIMDeleted }

// joinable refuses what cannot join anything by hand: a SCIM-deleted or deactivated
// account, and a guest, whose memberships the mapping decides (roles.go).
func (a *memberAccount) joinable() error {
	switch {
	case a.SCIMDeleted:
		return &store.RefusedError{Code: store.CodeSCIMDeleted, Reason: fmt.Sprintf(
			"%s's SCIM user was deleted: its identity provider owns the account", a.name())}
	case !a.Active || a.DeleteAt != 0:
		return &store.RefusedError{Code: store.CodeDeactivated, Reason: fmt.Sprintf("%s is deactivated: activate the account first", a.name())}
	case a.Guest:
		return &store.RefusedError{Code: store.CodeGuest, Reason: fmt.Sprintf(
			"%s is a guest: its guest groups decide its channels, and a guest holds no admin role", a.name())}
	}
	return nil
}

// lockMemberAccount reads and locks the account of id (the lock lockUsers takes, for one
// account); ErrNotFound when none.
func (s *Store) lockMemberAccount(ctx context.Context, tx *sqlx.Tx, id string) (memberAccount, error) {
	var a memberAccount
	if !store.PossibleID(id) {
		return a, fmt.Errorf("account: %w", store.ErrNotFound)
	}
	err := tx.GetContext(ctx, &a, tx.Rebind(`SELECT pk, id, username, active, delete_at, scim_deleted_at IS NOT NULL AS scim_deleted, guest
		FROM users WHERE id = ?`+s.d.lockForUpdate), id)
	if err != nil {
		return a, fmt.Errorf("account %q: %w", id, mapErr(err))
	}
	return a, nil
}

// teamRef is a team as a membership call finds it.
type teamRef struct {
	PK   int64  `db:"pk"`
	Type string `db:"type"`
}

func (s *Store) findTeam(ctx context.Context, tx *sqlx.Tx, team string) (teamRef, error) {
	var t teamRef
	if !store.PossibleName(team) {
		return t, fmt.Errorf("team: %w", store.ErrNotFound)
	}
	if err := tx.GetContext(ctx, &t, tx.Rebind(`SELECT pk, type FROM teams WHERE name = ?`), team); err != nil {
		return t, fmt.Errorf("team %q: %w", team, mapErr(err))
	}
	return t, nil
}

// lockChannelMember locks the account id and finds the team and the channel (its key) a
// channel membership call names; ErrNotFound for any that does not exist.
func (s *Store) lockChannelMember(ctx context.Context, tx *sqlx.Tx, team, channel, id string) (memberAccount, teamRef, int64, error) {
	a, err := s.lockMemberAccount(ctx, tx, id)
	if err != nil {
		return a, teamRef{}, 0, err
	}
	t, err := s.findTeam(ctx, tx, team)
	if err != nil {
		return a, t, 0, err
	}
	ch, err := s.findChannel(ctx, tx, t.PK, team, channel)
	return a, t, ch, err
}

func (s *Store) findChannel(ctx context.Context, tx *sqlx.Tx, teamPK int64, team, channel string) (int64, error) {
	var pk int64
	if !store.PossibleName(channel) {
		return 0, fmt.Errorf("channel: %w", store.ErrNotFound)
	}
	if err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM channels WHERE team_pk = ? AND name = ?`), teamPK, channel); err != nil {
		return 0, fmt.Errorf("channel %s:%s: %w", team, channel, mapErr(err))
	}
	return pk, nil
}

// memberSources lists the sources of an account's rows in one team (table team_members,
// col team_pk) or channel (channel_members, channel_pk): constants, never input.
func memberSources(ctx context.Context, tx *sqlx.Tx, table, col string, target, userPK int64) ([]string, error) {
	var srcs []string
	if err := tx.SelectContext(ctx, &srcs, tx.Rebind(`SELECT source FROM `+table+` WHERE `+col+` = ? AND user_pk = ? ORDER BY source`),
		target, userPK); err != nil {
		return nil, fmt.Errorf("read membership sources: %w", err)
	}
	return srcs, nil
}

// splitHand splits sources into what hand or import added and the rest.
func splitHand(srcs []string) (hand, rest []string) {
	for _, src := range srcs {
		if slices.Contains(handSources, src) {
			hand = append(hand, src)
		} else {
			rest = append(rest, src)
		}
	}
	return hand, rest
}

// describe resolves stored sources for a MembershipChange (nil for none).
func (s *Store) describe(ctx context.Context, tx *sqlx.Tx, srcs []string) ([]store.MembershipSource, error) {
	if len(srcs) == 0 {
		return nil, nil
	}
	out, err := s.resolveSourcesIn(ctx, tx, [][]string{srcs})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// reconcileAccount makes rules 1 and 2 (and 3) hold for one locked account after an
// admin's rows, into the change c: the whole reconcile for an account that follows its
// groups; for one that does not (deactivated: its rows stay frozen), only leaving the
// channels of a team left and, with toDefault, joining the default team when no team
// remains, with its team-join channels.
func (s *Store) reconcileAccount(ctx context.Context, tx *sqlx.Tx, a *memberAccount, toDefault bool, c *memberChanges) error {
	defaultTeam, err := s.ensureTeam(ctx, tx, s.rules.DefaultTeam)
	if err != nil {
		return err
	}
	steps := allReconcileSteps
	if !a.follows() {
		steps = []int{stepLeaveChannelsOfTeamsLeft, stepLeaveTeamAdminsOfTeamsLeft, stepLeaveChannelAdminsOfChannelsLeft}
		if toDefault {
			steps = []int{stepJoinDefaultTeam, stepLeaveChannelsOfTeamsLeft, stepJoinTeamJoinChannels,
				stepLeaveTeamAdminsOfTeamsLeft, stepLeaveChannelAdminsOfChannelsLeft}
		}
	}
	if steps, err = s.stepsFor(ctx, tx, []int64{a.PK}, steps); err != nil {
		return err
	}
	return s.reconcileSteps(ctx, tx, []int64{a.PK}, defaultTeam, s.rules.TeamJoinChannels(), c, steps)
}

// AddTeamMember adds an account to a team by hand; see store.Admin.
func (s *Store) AddTeamMember(ctx context.Context, team, id string) (store.MembershipChange, error) {
	return s.addTeamMember(ctx, team, id, false)
}

// JoinTeam is AddTeamMember for a person joining an open team; see store.Admin.
func (s *Store) JoinTeam(ctx context.Context, id, team string) (store.MembershipChange, error) {
	return s.addTeamMember(ctx, team, id, true)
}

func (s *Store) addTeamMember(ctx context.Context, team, id string, self bool) (_ store.MembershipChange, err error) {
	defer s.classify(&err)
	var out store.MembershipChange
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		a, err := s.lockMemberAccount(ctx, tx, id)
		if err != nil {
			return err
		}
		t, err := s.findTeam(ctx, tx, team)
		if err != nil {
			return err
		}
		if err := a.joinable(); err != nil {
			return err
		}
		if self && t.Type == store.TeamInviteOnly {
			return &store.RefusedError{Code: store.CodePrivateTeam, Reason: fmt.Sprintf("%s is invite only: an admin adds its members", team)}
		}
		out = store.MembershipChange{Account: a.ID, Username: a.name(), Team: team, Member: true}
		return s.journalMemberships(ctx, tx, func(c *memberChanges) error {
			if err := c.query(ctx, tx, tx.Rebind(`INSERT INTO team_members (team_pk, user_pk, source, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`+returningTeamsJoined), t.PK, a.PK, sourceManual, micros(now())); err != nil {
				return fmt.Errorf("add the membership: %w", err)
			}
			out.Changed = len(c.rows) > 0
			return s.reconcileAccount(ctx, tx, &a, false, c)
		})
	})
	if err != nil {
		return store.MembershipChange{}, fmt.Errorf("add %q to team %q: %w", id, team, err)
	}
	return out, nil
}

// RemoveTeamMember removes what hand or import added to a team; see store.Admin.
func (s *Store) RemoveTeamMember(ctx context.Context, team, id string, toDefault bool) (_ store.MembershipChange, err error) {
	defer s.classify(&err)
	var out store.MembershipChange
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		a, err := s.lockMemberAccount(ctx, tx, id)
		if err != nil {
			return err
		}
		t, err := s.findTeam(ctx, tx, team)
		if err != nil {
			return err
		}
		out = store.MembershipChange{Account: a.ID, Username: a.name(), Team: team}
		srcs, err := memberSources(ctx, tx, "team_members", "team_pk", t.PK, a.PK)
		if err != nil {
			return err
		}
		if len(srcs) == 0 {
			return &store.RefusedError{Code: store.CodeNotMember, Reason: fmt.Sprintf("%s is not a member of %s", a.name(), team)}
		}
		hand, rest := splitHand(srcs)
		if len(hand) == 0 {
			out.Member = true
			if out.Remaining, err = s.describe(ctx, tx, rest); err != nil {
				return err
			}
			return &store.RefusedError{Code: store.CodeStillGranted, Reason: out.String()}
		}
		// Rule 1, before reconcile would quietly put the account in the default team.
		var others int
		if err := tx.GetContext(ctx, &others, tx.Rebind(`SELECT COUNT(*) FROM team_members WHERE user_pk = ? AND team_pk <> ?`),
			a.PK, t.PK); err != nil {
			return fmt.Errorf("count the account's other teams: %w", err)
		}
		last := others == 0 && len(rest) == 0
		if last && !toDefault {
			return &store.RefusedError{Code: store.CodeLastTeam, Reason: fmt.Sprintf(
				"%s is %s's last team: every account stays in a team (rule 1); move them to the default team (%s) instead",
				team, a.name(), s.rules.DefaultTeam)}
		}
		err = s.journalMemberships(ctx, tx, func(c *memberChanges) error {
			if err := c.query(ctx, tx, tx.Rebind(`DELETE FROM team_members WHERE team_pk = ? AND user_pk = ? AND source IN `+handSourcesSQL+
				returningTeamsLeft), t.PK, a.PK); err != nil {
				return fmt.Errorf("remove the team membership: %w", err)
			}
			if err := c.query(ctx, tx, tx.Rebind(`DELETE FROM channel_members WHERE user_pk = ? AND source IN `+handSourcesSQL+`
				AND channel_pk IN (SELECT pk FROM channels WHERE team_pk = ?)`+returningChannelsLeft), a.PK, t.PK); err != nil {
				return fmt.Errorf("remove the team's channel memberships: %w", err)
			}
			return s.reconcileAccount(ctx, tx, &a, toDefault, c)
		})
		if err != nil {
			return err
		}
		after, err := memberSources(ctx, tx, "team_members", "team_pk", t.PK, a.PK)
		if err != nil {
			return err
		}
		out.Changed, out.Member, out.Moved = true, len(after) > 0, last && len(after) == 0
		if out.Removed, err = s.describe(ctx, tx, hand); err != nil {
			return err
		}
		out.Remaining, err = s.describe(ctx, tx, after)
		return err
	})
	if err != nil {
		return store.MembershipChange{}, fmt.Errorf("remove %q from team %q: %w", id, team, err)
	}
	return out, nil
}

// AddChannelMember adds an account to a channel by hand; see store.Admin. A channel row
// changes no rule (the account is in the team already), so nothing is reconciled.
func (s *Store) AddChannelMember(ctx context.Context, team, channel, id string) (_ store.MembershipChange, err error) {
	defer s.classify(&err)
	var out store.MembershipChange
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		a, t, ch, err := s.lockChannelMember(ctx, tx, team, channel, id)
		if err != nil {
			return err
		}
		if err := a.joinable(); err != nil {
			return err
		}
		inTeam, err := memberSources(ctx, tx, "team_members", "team_pk", t.PK, a.PK)
		if err != nil {
			return err
		}
		if len(inTeam) == 0 {
			return &store.RefusedError{Code: store.CodeNotTeamMember, Reason: fmt.Sprintf(
				"%s is not a member of team %s: add them to the team first", a.name(), team)}
		}
		out = store.MembershipChange{Account: a.ID, Username: a.name(), Team: team, Channel: channel, Member: true}
		return s.journalMemberships(ctx, tx, func(c *memberChanges) error {
			if err := c.query(ctx, tx, tx.Rebind(`INSERT INTO channel_members (channel_pk, user_pk, source, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`+returningChannelsJoined), ch, a.PK, sourceManual, micros(now())); err != nil {
				return fmt.Errorf("add the membership: %w", err)
			}
			out.Changed = len(c.rows) > 0
			return nil
		})
	})
	if err != nil {
		return store.MembershipChange{}, fmt.Errorf("add %q to channel %s:%s: %w", id, team, channel, err)
	}
	return out, nil
}

// RemoveChannelMember removes what hand or import added to a channel; see store.Admin.
// The rows it may remove are never a rule's (team-join rows have source 'team'), so
// nothing is reconciled.
func (s *Store) RemoveChannelMember(ctx context.Context, team, channel, id string) (_ store.MembershipChange, err error) {
	defer s.classify(&err)
	var out store.MembershipChange
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		a, _, ch, err := s.lockChannelMember(ctx, tx, team, channel, id)
		if err != nil {
			return err
		}
		out = store.MembershipChange{Account: a.ID, Username: a.name(), Team: team, Channel: channel}
		srcs, err := memberSources(ctx, tx, "channel_members", "channel_pk", ch, a.PK)
		if err != nil {
			return err
		}
		if len(srcs) == 0 {
			return &store.RefusedError{Code: store.CodeNotMember, Reason: fmt.Sprintf("%s is not a member of %s", a.name(), out.Where())}
		}
		hand, rest := splitHand(srcs)
		if out.Remaining, err = s.describe(ctx, tx, rest); err != nil {
			return err
		}
		if len(hand) == 0 {
			out.Member = true
			return &store.RefusedError{Code: store.CodeStillGranted, Reason: out.String()}
		}
		if err := s.journalMemberships(ctx, tx, func(c *memberChanges) error {
			return c.query(ctx, tx, tx.Rebind(`DELETE FROM channel_members WHERE channel_pk = ? AND user_pk = ? AND source IN `+handSourcesSQL+
				returningChannelsLeft), ch, a.PK)
		}); err != nil {
			return fmt.Errorf("remove the channel membership: %w", err)
		}
		out.Changed, out.Member = true, len(rest) > 0
		out.Removed, err = s.describe(ctx, tx, hand)
		return err
	})
	if err != nil {
		return store.MembershipChange{}, fmt.Errorf("remove %q from channel %s:%s: %w", id, team, channel, err)
	}
	return out, nil
}

// CreateTeam makes a team by hand, through ensureTeamCreated; see store.Admin.
func (s *Store) CreateTeam(ctx context.Context, t store.NewTeam) (_ store.TeamSummary, err error) {
	defer s.classify(&err)
	if p := rules.TeamNameProblem(t.Name); p != "" {
		return store.TeamSummary{}, fmt.Errorf("create team: %w", invalidValue("name", p))
	}
	if err := checkDisplayName(t.DisplayName); err != nil {
		return store.TeamSummary{}, fmt.Errorf("create team %q: %w", t.Name, err)
	}
	out := store.TeamSummary{Name: t.Name, DisplayName: given(t.DisplayName, t.Name), Type: store.TeamOpen}
	if t.Private {
		out.Type = store.TeamInviteOnly
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		pk, created, err := s.ensureTeamCreated(ctx, tx, out.Name, out.DisplayName, out.Type)
		if err != nil {
			return err
		}
		if !created {
			return &store.ConflictError{Attribute: "team"}
		}
		return tx.GetContext(ctx, &out.ChannelCount, tx.Rebind(`SELECT COUNT(*) FROM channels WHERE team_pk = ?`), pk)
	})
	if err != nil {
		return store.TeamSummary{}, fmt.Errorf("create team %q: %w", t.Name, err)
	}
	return out, nil
}

// CreateChannel makes a channel by hand, through ensureChannelAs; see store.Admin.
func (s *Store) CreateChannel(ctx context.Context, c store.NewChannel) (_ store.ChannelSummary, err error) {
	defer s.classify(&err)
	if p := rules.ChannelNameProblem(c.Name); p != "" {
		return store.ChannelSummary{}, fmt.Errorf("create channel: %w", invalidValue("name", p))
	}
	if c.Private && (c.Name == rules.TownSquare || slices.Contains(s.rules.TeamJoinChannels(), c.Name)) {
		return store.ChannelSummary{}, fmt.Errorf("create channel: %w", invalidValue("name",
			fmt.Sprintf("%q is a channel every team member joins, so it cannot be private", c.Name)))
	}
	if err := checkDisplayName(c.DisplayName); err != nil {
		return store.ChannelSummary{}, fmt.Errorf("create channel %q: %w", c.Name, err)
	}
	out := store.ChannelSummary{Name: c.Name, DisplayName: given(c.DisplayName, c.Name), Type: store.ChannelOpen}
	if c.Private {
		out.Type = store.ChannelPrivate
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := s.findTeam(ctx, tx, c.Team)
		if err != nil {
			return err
		}
		_, created, err := s.ensureChannelAs(ctx, tx, t.PK, out.Name, out.DisplayName, out.Type)
		if err != nil {
			return err
		}
		if !created {
			return &store.ConflictError{Attribute: "channel"}
		}
		return nil
	})
	if err != nil {
		return store.ChannelSummary{}, fmt.Errorf("create channel %s:%s: %w", c.Team, c.Name, err)
	}
	return out, nil
}

// checkLogin checks what a sign-in gives, without the database.
func checkLogin(r store.LoginRequest) error {
	if r.AuthService == "" || r.AuthData == "" {
		return invalidValue("auth_data", "auth_service and auth_data are required")
	}
	if err := checkEmail(r.Email); err != nil {
		return err
	}
	for _, f := range []struct{ attr, v string }{
		{"auth_service", r.AuthService}, {"auth_data", r.AuthData}, {"first_name", r.FirstName}, {"last_name", r.LastName},
	} {
		if err := checkName(f.attr, f.v); err != nil {
			return err
		}
	}
	return nil
}

// Login is on-demand provisioning at first sign-in; see store.Admin.
func (s *Store) Login(ctx context.Context, r store.LoginRequest) (_ store.LoginResult, err error) {
	defer s.classify(&err)
	if err := checkLogin(r); err != nil {
		return store.LoginResult{}, fmt.Errorf("login: %w", err)
	}
	var res store.LoginResult
	var id string
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		res = store.LoginResult{}
		var err error
		id, err = s.login(ctx, tx, r, &res)
		return err
	})
	if err != nil {
		return store.LoginResult{}, fmt.Errorf("login %q: %w", r.Email, err)
	}
	if res.Account, err = s.AccountDetails(ctx, id); err != nil {
		return store.LoginResult{}, err
	}
	if res.Joinable, err = s.joinableTeams(ctx, id); err != nil {
		return store.LoginResult{}, err
	}
	return res, nil
}

// login finds, binds or makes the account of r in tx and returns its id.
func (s *Store) login(ctx context.Context, tx *sqlx.Tx, r store.LoginRequest, res *store.LoginResult) (string, error) {
	edit := store.AccountEdit{Email: &r.Email, AuthService: &r.AuthService}
	if r.FirstName != "" {
		edit.FirstName = &r.FirstName
	}
	if r.LastName != "" {
		edit.LastName = &r.LastName
	}
	// 1. Bound to the auth data: a live account first.
	var pk int64
	err := tx.GetContext(ctx, &pk, tx.Rebind(`SELECT pk FROM users WHERE external_id = ?
		ORDER BY CASE WHEN scim_deleted_at IS NULL THEN 0 ELSE 1 END, pk LIMIT 1`), r.AuthData)
	if err != nil && mapErr(err) != store.ErrNotFound {
		return "", fmt.Errorf("find the account of the auth data: %w", err)
	}
	if err == nil {
		return s.loginAs(ctx, tx, pk, edit)
	}
	// 2. An account of the email with no auth data: bind it.
	var byEmail []struct {
		PK    int64          `db:"pk"`
		Bound sql.NullString `db:"external_id"`
	}
	email := strings.ToLower(r.Email)
	if err := tx.SelectContext(ctx, &byEmail, tx.Rebind(`SELECT DISTINCT u.pk, u.external_id FROM user_emails e JOIN users u ON u.pk = e.user_pk
		WHERE e.value_ci = ? AND u.email = ? ORDER BY u.pk`), email, email); err != nil {
		return "", fmt.Errorf("find the account of the email: %w", err)
	}
	for _, a := range byEmail {
		if !a.Bound.Valid {
			edit.AuthData = &r.AuthData
			res.Bound = true
			return s.loginAs(ctx, tx, a.PK, edit)
		}
	}
	if len(byEmail) > 0 {
		return "", &store.ConflictError{Attribute: "email"}
	}
	// 3. A new account, as SCIM would make it, of origin login.
	u := newAccountUser(r.Email, r.AuthData, r.FirstName, r.LastName, "", "", "")
	if err := u.Check(); err != nil {
		return "", err
	}
	name, err := s.chatUsername(ctx, tx, u.UserName, 0)
	if err != nil {
		return "", fmt.Errorf("derive chat username: %w", err)
	}
	u.Account.Username = name
	if _, err := s.insertAccount(ctx, tx, &u, store.OriginLogin, r.AuthService); err != nil {
		return "", emailConflict(err)
	}
	res.Created = true
	return u.ID, nil
}

// loginAs locks the account pk, refuses it deactivated, and writes e over it.
func (s *Store) loginAs(ctx context.Context, tx *sqlx.Tx, pk int64, e store.AccountEdit) (string, error) {
	a, err := s.lockAccountRow(ctx, tx, `users.pk = ?`, pk)
	if err != nil {
		return "", err
	}
	if a.scimDeleted || !a.Active || a.DeleteAt != 0 {
		return "", &store.RefusedError{Code: store.CodeDeactivated, Reason: fmt.Sprintf("%s is deactivated", a.name())}
	}
	return a.ID, s.editAccount(ctx, tx, &a, e)
}

// joinableTeams lists the open teams the account of id is not in, by name.
func (s *Store) joinableTeams(ctx context.Context, id string) ([]store.TeamSummary, error) {
	var rows []struct {
		Name         string `db:"name"`
		DisplayName  string `db:"display_name"`
		Type         string `db:"type"`
		MemberCount  int    `db:"member_count"`
		ChannelCount int    `db:"channel_count"`
	}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT t.name, t.display_name, t.type,
		(SELECT COUNT(DISTINCT tm.user_pk) FROM team_members tm WHERE tm.team_pk = t.pk) AS member_count,
		(SELECT COUNT(*) FROM channels c WHERE c.team_pk = t.pk) AS channel_count
		FROM teams t WHERE t.type = ? AND NOT EXISTS (SELECT 1 FROM team_members tm JOIN users u ON u.pk = tm.user_pk
		  WHERE tm.team_pk = t.pk AND u.id = ?)
		ORDER BY `+s.byName("t.name")), store.TeamOpen, id)
	if err != nil {
		return nil, fmt.Errorf("list joinable teams: %w", err)
	}
	out := make([]store.TeamSummary, len(rows))
	for i, r := range rows {
		out[i] = store.TeamSummary{Name: r.Name, DisplayName: r.DisplayName, Type: r.Type, MemberCount: r.MemberCount, ChannelCount: r.ChannelCount}
	}
	return out, nil
}
