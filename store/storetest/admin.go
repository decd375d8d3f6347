package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// The admin's hands (store.Admin): accounts, teams, channels and memberships by hand,
// and on-demand provisioning at first sign-in. Each test runs under exampleRules unless
// it says otherwise: default team everyone, Engineering → engineering.

// cli is the context of the CLI's calls: the journal's actor is "cli".
func cli() context.Context { return store.WithActor(context.Background(), store.ActorCLI) }

// wantCode fails unless err has the stable code (store.ErrorCode) and, for a refusal,
// a reason containing says.
func wantCode(t *testing.T, what string, err error, code, says string) {
	t.Helper()
	if got := store.ErrorCode(err); got != code {
		t.Fatalf("%s: err = %v (code %q), want code %q", what, err, got, code)
	}
	if says != "" && !strings.Contains(err.Error(), says) {
		t.Fatalf("%s: err = %q, want it to say %q", what, err, says)
	}
}

// wantConflict fails unless err is a ConflictError naming attr.
func wantConflict(t *testing.T, what string, err error, attr string) {
	t.Helper()
	var c *store.ConflictError
	if !errors.As(err, &c) || c.Attribute != attr {
		t.Fatalf("%s: err = %v, want a ConflictError naming %s", what, err, attr)
	}
}

// newAccount is a password account of that username and email.
func newAccount(username, email string) store.NewAccount {
	return store.NewAccount{Email: email, Username: username, PasswordHash: "pbkdf2-sha256$1$x$y"}
}

func mustAccount(t *testing.T, s store.Store, a store.NewAccount) store.AccountDetails {
	t.Helper()
	d, err := s.CreateAccount(cli(), a)
	if err != nil {
		t.Fatalf("create account %s: %v", a.Username, err)
	}
	return d
}

func details(t *testing.T, s store.Store, id string) store.AccountDetails {
	t.Helper()
	d, err := s.AccountDetails(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// joinSources renders sources as "a,b".
func joinSources(src []store.MembershipSource) string {
	var out []string
	for _, m := range src {
		out = append(out, m.String())
	}
	return strings.Join(out, ",")
}

// teamLines lists an account's teams as "team=source,source".
func teamLines(d store.AccountDetails) []string {
	out := []string{}
	for _, tm := range d.Teams {
		out = append(out, tm.Team+"="+joinSources(tm.Sources))
	}
	return out
}

// channelLines lists an account's channels as "team/channel=source,source".
func channelLines(d store.AccountDetails) []string {
	out := []string{}
	for _, c := range d.Channels {
		out = append(out, c.Team+"/"+c.Channel+"="+joinSources(c.Sources))
	}
	return out
}

func mustTeam(t *testing.T, s store.Store, name string, private bool) {
	t.Helper()
	if _, err := s.CreateTeam(cli(), store.NewTeam{Name: name, Private: private}); err != nil {
		t.Fatal(err)
	}
}

// mustChange returns a membership call's change, failing the test on its error:
// mustChange(t)(s.AddTeamMember(…)).
func mustChange(t *testing.T) func(store.MembershipChange, error) store.MembershipChange {
	return func(c store.MembershipChange, err error) store.MembershipChange {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// actors lists the actors of the entries after cursor.
func actors(t *testing.T, s store.Store, cursor int64) []string {
	t.Helper()
	var out []string
	for _, e := range allEvents(t, s, store.EventQuery{After: cursor}) {
		if !slices.Contains(out, e.Actor) {
			out = append(out, e.Actor)
		}
	}
	return out
}

func testAdminCreateAccount(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	mustUser(t, s, "first@example.com", "") // the default team exists
	mustGroup(t, s, "Engineering", "")
	cur := head(t, s)
	a := newAccount("alice", "Alice@Example.com")
	a.FirstName, a.LastName, a.Nickname, a.Position = "Alice", "Liddell", "al", "Engineer"
	d := mustAccount(t, s, a)
	if d.Username != "alice" || d.Email != "alice@example.com" || d.UserName != "Alice@Example.com" || d.FirstName != "Alice" ||
		d.LastName != "Liddell" || d.Nickname != "al" || d.Position != "Engineer" || d.Origin != store.OriginManual ||
		!d.Active || d.AuthData != "" || d.AuthService != "" || d.SCIMDeleted {
		t.Fatalf("account: %+v", d)
	}
	wantLines(t, "teams", teamLines(d), []string{"everyone=default"})
	wantLines(t, "channels", channelLines(d), []string{"everyone/off-topic=team-join", "everyone/town-square=team-join"})
	// It is a SCIM user too, with its password hash.
	u, err := s.GetUser(context.Background(), d.ID)
	if err != nil || u.UserName != "Alice@Example.com" || u.PasswordHash != a.PasswordHash || !u.Active {
		t.Fatalf("SCIM user: %+v %v", u, err)
	}
	lines, _ := journalSince(t, s, cur)
	wantLines(t, "journal", lines, []string{
		"account.created alice {active=true email=alice@example.com first_name=Alice last_name=Liddell nickname=al position=Engineer username=alice}",
		"team.joined alice everyone (default)",
		"channel.joined alice everyone/town-square (team-join)",
		"channel.joined alice everyone/off-topic (team-join)",
	})
	wantLines(t, "actors", actors(t, s, cur), []string{store.ActorCLI})

	// An SSO account needs no password.
	sso := mustAccount(t, s, store.NewAccount{Email: "sso@example.com", Username: "sso", AuthService: "saml", AuthData: "00u1sso"})
	if sso.AuthService != "saml" || sso.AuthData != "00u1sso" {
		t.Fatalf("sso: %+v", sso)
	}

	// Conflicts, and nothing written.
	for _, c := range []struct {
		name string
		a    store.NewAccount
		attr string
	}{
		{"username of an account", newAccount("alice", "other@example.com"), "username"},
		{"username of a group", newAccount("engineering", "other@example.com"), "username"},
		{"email of an account", newAccount("other", "ALICE@example.com"), "email"},
		{"userName of a live user", newAccount("other", "first@example.com"), "email"},
		{"auth data of a live account", store.NewAccount{Email: "o@example.com", Username: "other", AuthService: "saml", AuthData: "00u1sso"}, "auth_data"},
	} {
		_, err := s.CreateAccount(cli(), c.a)
		wantConflict(t, c.name, err, c.attr)
	}
	// Invalid values, at the edge of each limit.
	long := strings.Repeat("a", store.MaxNameLength-len("@example.com")) + "@example.com"
	if _, err := s.CreateAccount(cli(), newAccount("longest", long)); err != nil {
		t.Fatalf("an email of %d characters: %v", store.MaxNameLength, err)
	}
	for _, c := range []struct {
		name string
		a    store.NewAccount
		attr string
	}{
		{"no email", newAccount("other", ""), "email"},
		{"not an email", newAccount("other", "other"), "email"},
		{"a named address", newAccount("other", "Other <o@example.com>"), "email"},
		{"an email too long", newAccount("other", "a"+long), "email"},
		{"no username", newAccount("", "o@example.com"), "username"},
		{"a username too short", newAccount("ab", "o@example.com"), "username"},
		{"a username too long", newAccount(strings.Repeat("a", 23), "o@example.com"), "username"},
		{"a username with upper case", newAccount("Other", "o@example.com"), "username"},
		{"a reserved username", newAccount("system", "o@example.com"), "username"},
		{"no password", store.NewAccount{Email: "o@example.com", Username: "other"}, "password"},
		{"auth data without a service", store.NewAccount{Email: "o@example.com", Username: "other", AuthData: "x"}, "auth_data"},
		{"a service without auth data", store.NewAccount{Email: "o@example.com", Username: "other", AuthService: "saml", PasswordHash: "h"}, "auth_data"},
		{"a first name too long", func() store.NewAccount {
			a := newAccount("other", "o@example.com")
			a.FirstName = atLimit(store.MaxNameLength + 1)
			return a
		}(), "first_name"},
		{"a password hash too long", func() store.NewAccount {
			a := newAccount("other", "o@example.com")
			a.PasswordHash = strings.Repeat("h", store.MaxTextLength+1)
			return a
		}(), "password"},
		{"a NUL in a last name", func() store.NewAccount {
			a := newAccount("other", "o@example.com")
			a.LastName = "a\x00b"
			return a
		}(), "last_name"},
	} {
		_, err := s.CreateAccount(cli(), c.a)
		wantInvalid(t, c.name, err, c.attr)
	}
	a = newAccount("maxnames", "m@example.com")
	a.FirstName, a.Position = atLimit(store.MaxNameLength), atLimit(store.MaxNameLength)
	a.PasswordHash = strings.Repeat("h", store.MaxTextLength)
	mustAccount(t, s, a)
	if _, err := s.AccountID(context.Background(), "other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused account was written: %v", err)
	}
}

func testAdminSetAccountActive(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := cli()
	d := mustAccount(t, s, newAccount("dave", "dave@example.com"))
	cur := head(t, s)
	got, changed, err := s.SetAccountActive(ctx, d.ID, false)
	if err != nil || !changed || got.Active || got.Status != store.StatusOffline || got.DeleteAt == 0 {
		t.Fatalf("deactivate: %+v %v %v", got, changed, err)
	}
	// SCIM shows it; the memberships are kept.
	if u, err := s.GetUser(context.Background(), d.ID); err != nil || u.Active {
		t.Fatalf("SCIM after deactivation: %+v %v", u, err)
	}
	wantLines(t, "teams", teamLines(got), []string{"everyone=default"})
	if _, changed, err := s.SetAccountActive(ctx, d.ID, false); err != nil || changed {
		t.Fatalf("deactivate again: %v %v", changed, err)
	}
	got, changed, err = s.SetAccountActive(ctx, d.ID, true)
	if err != nil || !changed || !got.Active || got.Status != store.StatusOnline || got.DeleteAt != 0 {
		t.Fatalf("reactivate: %+v %v %v", got, changed, err)
	}
	lines, _ := journalSince(t, s, cur)
	wantLines(t, "journal", lines, []string{"account.deactivated dave {active=true} {active=false}", "account.reactivated dave {active=false} {active=true}"})
	wantLines(t, "actors", actors(t, s, cur), []string{store.ActorCLI})

	// A SCIM-deleted account stays deactivated until its IdP creates it again.
	u := mustUser(t, s, "erin@example.com", "00uE")
	if err := s.DeleteUser(context.Background(), u.ID, 0); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SetAccountActive(ctx, u.ID, true)
	wantCode(t, "reactivate a SCIM-deleted account", err, store.CodeSCIMDeleted, "erin")
	if got, changed, err := s.SetAccountActive(ctx, u.ID, false); err != nil || changed || got.Active {
		t.Fatalf("deactivate a SCIM-deleted account: %+v %v %v", got, changed, err)
	}
	if _, _, err := s.SetAccountActive(ctx, "no-such-id", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no such account: %v", err)
	}
}

func testAdminDeleteAccount(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules) // delete_mode deactivate: DeleteAccount purges anyway
	ctx := cli()
	eng := mustGroup(t, s, "Engineering", "")
	d := mustAccount(t, s, newAccount("frank", "frank@example.com"))
	patchMembers(t, s, eng.ID, store.AddMembers, d.ID)
	cur := head(t, s)
	if err := s.DeleteAccount(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccountDetails(ctx, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("details after delete: %v", err)
	}
	if ids := memberIDs(t, s, eng.ID); len(ids) != 0 {
		t.Fatalf("group members after delete: %v", ids)
	}
	lines, _ := journalSince(t, s, cur)
	wantLines(t, "journal", lines, []string{
		"channel.left frank engineering/town-square (team-join)", "channel.left frank engineering/off-topic (team-join)",
		"channel.left frank engineering/backend (group:Engineering)", "channel.left frank everyone/town-square (team-join)",
		"channel.left frank everyone/off-topic (team-join)", "channel.left frank everyone/eng-news (group:Engineering)",
		"team.left frank engineering (group:Engineering)", "team.left frank everyone (group:Engineering)",
		"account.deleted frank (delete) {active=true email=frank@example.com username=frank}"})
	wantLines(t, "actors", actors(t, s, cur), []string{store.ActorCLI})
	if err := s.DeleteAccount(ctx, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete again: %v", err)
	}
	// An account whose SCIM resource was deleted (deactivate mode) is purged too.
	u := mustUser(t, s, "gina@example.com", "00uG")
	if err := s.DeleteUser(context.Background(), u.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccountDetails(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SCIM-deleted account after delete: %v", err)
	}
	if err := s.DeleteAccount(ctx, strings.Repeat("x", store.MaxIDLength+1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an impossible id: %v", err)
	}
}

func testAdminEditAccount(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := cli()
	mustGroup(t, s, "Engineering", "")
	other := mustAccount(t, s, newAccount("other", "other@example.com"))
	d := mustAccount(t, s, store.NewAccount{Email: "frank@example.com", Username: "frank", AuthService: "saml", AuthData: "old-id"})
	cur := head(t, s)
	str := func(v string) *string { return &v }
	got, err := s.EditAccount(ctx, d.ID, store.AccountEdit{AuthData: str("new-id")})
	if err != nil || got.AuthData != "new-id" || got.AuthService != "saml" {
		t.Fatalf("edit auth data: %+v %v", got, err)
	}
	got, err = s.EditAccount(ctx, d.ID, store.AccountEdit{Email: str("Frank.N@example.com"), Username: str("frankn"),
		FirstName: str("Frank"), AuthService: str("oidc")})
	if err != nil || got.Email != "frank.n@example.com" || got.Username != "frankn" || got.FirstName != "Frank" ||
		got.UserName != "frank@example.com" || got.AuthService != "oidc" {
		t.Fatalf("edit: %+v %v", got, err)
	}
	u, err := s.GetUser(context.Background(), d.ID)
	if err != nil || len(u.Emails) != 2 || !u.Emails[0].Primary || u.Emails[0].Value != "Frank.N@example.com" || u.Emails[1].Primary ||
		u.Emails[1].PrimaryFalse { // the former primary is left out, as an import leaves it (setPrimaryEmail)
		t.Fatalf("SCIM emails: %+v %v", u.Emails, err)
	}
	lines, _ := journalSince(t, s, cur)
	wantLines(t, "journal", lines, []string{
		"account.updated frank {auth_data=old-id} {auth_data=new-id}",
		"account.updated frankn {email=frank@example.com first_name= username=frank} {email=frank.n@example.com first_name=Frank username=frankn}",
	})
	// Nothing changed: nothing written.
	cur = head(t, s)
	if _, err := s.EditAccount(ctx, d.ID, store.AccountEdit{Username: str("frankn")}); err != nil {
		t.Fatal(err)
	}
	if lines, _ := journalSince(t, s, cur); len(lines) != 0 {
		t.Fatalf("an edit that changes nothing journaled %q", lines)
	}
	// Conflicts and invalid values: nothing written.
	for _, c := range []struct {
		name string
		e    store.AccountEdit
		attr string
	}{
		{"username of another account", store.AccountEdit{Username: str("other"), FirstName: str("X")}, "username"},
		{"username of a group", store.AccountEdit{Username: str("engineering")}, "username"},
		{"email of another account", store.AccountEdit{Email: str("OTHER@example.com")}, "email"},
	} {
		_, err := s.EditAccount(ctx, d.ID, c.e)
		wantConflict(t, c.name, err, c.attr)
	}
	_, err = s.EditAccount(ctx, other.ID, store.AccountEdit{AuthService: str("saml"), AuthData: str("new-id")})
	wantConflict(t, "auth data of another live account", err, "auth_data")
	if got := details(t, s, other.ID); got.AuthData != "" || got.AuthService != "" {
		t.Fatalf("after a refused edit: %+v", got)
	}
	for _, c := range []struct {
		name string
		e    store.AccountEdit
		attr string
	}{
		{"a username too short", store.AccountEdit{Username: str("x")}, "username"},
		{"not an email", store.AccountEdit{Email: str("nope")}, "email"},
		{"a nickname too long", store.AccountEdit{Nickname: str(atLimit(store.MaxNameLength + 1))}, "nickname"},
		{"a service without auth data", store.AccountEdit{AuthData: str(""), AuthService: str("saml")}, "auth_data"},
	} {
		_, err := s.EditAccount(ctx, d.ID, c.e)
		wantInvalid(t, c.name, err, c.attr)
	}
	if got := details(t, s, d.ID); got.Username != "frankn" || got.FirstName != "Frank" || got.Nickname != "" {
		t.Fatalf("after refused edits: %+v", got)
	}
	// A later change of the SCIM userName derives the username again.
	if _, err := s.UpdateUser(context.Background(), d.ID, 0, func(u *store.User) error { u.UserName = "franklin@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := details(t, s, d.ID); got.Username != "franklin" {
		t.Fatalf("username after a userName change: %q", got.Username)
	}
	// A SCIM-deleted account is its IdP's.
	gone := mustUser(t, s, "gone@example.com", "00uX")
	if err := s.DeleteUser(context.Background(), gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	_, err = s.EditAccount(ctx, gone.ID, store.AccountEdit{FirstName: str("X")})
	wantCode(t, "edit a SCIM-deleted account", err, store.CodeSCIMDeleted, "gone")
	if _, err := s.EditAccount(ctx, "no-such-id", store.AccountEdit{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no such account: %v", err)
	}
}

func testAdminCreateTeamAndChannel(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := cli()
	cur := head(t, s)
	tm, err := s.CreateTeam(ctx, store.NewTeam{Name: "support", DisplayName: "Support"})
	if err != nil || tm.Name != "support" || tm.DisplayName != "Support" || tm.Type != store.TeamOpen || tm.ChannelCount != 2 || tm.MemberCount != 0 {
		t.Fatalf("create team: %+v %v", tm, err)
	}
	tm, err = s.CreateTeam(ctx, store.NewTeam{Name: "board", Private: true})
	if err != nil || tm.DisplayName != "board" || tm.Type != store.TeamInviteOnly {
		t.Fatalf("create a private team: %+v %v", tm, err)
	}
	ch, err := s.CreateChannel(ctx, store.NewChannel{Team: "support", Name: "reviews", DisplayName: "Reviews", Private: true})
	if err != nil || ch.Name != "reviews" || ch.DisplayName != "Reviews" || ch.Type != store.ChannelPrivate {
		t.Fatalf("create channel: %+v %v", ch, err)
	}
	ch, err = s.CreateChannel(ctx, store.NewChannel{Team: "support", Name: "news"})
	if err != nil || ch.DisplayName != "news" || ch.Type != store.ChannelOpen {
		t.Fatalf("create a public channel: %+v %v", ch, err)
	}
	lines, _ := journalSince(t, s, cur)
	wantLines(t, "journal", lines, []string{
		"team.created  support", "channel.created  support/town-square", "channel.created  support/off-topic",
		"team.created  board", "channel.created  board/town-square", "channel.created  board/off-topic",
		"channel.created  support/reviews", "channel.created  support/news",
	})
	wantLines(t, "actors", actors(t, s, cur), []string{store.ActorCLI})
	teams, err := s.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tm := range teams {
		got = append(got, tm.Name+" "+tm.Type+" "+tm.DisplayName)
	}
	wantLines(t, "teams", got, []string{"board I board", "support O Support"})

	_, err = s.CreateTeam(ctx, store.NewTeam{Name: "support"})
	wantConflict(t, "a team of that name", err, "team")
	_, err = s.CreateChannel(ctx, store.NewChannel{Team: "support", Name: "town-square"})
	wantConflict(t, "a channel of that name", err, "channel")
	if _, err := s.CreateChannel(ctx, store.NewChannel{Team: "nope", Name: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a channel of no team: %v", err)
	}
	if _, err := s.CreateTeam(ctx, store.NewTeam{Name: "edge", DisplayName: atLimit(store.MaxTextLength)}); err != nil {
		t.Fatalf("a display name of %d characters: %v", store.MaxTextLength, err)
	}
	if _, err := s.CreateTeam(ctx, store.NewTeam{Name: strings.Repeat("a", 64)}); err != nil {
		t.Fatalf("a team name of 64 characters: %v", err)
	}
	for _, c := range []struct {
		name string
		err  error
		attr string
	}{
		{"a team name Mattermost refuses", func() error { _, err := s.CreateTeam(ctx, store.NewTeam{Name: "Bad Name"}); return err }(), "name"},
		{"a team name too long", func() error { _, err := s.CreateTeam(ctx, store.NewTeam{Name: strings.Repeat("a", 65)}); return err }(), "name"},
		{"a team display name too long", func() error {
			_, err := s.CreateTeam(ctx, store.NewTeam{Name: "edge2", DisplayName: atLimit(store.MaxTextLength + 1)})
			return err
		}(), "display_name"},
		{"a channel name Mattermost refuses", func() error {
			_, err := s.CreateChannel(ctx, store.NewChannel{Team: "support", Name: "-x"})
			return err
		}(), "name"},
		{"a private team-join channel", func() error {
			_, err := s.CreateChannel(ctx, store.NewChannel{Team: "board", Name: "town-square", Private: true})
			return err
		}(), "name"},
		{"a channel display name with a NUL", func() error {
			_, err := s.CreateChannel(ctx, store.NewChannel{Team: "support", Name: "nul", DisplayName: "a\x00"})
			return err
		}(), "display_name"},
	} {
		wantInvalid(t, c.name, c.err, c.attr)
	}
}

func testAdminTeamMembers(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := cli()
	bob := mustUser(t, s, "bob@example.com", "00uB")
	eng := mustGroup(t, s, "Engineering", "", bob.ID)
	mustTeam(t, s, "support", false)
	cur := head(t, s)
	c := mustChange(t)(s.AddTeamMember(ctx, "support", bob.ID))
	if !c.Changed || !c.Member || c.Account != bob.ID || c.Username != "bob" || c.String() != "added bob to support" {
		t.Fatalf("add: %+v %q", c, c)
	}
	lines, _ := journalSince(t, s, cur)
	wantLines(t, "journal", lines, []string{"team.joined bob support (manual)",
		"channel.joined bob support/town-square (team-join)", "channel.joined bob support/off-topic (team-join)"})
	wantLines(t, "actors", actors(t, s, cur), []string{store.ActorCLI})
	c = mustChange(t)(s.AddTeamMember(ctx, "support", bob.ID))
	if c.Changed || !c.Member || c.String() != "bob was already added to support by hand" {
		t.Fatalf("add again: %+v %q", c, c)
	}
	// Added by hand to a team a group grants too: the manual source is added.
	c = mustChange(t)(s.AddTeamMember(ctx, "engineering", bob.ID))
	if !c.Changed {
		t.Fatalf("add to a group's team: %+v", c)
	}
	wantLines(t, "teams", teamLines(details(t, s, bob.ID)), []string{"engineering=group:Engineering,manual", "everyone=group:Engineering", "support=manual"})
	// A group change never removes a manual membership.
	patchMembers(t, s, eng.ID, store.RemoveMembers, bob.ID)
	wantLines(t, "teams after leaving the group", teamLines(details(t, s, bob.ID)), []string{"engineering=manual", "support=manual"})
	patchMembers(t, s, eng.ID, store.AddMembers, bob.ID)
	// Nor does a change of the rules.
	useRules(t, s, "default_team: everyone\nunmapped_groups: ignore\n")
	if _, err := s.ApplyRules(context.Background(), acceptAll); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "teams after the rules changed", teamLines(details(t, s, bob.ID)), []string{"engineering=manual", "support=manual"})
	useRules(t, s, exampleRules)
	if _, err := s.ApplyRules(context.Background(), acceptAll); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "teams after the rules came back", teamLines(details(t, s, bob.ID)), []string{"engineering=group:Engineering,manual", "everyone=group:Engineering", "support=manual"})

	// Removing what hand added, while a group still grants it.
	c = mustChange(t)(s.RemoveTeamMember(ctx, "engineering", bob.ID, false))
	if !c.Changed || !c.Member || joinSources(c.Removed) != "manual" || joinSources(c.Remaining) != "group:Engineering" ||
		c.String() != "removed what hand or import added; bob stays in engineering: granted by group Engineering" {
		t.Fatalf("remove a granted membership: %+v %q", c, c)
	}
	_, err := s.RemoveTeamMember(ctx, "engineering", bob.ID, false)
	wantCode(t, "remove what only a group grants", err, store.CodeStillGranted, "bob stays in engineering: granted by group Engineering")
	cur = head(t, s)
	c = mustChange(t)(s.RemoveTeamMember(ctx, "support", bob.ID, false))
	if !c.Changed || c.Member || c.String() != "removed bob from support" {
		t.Fatalf("remove: %+v %q", c, c)
	}
	lines, _ = journalSince(t, s, cur)
	wantLines(t, "journal of a remove", lines, []string{"channel.left bob support/town-square (team-join)",
		"channel.left bob support/off-topic (team-join)", "team.left bob support (manual)"})
	_, err = s.RemoveTeamMember(ctx, "support", bob.ID, false)
	wantCode(t, "remove a non-member", err, store.CodeNotMember, "bob")

	// Rule 1: the last team.
	carol := mustAccount(t, s, newAccount("carol", "carol@example.com"))
	mustChange(t)(s.AddTeamMember(ctx, "support", carol.ID))
	wantLines(t, "carol's teams", teamLines(details(t, s, carol.ID)), []string{"support=manual"})
	_, err = s.RemoveTeamMember(ctx, "support", carol.ID, false)
	wantCode(t, "remove the last team", err, store.CodeLastTeam, "carol")
	wantLines(t, "carol's teams after the refusal", teamLines(details(t, s, carol.ID)), []string{"support=manual"})
	c = mustChange(t)(s.RemoveTeamMember(ctx, "support", carol.ID, true))
	if !c.Moved || c.Member || c.String() != "removed carol from support; they are in the default team now" {
		t.Fatalf("remove to the default team: %+v %q", c, c)
	}
	wantLines(t, "carol's teams after the move", teamLines(details(t, s, carol.ID)), []string{"everyone=default"})
	_, err = s.RemoveTeamMember(ctx, "everyone", carol.ID, false)
	wantCode(t, "remove from the default team", err, store.CodeStillGranted, "granted by the default team")

	// Imported memberships are removed as hand's are.
	mustImport(t, s, context.Background(), store.ImportBatch{Users: []store.ImportUser{{Line: 1, Username: "carol", Email: "carol@example.com",
		Teams: []store.ImportTeamMembership{{Name: "support"}}}}}, store.ImportOptions{})
	mustChange(t)(s.AddTeamMember(ctx, "support", carol.ID))
	c = mustChange(t)(s.RemoveTeamMember(ctx, "support", carol.ID, true))
	if joinSources(c.Removed) != "import,manual" || !c.Moved {
		t.Fatalf("remove imported and manual: %+v", c)
	}

	// Refusals: deactivated, SCIM-deleted, no such team or account.
	dave := mustAccount(t, s, newAccount("dave", "dave@example.com"))
	if _, _, err := s.SetAccountActive(ctx, dave.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err = s.AddTeamMember(ctx, "support", dave.ID)
	wantCode(t, "add a deactivated account", err, store.CodeDeactivated, "dave")
	gone := mustUser(t, s, "gone@example.com", "")
	if err := s.DeleteUser(context.Background(), gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	_, err = s.AddTeamMember(ctx, "support", gone.ID)
	wantCode(t, "add a SCIM-deleted account", err, store.CodeSCIMDeleted, "gone")
	_, err = s.AddTeamMember(ctx, "nope", bob.ID)
	wantCode(t, "add to no team", err, store.CodeNotFound, "")
	_, err = s.AddTeamMember(ctx, "support", "no-such-id")
	wantCode(t, "add no account", err, store.CodeNotFound, "")
	_, err = s.RemoveTeamMember(ctx, "nope", bob.ID, false)
	wantCode(t, "remove from no team", err, store.CodeNotFound, "")
}

// testAdminRemoveFromDeactivated: a deactivated account's rows are frozen, but hand's
// can still be taken away, and rules 1 and 2 still hold for it.
func testAdminRemoveFromDeactivated(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := cli()
	mustTeam(t, s, "support", false)
	e := mustAccount(t, s, newAccount("erin", "erin@example.com"))
	mustChange(t)(s.AddTeamMember(ctx, "support", e.ID))
	if _, _, err := s.SetAccountActive(ctx, e.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err := s.RemoveTeamMember(ctx, "support", e.ID, false)
	wantCode(t, "the last team of a deactivated account", err, store.CodeLastTeam, "erin")
	c := mustChange(t)(s.RemoveTeamMember(ctx, "support", e.ID, true))
	if !c.Moved {
		t.Fatalf("move: %+v", c)
	}
	d := details(t, s, e.ID)
	wantLines(t, "teams", teamLines(d), []string{"everyone=default"})
	wantLines(t, "channels", channelLines(d), []string{"everyone/off-topic=team-join", "everyone/town-square=team-join"})
}

func testAdminChannelMembers(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := cli()
	mustTeam(t, s, "design", false)
	if _, err := s.CreateChannel(ctx, store.NewChannel{Team: "design", Name: "reviews", Private: true}); err != nil {
		t.Fatal(err)
	}
	e := mustAccount(t, s, newAccount("erin", "erin@example.com"))
	_, err := s.AddChannelMember(ctx, "design", "reviews", e.ID)
	wantCode(t, "a channel of a team the account is not in", err, store.CodeNotTeamMember, "design")
	mustChange(t)(s.AddTeamMember(ctx, "design", e.ID))
	cur := head(t, s)
	c := mustChange(t)(s.AddChannelMember(ctx, "design", "reviews", e.ID))
	if !c.Changed || !c.Member || c.String() != "added erin to design:reviews" {
		t.Fatalf("add: %+v %q", c, c)
	}
	lines, _ := journalSince(t, s, cur)
	wantLines(t, "journal", lines, []string{"channel.joined erin design/reviews (manual)"})
	wantLines(t, "actors", actors(t, s, cur), []string{store.ActorCLI})
	if c := mustChange(t)(s.AddChannelMember(ctx, "design", "reviews", e.ID)); c.Changed {
		t.Fatalf("add again: %+v", c)
	}
	_, err = s.RemoveChannelMember(ctx, "design", "town-square", e.ID)
	wantCode(t, "remove a team-join channel", err, store.CodeStillGranted, "erin stays in design:town-square: granted by the team-join channels")
	// By hand to a team-join channel too: the manual row goes, the membership stays.
	mustChange(t)(s.AddChannelMember(ctx, "design", "town-square", e.ID))
	c = mustChange(t)(s.RemoveChannelMember(ctx, "design", "town-square", e.ID))
	if !c.Member || !c.Changed || joinSources(c.Remaining) != "team-join" {
		t.Fatalf("remove a manual row of a team-join channel: %+v", c)
	}
	c = mustChange(t)(s.RemoveChannelMember(ctx, "design", "reviews", e.ID))
	if c.Member || c.String() != "removed erin from design:reviews" {
		t.Fatalf("remove: %+v %q", c, c)
	}
	_, err = s.RemoveChannelMember(ctx, "design", "reviews", e.ID)
	wantCode(t, "remove a non-member", err, store.CodeNotMember, "erin")
	_, err = s.AddChannelMember(ctx, "design", "nope", e.ID)
	wantCode(t, "no such channel", err, store.CodeNotFound, "")
	// A manual channel row goes with its team.
	mustChange(t)(s.AddChannelMember(ctx, "design", "reviews", e.ID))
	c = mustChange(t)(s.RemoveTeamMember(ctx, "design", e.ID, true))
	if c.Member {
		t.Fatalf("remove the team: %+v", c)
	}
	for _, ch := range channelLines(details(t, s, e.ID)) {
		if strings.HasPrefix(ch, "design/") {
			t.Fatalf("still in %s", ch)
		}
	}
	if _, _, err := s.SetAccountActive(ctx, e.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err = s.AddChannelMember(ctx, "everyone", "off-topic", e.ID)
	wantCode(t, "a deactivated account", err, store.CodeDeactivated, "erin")
}

func testAdminListAccounts(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	for _, a := range []store.NewAccount{
		{Email: "alice@example.com", Username: "alice", FirstName: "Alice", LastName: "Liddell", PasswordHash: "h"},
		{Email: "bob_1@example.com", Username: "bob_1", Nickname: "Bobby", PasswordHash: "h"},
		{Email: "carol@other.org", Username: "carol", LastName: "100% Smith", AuthService: "saml", AuthData: "00uC"},
	} {
		mustAccount(t, s, a)
	}
	dave := mustUser(t, s, "dave@example.com", "")
	setActive(t, s, dave.ID, false)
	mustTeam(t, s, "support", false)
	alice, _ := s.AccountID(ctx, "alice")
	mustChange(t)(s.AddTeamMember(cli(), "support", alice))
	names := func(q store.AccountQuery) []string {
		t.Helper()
		p, err := s.ListAccounts(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		out := []string{fmt.Sprint(p.Total)}
		for _, a := range p.Accounts {
			out = append(out, a.Username)
		}
		return out
	}
	all := store.MaxAccountPage
	wantLines(t, "all", names(store.AccountQuery{Limit: all}), []string{"4", "alice", "bob_1", "carol", "dave"})
	wantLines(t, "a page", names(store.AccountQuery{Limit: 2, Offset: 1}), []string{"4", "bob_1", "carol"})
	wantLines(t, "the total only", names(store.AccountQuery{}), []string{"4"})
	wantLines(t, "past the end", names(store.AccountQuery{Limit: 2, Offset: 9}), []string{"4"})
	wantLines(t, "a limit past the cap", names(store.AccountQuery{Limit: all + 1}), []string{"4", "alice", "bob_1", "carol", "dave"})
	wantLines(t, "inactive", names(store.AccountQuery{Inactive: true, Limit: all}), []string{"1", "dave"})
	wantLines(t, "a team", names(store.AccountQuery{Team: "support", Limit: all}), []string{"1", "alice"})
	wantLines(t, "a term in any case", names(store.AccountQuery{Terms: []string{"LIDDELL"}, Limit: all}), []string{"1", "alice"})
	wantLines(t, "an email term", names(store.AccountQuery{Terms: []string{"example.com"}, Limit: all}), []string{"3", "alice", "bob_1", "dave"})
	wantLines(t, "every term", names(store.AccountQuery{Terms: []string{"example", "bob"}, Limit: all}), []string{"1", "bob_1"})
	wantLines(t, "a nickname", names(store.AccountQuery{Terms: []string{"bobby"}, Limit: all}), []string{"1", "bob_1"})
	wantLines(t, "_ is no wildcard", names(store.AccountQuery{Terms: []string{"b_b"}, Limit: all}), []string{"0"})
	wantLines(t, "_ itself", names(store.AccountQuery{Terms: []string{"b_1"}, Limit: all}), []string{"1", "bob_1"})
	wantLines(t, "% is no wildcard", names(store.AccountQuery{Terms: []string{"a%e"}, Limit: all}), []string{"0"})
	wantLines(t, "% itself", names(store.AccountQuery{Terms: []string{"100%"}, Limit: all}), []string{"1", "carol"})
	p, err := s.ListAccounts(ctx, store.AccountQuery{Terms: []string{"carol"}, Limit: 1})
	if err != nil || len(p.Accounts) != 1 {
		t.Fatal(p, err)
	}
	if a := p.Accounts[0]; a.AuthService != "saml" || a.AuthData != "00uC" || a.Origin != store.OriginManual || a.Email != "carol@other.org" ||
		a.LastName != "100% Smith" || !a.Active || a.Status != store.StatusOnline || a.ID == "" {
		t.Fatalf("summary: %+v", a)
	}
	// Limits, at the edge.
	terms := make([]string, store.MaxSearchTerms)
	for i := range terms {
		terms[i] = "a"
	}
	if _, err := s.ListAccounts(ctx, store.AccountQuery{Terms: terms}); err != nil {
		t.Fatalf("%d terms: %v", store.MaxSearchTerms, err)
	}
	_, err = s.ListAccounts(ctx, store.AccountQuery{Terms: append(terms, "a")})
	wantInvalid(t, "too many terms", err, "terms")
	if _, err := s.ListAccounts(ctx, store.AccountQuery{Terms: []string{atLimit(store.MaxNameLength)}}); err != nil {
		t.Fatalf("a term of %d characters: %v", store.MaxNameLength, err)
	}
	_, err = s.ListAccounts(ctx, store.AccountQuery{Terms: []string{atLimit(store.MaxNameLength + 1)}})
	wantInvalid(t, "a term too long", err, "terms")
	_, err = s.ListAccounts(ctx, store.AccountQuery{Terms: []string{"a\x00"}})
	wantInvalid(t, "a NUL", err, "terms")
	if _, err := s.ListAccounts(ctx, store.AccountQuery{Team: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no such team: %v", err)
	}
	// A page holds at most MaxAccountPage accounts.
	var b store.ImportBatch
	for i := range store.MaxAccountPage {
		b.Users = append(b.Users, store.ImportUser{Line: i + 1, Username: fmt.Sprintf("u%04d", i), Email: fmt.Sprintf("u%04d@example.com", i)})
	}
	b.Users[0].ExternalID, b.Users[0].AuthService = "00u-imported", "saml"
	mustImport(t, s, ctx, b, store.ImportOptions{})
	for _, c := range []struct{ limit, want int }{{store.MaxAccountPage, store.MaxAccountPage}, {store.MaxAccountPage + 1, store.MaxAccountPage}, {-1, 0}} {
		p, err := s.ListAccounts(ctx, store.AccountQuery{Limit: c.limit})
		if err != nil || p.Total != store.MaxAccountPage+4 || len(p.Accounts) != c.want {
			t.Fatalf("limit %d: total %d, %d accounts, %v", c.limit, p.Total, len(p.Accounts), err)
		}
	}
	p, err = s.ListAccounts(ctx, store.AccountQuery{Terms: []string{"u0999"}, Limit: 1})
	if err != nil || p.Total != 1 || p.Accounts[0].Origin != store.OriginImport || p.Accounts[0].AuthService != "" {
		t.Fatalf("an imported account: %+v %v", p, err)
	}
	p, err = s.ListAccounts(ctx, store.AccountQuery{Terms: []string{"u0000"}, Limit: 1})
	if err != nil || p.Total != 1 || p.Accounts[0].AuthService != "saml" || p.Accounts[0].AuthData != "00u-imported" {
		t.Fatalf("an imported SSO account: %+v %v", p, err)
	}
}

func testAdminLogin(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := store.WithActor(context.Background(), "sso-layer")
	mustTeam(t, s, "open", false)
	mustTeam(t, s, "closed", true)
	// 3. A new account.
	cur := head(t, s)
	r, err := s.Login(ctx, store.LoginRequest{AuthService: "saml", AuthData: "00u1abc", Email: "Jane.Doe@example.com", FirstName: "Jane", LastName: "Doe"})
	if err != nil || !r.Created || r.Bound || r.Account.Username != "jane.doe" || r.Account.Origin != store.OriginLogin ||
		r.Account.AuthData != "00u1abc" || r.Account.AuthService != "saml" || r.Account.UserName != "Jane.Doe@example.com" || r.Account.FirstName != "Jane" {
		t.Fatalf("first login: %+v %v", r, err)
	}
	wantLines(t, "teams", teamLines(r.Account), []string{"everyone=default"})
	wantLines(t, "channels", channelLines(r.Account), []string{"everyone/off-topic=team-join", "everyone/town-square=team-join"})
	var joinable []string
	for _, tm := range r.Joinable {
		joinable = append(joinable, tm.Name)
	}
	wantLines(t, "joinable", joinable, []string{"open"})
	wantLines(t, "actors", actors(t, s, cur), []string{"sso-layer"})
	id := r.Account.ID
	// 1. The same person again: the names and email follow.
	r, err = s.Login(ctx, store.LoginRequest{AuthService: "saml", AuthData: "00u1abc", Email: "jane@example.com", FirstName: "Janet"})
	if err != nil || r.Created || r.Bound || r.Account.ID != id || r.Account.Email != "jane@example.com" || r.Account.FirstName != "Janet" || r.Account.LastName != "Doe" {
		t.Fatalf("second login: %+v %v", r, err)
	}
	// JoinTeam: open teams only.
	c := mustChange(t)(s.JoinTeam(ctx, id, "open"))
	if !c.Changed {
		t.Fatalf("join: %+v", c)
	}
	_, err = s.JoinTeam(ctx, id, "closed")
	wantCode(t, "join an invite-only team", err, store.CodePrivateTeam, "closed")
	// In a team of its own, the account left the default team (rule 1), which it may join again.
	if r, err := s.Login(ctx, store.LoginRequest{AuthService: "saml", AuthData: "00u1abc", Email: "jane@example.com"}); err != nil ||
		len(r.Joinable) != 1 || r.Joinable[0].Name != "everyone" {
		t.Fatalf("joinable after joining: %+v %v", r.Joinable, err)
	}
	// 2. An account of the email without auth data is bound.
	k := mustAccount(t, s, newAccount("kim", "kim@example.com"))
	r, err = s.Login(ctx, store.LoginRequest{AuthService: "oidc", AuthData: "00u2kim", Email: "KIM@example.com"})
	if err != nil || !r.Bound || r.Created || r.Account.ID != k.ID || r.Account.AuthData != "00u2kim" || r.Account.AuthService != "oidc" {
		t.Fatalf("bind: %+v %v", r, err)
	}
	// One bound to another id is a conflict.
	_, err = s.Login(ctx, store.LoginRequest{AuthService: "oidc", AuthData: "00u3", Email: "kim@example.com"})
	wantConflict(t, "an email bound to another id", err, "email")
	// A new account whose userName (the email) is a live user's: a conflict.
	x := store.User{UserName: "taken@example.com", Active: true, Emails: []store.MultiValue{{Value: "elsewhere@example.com", Primary: true}}}
	if err := s.CreateUser(context.Background(), &x); err != nil {
		t.Fatal(err)
	}
	_, err = s.Login(ctx, store.LoginRequest{AuthService: "oidc", AuthData: "00u4", Email: "taken@example.com"})
	wantConflict(t, "the userName of a live user", err, "email")
	// Deactivated: refused, nothing changes.
	if _, _, err := s.SetAccountActive(cli(), k.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err = s.Login(ctx, store.LoginRequest{AuthService: "oidc", AuthData: "00u2kim", Email: "kim2@example.com"})
	wantCode(t, "a deactivated account", err, store.CodeDeactivated, "kim")
	if d := details(t, s, k.ID); d.Email != "kim@example.com" || d.Active {
		t.Fatalf("after a refused login: %+v", d)
	}
	// Invalid requests.
	for _, c := range []struct {
		name string
		r    store.LoginRequest
		attr string
	}{
		{"no auth data", store.LoginRequest{AuthService: "saml", Email: "x@example.com"}, "auth_data"},
		{"no auth service", store.LoginRequest{AuthData: "x", Email: "x@example.com"}, "auth_data"},
		{"no email", store.LoginRequest{AuthService: "saml", AuthData: "x"}, "email"},
		{"auth data too long", store.LoginRequest{AuthService: "saml", AuthData: atLimit(store.MaxNameLength + 1), Email: "x@example.com"}, "auth_data"},
		{"a first name too long", store.LoginRequest{AuthService: "saml", AuthData: "x", Email: "x@example.com", FirstName: atLimit(store.MaxNameLength + 1)}, "first_name"},
	} {
		_, err := s.Login(ctx, c.r)
		wantInvalid(t, c.name, err, c.attr)
	}
}

// testAdminSCIMAdoptsAccount: the person an admin or a first sign-in provisioned, later
// pushed by the IdP with the same externalId, is the same account.
func testAdminSCIMAdoptsAccount(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	mustTeam(t, s, "support", false)
	a := mustAccount(t, s, store.NewAccount{Email: "alice@example.com", Username: "alice", AuthService: "saml", AuthData: "00uA"})
	mustChange(t)(s.AddTeamMember(cli(), "support", a.ID))
	l, err := s.Login(ctx, store.LoginRequest{AuthService: "saml", AuthData: "00uL", Email: "lee@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, userName, ext, username string
	}{{a.ID, "alice@example.com", "00uA", "alice"}, {l.Account.ID, "Lee.Smith@example.com", "00uL", "lee.smith"}} {
		u := store.User{UserName: c.userName, ExternalID: c.ext, Active: true, Name: store.Name{GivenName: "Given"},
			Emails: []store.MultiValue{{Value: c.userName, Primary: true}}}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatalf("POST %s: %v", c.userName, err)
		}
		if u.ID != c.id || u.Account.Username != c.username {
			t.Fatalf("POST %s: id %s username %s, want the account %s", c.userName, u.ID, u.Account.Username, c.id)
		}
		d := details(t, s, c.id)
		if d.Origin != store.OriginSCIM || d.FirstName != "Given" || d.UserName != c.userName {
			t.Fatalf("adopted: %+v", d)
		}
	}
	wantLines(t, "alice keeps her teams", teamLines(details(t, s, a.ID)), []string{"support=manual"})
	if _, n, err := s.ListUsers(ctx, store.Query{StartIndex: 1}); err != nil || n != 2 {
		t.Fatalf("users: %d %v", n, err)
	}
	// A SCIM user is not adopted again: live users may share an externalId.
	u := mustUser(t, s, "alice2@example.com", "00uA")
	if u.ID == a.ID {
		t.Fatal("a SCIM account was adopted")
	}
	// The POSTed userName of another live user is still a conflict.
	b := mustAccount(t, s, store.NewAccount{Email: "bob@example.com", Username: "bob", AuthService: "saml", AuthData: "00uB"})
	x := store.User{UserName: "alice2@example.com", ExternalID: "00uB", Active: true}
	err = s.CreateUser(ctx, &x)
	wantConflict(t, "a userName of another live user", err, "userName")
	if d := details(t, s, b.ID); d.Origin != store.OriginManual || d.UserName != "bob@example.com" {
		t.Fatalf("after a refused adoption: %+v", d)
	}
}

// testAdminManualMembershipsAreOrdinary: export and the connector's desired state see
// a manual membership as any other.
func testAdminManualMembershipsAreOrdinary(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	mustTeam(t, s, "support", false)
	a := mustAccount(t, s, newAccount("alice", "alice@example.com"))
	mustChange(t)(s.AddTeamMember(cli(), "support", a.ID))
	if _, err := s.CreateChannel(cli(), store.NewChannel{Team: "support", Name: "secret", Private: true}); err != nil {
		t.Fatal(err)
	}
	mustChange(t)(s.AddChannelMember(cli(), "support", "secret", a.ID))
	lines := exportLines(t, s, store.ExportQuery{Teams: []string{"support"}})
	want := "user alice alice@example.com ext= alice@example.com / nick= pos= locale= deleted=false support[off-topic secret town-square]"
	if !slices.Contains(lines, want) {
		t.Fatalf("export:\n%s\nwant the line %q", strings.Join(lines, "\n"), want)
	}
	st, err := s.ChatAccountState(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(st.Teams, st.Channels)
	for _, w := range []string{"support", "secret"} {
		if !strings.Contains(got, w) {
			t.Fatalf("the connector's desired state %s lacks %s", got, w)
		}
	}
}

// testAdminMembershipRaces races an admin's adds and removes against group changes and
// (de)activations from two replicas; every rule holds afterwards, and so does every
// manual membership still standing.
func testAdminMembershipRaces(t *testing.T, open func() store.Store) {
	s1, s2 := replicas(t, open, exampleRules)
	stores := []store.Store{s1, s2}
	ctx := cli()
	var users, groups []string
	for i := range 4 {
		users = append(users, mustUser(t, s1, fmt.Sprintf("racer%d@example.com", i), "").ID)
	}
	for _, g := range []string{"Engineering", "team-sales", "Unmapped"} {
		groups = append(groups, mustGroup(t, s1, g, "").ID)
	}
	mustTeam(t, s1, "support", false)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			st := stores[w%2]
			for range 30 {
				u, g := users[rng.Intn(len(users))], groups[rng.Intn(len(groups))]
				team := []string{"support", "engineering", "sales", "everyone"}[rng.Intn(4)]
				var err error
				switch rng.Intn(6) {
				case 0:
					_, err = st.AddTeamMember(ctx, team, u)
				case 1:
					_, err = st.RemoveTeamMember(ctx, team, u, rng.Intn(2) == 0)
				case 2:
					_, err = st.AddChannelMember(ctx, team, "town-square", u)
				case 3:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{u}}})
				case 4:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{u}}})
				case 5:
					_, _, err = st.SetAccountActive(ctx, u, rng.Intn(3) > 0)
				}
				switch store.ErrorCode(err) {
				case "", store.CodeNotMember, store.CodeStillGranted, store.CodeLastTeam, store.CodeDeactivated,
					store.CodeNotTeamMember, store.CodeNotFound:
				default:
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, s1)
}
