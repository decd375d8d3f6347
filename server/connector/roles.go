package connector

import (
	"context"
	"errors"
	"net/http"

	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// Roles and guests (store/roles.go) reach Mattermost this way, within syncAccount:
//
//  1. Guest status first, while the account is active: POST …/demote when the account is
//     a guest and Mattermost's user is not, POST …/promote for the reverse. Demotion comes
//     before any membership change, since Mattermost refuses to take a non-guest out of
//     town-square and makes every membership a guest membership at once; promotion comes
//     before the memberships are added, so the teams a member joins give it their
//     default channels as they do any member.
//  2. The system role string of a non-guest (PUT …/roles with store.SystemRoles: always
//     "system_user" or "system_admin system_user", never a lone system_admin), only when
//     Mattermost's admin-ness differs. system_admin is granted whenever Townsquare grants
//     it, but taken away only from an account whose system roles Townsquare has changed
//     (an account.roles entry in the batch, systemRolesDue, or in its journal,
//     systemRolesManaged): an existing Mattermost admin that is adopted keeps the role
//     (no lock-out of the System Console on the first sync). A guest's role string is
//     system_guest, set by the demotion.
//  3. The memberships (syncMemberships).
//  4. Team and channel admin: PUT …/schemeRoles {"scheme_admin", "scheme_user": true} on
//     each desired membership whose scheme_admin differs. A guest's memberships are
//     guest memberships, whose scheme roles are never touched.
//  5. A guest leaves the default channels (town-square, off-topic) of its teams that it
//     is not meant to be in: a member demoted keeps them in Mattermost.
//
// What Mattermost holds is read where it is cheap: the user (GET …/users/{id}, read
// anyway) for system roles and guest status, a membership just added from the add's
// answer. An existing membership's scheme roles are read (GET …/members/{user_id}) only
// when they may differ: when the membership is to be an admin one, when the journal
// named a role change of the account (rolesDue), when a reconcile saw the account as an
// admin in Mattermost or it is a guest, and when a dead letter is retried.

// Error ids Mattermost answers a guest transition with when the user already is what
// was asked (api4/user.go demoteUserToGuest, promoteGuestToUser): the state wanted.
const (
	errAlreadyGuest = "api.user.demote_user_to_guest.already_guest.app_error"
	errNotGuest     = "api.user.promote_guest_to_user.no_guest.app_error"
)

type rolesDueKey struct{}

type systemRolesDueKey struct{}

// withSystemRolesDue marks a sync that follows a change of the account's system roles
// in Townsquare (an account.roles entry in the batch): system_admin is then taken away
// without asking the journal (systemRolesManaged).
func withSystemRolesDue(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemRolesDueKey{}, true)
}

func systemRolesDue(ctx context.Context) bool {
	v, _ := ctx.Value(systemRolesDueKey{}).(bool)
	return v
}

// withRolesDue marks a sync that must read the scheme roles of the account's existing
// memberships.
func withRolesDue(ctx context.Context) context.Context {
	return context.WithValue(ctx, rolesDueKey{}, true)
}

func rolesDue(ctx context.Context) bool {
	v, _ := ctx.Value(rolesDueKey{}).(bool)
	return v
}

// wantsRoles reports whether an account's desired state holds an admin role of a team
// or channel, or is a guest's: its memberships' roles are read on every reconcile.
func wantsRoles(st store.ChatAccountState) bool {
	if st.Guest || len(st.TeamAdmin) > 0 {
		return true
	}
	for _, c := range st.Channels {
		if c.Admin {
			return true
		}
	}
	return false
}

// syncGuestAndSystemRoles converges guest status, then the system role string; u is
// updated to what Mattermost holds afterwards. It reports whether guest status changed.
func (e *Engine) syncGuestAndSystemRoles(ctx context.Context, d desired, u *mattermost.User) (bool, error) {
	isGuest := hasRole(u.Roles, store.RoleSystemGuest)
	changed := false
	switch {
	case d.Guest && !isGuest:
		err := e.client.DemoteUser(ctx, u.ID)
		if err != nil && mattermost.ErrorID(err) != errAlreadyGuest {
			return false, wrap("POST /api/v4/users/{id}/demote", err)
		}
		e.count(ctx, "user.demoted")
		changed = true
	case !d.Guest && isGuest:
		err := e.client.PromoteUser(ctx, u.ID)
		if err != nil && mattermost.ErrorID(err) != errNotGuest {
			return false, wrap("POST /api/v4/users/{id}/promote", err)
		}
		e.count(ctx, "user.promoted")
		changed = true
	}
	if changed {
		// What the transition left in the role string is Mattermost's business (a
		// demoted admin loses system_admin): read it rather than guess.
		if e.dry || isDry(u.ID) {
			u.Roles = store.SystemRoles(false, d.Guest)
		} else {
			nu, err := e.client.GetUser(ctx, u.ID)
			if err != nil {
				return changed, wrap("GET /api/v4/users/{id}", err)
			}
			u.Roles = nu.Roles
		}
	}
	if d.Guest {
		return changed, nil
	}
	isAdmin := hasRole(u.Roles, store.RoleSystemAdmin)
	keep := false
	if isAdmin && !d.SystemAdmin && !systemRolesDue(ctx) {
		managed, err := e.systemRolesManaged(ctx, d.ID)
		if err != nil {
			return changed, err
		}
		keep = !managed
	}
	if (isAdmin != d.SystemAdmin && !keep) || !hasRole(u.Roles, store.RoleSystemUser) || hasRole(u.Roles, store.RoleSystemGuest) {
		roles := store.SystemRoles(d.SystemAdmin || keep, false)
		if err := e.client.UpdateUserRoles(ctx, u.ID, roles); err != nil {
			return changed, wrap("PUT /api/v4/users/{id}/roles", err)
		}
		u.Roles = roles
		if d.SystemAdmin || keep {
			e.count(ctx, "user.admin_granted")
		} else {
			e.count(ctx, "user.admin_revoked")
		}
	}
	return changed, nil
}

// added is what the membership adds of one sync answered: the memberships as
// Mattermost holds them right after.
type added struct {
	teams    map[string]mattermost.TeamMember
	channels map[store.ChannelRef]mattermost.ChannelMember
}

func newAdded() *added {
	return &added{teams: map[string]mattermost.TeamMember{}, channels: map[store.ChannelRef]mattermost.ChannelMember{}}
}

// syncMemberRoles converges the scheme roles of the account's desired memberships
// (steps 4 and 5 above). check makes it read memberships it would otherwise trust.
func (e *Engine) syncMemberRoles(ctx context.Context, d desired, userID string, got *added, check bool) error {
	if d.Guest {
		if !check {
			return nil
		}
		return e.leaveDefaultChannels(ctx, d, userID)
	}
	adminOf := map[string]bool{}
	for _, t := range d.TeamAdmin {
		adminOf[t] = true
	}
	for _, team := range d.Teams {
		want := adminOf[team]
		m, ok := got.teams[team]
		if !ok && !check && !want {
			continue
		}
		teamID, err := e.ensureTeam(ctx, team)
		if err != nil {
			return err
		}
		if !ok {
			if isDry(teamID) || isDry(userID) {
				m = mattermost.TeamMember{SchemeUser: true}
			} else if m, err = e.client.GetTeamMember(ctx, teamID, userID); mattermost.IsNotFound(err) {
				continue // not a member (left by hand): the next reconcile adds it again
			} else if err != nil {
				return wrap("GET /api/v4/teams/{team_id}/members/{user_id}", err)
			}
		}
		if m.SchemeGuest || m.SchemeAdmin == want {
			continue
		}
		if err := e.client.UpdateTeamMemberSchemeRoles(ctx, teamID, userID, mattermost.SchemeRoles{SchemeAdmin: want, SchemeUser: true}); err != nil {
			return wrap("PUT /api/v4/teams/{team_id}/members/{user_id}/schemeRoles", err)
		}
		if want {
			e.count(ctx, "team.admin_granted")
		} else {
			e.count(ctx, "team.admin_revoked")
		}
	}
	for _, c := range d.Channels {
		ref := store.ChannelRef{Team: c.Team, Channel: c.Channel}
		m, ok := got.channels[ref]
		if !ok && !check && !c.Admin {
			continue
		}
		chID, err := e.ensureChannel(ctx, c.Team, c.Channel)
		if err != nil {
			return err
		}
		if !ok {
			if isDry(chID) || isDry(userID) {
				m = mattermost.ChannelMember{SchemeUser: true}
			} else if m, err = e.client.GetChannelMember(ctx, chID, userID); mattermost.IsNotFound(err) {
				continue
			} else if err != nil {
				return wrap("GET /api/v4/channels/{channel_id}/members/{user_id}", err)
			}
		}
		if m.SchemeGuest || m.SchemeAdmin == c.Admin {
			continue
		}
		if err := e.client.UpdateChannelMemberSchemeRoles(ctx, chID, userID, mattermost.SchemeRoles{SchemeAdmin: c.Admin, SchemeUser: true}); err != nil {
			return wrap("PUT /api/v4/channels/{channel_id}/members/{user_id}/schemeRoles", err)
		}
		if c.Admin {
			e.count(ctx, "channel.admin_granted")
		} else {
			e.count(ctx, "channel.admin_revoked")
		}
	}
	return nil
}

// leaveDefaultChannels takes a guest out of the default channels of its teams that it
// is not meant to be in. They are Mattermost's own (a team join of a member joins
// them), so they are found by name and not recorded; a guest joins none, so this only
// undoes a demotion's leftovers.
func (e *Engine) leaveDefaultChannels(ctx context.Context, d desired, userID string) error {
	want := map[store.ChannelRef]bool{}
	for _, c := range d.Channels {
		want[store.ChannelRef{Team: c.Team, Channel: c.Channel}] = true
	}
	for _, team := range d.Teams {
		for _, name := range []string{rules.TownSquare, rules.OffTopic} {
			if want[store.ChannelRef{Team: team, Channel: name}] {
				continue
			}
			chID, err := e.st.MMChannelID(ctx, team, name)
			if errors.Is(err, store.ErrNotFound) {
				ch, gerr := e.client.GetChannelByName(ctx, team, name)
				if mattermost.IsNotFound(gerr) {
					continue
				}
				if gerr != nil {
					return wrap("GET /api/v4/teams/name/{team_name}/channels/name/{channel_name}", gerr)
				}
				chID, err = ch.ID, nil
			}
			if err != nil {
				return err
			}
			if isDry(chID) || isDry(userID) {
				continue
			}
			if _, err := e.client.GetChannelMember(ctx, chID, userID); mattermost.IsNotFound(err) {
				continue
			} else if err != nil {
				return wrap("GET /api/v4/channels/{channel_id}/members/{user_id}", err)
			}
			err = e.client.RemoveChannelMember(ctx, chID, userID)
			if err != nil && !mattermost.IsNotFound(err) {
				return wrap("DELETE /api/v4/channels/{channel_id}/members/{user_id}", err)
			}
			e.count(ctx, "channel.removed")
		}
	}
	return nil
}

// syncTeamProps converges a team's display name and type (a team.updated entry) to
// Townsquare's: PUT …/patch for the display name, PUT …/privacy for the type. A team
// Mattermost does not have is created with both.
func (e *Engine) syncTeamProps(ctx context.Context, name string) error {
	want, ok, err := e.teamSummary(ctx, name)
	if err != nil || !ok {
		return err
	}
	return e.syncTeamSummary(ctx, want)
}

// syncTeamSummary converges one team to want.
func (e *Engine) syncTeamSummary(ctx context.Context, want store.TeamSummary) error {
	name := want.Name
	t, err := e.client.GetTeamByName(ctx, name)
	if mattermost.IsNotFound(err) {
		_, err = e.resolveTeam(ctx, name, true)
		return err
	}
	if err != nil {
		return wrap("GET /api/v4/teams/name/{name}", err)
	}
	display := cut(want.DisplayName, 64)
	if display != "" && t.DisplayName != display {
		if _, err := e.client.PatchTeam(ctx, t.ID, mattermost.TeamPatch{DisplayName: &display}); err != nil {
			return wrap("PUT /api/v4/teams/{team_id}/patch", err)
		}
		e.count(ctx, "team.updated")
	}
	typ := store.TeamOpen
	if want.Type == store.TeamInviteOnly {
		typ = store.TeamInviteOnly
	}
	if t.Type != typ {
		if _, err := e.client.UpdateTeamPrivacy(ctx, t.ID, typ); err != nil {
			return wrap("PUT /api/v4/teams/{team_id}/privacy", err)
		}
		e.count(ctx, "team.updated")
	}
	return nil
}

// syncChannelProps is syncTeamProps for a channel (a channel.updated entry).
func (e *Engine) syncChannelProps(ctx context.Context, team, channel string) error {
	chans, err := e.st.TeamChannels(ctx, team)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, c := range chans {
		if c.Name == channel {
			return e.syncChannelSummary(ctx, team, c)
		}
	}
	return nil
}

// syncChannelSummary converges one channel of team to want.
func (e *Engine) syncChannelSummary(ctx context.Context, team string, want store.ChannelSummary) error {
	channel := want.Name
	ch, err := e.client.GetChannelByName(ctx, team, channel)
	if mattermost.IsNotFound(err) {
		_, err = e.resolveChannel(ctx, team, channel, true)
		return err
	}
	if err != nil {
		return wrap("GET /api/v4/teams/name/{team_name}/channels/name/{channel_name}", err)
	}
	display := cut(want.DisplayName, 64)
	if display != "" && ch.DisplayName != display {
		if _, err := e.client.PatchChannel(ctx, ch.ID, mattermost.ChannelPatch{DisplayName: &display}); err != nil {
			return wrap("PUT /api/v4/channels/{channel_id}/patch", err)
		}
		e.count(ctx, "channel.updated")
	}
	typ := "O"
	if want.Type == "P" {
		typ = "P"
	}
	if ch.Type != typ && !(channel == rules.TownSquare && typ == "P") {
		if _, err := e.client.UpdateChannelPrivacy(ctx, ch.ID, typ); err != nil {
			return wrap("PUT /api/v4/channels/{channel_id}/privacy", err)
		}
		e.count(ctx, "channel.updated")
	}
	return nil
}

// maxRolesScan bounds how many of an account's journal entries systemRolesManaged
// reads; beyond them the account counts as one whose roles Townsquare never changed.
const maxRolesScan = 10 * store.MaxEventPage

// systemRolesManaged reports whether the journal holds an account.roles entry of the
// account: Townsquare has changed its system roles, so it owns them. It is asked only
// of an account Mattermost shows as system_admin and Townsquare does not (a few).
func (e *Engine) systemRolesManaged(ctx context.Context, accountID string) (bool, error) {
	var after int64
	for read := 0; read < maxRolesScan; {
		evs, err := e.st.Events(ctx, store.EventQuery{After: after, Limit: store.MaxEventPage, Account: accountID})
		if err != nil {
			return false, err
		}
		for _, ev := range evs {
			if ev.Kind == store.EventAccountRoles {
				return true, nil
			}
		}
		if len(evs) < store.MaxEventPage {
			return false, nil
		}
		read += len(evs)
		after = evs[len(evs)-1].Cursor
	}
	return false, nil
}

func (e *Engine) teamSummary(ctx context.Context, name string) (store.TeamSummary, bool, error) {
	teams, err := e.st.ListTeams(ctx)
	if err != nil {
		return store.TeamSummary{}, false, err
	}
	for _, t := range teams {
		if t.Name == name {
			return t, true, nil
		}
	}
	return store.TeamSummary{}, false, nil
}

// notImplemented is Mattermost's 501: a feature the server does not have (guest
// accounts unlicensed or disabled), which no retry brings.
func notImplemented(err error) bool {
	return statusOf(err) == http.StatusNotImplemented
}
