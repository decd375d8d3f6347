package mmtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server/mattermost"
)

// raw sends one request as it is and returns status and body.
func raw(t *testing.T, s *Server, method, path, token, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func sso(name string) mattermost.User {
	return mattermost.User{Username: name, Email: name + "@example.org", AuthService: "saml", AuthData: "ext-" + name}
}

func TestAuth(t *testing.T) {
	s := New(t)
	for _, tok := range []string{"", "not-a-token", s.AdminToken() + "x"} {
		st, body := raw(t, s, "GET", "/api/v4/users/me", tok, "")
		var e appError
		if st != 401 || json.Unmarshal(body, &e) != nil || e.ID != "api.context.session_expired.app_error" || e.StatusCode != 401 || e.RequestID == "" {
			t.Errorf("token %q: %d %s", tok, st, body)
		}
	}
	plain := client(t, s, s.UserToken())
	if me := must[mattermost.User](t)(plain.Me(ctx)); strings.Contains(me.Roles, "system_admin") {
		t.Errorf("the plain user is an admin: %+v", me)
	}
	_, err := plain.CreateUser(ctx, sso("alice"))
	wantErr(t, err, 403, "api.context.permissions.app_error")
	_, err = plain.CreateTeam(ctx, mattermost.Team{Name: "eng", DisplayName: "Eng", Type: "O"})
	wantErr(t, err, 403, "api.context.permissions.app_error")
	if len(s.Snapshot().Teams) != 0 {
		t.Error("a refused call changed the state")
	}
}

func TestNotFoundAndMalformed(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	unknown := newID()
	_, err := c.GetUser(ctx, unknown)
	wantErr(t, err, 404, "app.user.missing_account.const")
	if !mattermost.IsNotFound(err) {
		t.Error("IsNotFound false on 404")
	}
	// A malformed id: the client refuses to send it; the double answers it as Mattermost.
	if _, err = c.GetUser(ctx, "short"); err == nil || mattermost.ErrorID(err) != "" {
		t.Errorf("client sent a malformed id: %v", err)
	}
	if st, body := raw(t, s, "GET", "/api/v4/users/short", s.AdminToken(), ""); st != 400 || !strings.Contains(string(body), "api.context.invalid_url_param.app_error") {
		t.Errorf("malformed id: %d %s", st, body)
	}
	_, err = c.GetUserByUsername(ctx, "nobody")
	wantErr(t, err, 404, "app.user.get_by_username.app_error")
	_, err = c.GetUserByEmail(ctx, "nobody@example.org")
	wantErr(t, err, 404, "app.user.missing_account.const")
	_, err = c.GetUserByEmail(ctx, "not-an-email")
	wantErr(t, err, 400, "api.context.invalid_url_param.app_error")
	_, err = c.GetUserByUsername(ctx, "Upper") // RequireUsername: no lower-casing
	wantErr(t, err, 400, "api.context.invalid_body_param.app_error")
	_, err = c.GetTeamByName(ctx, "nope")
	wantErr(t, err, 404, "app.team.get_by_name.missing.app_error")
	s.SeedTeam("eng", "Eng", "O")
	_, err = c.GetChannelByName(ctx, "eng", "nope")
	wantErr(t, err, 404, "app.channel.get_by_name.missing.app_error")
	_, err = c.GetChannelByName(ctx, "nope", "town-square")
	wantErr(t, err, 404, "app.team.get_by_name.missing.app_error")
	_, err = c.GetTeamMembers(ctx, unknown, 0, 10)
	wantErr(t, err, 404, "app.team.get.find.app_error")
	_, err = c.AddChannelMember(ctx, unknown, unknown)
	wantErr(t, err, 404, "app.channel.get.existing.app_error")
	err = c.UpdateUserActive(ctx, unknown, false)
	wantErr(t, err, 404, "app.user.missing_account.const")
	// patchUser answers an unknown user with its invalid parameter (api4/user.go).
	_, err = c.PatchUser(ctx, unknown, mattermost.UserPatch{Nickname: sp("x")})
	wantErr(t, err, 400, "api.context.invalid_body_param.app_error")
}

func TestCreateUserRules(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	must[mattermost.User](t)(c.CreateUser(ctx, sso("alice")))
	cases := []struct {
		name   string
		u      mattermost.User
		status int
		id     string
	}{
		{"taken username, any case", mattermost.User{Username: "ALICE", Email: "other@example.org", AuthService: "saml", AuthData: "x1"}, 400, mattermost.ErrUsernameExists},
		{"taken email, any case", mattermost.User{Username: "bob", Email: "Alice@Example.org", AuthService: "saml", AuthData: "x2"}, 400, mattermost.ErrEmailExists},
		{"taken auth_data", mattermost.User{Username: "bob", Email: "bob@example.org", AuthService: "saml", AuthData: "ext-alice"}, 500, mattermost.ErrUserSave},
		{"username with a space", mattermost.User{Username: "bo b", Email: "bob@example.org", AuthService: "saml", AuthData: "x3"}, 400, "model.user.is_valid.username.app_error"},
		{"restricted username", mattermost.User{Username: "system", Email: "bob@example.org", AuthService: "saml", AuthData: "x3"}, 400, "model.user.is_valid.username.app_error"},
		{"username of 65", mattermost.User{Username: strings.Repeat("a", 65), Email: "bob@example.org", AuthService: "saml", AuthData: "x3"}, 400, "model.user.is_valid.username.app_error"},
		{"bad email", mattermost.User{Username: "bob", Email: "bob", AuthService: "saml", AuthData: "x3"}, 400, "model.user.is_valid.email.app_error"},
		{"auth_data without a service", mattermost.User{Username: "bob", Email: "bob@example.org", AuthData: "x3"}, 400, "model.user.is_valid.auth_data_type.app_error"},
		{"auth_data of 129", mattermost.User{Username: "bob", Email: "bob@example.org", AuthService: "saml", AuthData: strings.Repeat("x", 129)}, 400, "model.user.is_valid.auth_data.app_error"},
		{"email login without a password", mattermost.User{Username: "bob", Email: "bob@example.org"}, 400, "model.user.is_valid.pwd.app_error"},
		{"nickname of 65 runes", mattermost.User{Username: "bob", Email: "bob@example.org", AuthService: "saml", AuthData: "x3", Nickname: strings.Repeat("é", 65)}, 400, "model.user.is_valid.nickname.app_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateUser(ctx, tc.u)
			wantErr(t, err, tc.status, tc.id)
		})
	}
	// The edges that pass: a 64-character username, a 128-character auth_data.
	must[mattermost.User](t)(c.CreateUser(ctx, mattermost.User{Username: strings.Repeat("b", 64), Email: "b64@example.org", AuthService: "saml", AuthData: strings.Repeat("y", 128)}))
	if n := len(s.Snapshot().Users); n != 4 { // bot, plain user, alice, b64
		t.Errorf("%d users, want 4", n)
	}
}

func TestPatchUserRules(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	alice := must[mattermost.User](t)(c.CreateUser(ctx, sso("alice")))
	bob := must[mattermost.User](t)(c.CreateUser(ctx, sso("bob")))
	local := s.SeedUser(mattermost.User{Username: "local", Email: "local@example.org"}) // email login
	_, err := c.PatchUser(ctx, alice.ID, mattermost.UserPatch{Username: sp("alice2")})
	wantErr(t, err, 409, mattermost.ErrLoginProviderAttr)
	_, err = c.PatchUser(ctx, alice.ID, mattermost.UserPatch{Username: sp("alice2"), Email: sp("a2@example.org")})
	wantErr(t, err, 409, mattermost.ErrLoginProviderAttr) // bundled: the email does not pass either
	if u, _ := s.UserByUsername("alice"); u.Email != "alice@example.org" {
		t.Errorf("a refused patch changed the email: %+v", u)
	}
	if u := must[mattermost.User](t)(c.PatchUser(ctx, alice.ID, mattermost.UserPatch{Email: sp("a2@example.org")})); u.Email != "a2@example.org" {
		t.Errorf("email change of an SSO user: %+v", u)
	}
	if u := must[mattermost.User](t)(c.PatchUser(ctx, alice.ID, mattermost.UserPatch{Username: sp("alice")})); u.Username != "alice" {
		t.Errorf("sending the same username: %+v", u)
	}
	_, err = c.PatchUser(ctx, bob.ID, mattermost.UserPatch{Email: sp("A2@example.org")})
	wantErr(t, err, 400, mattermost.ErrEmailExists)
	_, err = c.PatchUser(ctx, local, mattermost.UserPatch{Username: sp("bob")})
	wantErr(t, err, 400, mattermost.ErrUsernameExists)
	if u := must[mattermost.User](t)(c.PatchUser(ctx, local, mattermost.UserPatch{Username: sp("Local2"), FirstName: sp("L")})); u.Username != "local2" || u.FirstName != "L" {
		t.Errorf("username change of an email user: %+v", u)
	}
	if _, ok := s.UserByUsername("local"); ok {
		t.Error("the old username still finds the user")
	}
}

// TestAuthDataNeverAnswered: no answer about a user carries auth_data; PUT …/auth binds.
func TestAuthDataNeverAnswered(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	u := must[mattermost.User](t)(c.CreateUser(ctx, sso("alice")))
	for _, path := range []string{"/api/v4/users/" + u.ID, "/api/v4/users/username/alice", "/api/v4/users/email/alice@example.org"} {
		st, body := raw(t, s, "GET", path, s.AdminToken(), "")
		if st != 200 || strings.Contains(string(body), "auth_data") || strings.Contains(string(body), "ext-alice") {
			t.Errorf("%s: %d %s", path, st, body)
		}
	}
	ok(t, c.UpdateUserAuth(ctx, u.ID, "openid", "new-id"))
	if got, _ := s.UserByUsername("alice"); got.AuthService != "openid" || got.AuthData != "new-id" {
		t.Errorf("after PUT auth: %+v", got)
	}
	// The old auth_data is free again; the new one is taken.
	must[mattermost.User](t)(c.CreateUser(ctx, mattermost.User{Username: "carol", Email: "carol@example.org", AuthService: "saml", AuthData: "ext-alice"}))
	bob := must[mattermost.User](t)(c.CreateUser(ctx, sso("bob")))
	wantErr(t, c.UpdateUserAuth(ctx, bob.ID, "openid", "new-id"), 400, "app.user.update_auth_data.email_exists.app_error")
	ok(t, c.UpdateUserAuth(ctx, u.ID, "openid", "new-id")) // binding again to what it holds
}

func TestActiveTogglesDeleteAt(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	u := must[mattermost.User](t)(c.CreateUser(ctx, sso("alice")))
	ok(t, c.UpdateUserActive(ctx, u.ID, false))
	if got := must[mattermost.User](t)(c.GetUser(ctx, u.ID)); got.DeleteAt == 0 {
		t.Error("deactivated user has delete_at 0")
	}
	ok(t, c.UpdateUserActive(ctx, u.ID, true))
	if got := must[mattermost.User](t)(c.GetUser(ctx, u.ID)); got.DeleteAt != 0 {
		t.Error("reactivated user has delete_at")
	}
	st, body := raw(t, s, "PUT", "/api/v4/users/"+u.ID+"/active", s.AdminToken(), `{"active":"no"}`)
	if st != 400 || !strings.Contains(string(body), "api.context.invalid_body_param.app_error") {
		t.Errorf("active not a boolean: %d %s", st, body)
	}
	s.ResetViolations() // the subset rightly refuses that body
}

func TestTeamJoin(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	tm := must[mattermost.Team](t)(c.CreateTeam(ctx, mattermost.Team{Name: "eng", DisplayName: "Eng", Type: "O"}))
	bot := must[mattermost.User](t)(c.Me(ctx))
	snap := s.Snapshot()
	// The creator joins as team admin, and joins the default channels.
	if !slices.Equal(snap.TeamAdmins["eng"], []string{bot.ID}) || !slices.Contains(snap.ChannelMembers["eng/town-square"], bot.ID) || !slices.Contains(snap.ChannelMembers["eng/off-topic"], bot.ID) {
		t.Fatalf("creator: %+v", snap)
	}
	alice := must[mattermost.User](t)(c.CreateUser(ctx, sso("alice")))
	m1 := must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, alice.ID))
	m2 := must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, alice.ID)) // joining again is success
	if m1 != m2 {
		t.Errorf("second join %+v != %+v", m2, m1)
	}
	snap = s.Snapshot()
	for _, ch := range []string{"eng/town-square", "eng/off-topic"} {
		if !slices.Contains(snap.ChannelMembers[ch], alice.ID) {
			t.Errorf("alice not in %s", ch)
		}
	}
	// A guest joins no default channel.
	guest := must[mattermost.User](t)(c.CreateUser(ctx, sso("guest")))
	ok(t, c.DemoteUser(ctx, guest.ID))
	gm := must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, guest.ID))
	if !gm.SchemeGuest || gm.SchemeUser || gm.Roles != "team_guest" {
		t.Errorf("guest member %+v", gm)
	}
	if snap := s.Snapshot(); slices.Contains(snap.ChannelMembers["eng/town-square"], guest.ID) || slices.Contains(snap.ChannelMembers["eng/off-topic"], guest.ID) {
		t.Error("a guest joined a default channel")
	}
	// A deactivated user can join a team, but not a channel.
	gone := must[mattermost.User](t)(c.CreateUser(ctx, sso("gone")))
	ok(t, c.UpdateUserActive(ctx, gone.ID, false))
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, gone.ID))
	ch := must[mattermost.Channel](t)(c.CreateChannel(ctx, mattermost.Channel{TeamID: tm.ID, Name: "backend", DisplayName: "Backend", Type: "O"}))
	_, err := c.AddChannelMember(ctx, ch.ID, gone.ID)
	wantErr(t, err, 403, mattermost.ErrDeletedUserChannel)
	// A channel add of someone outside the team.
	outsider := must[mattermost.User](t)(c.CreateUser(ctx, sso("outsider")))
	_, err = c.AddChannelMember(ctx, ch.ID, outsider.ID)
	wantErr(t, err, 404, "app.team.get_member.missing.app_error")
	// Adding again is success.
	must[mattermost.ChannelMember](t)(c.AddChannelMember(ctx, ch.ID, alice.ID))
	must[mattermost.ChannelMember](t)(c.AddChannelMember(ctx, ch.ID, alice.ID))
}

func TestTeamCap(t *testing.T) {
	s := New(t)
	s.SetMaxUsersPerTeam(3)
	c := client(t, s, s.AdminToken())
	tm := must[mattermost.Team](t)(c.CreateTeam(ctx, mattermost.Team{Name: "eng", DisplayName: "Eng", Type: "O"})) // the bot: 1
	var ids []string
	for _, n := range []string{"a1", "a2", "a3"} {
		ids = append(ids, must[mattermost.User](t)(c.CreateUser(ctx, sso(n))).ID)
	}
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, ids[0]))
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, ids[1])) // 3: the cap
	_, err := c.AddTeamMember(ctx, tm.ID, ids[2])
	wantErr(t, err, 400, mattermost.ErrMaxTeamAccounts)
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, ids[1])) // an existing member is not refused
	// Deactivated members do not count (GetActiveMemberCount).
	ok(t, c.UpdateUserActive(ctx, ids[0], false))
	ok(t, c.UpdateUserActive(ctx, ids[0], false)) // twice: still one slot
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, ids[2]))
	// Reactivated, it counts again: the team is over the cap, and a new join is refused.
	ok(t, c.UpdateUserActive(ctx, ids[0], true))
	extra := must[mattermost.User](t)(c.CreateUser(ctx, sso("a4")))
	_, err = c.AddTeamMember(ctx, tm.ID, extra.ID)
	wantErr(t, err, 400, mattermost.ErrMaxTeamAccounts)
	// Leaving frees a slot; leaving as a deactivated member frees none.
	ok(t, c.UpdateUserActive(ctx, ids[1], false))
	ok(t, c.RemoveTeamMember(ctx, tm.ID, ids[1]))
	_, err = c.AddTeamMember(ctx, tm.ID, extra.ID)
	wantErr(t, err, 400, mattermost.ErrMaxTeamAccounts)
	ok(t, c.RemoveTeamMember(ctx, tm.ID, ids[2]))
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, extra.ID))
	assertActiveCounts(t, s)
	// The default is a stock server's 50.
	if New(t).st.maxUsersPerTeam != 50 {
		t.Error("default MaxUsersPerTeam is not 50")
	}
}

func TestRemovals(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	tm := must[mattermost.Team](t)(c.CreateTeam(ctx, mattermost.Team{Name: "eng", DisplayName: "Eng", Type: "O"}))
	ch := must[mattermost.Channel](t)(c.CreateChannel(ctx, mattermost.Channel{TeamID: tm.ID, Name: "backend", DisplayName: "Backend", Type: "P"}))
	alice := must[mattermost.User](t)(c.CreateUser(ctx, sso("alice")))
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, alice.ID))
	must[mattermost.ChannelMember](t)(c.AddChannelMember(ctx, ch.ID, alice.ID))
	ts := must[mattermost.Channel](t)(c.GetChannelByName(ctx, "eng", "town-square"))
	wantErr(t, c.RemoveChannelMember(ctx, ts.ID, alice.ID), 400, "api.channel.remove.default.app_error")
	ok(t, c.RemoveChannelMember(ctx, ch.ID, alice.ID))
	wantErr(t, c.RemoveChannelMember(ctx, ch.ID, alice.ID), 404, mattermost.ErrChannelMemberMissing)
	must[mattermost.ChannelMember](t)(c.AddChannelMember(ctx, ch.ID, alice.ID))
	// Leaving the team leaves every channel of it, town-square included.
	ok(t, c.RemoveTeamMember(ctx, tm.ID, alice.ID))
	snap := s.Snapshot()
	for key, ids := range snap.ChannelMembers {
		if slices.Contains(ids, alice.ID) {
			t.Errorf("alice still in %s", key)
		}
	}
	wantErr(t, c.RemoveTeamMember(ctx, tm.ID, alice.ID), 400, mattermost.ErrNotTeamMember)
	// A guest may leave town-square; its last channel gone, it leaves the team.
	g := must[mattermost.User](t)(c.CreateUser(ctx, sso("guest")))
	ok(t, c.DemoteUser(ctx, g.ID))
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, g.ID))
	must[mattermost.ChannelMember](t)(c.AddChannelMember(ctx, ts.ID, g.ID))
	ok(t, c.RemoveChannelMember(ctx, ts.ID, g.ID))
	if slices.Contains(s.Snapshot().TeamMembers["eng"], g.ID) {
		t.Error("a guest without channels stayed in the team")
	}
}

func TestNamesAndDuplicates(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	tm := must[mattermost.Team](t)(c.CreateTeam(ctx, mattermost.Team{Name: "eng", DisplayName: "Eng", Type: "O"}))
	teams := []struct {
		t  mattermost.Team
		id string
	}{
		{mattermost.Team{Name: "eng", DisplayName: "Again", Type: "O"}, mattermost.ErrTeamExists},
		{mattermost.Team{Name: "e", DisplayName: "E", Type: "O"}, "model.team.is_valid.characters.app_error"},
		{mattermost.Team{Name: "Eng2", DisplayName: "E", Type: "O"}, "model.team.is_valid.characters.app_error"},
		{mattermost.Team{Name: "helpdesk", DisplayName: "E", Type: "O"}, "model.team.is_valid.reserved.app_error"},
		{mattermost.Team{Name: strings.Repeat("a", 65), DisplayName: "E", Type: "O"}, "model.team.is_valid.url.app_error"},
		{mattermost.Team{Name: "ok-team", DisplayName: "", Type: "O"}, "model.team.is_valid.name.app_error"},
		{mattermost.Team{Name: "ok-team", DisplayName: strings.Repeat("d", 65), Type: "O"}, "model.team.is_valid.name.app_error"},
	}
	for _, tc := range teams {
		_, err := c.CreateTeam(ctx, tc.t)
		wantErr(t, err, 400, tc.id)
	}
	must[mattermost.Team](t)(c.CreateTeam(ctx, mattermost.Team{Name: strings.Repeat("a", 64), DisplayName: strings.Repeat("d", 64), Type: "I"}))
	chans := []struct {
		c  mattermost.Channel
		id string
	}{
		{mattermost.Channel{TeamID: tm.ID, Name: "town-square", DisplayName: "TS", Type: "O"}, mattermost.ErrChannelExists},
		{mattermost.Channel{TeamID: tm.ID, Name: "Back End", DisplayName: "B", Type: "O"}, "model.channel.is_valid.1_or_more.app_error"},
		{mattermost.Channel{TeamID: tm.ID, Name: strings.Repeat("c", 65), DisplayName: "B", Type: "O"}, "model.channel.is_valid.1_or_more.app_error"},
		{mattermost.Channel{TeamID: tm.ID, Name: "backend", DisplayName: "", Type: "O"}, "model.channel.is_valid.display_name.app_error"},
	}
	for _, tc := range chans {
		_, err := c.CreateChannel(ctx, tc.c)
		wantErr(t, err, 400, tc.id)
	}
	_, err := c.CreateChannel(ctx, mattermost.Channel{TeamID: newID(), Name: "backend", DisplayName: "B", Type: "O"})
	wantErr(t, err, 404, "app.team.get.find.app_error")
	ch := must[mattermost.Channel](t)(c.CreateChannel(ctx, mattermost.Channel{TeamID: tm.ID, Name: strings.Repeat("c", 64), DisplayName: "B", Type: "O"}))
	bot := must[mattermost.User](t)(c.Me(ctx))
	if admins := s.Snapshot().ChannelAdmins["eng/"+ch.Name]; !slices.Equal(admins, []string{bot.ID}) {
		t.Errorf("channel creator not its admin: %v", admins)
	}
	// The same channel name in another team is fine.
	must[mattermost.Channel](t)(c.CreateChannel(ctx, mattermost.Channel{TeamID: must[mattermost.Team](t)(c.GetTeamByName(ctx, strings.Repeat("a", 64))).ID, Name: strings.Repeat("c", 64), DisplayName: "B", Type: "O"}))
}

func TestPaging(t *testing.T) {
	s := New(t)
	s.SeedTeam("big", "Big", "O")
	for i := range 450 {
		s.SeedTeamMember("big", s.SeedUser(mattermost.User{Username: fmt.Sprintf("u%03d", i), Email: fmt.Sprintf("u%03d@example.org", i)}))
	}
	c := client(t, s, s.AdminToken())
	tm := must[mattermost.Team](t)(c.GetTeamByName(ctx, "big"))
	var all []string
	for page := 0; ; page++ {
		ms := must[[]mattermost.TeamMember](t)(c.GetTeamMembers(ctx, tm.ID, page, 200))
		for _, m := range ms {
			all = append(all, m.UserID)
		}
		if len(ms) < 200 {
			break
		}
	}
	if len(all) != 450 || !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != 450 {
		t.Fatalf("paged %d members, sorted %v", len(all), slices.IsSorted(all))
	}
	if got := s.Snapshot().TeamMembers["big"]; !slices.Equal(got, all) {
		t.Error("the pages are not the membership")
	}
	// per_page above 200 is served as 200 (and is a violation of the subset).
	st, body := raw(t, s, "GET", "/api/v4/teams/"+tm.ID+"/members?per_page=500", s.AdminToken(), "")
	var ms []mattermost.TeamMember
	if st != 200 || json.Unmarshal(body, &ms) != nil || len(ms) != 200 {
		t.Errorf("per_page=500: %d, %d members", st, len(ms))
	}
	if v := s.Violations(); len(v) != 1 || !strings.Contains(v[0], "per_page") {
		t.Errorf("violations %v", v)
	}
	s.ResetViolations()
	// Channel members page the same way; a page past the end is empty.
	ts := must[mattermost.Channel](t)(c.GetChannelByName(ctx, "big", "town-square"))
	if ms := must[[]mattermost.ChannelMember](t)(c.GetChannelMembers(ctx, ts.ID, 2, 200)); len(ms) != 50 {
		t.Errorf("last channel page: %d", len(ms))
	}
	if ms := must[[]mattermost.ChannelMember](t)(c.GetChannelMembers(ctx, ts.ID, 1<<30, 200)); len(ms) != 0 {
		t.Errorf("page past the end: %d", len(ms))
	}
}

func TestSchemeRolesAndGuests(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	tm := must[mattermost.Team](t)(c.CreateTeam(ctx, mattermost.Team{Name: "eng", DisplayName: "Eng", Type: "O"}))
	u := must[mattermost.User](t)(c.CreateUser(ctx, sso("alice")))
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, u.ID))
	ok(t, c.UpdateTeamMemberSchemeRoles(ctx, tm.ID, u.ID, mattermost.SchemeRoles{SchemeAdmin: true, SchemeUser: true}))
	ms := must[[]mattermost.TeamMember](t)(c.GetTeamMembers(ctx, tm.ID, 0, 200))
	i := slices.IndexFunc(ms, func(m mattermost.TeamMember) bool { return m.UserID == u.ID })
	if i < 0 || ms[i].Roles != "team_user team_admin" || !ms[i].SchemeAdmin {
		t.Fatalf("after schemeRoles: %+v", ms)
	}
	// Guest status does not change through scheme roles.
	wantErr(t, c.UpdateTeamMemberSchemeRoles(ctx, tm.ID, u.ID, mattermost.SchemeRoles{SchemeGuest: true}), 400, "api.team.update_team_member_roles.guest_and_user.app_error")
	wantErr(t, c.UpdateTeamMemberSchemeRoles(ctx, tm.ID, newID(), mattermost.SchemeRoles{SchemeUser: true}), 404, "app.team.get_member.missing.app_error")
	// Demote: memberships kept, as guest memberships; promote: back, and default channels.
	ok(t, c.DemoteUser(ctx, u.ID))
	wantErr(t, c.DemoteUser(ctx, u.ID), 501, "api.user.demote_user_to_guest.already_guest.app_error")
	if got := must[mattermost.User](t)(c.GetUser(ctx, u.ID)); got.Roles != "system_guest" {
		t.Errorf("demoted roles %q", got.Roles)
	}
	ms = must[[]mattermost.TeamMember](t)(c.GetTeamMembers(ctx, tm.ID, 0, 200))
	i = slices.IndexFunc(ms, func(m mattermost.TeamMember) bool { return m.UserID == u.ID })
	if !ms[i].SchemeGuest || ms[i].SchemeUser || ms[i].SchemeAdmin {
		t.Errorf("demoted member %+v", ms[i])
	}
	ts := must[mattermost.Channel](t)(c.GetChannelByName(ctx, "eng", "town-square"))
	ok(t, c.RemoveChannelMember(ctx, ts.ID, u.ID)) // a guest may leave town-square
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, u.ID))
	ok(t, c.PromoteUser(ctx, u.ID))
	wantErr(t, c.PromoteUser(ctx, u.ID), 501, "api.user.promote_guest_to_user.no_guest.app_error")
	if snap := s.Snapshot(); !slices.Contains(snap.ChannelMembers["eng/town-square"], u.ID) {
		t.Error("a promoted guest did not join town-square")
	}
	// Roles strings.
	wantErr(t, c.UpdateUserRoles(ctx, u.ID, "system_admin"), 400, "api.context.invalid_body_param.app_error")
	wantErr(t, c.UpdateUserRoles(ctx, u.ID, "system_user system_wizard"), 400, "api.context.invalid_body_param.app_error")
	ok(t, c.UpdateUserRoles(ctx, u.ID, "system_admin  system_user"))
	if got, _ := s.UserByUsername("alice"); got.Roles != "system_admin system_user" {
		t.Errorf("roles %q", got.Roles)
	}
	// Unlicensed: no guests.
	s2 := New(t, Unlicensed())
	c2 := client(t, s2, s2.AdminToken())
	u2 := must[mattermost.User](t)(c2.CreateUser(ctx, sso("alice")))
	wantErr(t, c2.DemoteUser(ctx, u2.ID), 501, "api.team.demote_user_to_guest.license.error")
}

// Team and channel properties: patches check the display name as IsValid does, privacy
// takes O/I or O/P, town-square is never made private, and one member is read with its
// scheme roles (404 for a non-member). A demotion keeps roles other than system_user and
// system_admin, as SqlUserStore.DemoteUserToGuest does.
func TestPropertiesAndOneMember(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	tm := must[mattermost.Team](t)(c.CreateTeam(ctx, mattermost.Team{Name: "eng", DisplayName: "Eng", Type: "O"}))
	ch := must[mattermost.Channel](t)(c.CreateChannel(ctx, mattermost.Channel{TeamID: tm.ID, Name: "backend", DisplayName: "Backend", Type: "O"}))
	ts := must[mattermost.Channel](t)(c.GetChannelByName(ctx, "eng", "town-square"))
	long := strings.Repeat("é", 65)
	_, err := c.PatchTeam(ctx, tm.ID, mattermost.TeamPatch{DisplayName: &long})
	wantErr(t, err, 400, "model.team.is_valid.name.app_error")
	_, err = c.PatchChannel(ctx, ch.ID, mattermost.ChannelPatch{DisplayName: sp("")})
	wantErr(t, err, 400, "model.channel.is_valid.display_name.app_error")
	_, err = c.PatchTeam(ctx, newID(), mattermost.TeamPatch{DisplayName: sp("X")})
	wantErr(t, err, 404, "app.team.get.find.app_error")
	// A privacy the subset does not allow is a violation of the client's, and still
	// answered as Mattermost does.
	_, err = c.UpdateTeamPrivacy(ctx, tm.ID, "P")
	wantErr(t, err, 400, "api.context.invalid_body_param.app_error")
	_, err = c.UpdateChannelPrivacy(ctx, ch.ID, "I")
	wantErr(t, err, 400, "api.context.invalid_body_param.app_error")
	if n := len(s.Violations()); n != 2 {
		t.Errorf("%d violations, want 2", n)
	}
	s.ResetViolations()
	_, err = c.UpdateChannelPrivacy(ctx, ts.ID, "P")
	wantErr(t, err, 400, "api.channel.update_channel_privacy.default_channel_error")
	if got := must[mattermost.Channel](t)(c.UpdateChannelPrivacy(ctx, ch.ID, "P")); got.Type != "P" {
		t.Errorf("privacy %+v", got)
	}
	u := must[mattermost.User](t)(c.CreateUser(ctx, sso("alice")))
	_, err = c.GetTeamMember(ctx, tm.ID, u.ID)
	wantErr(t, err, 404, "app.team.get_member.missing.app_error")
	must[mattermost.TeamMember](t)(c.AddTeamMember(ctx, tm.ID, u.ID))
	if m := must[mattermost.ChannelMember](t)(c.GetChannelMember(ctx, ts.ID, u.ID)); !m.SchemeUser || m.SchemeAdmin || m.SchemeGuest {
		t.Errorf("town-square member %+v", m)
	}
	ok(t, c.UpdateUserRoles(ctx, u.ID, "system_user system_admin system_user_manager"))
	ok(t, c.DemoteUser(ctx, u.ID))
	if got := must[mattermost.User](t)(c.GetUser(ctx, u.ID)); got.Roles != "system_guest system_user_manager" {
		t.Errorf("demoted roles %q", got.Roles)
	}
	ok(t, c.PromoteUser(ctx, u.ID))
	if got := must[mattermost.User](t)(c.GetUser(ctx, u.ID)); got.Roles != "system_user system_user_manager" {
		t.Errorf("promoted roles %q", got.Roles)
	}
}

func TestPermanentDelete(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	u := must[mattermost.User](t)(c.CreateUser(ctx, sso("alice")))
	wantErr(t, c.DeleteUserPermanently(ctx, u.ID), 401, "api.user.delete_user.not_enabled.app_error")
	s2 := New(t, WithAPIUserDeletion())
	c2 := client(t, s2, s2.AdminToken())
	s2.SeedTeam("eng", "Eng", "O")
	u2 := must[mattermost.User](t)(c2.CreateUser(ctx, sso("alice")))
	s2.SeedTeamMember("eng", u2.ID)
	ok(t, c2.DeleteUserPermanently(ctx, u2.ID))
	_, err := c2.GetUser(ctx, u2.ID)
	wantErr(t, err, 404, "app.user.missing_account.const")
	snap := s2.Snapshot()
	if slices.Contains(snap.TeamMembers["eng"], u2.ID) || slices.Contains(snap.ChannelMembers["eng/town-square"], u2.ID) {
		t.Error("memberships survive a permanent delete")
	}
	// Its username, email and auth_data are free again.
	must[mattermost.User](t)(c2.CreateUser(ctx, sso("alice")))
}

// TestCheckerCatches: the OpenAPI checking is not vacuous.
func TestCheckerCatches(t *testing.T) {
	s := New(t)
	// A create without an email: Mattermost refuses it, and the subset flags it.
	st, _ := raw(t, s, "POST", "/api/v4/users", s.AdminToken(), `{"username":"bob","auth_service":"saml","auth_data":"x"}`)
	if st != 400 {
		t.Errorf("create without email: %d", st)
	}
	// A misspelt field: Mattermost ignores it, the subset does not.
	raw(t, s, "PUT", "/api/v4/users/"+newID()+"/roles", s.AdminToken(), `{"roles":"system_user","role":"x"}`)
	// A call outside the allow-list.
	st, body := raw(t, s, "GET", "/api/v4/users", s.AdminToken(), "")
	if st != 404 || !strings.Contains(string(body), "api.context.404.app_error") {
		t.Errorf("outside the allow-list: %d %s", st, body)
	}
	raw(t, s, "DELETE", "/api/v4/users/"+newID(), s.AdminToken(), "") // a deactivation: not allowed
	v := s.Violations()
	wants := []string{`"email"`, `"role"`, "outside the allow-list: GET /api/v4/users", "permanent"}
	if len(v) != len(wants) {
		t.Fatalf("violations %q", v)
	}
	for i, w := range wants {
		if !strings.Contains(v[i], w) {
			t.Errorf("violation %d = %q, want it to name %s", i, v[i], w)
		}
	}
	s.ResetViolations()
	// An answer that carried auth_data would be caught.
	vin, err := s.checker.request(ctx, httptestRequest(t, "GET", s.URL()+"/api/v4/users/me"), nil, "GET /api/v4/users/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(`{"id":"` + newID() + `","username":"a","email":"a@example.org","create_at":1,"update_at":1,"delete_at":0,"roles":"system_user","auth_data":"leak"}`)
	if err := s.checker.response(ctx, vin, 200, http.Header{"Content-Type": {"application/json"}}, bad); err == nil || !strings.Contains(err.Error(), "auth_data") {
		t.Errorf("an answer with auth_data passed: %v", err)
	}
	// And every allowed call has its operation in the subset, and no other is there.
	if len(s.checker.routes) != len(ops) {
		t.Errorf("%d operations in the subset, %d allowed calls", len(s.checker.routes), len(ops))
	}
	for _, o := range ops {
		if s.checker.routes[o.method+" "+o.tmpl] == nil {
			t.Errorf("%s %s is not in the subset", o.method, o.tmpl)
		}
	}
}

func httptestRequest(t *testing.T, method, url string) *http.Request {
	r, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFaults(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	s.FailNext(2, 503)
	for range 2 {
		_, err := c.Me(ctx)
		wantErr(t, err, 503, "mmtest.injected_fault.app_error")
		if !mattermost.Retryable(err) {
			t.Error("503 not retryable")
		}
	}
	must[mattermost.User](t)(c.Me(ctx))

	s.FailNextRaw(1, 502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	_, err := c.Me(ctx)
	var e *mattermost.Error
	if !errors.As(err, &e) || e.StatusCode != 502 || e.ID != "" || !strings.Contains(e.Message, "502 Bad Gateway") {
		t.Errorf("raw 502: %v", err)
	}

	s.RateLimitNext(1, 1500*time.Millisecond)
	_, err = c.Me(ctx)
	if !errors.As(err, &e) || e.StatusCode != 429 || e.RetryAfter != 2*time.Second || !mattermost.Retryable(err) {
		t.Errorf("429: %v %+v", err, e)
	}

	s.SetLatency(100 * time.Millisecond)
	start := time.Now()
	must[mattermost.User](t)(c.Me(ctx))
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("latency: answered in %s", d)
	}
	s.SetLatency(0)

	s.HangNext(1)
	quick := must[*mattermost.Client](t)(mattermost.New(mattermost.Config{URL: s.URL(), Token: s.AdminToken(), Timeout: 200 * time.Millisecond}))
	_, err = quick.Me(ctx)
	var te *mattermost.TimeoutError
	if !errors.As(err, &te) || !mattermost.Retryable(err) {
		t.Errorf("hang: %v", err)
	}
	must[mattermost.User](t)(quick.Me(ctx))

	// Requests records each, with the status answered (0 for the hung one). The hung
	// one is recorded when its handler lets go, which may be after the call that
	// followed it: the last two are compared in either order.
	reqs := s.Requests()
	var statuses []int
	for _, r := range reqs {
		statuses = append(statuses, r.Status)
	}
	if len(statuses) != 8 || !slices.Equal(statuses[:6], []int{503, 503, 200, 502, 429, 200}) ||
		!(slices.Equal(statuses[6:], []int{0, 200}) || slices.Equal(statuses[6:], []int{200, 0})) {
		t.Errorf("statuses %v", statuses)
	}
}

func TestRefuseConnections(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	must[mattermost.User](t)(c.Me(ctx)) // a kept-alive connection exists
	s.RefuseConnections(300 * time.Millisecond)
	_, err := c.Me(ctx)
	if !errors.Is(err, syscall.ECONNREFUSED) || !mattermost.Retryable(err) {
		t.Fatalf("while refusing: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err = c.Me(ctx); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.URL() != "http://"+s.addr {
		t.Error("the address changed")
	}
}

// assertActiveCounts: each team's kept count of active members is the recount.
func assertActiveCounts(t *testing.T, s *Server) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tm := range s.st.teams {
		n := 0
		for id := range tm.members.m {
			if s.st.users[id].u.DeleteAt == 0 {
				n++
			}
		}
		if n != tm.active {
			t.Errorf("team %s: active %d, recount %d", tm.t.Name, tm.active, n)
		}
	}
}

// TestConcurrent: many clients at once, under -race; the state stays consistent.
func TestConcurrent(t *testing.T) {
	s := New(t)
	c := client(t, s, s.AdminToken())
	tm := must[mattermost.Team](t)(c.CreateTeam(ctx, mattermost.Team{Name: "eng", DisplayName: "Eng", Type: "O"}))
	s.SetMaxUsersPerTeam(1000)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				u, err := c.CreateUser(ctx, sso(fmt.Sprintf("w%d-u%d", w, i)))
				if err == nil {
					_, err = c.AddTeamMember(ctx, tm.ID, u.ID)
				}
				if err == nil && i%3 == 0 {
					err = c.UpdateUserActive(ctx, u.ID, false)
				}
				if err == nil {
					_, err = c.GetTeamMembers(ctx, tm.ID, 0, 200)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(s.Snapshot().TeamMembers["eng"]); n != 161 {
		t.Errorf("%d team members, want 161", n)
	}
	assertActiveCounts(t, s)
}

// TestStartAndClose: the non-test entry point; Close releases a held request and is
// idempotent.
func TestStartAndClose(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, s, s.AdminToken())
	must[mattermost.User](t)(c.Me(ctx))
	s.HangNext(1)
	done := make(chan error, 1)
	go func() { _, err := c.Me(ctx); done <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		held := s.holding
		s.mu.Unlock()
		if held == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request was not held")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Close()
	s.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a held request succeeded after Close")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not release a held request")
	}
	if _, err := c.Me(ctx); err == nil {
		t.Error("answered after Close")
	}
	if v := s.Violations(); len(v) != 0 {
		t.Error(v)
	}
}

func TestSeedingAndSnapshot(t *testing.T) {
	s := New(t)
	id := s.SeedUser(mattermost.User{Username: "Ann", Email: "Ann@Example.org", AuthService: "saml", AuthData: "00uA"})
	if !idShape.MatchString(id) {
		t.Fatalf("id %q", id)
	}
	u, found := s.UserByUsername("ann")
	if !found || u.Email != "ann@example.org" || u.AuthData != "00uA" || u.Roles != "system_user" {
		t.Errorf("seeded %+v", u)
	}
	for name, seed := range map[string]func(){
		"username": func() { s.SeedUser(mattermost.User{Username: "ann", Email: "x@example.org"}) },
		"email":    func() { s.SeedUser(mattermost.User{Username: "x", Email: "ann@example.org"}) },
		"auth_data": func() {
			s.SeedUser(mattermost.User{Username: "y", Email: "y@example.org", AuthService: "saml", AuthData: "00uA"})
		},
		"team": func() { s.SeedTeamMember("nope", id) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("seeding a taken %s did not panic", name)
				}
			}()
			seed()
		}()
	}
	s.SeedTeam("eng", "Eng", "O")
	s.SeedChannel("eng", "backend", "Backend", "P")
	s.SeedTeamMember("eng", id)
	s.SeedChannelMember("eng", "backend", id)
	snap := s.Snapshot()
	i := slices.IndexFunc(snap.Users, func(u mattermost.User) bool { return u.ID == id })
	if i < 0 || snap.Users[i].AuthData != "00uA" {
		t.Errorf("snapshot users %+v", snap.Users)
	}
	if !slices.IsSortedFunc(snap.Users, func(a, b mattermost.User) int { return strings.Compare(a.Username, b.Username) }) {
		t.Error("snapshot users not sorted")
	}
	want := map[string][]string{"eng/town-square": {id}, "eng/off-topic": {id}, "eng/backend": {id}}
	for k, v := range want {
		if !slices.Equal(snap.ChannelMembers[k], v) {
			t.Errorf("%s: %v", k, snap.ChannelMembers[k])
		}
	}
	if len(snap.Channels) != 3 || len(snap.Teams) != 1 || !slices.Equal(snap.TeamMembers["eng"], []string{id}) || len(snap.TeamAdmins["eng"]) != 0 {
		t.Errorf("snapshot %+v", snap)
	}
	// A snapshot is a copy.
	snap.TeamMembers["eng"][0] = "changed"
	if s.Snapshot().TeamMembers["eng"][0] != id {
		t.Error("the snapshot shares memory with the double")
	}
}

// TestRequestBodyLimit: the double reads at most maxRequestBody bytes of a body.
func TestRequestBodyLimit(t *testing.T) {
	s := New(t)
	pad := func(n int) string { // a JSON object of exactly n bytes
		return `{"roles":"system_user","x":"` + strings.Repeat("a", n-len(`{"roles":"system_user","x":""}`)) + `"}`
	}
	u := s.SeedUser(mattermost.User{Username: "ann", Email: "ann@example.org"})
	if st, body := raw(t, s, "PUT", "/api/v4/users/"+u+"/roles", s.AdminToken(), pad(maxRequestBody)); st != 200 {
		t.Errorf("a body at the limit: %d %s", st, body)
	}
	if st, body := raw(t, s, "PUT", "/api/v4/users/"+u+"/roles", s.AdminToken(), pad(maxRequestBody+1)); st != 413 || !strings.Contains(string(body), "request_id") {
		t.Errorf("a body over the limit: %d %s", st, body)
	}
	s.ResetViolations() // the stray field "x", and the undeclared 413
}
