package connector

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/store"
)

// MaxPlanChanges bounds the changes a Plan lists; the counts cover every change.
const MaxPlanChanges = 10000

// Plan is what a dry run would send: counts by kind of change, then each call.
type Plan struct {
	Counts  map[string]int `json:"counts"`
	Changes []Change       `json:"changes"`
	Omitted int            `json:"omitted,omitempty"` // changes beyond MaxPlanChanges
}

// Change is one call a dry run would make.
type Change struct {
	Account string            `json:"account,omitempty"`
	Call    string            `json:"call"` // "POST /api/v4/users"
	Fields  map[string]string `json:"fields,omitempty"`
}

// String is the plan for people: the counts, then each change.
func (p *Plan) String() string {
	var b strings.Builder
	kinds := make([]string, 0, len(p.Counts))
	for k := range p.Counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "%d changes\n", len(p.Changes)+p.Omitted)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-18s %d\n", k, p.Counts[k])
	}
	for _, c := range p.Changes {
		keys := make([]string, 0, len(c.Fields))
		for k := range c.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fields := make([]string, len(keys))
		for i, k := range keys {
			fields[i] = fmt.Sprintf("%s=%q", k, c.Fields[k])
		}
		acc := ""
		if c.Account != "" {
			acc = " (account " + c.Account + ")"
		}
		fmt.Fprintf(&b, "%s%s %s\n", c.Call, acc, strings.Join(fields, " "))
	}
	if p.Omitted > 0 {
		fmt.Fprintf(&b, "… and %d more\n", p.Omitted)
	}
	return b.String()
}

func (e *Engine) count(ctx context.Context, kind string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.plan != nil {
		e.plan.Counts[kind]++
	}
}

// record is a write the dry run does not send: logged, journaled as
// mattermost.dry_run (Source the call, After the body's fields), and added to the plan.
func (e *Engine) record(ctx context.Context, call string, fields map[string]string) {
	acc := accountOf(ctx)
	e.log.InfoContext(ctx, "dry run: would call Mattermost", "call", call, "account", acc, "fields", fields)
	if err := e.st.AppendEvent(store.WithActor(ctx, Actor), store.Event{Kind: store.EventMattermostDryRun, Account: acc, Source: call, After: fields}); err != nil {
		e.log.WarnContext(ctx, "journal a dry-run call", "err", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.plan != nil {
		if len(e.plan.Changes) < MaxPlanChanges {
			e.plan.Changes = append(e.plan.Changes, Change{Account: acc, Call: call, Fields: fields})
		} else {
			e.plan.Omitted++
		}
	}
}

// dryRunClient sends the GETs and records every other call instead of sending it.
type dryRunClient struct {
	Client
	e *Engine
}

// dryID stands for the id of something a dry run would have created.
func dryID(kind, name string) string { return "(new " + kind + " " + name + ")" }

func isDry(id string) bool { return strings.HasPrefix(id, "(new ") }

func (c *dryRunClient) GetUser(ctx context.Context, id string) (mattermost.User, error) {
	if isDry(id) {
		return mattermost.User{ID: id}, nil
	}
	return c.Client.GetUser(ctx, id)
}

func (c *dryRunClient) CreateUser(ctx context.Context, u mattermost.User) (mattermost.User, error) {
	c.e.record(ctx, "POST /api/v4/users", map[string]string{"username": u.Username, "email": u.Email, "first_name": u.FirstName,
		"last_name": u.LastName, "nickname": u.Nickname, "position": u.Position, "auth_service": u.AuthService, "auth_data": u.AuthData})
	u.ID = dryID("user", u.Username)
	u.AuthData = ""
	u.Roles = "system_user" // as Mattermost creates every user
	return u, nil
}

func (c *dryRunClient) PatchUser(ctx context.Context, id string, p mattermost.UserPatch) (mattermost.User, error) {
	f := map[string]string{}
	for k, v := range map[string]*string{"username": p.Username, "email": p.Email, "first_name": p.FirstName,
		"last_name": p.LastName, "nickname": p.Nickname, "position": p.Position} {
		if v != nil {
			f[k] = *v
		}
	}
	c.e.record(ctx, "PUT /api/v4/users/"+id+"/patch", f)
	return mattermost.User{ID: id}, nil
}

func (c *dryRunClient) UpdateUserAuth(ctx context.Context, id, svc, data string) error {
	c.e.record(ctx, "PUT /api/v4/users/"+id+"/auth", map[string]string{"auth_service": svc, "auth_data": data})
	return nil
}

func (c *dryRunClient) UpdateUserActive(ctx context.Context, id string, active bool) error {
	c.e.record(ctx, "PUT /api/v4/users/"+id+"/active", map[string]string{"active": fmt.Sprint(active)})
	return nil
}

func (c *dryRunClient) DeleteUserPermanently(ctx context.Context, id string) error {
	c.e.record(ctx, "DELETE /api/v4/users/"+id+"?permanent=true", nil)
	return nil
}

func (c *dryRunClient) CreateTeam(ctx context.Context, t mattermost.Team) (mattermost.Team, error) {
	c.e.record(ctx, "POST /api/v4/teams", map[string]string{"name": t.Name, "display_name": t.DisplayName, "type": t.Type})
	t.ID = dryID("team", t.Name)
	return t, nil
}

func (c *dryRunClient) AddTeamMember(ctx context.Context, teamID, userID string) (mattermost.TeamMember, error) {
	c.e.record(ctx, "POST /api/v4/teams/"+teamID+"/members", map[string]string{"team_id": teamID, "user_id": userID})
	return mattermost.TeamMember{TeamID: teamID, UserID: userID}, nil
}

func (c *dryRunClient) RemoveTeamMember(ctx context.Context, teamID, userID string) error {
	c.e.record(ctx, "DELETE /api/v4/teams/"+teamID+"/members/"+userID, nil)
	return nil
}

func (c *dryRunClient) CreateChannel(ctx context.Context, ch mattermost.Channel) (mattermost.Channel, error) {
	c.e.record(ctx, "POST /api/v4/channels", map[string]string{"team_id": ch.TeamID, "name": ch.Name, "display_name": ch.DisplayName, "type": ch.Type})
	ch.ID = dryID("channel", ch.Name)
	return ch, nil
}

func (c *dryRunClient) AddChannelMember(ctx context.Context, channelID, userID string) (mattermost.ChannelMember, error) {
	c.e.record(ctx, "POST /api/v4/channels/"+channelID+"/members", map[string]string{"user_id": userID})
	return mattermost.ChannelMember{ChannelID: channelID, UserID: userID}, nil
}

func (c *dryRunClient) RemoveChannelMember(ctx context.Context, channelID, userID string) error {
	c.e.record(ctx, "DELETE /api/v4/channels/"+channelID+"/members/"+userID, nil)
	return nil
}

func (c *dryRunClient) GetTeamMembers(ctx context.Context, teamID string, page, perPage int) ([]mattermost.TeamMember, error) {
	if isDry(teamID) {
		return nil, nil
	}
	return c.Client.GetTeamMembers(ctx, teamID, page, perPage)
}

func (c *dryRunClient) GetChannelMembers(ctx context.Context, channelID string, page, perPage int) ([]mattermost.ChannelMember, error) {
	if isDry(channelID) {
		return nil, nil
	}
	return c.Client.GetChannelMembers(ctx, channelID, page, perPage)
}

func (c *dryRunClient) UpdateUserRoles(ctx context.Context, id, roles string) error {
	c.e.record(ctx, "PUT /api/v4/users/"+id+"/roles", map[string]string{"roles": roles})
	return nil
}

func (c *dryRunClient) DemoteUser(ctx context.Context, id string) error {
	c.e.record(ctx, "POST /api/v4/users/"+id+"/demote", nil)
	return nil
}

func (c *dryRunClient) PromoteUser(ctx context.Context, id string) error {
	c.e.record(ctx, "POST /api/v4/users/"+id+"/promote", nil)
	return nil
}

func (c *dryRunClient) UpdateTeamMemberSchemeRoles(ctx context.Context, teamID, userID string, r mattermost.SchemeRoles) error {
	c.e.record(ctx, "PUT /api/v4/teams/"+teamID+"/members/"+userID+"/schemeRoles",
		map[string]string{"scheme_admin": fmt.Sprint(r.SchemeAdmin), "scheme_user": fmt.Sprint(r.SchemeUser)})
	return nil
}

func (c *dryRunClient) UpdateChannelMemberSchemeRoles(ctx context.Context, channelID, userID string, r mattermost.SchemeRoles) error {
	c.e.record(ctx, "PUT /api/v4/channels/"+channelID+"/members/"+userID+"/schemeRoles",
		map[string]string{"scheme_admin": fmt.Sprint(r.SchemeAdmin), "scheme_user": fmt.Sprint(r.SchemeUser)})
	return nil
}

func (c *dryRunClient) PatchTeam(ctx context.Context, teamID string, p mattermost.TeamPatch) (mattermost.Team, error) {
	f := map[string]string{}
	if p.DisplayName != nil {
		f["display_name"] = *p.DisplayName
	}
	c.e.record(ctx, "PUT /api/v4/teams/"+teamID+"/patch", f)
	return mattermost.Team{ID: teamID}, nil
}

func (c *dryRunClient) UpdateTeamPrivacy(ctx context.Context, teamID, privacy string) (mattermost.Team, error) {
	c.e.record(ctx, "PUT /api/v4/teams/"+teamID+"/privacy", map[string]string{"privacy": privacy})
	return mattermost.Team{ID: teamID, Type: privacy}, nil
}

func (c *dryRunClient) PatchChannel(ctx context.Context, channelID string, p mattermost.ChannelPatch) (mattermost.Channel, error) {
	f := map[string]string{}
	if p.DisplayName != nil {
		f["display_name"] = *p.DisplayName
	}
	c.e.record(ctx, "PUT /api/v4/channels/"+channelID+"/patch", f)
	return mattermost.Channel{ID: channelID}, nil
}

func (c *dryRunClient) UpdateChannelPrivacy(ctx context.Context, channelID, privacy string) (mattermost.Channel, error) {
	c.e.record(ctx, "PUT /api/v4/channels/"+channelID+"/privacy", map[string]string{"privacy": privacy})
	return mattermost.Channel{ID: channelID, Type: privacy}, nil
}

func (c *dryRunClient) GetTeamMember(ctx context.Context, teamID, userID string) (mattermost.TeamMember, error) {
	if isDry(teamID) || isDry(userID) {
		return mattermost.TeamMember{TeamID: teamID, UserID: userID, SchemeUser: true}, nil
	}
	return c.Client.GetTeamMember(ctx, teamID, userID)
}

func (c *dryRunClient) GetChannelMember(ctx context.Context, channelID, userID string) (mattermost.ChannelMember, error) {
	if isDry(channelID) || isDry(userID) {
		return mattermost.ChannelMember{ChannelID: channelID, UserID: userID, SchemeUser: true}, nil
	}
	return c.Client.GetChannelMember(ctx, channelID, userID)
}
