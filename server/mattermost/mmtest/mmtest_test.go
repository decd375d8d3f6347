package mmtest

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server/mattermost"
)

var ctx = context.Background()

func client(t *testing.T, s *Server, token string) *mattermost.Client {
	t.Helper()
	c, err := mattermost.New(mattermost.Config{URL: s.URL(), Token: token, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sp(s string) *string { return &s }

// wantErr checks err is an *mattermost.Error with status and id.
func wantErr(t *testing.T, err error, status int, id string) {
	t.Helper()
	var e *mattermost.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want %d %s", err, status, id)
	}
	if e.StatusCode != status || e.ID != id || e.RequestID == "" || e.Message == "" {
		t.Fatalf("err = %d %q (request %q, message %q), want %d %s", e.StatusCode, e.ID, e.RequestID, e.Message, status, id)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var idShape = regexp.MustCompile(`^[a-z0-9]{26}$`)

// TestEveryOperationConforms drives every allowed call through the client, successes
// and Mattermost's refusals alike, and expects no violation (New's Cleanup asserts it).
func TestEveryOperationConforms(t *testing.T) {
	s := New(t, WithAPIUserDeletion())
	c := client(t, s, s.AdminToken())
	me := must[mattermost.User](t)(c.Me(ctx))
	if me.Username != "townsquare-bot" || !strings.Contains(me.Roles, "system_admin") || !me.IsBot || !idShape.MatchString(me.ID) {
		t.Fatalf("Me = %+v", me)
	}
	u := must[mattermost.User](t)(c.CreateUser(ctx, mattermost.User{Username: "Alice", Email: "Alice@Example.org", FirstName: "A", LastName: "L",
		Nickname: "al", Position: "eng", AuthService: "saml", AuthData: "ext-1"}))
	if !idShape.MatchString(u.ID) || u.Username != "alice" || u.Email != "alice@example.org" || u.AuthData != "" || u.AuthService != "saml" || u.Roles != "system_user" {
		t.Fatalf("CreateUser = %+v", u)
	}
	for _, get := range []func() (mattermost.User, error){
		func() (mattermost.User, error) { return c.GetUser(ctx, u.ID) },
		func() (mattermost.User, error) { return c.GetUserByUsername(ctx, "alice") },
		func() (mattermost.User, error) { return c.GetUserByEmail(ctx, "alice@example.org") },
		func() (mattermost.User, error) { return c.GetUserByEmail(ctx, "Alice@Example.org") }, // SanitizeEmail lower-cases
	} {
		if got := must[mattermost.User](t)(get()); got != u {
			t.Errorf("get = %+v, want %+v", got, u)
		}
	}
	p := must[mattermost.User](t)(c.PatchUser(ctx, u.ID, mattermost.UserPatch{Email: sp("alice2@example.org"), Position: sp("lead")}))
	if p.Email != "alice2@example.org" || p.Position != "lead" || p.Username != "alice" {
		t.Errorf("PatchUser = %+v", p)
	}
	ok(t, c.UpdateUserAuth(ctx, u.ID, "saml", "ext-2"))
	ok(t, c.UpdateUserActive(ctx, u.ID, false))
	ok(t, c.UpdateUserActive(ctx, u.ID, true))
	ok(t, c.UpdateUserRoles(ctx, u.ID, "system_user system_admin"))
	ok(t, c.UpdateUserRoles(ctx, u.ID, "system_user"))
	tm := must[mattermost.Team](t)(c.CreateTeam(ctx, mattermost.Team{Name: "eng", DisplayName: "Engineering", Type: "I"}))
	if got := must[mattermost.Team](t)(c.GetTeamByName(ctx, "eng")); got != tm || !idShape.MatchString(tm.ID) {
		t.Errorf("GetTeamByName = %+v, want %+v", got, tm)
	}
	ch := must[mattermost.Channel](t)(c.CreateChannel(ctx, mattermost.Channel{TeamID: tm.ID, Name: "backend", DisplayName: "Backend", Type: "P"}))
	if got := must[mattermost.Channel](t)(c.GetChannelByName(ctx, "eng", "backend")); got != ch {
		t.Errorf("GetChannelByName = %+v, want %+v", got, ch)
	}
	m := must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, u.ID))
	if m != (mattermost.TeamMember{TeamID: tm.ID, UserID: u.ID, Roles: "team_user", SchemeUser: true}) {
		t.Errorf("AddTeamMember = %+v", m)
	}
	cm := must[mattermost.ChannelMember](t)(c.AddChannelMember(ctx, ch.ID, u.ID))
	if cm != (mattermost.ChannelMember{ChannelID: ch.ID, UserID: u.ID, Roles: "channel_user", SchemeUser: true}) {
		t.Errorf("AddChannelMember = %+v", cm)
	}
	ok(t, c.UpdateTeamMemberSchemeRoles(ctx, tm.ID, u.ID, mattermost.SchemeRoles{SchemeAdmin: true, SchemeUser: true}))
	ok(t, c.UpdateChannelMemberSchemeRoles(ctx, ch.ID, u.ID, mattermost.SchemeRoles{SchemeAdmin: true, SchemeUser: true}))
	tms := must[[]mattermost.TeamMember](t)(c.GetTeamMembers(ctx, tm.ID, 0, 200))
	cms := must[[]mattermost.ChannelMember](t)(c.GetChannelMembers(ctx, ch.ID, 0, 200))
	if len(tms) != 2 || len(cms) != 2 {
		t.Errorf("members: team %+v channel %+v", tms, cms)
	}
	if got := must[mattermost.TeamMember](t)(c.GetTeamMember(ctx, tm.ID, u.ID)); got != (mattermost.TeamMember{TeamID: tm.ID, UserID: u.ID,
		Roles: "team_user team_admin", SchemeUser: true, SchemeAdmin: true}) {
		t.Errorf("GetTeamMember = %+v", got)
	}
	if got := must[mattermost.ChannelMember](t)(c.GetChannelMember(ctx, ch.ID, u.ID)); got != (mattermost.ChannelMember{ChannelID: ch.ID, UserID: u.ID,
		Roles: "channel_user channel_admin", SchemeUser: true, SchemeAdmin: true}) {
		t.Errorf("GetChannelMember = %+v", got)
	}
	if got := must[mattermost.Team](t)(c.PatchTeam(ctx, tm.ID, mattermost.TeamPatch{DisplayName: sp("Engineers")})); got.DisplayName != "Engineers" || got.Type != "I" {
		t.Errorf("PatchTeam = %+v", got)
	}
	if got := must[mattermost.Team](t)(c.UpdateTeamPrivacy(ctx, tm.ID, "O")); got.Type != "O" || got.DisplayName != "Engineers" {
		t.Errorf("UpdateTeamPrivacy = %+v", got)
	}
	if got := must[mattermost.Channel](t)(c.PatchChannel(ctx, ch.ID, mattermost.ChannelPatch{DisplayName: sp("Back end")})); got.DisplayName != "Back end" || got.Type != "P" {
		t.Errorf("PatchChannel = %+v", got)
	}
	if got := must[mattermost.Channel](t)(c.UpdateChannelPrivacy(ctx, ch.ID, "O")); got.Type != "O" {
		t.Errorf("UpdateChannelPrivacy = %+v", got)
	}
	ok(t, c.DemoteUser(ctx, u.ID))
	ok(t, c.PromoteUser(ctx, u.ID))
	ok(t, c.RemoveChannelMember(ctx, ch.ID, u.ID))
	ok(t, c.RemoveTeamMember(ctx, tm.ID, u.ID))
	ok(t, c.DeleteUserPermanently(ctx, u.ID))

	// Refusals conform too: each status is one the subset declares for its operation.
	_, err := c.GetUser(ctx, u.ID)
	wantErr(t, err, 404, "app.user.missing_account.const")
	_, err = c.CreateUser(ctx, mattermost.User{Username: "townsquare-bot", Email: "x@example.org", AuthService: "saml", AuthData: "z"})
	wantErr(t, err, 400, mattermost.ErrUsernameExists)
	_, err = c.GetChannelByName(ctx, "eng", "nope")
	wantErr(t, err, 404, "app.channel.get_by_name.missing.app_error")
	_, err = c.GetTeamMember(ctx, tm.ID, me.ID+"")
	if err != nil {
		t.Errorf("the creator's membership: %v", err)
	}
	_, err = c.GetChannelMember(ctx, ch.ID, u.ID)
	wantErr(t, err, 404, "app.channel.get_member.missing.app_error")
	if n := s.Count("", "POST /api/v4/users"); n != 2 {
		t.Errorf("Count(POST /api/v4/users) = %d", n)
	}
	if n := s.Count("PUT", "/api/v4/users/{id}/active"); n != 2 {
		t.Errorf("Count(PUT …/active) = %d", n)
	}
}

// TestWithoutRequestLog: the double answers as usual but keeps no request, while the
// default keeps every one.
func TestWithoutRequestLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want int
	}{{"default", nil, 2}, {"without", []Option{WithoutRequestLog()}, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, tc.opts...)
			c := client(t, s, s.AdminToken())
			must[mattermost.User](t)(c.Me(ctx))
			_, err := c.GetUser(ctx, "abcdefghijklmnopqrstuvwxyz")
			wantErr(t, err, 404, "app.user.missing_account.const")
			if got := len(s.Requests()); got != tc.want {
				t.Fatalf("%d requests kept, want %d", got, tc.want)
			}
			if got := s.Count("GET", "/api/v4/users/me"); got != tc.want/2 {
				t.Fatalf("Count(GET /users/me) = %d, want %d", got, tc.want/2)
			}
		})
	}
}
