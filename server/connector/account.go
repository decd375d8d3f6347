package connector

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// Mattermost's limits on the attributes it stores (server/public/model/user.go: IsValid);
// longer values are cut so that an attribute Townsquare allows never becomes a 400.
const (
	maxFirstName = 64
	maxLastName  = 64
	maxNickname  = 64
	maxPosition  = 128
)

// errTeamMemberMissing is Mattermost's 404 for a channel add of a user who is not in
// the channel's team (server/channels/app/channel.go: addUserToChannel); the channel's id
// is not stale then.
const errTeamMemberMissing = "app.team.get_member.missing.app_error"

// desired is what Mattermost should hold for an account.
type desired struct {
	store.ChatAccountState
	authData string
}

func (e *Engine) desiredOf(st store.ChatAccountState) desired {
	d := desired{ChatAccountState: st}
	d.FirstName = cut(d.FirstName, maxFirstName)
	d.LastName = cut(d.LastName, maxLastName)
	d.Nickname = cut(d.Nickname, maxNickname)
	d.Position = cut(d.Position, maxPosition)
	switch e.cfg.Settings.AuthData {
	case rules.AuthDataUserName:
		d.authData = st.UserName
	case rules.AuthDataEmail:
		d.authData = st.Email
	default:
		d.authData = st.ExternalID
	}
	return d
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// syncAccount converges Mattermost to one account's current desired state, in
// Mattermost's order: the user (adopted or created when unlinked), reactivation, its
// attributes, while active its guest status and system roles, memberships and their
// admin roles (roles.go), and deactivation last (through the breaker). A purged account's user is deactivated, or deleted permanently when the
// configuration allows it. Errors are returned for the caller to retry or park.
//
// known, when not nil, is the account's state as just read (a reconcile streams them),
// which saves reading it again; on a retry the state is read afresh.
func (e *Engine) syncAccount(ctx context.Context, accountID string, known *store.ChatAccountState) error {
	ctx = withAccount(ctx, accountID)
	var st store.ChatAccountState
	var err error
	if known != nil {
		st = *known
	} else {
		st, err = e.st.ChatAccountState(ctx, accountID)
	}
	purged := errors.Is(err, store.ErrNotFound)
	if err != nil && !purged {
		return err
	}
	link, err := e.st.MMUser(ctx, accountID)
	linked := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if purged {
		if !linked {
			return nil
		}
		return e.purge(ctx, accountID, link)
	}
	d := e.desiredOf(st)

	// (a) the user: linked, else adopted, else created (only for an active account:
	// there is nothing to deactivate in a Mattermost that never had the person).
	var u mattermost.User
	if linked {
		u, err = e.client.GetUser(ctx, link.MMUserID)
		if mattermost.IsNotFound(err) {
			// Deleted in Mattermost by hand: what was recorded of it means nothing now.
			// An inactive account is left so; an active one gets a user again.
			if linked, err = false, e.forgetUser(ctx, accountID); err != nil {
				return err
			}
			if !d.Active {
				return nil
			}
		} else if err != nil {
			return wrap("GET /api/v4/users/{id}", err)
		}
	}
	if !linked {
		var ok bool
		u, link, ok, err = e.adoptOrCreate(ctx, d)
		if err != nil || !ok {
			return err
		}
		e.count(ctx, "user."+link.Origin)
	}

	// (b) reactivate before anything else: a deactivated user cannot join a channel.
	if d.Active && u.DeleteAt != 0 {
		if err := e.client.UpdateUserActive(ctx, u.ID, true); err != nil {
			return wrap("PUT /api/v4/users/{id}/active", err)
		}
		u.DeleteAt = 0
		e.count(ctx, "user.reactivated")
	}

	// (c) attributes.
	if err := e.syncAttributes(ctx, d, &u, &link); err != nil {
		return err
	}

	// (d) roles, memberships and the roles of memberships, while active (roles.go).
	if d.Active {
		transition, err := e.syncGuestAndSystemRoles(ctx, d, &u)
		if err != nil {
			return err
		}
		got := newAdded()
		if err := e.syncMemberships(ctx, d, u.ID, got); err != nil {
			return err
		}
		if err := e.syncMemberRoles(ctx, d, u.ID, got, transition || rolesDue(ctx)); err != nil {
			return err
		}
		if !e.dry {
			if held, _, err := e.st.IsHeld(ctx, accountID); err == nil && held {
				_ = e.st.DropHeld(ctx, accountID) // no longer wanted
			}
		}
	}

	// (e) deactivation last, through the breaker.
	if !d.Active && u.DeleteAt == 0 {
		return e.throughBreaker(ctx, accountID, d.Username, false, func() error {
			return wrap("PUT /api/v4/users/{id}/active", e.client.UpdateUserActive(ctx, u.ID, false))
		})
	}
	return nil
}

// forgetUser forgets the memberships recorded for an account's Mattermost user, which
// Mattermost no longer has (the link is replaced when a user is adopted or created).
func (e *Engine) forgetUser(ctx context.Context, accountID string) error {
	e.log.WarnContext(ctx, "the account's Mattermost user is gone; its records are dropped", "account", accountID)
	if e.dry {
		return nil
	}
	teams, _, err := e.st.OwnedMemberships(ctx, accountID)
	if err != nil {
		return err
	}
	for _, t := range teams {
		if err := e.st.DisownTeam(ctx, accountID, t); err != nil {
			return err
		}
	}
	return nil
}

// adoptOrCreate finds the account's existing Mattermost user by adopt_by and binds it
// (PUT …/auth), or creates one with auth_service and auth_data and no password. A
// create that loses a race to an existing username or email adopts that user. ok is
// false when there is nothing to do (an inactive account with no user to adopt).
func (e *Engine) adoptOrCreate(ctx context.Context, d desired) (mattermost.User, store.MMUserLink, bool, error) {
	u, found, err := e.findExisting(ctx, d)
	if err != nil {
		return u, store.MMUserLink{}, false, err
	}
	if found {
		link, err := e.adopt(ctx, d, u)
		return u, link, err == nil, err
	}
	if !d.Active {
		return u, store.MMUserLink{}, false, nil
	}
	created, err := e.client.CreateUser(ctx, mattermost.User{Username: d.Username, Email: d.Email, FirstName: d.FirstName,
		LastName: d.LastName, Nickname: d.Nickname, Position: d.Position, AuthService: e.cfg.Settings.AuthService, AuthData: d.authData})
	if err != nil {
		if id := mattermost.ErrorID(err); id == mattermost.ErrUsernameExists || id == mattermost.ErrEmailExists {
			if u, found, ferr := e.findExisting(ctx, d); ferr == nil && found {
				link, err := e.adopt(ctx, d, u)
				return u, link, err == nil, err
			}
		}
		return u, store.MMUserLink{}, false, wrap("POST /api/v4/users", err)
	}
	link := store.MMUserLink{AccountID: d.ID, MMUserID: created.ID, Origin: store.MMOriginCreated, AuthData: d.authData}
	if !e.dry {
		if err := e.st.LinkMMUser(ctx, link); err != nil {
			return created, link, false, err
		}
	}
	return created, link, true, nil
}

// findExisting looks the account up by adopt_by, in order; bots are never adopted.
func (e *Engine) findExisting(ctx context.Context, d desired) (mattermost.User, bool, error) {
	for _, by := range e.cfg.Settings.AdoptBy {
		var u mattermost.User
		var err error
		var call string
		switch by {
		case rules.AdoptByEmail:
			if d.Email == "" {
				continue
			}
			call = "GET /api/v4/users/email/{email}"
			u, err = e.client.GetUserByEmail(ctx, d.Email)
		case rules.AdoptByUsername:
			if d.Username == "" {
				continue
			}
			call = "GET /api/v4/users/username/{username}"
			u, err = e.client.GetUserByUsername(ctx, d.Username)
		default:
			continue
		}
		if mattermost.IsNotFound(err) {
			continue
		}
		if err != nil {
			return u, false, wrap(call, err)
		}
		if u.IsBot {
			continue
		}
		return u, true, nil
	}
	return mattermost.User{}, false, nil
}

// adopt links an existing user, then binds its login to the account (PUT …/auth). The
// link comes first, so that a user already linked to another account (a conflict) is
// never touched; it records no auth_data until the bind succeeded, so that a retry binds
// again.
func (e *Engine) adopt(ctx context.Context, d desired, u mattermost.User) (store.MMUserLink, error) {
	link := store.MMUserLink{AccountID: d.ID, MMUserID: u.ID, Origin: store.MMOriginAdopted}
	if !e.dry {
		if err := e.st.LinkMMUser(ctx, link); err != nil {
			return link, fmt.Errorf("link %s to Mattermost user %s: %w", d.ID, u.ID, err)
		}
	}
	if d.authData != "" {
		if err := e.client.UpdateUserAuth(ctx, u.ID, e.cfg.Settings.AuthService, d.authData); err != nil {
			return link, wrap("PUT /api/v4/users/{id}/auth", err)
		}
		link.AuthData = d.authData
		if !e.dry {
			if err := e.st.LinkMMUser(ctx, link); err != nil {
				return link, err
			}
		}
	}
	return link, nil
}

// syncAttributes patches what differs: email and names together, a username change on
// its own (Mattermost refuses it for SSO users with a 409 that is recorded, shown in
// status, and not sent again for that username), and the login binding when auth_data
// changed since it was last sent.
func (e *Engine) syncAttributes(ctx context.Context, d desired, u *mattermost.User, link *store.MMUserLink) error {
	var p mattermost.UserPatch
	changed := false
	set := func(field **string, have, want string) {
		if have != want {
			v := want
			*field = &v
			changed = true
		}
	}
	if d.Email != "" {
		set(&p.Email, u.Email, d.Email)
	}
	set(&p.FirstName, u.FirstName, d.FirstName)
	set(&p.LastName, u.LastName, d.LastName)
	set(&p.Nickname, u.Nickname, d.Nickname)
	set(&p.Position, u.Position, d.Position)
	if changed {
		nu, err := e.client.PatchUser(ctx, u.ID, p)
		if err != nil {
			return wrap("PUT /api/v4/users/{id}/patch", err)
		}
		if !e.dry {
			*u = nu
		}
		e.count(ctx, "user.updated")
	}
	if d.Username != "" && u.Username != d.Username {
		key := keyUsernameRefused + d.ID
		st, err := e.st.MMStatus(ctx)
		if err != nil {
			return err
		}
		if st[key] != d.Username {
			v := d.Username
			_, err := e.client.PatchUser(ctx, u.ID, mattermost.UserPatch{Username: &v})
			switch {
			case mattermost.ErrorID(err) == mattermost.ErrLoginProviderAttr:
				e.log.WarnContext(ctx, "Mattermost refuses to rename an SSO user; not retried", "account", d.ID, "username", d.Username)
				e.failure(ctx, d.ID, "PUT /api/v4/users/{id}/patch", statusOf(err), mattermost.ErrorID(err),
					fmt.Sprintf("username %q → %q refused: an SSO user's username is set by its login provider", u.Username, d.Username))
				if !e.dry {
					e.setStatus(ctx, map[string]string{key: d.Username})
				}
			case err != nil:
				return wrap("PUT /api/v4/users/{id}/patch", err)
			default:
				e.count(ctx, "user.renamed")
				if st[key] != "" && !e.dry {
					e.setStatus(ctx, map[string]string{key: ""})
				}
			}
		}
	}
	if d.authData != "" && link.AuthData != d.authData {
		if err := e.client.UpdateUserAuth(ctx, u.ID, e.cfg.Settings.AuthService, d.authData); err != nil {
			return wrap("PUT /api/v4/users/{id}/auth", err)
		}
		link.AuthData = d.authData
		if !e.dry {
			if err := e.st.LinkMMUser(ctx, *link); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncMemberships adds the desired memberships the connector has not added yet (teams
// first: Mattermost adds to a channel only members of its team) and records them, then
// removes the ones it added that are no longer desired, channels first. town-square is
// Mattermost's own business on a team join, and never removed.
//
// got receives what the adds answered: the memberships as Mattermost holds them.
func (e *Engine) syncMemberships(ctx context.Context, d desired, userID string, got *added) error {
	ownedTeams, ownedChannels, err := e.st.OwnedMemberships(ctx, d.ID)
	if err != nil {
		return err
	}
	ownT := map[string]bool{}
	for _, t := range ownedTeams {
		ownT[t] = true
	}
	ownC := map[store.ChannelRef]bool{}
	for _, c := range ownedChannels {
		ownC[c] = true
	}
	wantT := map[string]bool{}
	for _, team := range d.Teams {
		wantT[team] = true
		if ownT[team] {
			continue
		}
		teamID, err := e.ensureTeam(ctx, team)
		if err != nil {
			return err
		}
		m, err := e.client.AddTeamMember(ctx, teamID, userID)
		if mattermost.IsNotFound(err) { // the recorded id is stale: find the team again, once
			if teamID, err = e.resolveTeam(ctx, team, true); err != nil {
				return err
			}
			m, err = e.client.AddTeamMember(ctx, teamID, userID)
		}
		if err != nil {
			return wrap("POST /api/v4/teams/{team_id}/members", err)
		}
		got.teams[team] = m
		e.count(ctx, "team.added")
		if !e.dry {
			if err := e.st.OwnTeam(ctx, d.ID, team); err != nil {
				return err
			}
		}
	}
	wantC := map[store.ChannelRef]bool{}
	for _, c := range d.Channels {
		ref := store.ChannelRef{Team: c.Team, Channel: c.Channel}
		wantC[ref] = true
		if c.Channel == rules.TownSquare || ownC[ref] || !wantT[c.Team] {
			continue
		}
		chID, err := e.ensureChannel(ctx, c.Team, c.Channel)
		if err != nil {
			return err
		}
		m, err := e.client.AddChannelMember(ctx, chID, userID)
		if mattermost.IsNotFound(err) && mattermost.ErrorID(err) != errTeamMemberMissing {
			// The recorded id is stale: find the channel again, once.
			if chID, err = e.resolveChannel(ctx, c.Team, c.Channel, true); err != nil {
				return err
			}
			m, err = e.client.AddChannelMember(ctx, chID, userID)
		}
		if err != nil {
			return wrap("POST /api/v4/channels/{channel_id}/members", err)
		}
		got.channels[ref] = m
		e.count(ctx, "channel.added")
		if !e.dry {
			if err := e.st.OwnChannel(ctx, d.ID, c.Team, c.Channel); err != nil {
				return err
			}
		}
	}
	for _, c := range ownedChannels {
		if wantC[c] || !wantT[c.Team] || c.Channel == rules.TownSquare {
			continue // kept; or its team goes below, which leaves it too
		}
		if err := e.removeChannelMember(ctx, d.ID, c, userID); err != nil {
			return err
		}
	}
	for _, team := range ownedTeams {
		if wantT[team] {
			continue
		}
		teamID, err := e.ensureTeam(ctx, team)
		if err != nil {
			return err
		}
		err = e.client.RemoveTeamMember(ctx, teamID, userID)
		if err != nil && mattermost.ErrorID(err) != mattermost.ErrNotTeamMember && !mattermost.IsNotFound(err) {
			return wrap("DELETE /api/v4/teams/{team_id}/members/{user_id}", err)
		}
		e.count(ctx, "team.removed")
		if !e.dry {
			if err := e.st.DisownTeam(ctx, d.ID, team); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Engine) removeChannelMember(ctx context.Context, accountID string, c store.ChannelRef, userID string) error {
	chID, err := e.ensureChannel(ctx, c.Team, c.Channel)
	if err != nil {
		return err
	}
	err = e.client.RemoveChannelMember(ctx, chID, userID)
	if err != nil && !mattermost.IsNotFound(err) && mattermost.ErrorID(err) != mattermost.ErrChannelMemberMissing {
		return wrap("DELETE /api/v4/channels/{channel_id}/members/{user_id}", err)
	}
	e.count(ctx, "channel.removed")
	if !e.dry {
		return e.st.DisownChannel(ctx, accountID, c.Team, c.Channel)
	}
	return nil
}

// purge ends a purged account's user: a permanent delete with delete_mode: purge and
// allow_permanent_delete: true, else a deactivation; either through the breaker.
func (e *Engine) purge(ctx context.Context, accountID string, link store.MMUserLink) error {
	u, err := e.client.GetUser(ctx, link.MMUserID)
	if mattermost.IsNotFound(err) {
		return nil // deleted already: nothing to do, nothing to count
	}
	if err != nil {
		return wrap("GET /api/v4/users/{id}", err)
	}
	if e.cfg.DeleteMode == rules.DeletePurge && e.cfg.Settings.AllowPermanentDelete {
		return e.throughBreaker(ctx, accountID, u.Username, true, func() error {
			err := e.client.DeleteUserPermanently(ctx, u.ID)
			if mattermost.IsNotFound(err) {
				err = nil
			}
			return wrap("DELETE /api/v4/users/{id}?permanent=true", err)
		})
	}
	if u.DeleteAt != 0 {
		return nil
	}
	return e.throughBreaker(ctx, accountID, u.Username, false, func() error {
		return wrap("PUT /api/v4/users/{id}/active", e.client.UpdateUserActive(ctx, u.ID, false))
	})
}

// throughBreaker sends a deactivation (or permanent delete) unless the breaker holds
// it: max_deactivations_per_hour sent in the last hour hold every further one (a broken
// IdP once deactivated half a company) until "townsquare mattermost release" releases
// it, which lets it through here.
func (e *Engine) throughBreaker(ctx context.Context, accountID, username string, permanent bool, send func() error) error {
	if e.dry {
		e.count(ctx, "user.deactivated")
		return send()
	}
	// One at a time, so that concurrent workers cannot all pass a limit that has room
	// for one (only the lease holder sends, so a process-local lock is enough).
	e.breakerMu.Lock()
	defer e.breakerMu.Unlock()
	held, released, err := e.st.IsHeld(ctx, accountID)
	if err != nil {
		return err
	}
	if !released {
		if limit := e.cfg.Settings.MaxDeactivationsPerHour; limit > 0 {
			n, err := e.st.DeactivationsSince(ctx, e.now().Add(-time.Hour))
			if err != nil {
				return err
			}
			if n >= limit {
				if !held {
					e.log.WarnContext(ctx, "breaker: deactivation held", "account", accountID, "limit_per_hour", limit)
				}
				e.count(ctx, "user.held")
				return e.st.HoldDeactivation(ctx, store.HeldDeactivation{AccountID: accountID, Username: username, Permanent: permanent})
			}
		}
	}
	if err := send(); err != nil {
		return err
	}
	e.count(ctx, "user.deactivated")
	if err := e.st.RecordDeactivation(ctx, accountID, e.now()); err != nil {
		return err
	}
	if held {
		return e.st.DropHeld(ctx, accountID)
	}
	return nil
}

// ensureTeam returns the Mattermost id of a team, found by name or created (with
// Townsquare's display name and type: open unless imported or declared invite only),
// and records it. The type of a team that exists already is left as Mattermost has it.
func (e *Engine) ensureTeam(ctx context.Context, name string) (string, error) {
	return e.resolveTeam(ctx, name, false)
}

// resolveTeam is ensureTeam; fresh skips the recorded id (found stale: Mattermost
// answered 404 for it).
func (e *Engine) resolveTeam(ctx context.Context, name string, fresh bool) (string, error) {
	if id, err := e.st.MMTeamID(ctx, name); err == nil && !fresh {
		return id, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	t, err := e.client.GetTeamByName(ctx, name)
	if mattermost.IsNotFound(err) {
		display, typ := name, store.TeamOpen
		if teams, lerr := e.st.ListTeams(ctx); lerr == nil {
			for _, ts := range teams {
				if ts.Name != name {
					continue
				}
				if ts.DisplayName != "" {
					display = ts.DisplayName
				}
				if ts.Type == store.TeamInviteOnly {
					typ = store.TeamInviteOnly
				}
			}
		}
		t, err = e.client.CreateTeam(ctx, mattermost.Team{Name: name, DisplayName: cut(display, 64), Type: typ})
		if mattermost.ErrorID(err) == mattermost.ErrTeamExists {
			t, err = e.client.GetTeamByName(ctx, name)
		} else if err != nil {
			return "", wrap("POST /api/v4/teams", err)
		}
		e.count(ctx, "team.created")
	}
	if err != nil {
		return "", wrap("GET /api/v4/teams/name/{name}", err)
	}
	if !e.dry {
		if err := e.st.SetMMTeamID(ctx, name, t.ID); err != nil {
			return "", err
		}
	}
	return t.ID, nil
}

// ensureChannel returns the Mattermost id of a channel, found by its team's and its
// name or created (public or private as in Townsquare), and records it.
func (e *Engine) ensureChannel(ctx context.Context, team, channel string) (string, error) {
	return e.resolveChannel(ctx, team, channel, false)
}

// resolveChannel is ensureChannel; fresh skips the recorded ids of the channel and its
// team.
func (e *Engine) resolveChannel(ctx context.Context, team, channel string, fresh bool) (string, error) {
	if id, err := e.st.MMChannelID(ctx, team, channel); err == nil && !fresh {
		return id, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	teamID, err := e.resolveTeam(ctx, team, fresh)
	if err != nil {
		return "", err
	}
	ch, err := e.client.GetChannelByName(ctx, team, channel)
	if mattermost.IsNotFound(err) {
		display, typ := channel, "O"
		if chans, lerr := e.st.TeamChannels(ctx, team); lerr == nil {
			for _, c := range chans {
				if c.Name == channel {
					display, typ = c.DisplayName, c.Type
				}
			}
		}
		if typ != "P" {
			typ = "O"
		}
		ch, err = e.client.CreateChannel(ctx, mattermost.Channel{TeamID: teamID, Name: channel, DisplayName: cut(display, 64), Type: typ})
		if mattermost.IsNotFound(err) && !fresh { // the team's recorded id is stale
			return e.resolveChannel(ctx, team, channel, true)
		}
		if mattermost.ErrorID(err) == mattermost.ErrChannelExists {
			ch, err = e.client.GetChannelByName(ctx, team, channel)
		} else if err != nil {
			return "", wrap("POST /api/v4/channels", err)
		}
		e.count(ctx, "channel.created")
	}
	if err != nil {
		return "", wrap("GET /api/v4/teams/name/{team_name}/channels/name/{channel_name}", err)
	}
	if !e.dry {
		if err := e.st.SetMMChannelID(ctx, team, channel, ch.ID); err != nil {
			return "", err
		}
	}
	return ch.ID, nil
}

// ensureAllTeamsAndChannels ensures every team and channel of Townsquare exists in
// Mattermost with its display name and type (a retried dead letter of a team or channel
// creation or update).
func (e *Engine) ensureAllTeamsAndChannels(ctx context.Context) error {
	teams, err := e.st.ListTeams(ctx)
	if err != nil {
		return err
	}
	for _, t := range teams {
		if err := e.syncTeamSummary(ctx, t); err != nil {
			return err
		}
		chans, err := e.st.TeamChannels(ctx, t.Name)
		if err != nil {
			return err
		}
		for _, c := range chans {
			if err := e.syncChannelSummary(ctx, t.Name, c); err != nil {
				return err
			}
		}
	}
	return nil
}

type accountKey struct{}

func withAccount(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, accountKey{}, id)
}

func accountOf(ctx context.Context) string {
	id, _ := ctx.Value(accountKey{}).(string)
	return id
}
