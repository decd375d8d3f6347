package storetest

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// Roles and guests (store/roles.go), under roleRules.

const roleRules = `
default_team: everyone
teams:
  - name: engineering
    display_name: Engineering
    private: true
channels:
  - name: engineering/incidents
    display_name: Incidents
    private: true
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend, engineering/incidents]
  - match: {displayName: "Eng Leads"}
    team_admin: [engineering]
    channel_admin: [engineering/incidents]
  - match: {displayName: "Ops Leads"}
    team_admin: [engineering]
  - match: {displayName: "Eng All"}
    teams: [engineering]
  - match: {displayName: "Chat Admins"}
    system_admin: true
  - match: {displayNamePrefix: "guest-"}
    guest: true
    channels: ["partners/{suffix}"]
`

// roleLine renders an account's roles as its reads give them: "guest" or "member",
// then "sysadmin", then the admin roles.
func roleLine(a store.Account) string {
	out := []string{"member"}
	if a.Guest {
		out[0] = "guest"
	}
	if a.SystemAdmin {
		out = append(out, "sysadmin")
	}
	for _, t := range a.TeamAdmin {
		out = append(out, "admin:"+t)
	}
	for _, c := range a.ChannelAdmin {
		out = append(out, "admin:"+c)
	}
	return strings.Join(out, " ")
}

func wantRoles(t *testing.T, s store.Store, id, want string) {
	t.Helper()
	if got := roleLine(account(t, s, id)); got != want {
		t.Fatalf("roles of %s = %q, want %q", id, got, want)
	}
}

// roleEvents lists the role entries after cursor.
func roleEvents(t *testing.T, s store.Store, cursor int64) []string {
	t.Helper()
	var out []string
	for _, e := range allEvents(t, s, store.EventQuery{After: cursor}) {
		if e.Kind.IsRoleEvent() {
			out = append(out, eventLine(e))
		}
	}
	return out
}

func grant(t *testing.T, s store.Store, id string, r store.RoleRef) store.RoleChange {
	t.Helper()
	c, err := s.GrantRole(cli(), id, r)
	if err != nil {
		t.Fatalf("grant %s: %v", r.Where(), err)
	}
	return c
}

var (
	engAdmin       = store.RoleRef{Role: store.RoleTeamAdmin, Team: "engineering"}
	incidentsAdmin = store.RoleRef{Role: store.RoleChannelAdmin, Team: "engineering", Channel: "incidents"}
	sysAdmin       = store.RoleRef{Role: store.RoleSystemAdmin}
)

// A group's admin roles follow its members, and end with the last group granting them;
// a role granted by hand survives every group change, and ends with its membership.
func testRolesFromGroups(t *testing.T, s store.Store) {
	useRules(t, s, roleRules)
	ctx := context.Background()
	alice := mustUser(t, s, "alice", "")
	bob := mustUser(t, s, "bob", "")
	cur := head(t, s)
	leads := mustGroup(t, s, "Eng Leads", "", alice.ID)
	ops := mustGroup(t, s, "Ops Leads", "", alice.ID)
	wantRoles(t, s, alice.ID, "member admin:engineering admin:engineering/incidents")
	wantLines(t, "role entries of a group made with a member", roleEvents(t, s, cur), []string{
		"team.roles alice engineering (group:Eng Leads) {roles=team_user} {roles=team_user team_admin}",
		"channel.roles alice engineering/incidents (group:Eng Leads) {roles=channel_user} {roles=channel_user channel_admin}",
	})
	d := details(t, s, alice.ID)
	if i := slices.IndexFunc(d.Teams, func(m store.TeamMembership) bool { return m.Team == "engineering" }); i < 0 ||
		!d.Teams[i].Admin || joinSources(d.Teams[i].AdminSources) != "group:Eng Leads,group:Ops Leads" {
		t.Fatalf("alice's teams = %+v", d.Teams)
	}
	// One of two groups granting team admin goes: the role stays, and nothing is journaled.
	cur = head(t, s)
	patchMembers(t, s, leads.ID, store.RemoveMembers, alice.ID)
	wantRoles(t, s, alice.ID, "member admin:engineering")
	wantLines(t, "role entries of a second source gone", roleEvents(t, s, cur), []string{
		"channel.roles alice engineering/incidents (group:Eng Leads) {roles=channel_user channel_admin} {roles=channel_user}",
	})
	cur = head(t, s)
	patchMembers(t, s, ops.ID, store.RemoveMembers, alice.ID)
	wantRoles(t, s, alice.ID, "member")
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)
	wantLines(t, "role entries of the last group gone", roleEvents(t, s, cur), []string{
		"team.roles alice engineering (group:Ops Leads) {roles=team_user team_admin} {roles=team_user}",
	})

	// By hand: bob is made team admin, and stays one through group changes.
	all := mustGroup(t, s, "Eng All", "", bob.ID)
	c := grant(t, s, bob.ID, engAdmin)
	if !c.Changed || !c.Has || c.String() != "made bob team_admin of engineering" {
		t.Fatalf("grant = %+v (%s)", c, c)
	}
	if c := grant(t, s, bob.ID, engAdmin); c.Changed || !c.Has {
		t.Fatalf("grant again = %+v", c)
	}
	patchMembers(t, s, leads.ID, store.AddMembers, bob.ID)
	patchMembers(t, s, leads.ID, store.RemoveMembers, bob.ID)
	if _, err := s.UpdateGroup(ctx, all.ID, 0, func(g *store.Group) error { g.DisplayName = "Engineering"; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, s, bob.ID, "member admin:engineering")
	// RevokeRole of a role only a group grants is refused, naming the group.
	patchMembers(t, s, ops.ID, store.AddMembers, bob.ID)
	if c, err := s.RevokeRole(cli(), bob.ID, engAdmin); err != nil || !c.Changed || !c.Has ||
		joinSources(c.Remaining) != "group:Ops Leads" || c.String() != "bob stays team_admin of engineering: granted by group Ops Leads" {
		t.Fatalf("revoke with a group left = %+v (%s), %v", c, c, err)
	}
	_, err := s.RevokeRole(cli(), bob.ID, engAdmin)
	wantCode(t, "revoke a role a group grants", err, store.CodeStillGranted, "Ops Leads")
	patchMembers(t, s, ops.ID, store.RemoveMembers, bob.ID)
	_, err = s.RevokeRole(cli(), bob.ID, engAdmin)
	wantCode(t, "revoke a role nobody grants", err, store.CodeNoRole, "")
	wantRoles(t, s, bob.ID, "member")

	// A role by hand ends with its membership.
	grant(t, s, bob.ID, engAdmin)
	if err := s.DeleteGroup(ctx, all.ID, 0); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, s, bob.ID, "member")
	_, err = s.RevokeRole(cli(), bob.ID, engAdmin)
	wantCode(t, "revoke the role of a team left", err, store.CodeNoRole, "")
}

// The system admin role, by group and by hand, with its journal entries.
func testSystemAdmin(t *testing.T, s store.Store) {
	useRules(t, s, roleRules)
	alice := mustUser(t, s, "alice", "")
	cur := head(t, s)
	admins := mustGroup(t, s, "Chat Admins", "", alice.ID)
	wantRoles(t, s, alice.ID, "member sysadmin")
	// A group granting only system admin leaves the account in the default team.
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)
	c := grant(t, s, alice.ID, sysAdmin)
	if !c.Changed || joinSources(c.Remaining) != "group:Chat Admins,manual" {
		t.Fatalf("grant = %+v", c)
	}
	patchMembers(t, s, admins.ID, store.RemoveMembers, alice.ID)
	wantRoles(t, s, alice.ID, "member sysadmin")
	d := details(t, s, alice.ID)
	if !d.SystemAdmin || joinSources(d.SystemAdminSources) != "manual" {
		t.Fatalf("details = %v %v", d.SystemAdmin, d.SystemAdminSources)
	}
	st, err := s.ChatAccountState(context.Background(), alice.ID)
	if err != nil || !st.SystemAdmin || st.Guest {
		t.Fatalf("state = %+v, %v", st, err)
	}
	if c, err := s.RevokeRole(cli(), alice.ID, sysAdmin); err != nil || !c.Changed || c.Has {
		t.Fatalf("revoke = %+v, %v", c, err)
	}
	wantRoles(t, s, alice.ID, "member")
	wantLines(t, "system admin entries", roleEvents(t, s, cur), []string{
		"account.roles alice (group:Chat Admins) {roles=system_user} {roles=system_admin system_user}",
		"account.roles alice (manual) {roles=system_admin system_user} {roles=system_user}",
	})
}

// Guests: in exactly their guest groups' channels and those channels' teams, never in
// the default team or a team-join channel; a member group promotes them, losing it
// demotes them, and each is one account.roles entry.
func testGuests(t *testing.T, s store.Store) {
	useRules(t, s, roleRules)
	ctx := context.Background()
	gina := mustUser(t, s, "gina", "")
	cur := head(t, s)
	acme := mustGroup(t, s, "guest-acme", "", gina.ID)
	wantAccount(t, s, gina.ID, []string{"partners"}, []string{"partners/acme"})
	wantRoles(t, s, gina.ID, "guest")
	wantLines(t, "a demotion", roleEvents(t, s, cur), []string{
		"account.roles gina {roles=system_user} {roles=system_guest}",
	})
	st, err := s.ChatAccountState(ctx, gina.ID)
	if err != nil || !st.Guest || fmt.Sprint(st.Teams) != "[partners]" {
		t.Fatalf("state = %+v, %v", st, err)
	}
	// A guest is refused memberships and roles by hand.
	_, err = s.AddTeamMember(cli(), "everyone", gina.ID)
	wantCode(t, "add a guest to a team", err, store.CodeGuest, "guest")
	_, err = s.JoinTeam(cli(), gina.ID, "everyone")
	wantCode(t, "a guest joins a team", err, store.CodeGuest, "")
	_, err = s.AddChannelMember(cli(), "partners", "town-square", gina.ID)
	wantCode(t, "add a guest to a channel", err, store.CodeGuest, "")
	_, err = s.GrantRole(cli(), gina.ID, sysAdmin)
	wantCode(t, "a role for a guest", err, store.CodeGuest, "")

	// Promotion: a member group; the default team does not apply (engineering is a
	// team), the team-join channels of each team do, the private channel is the group's.
	eng := mustGroup(t, s, "Engineering", "")
	cur = head(t, s)
	patchMembers(t, s, eng.ID, store.AddMembers, gina.ID)
	wantRoles(t, s, gina.ID, "member")
	wantAccount(t, s, gina.ID, []string{"engineering", "partners"}, []string{
		"engineering/backend", "engineering/incidents", "engineering/off-topic", "engineering/town-square",
		"partners/acme", "partners/off-topic", "partners/town-square"})
	wantLines(t, "a promotion", roleEvents(t, s, cur), []string{
		"account.roles gina {roles=system_guest} {roles=system_user}",
	})
	// A member's hand-made rows, which a demotion removes.
	mustChange(t)(s.AddTeamMember(cli(), "everyone", gina.ID))
	cur = head(t, s)
	patchMembers(t, s, eng.ID, store.RemoveMembers, gina.ID)
	wantAccount(t, s, gina.ID, []string{"partners"}, []string{"partners/acme"})
	wantLines(t, "a demotion", roleEvents(t, s, cur), []string{
		"account.roles gina {roles=system_user} {roles=system_guest}",
	})
	// A promotion with no team from the member group: the guest's teams are teams (no
	// default team), with their team-join channels.
	admins := mustGroup(t, s, "Chat Admins", "")
	patchMembers(t, s, admins.ID, store.AddMembers, gina.ID)
	wantAccount(t, s, gina.ID, []string{"partners"}, []string{"partners/acme", "partners/off-topic", "partners/town-square"})
	wantRoles(t, s, gina.ID, "member sysadmin")
	// A guest group left: no longer a guest, a member in the default team.
	patchMembers(t, s, admins.ID, store.RemoveMembers, gina.ID)
	wantRoles(t, s, gina.ID, "guest")
	if err := s.DeleteGroup(ctx, acme.ID, 0); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, s, gina.ID, "member")
	wantAccount(t, s, gina.ID, []string{"everyone"}, everyoneDefault)

	// A guest group that names no channel ("guest-" has no suffix): a guest in no team;
	// promoted by a group that grants no team, the default team.
	hugo := mustUser(t, s, "hugo", "")
	mustGroup(t, s, "guest-", "", hugo.ID)
	wantAccount(t, s, hugo.ID, nil, nil)
	patchMembers(t, s, admins.ID, store.AddMembers, hugo.ID)
	wantAccount(t, s, hugo.ID, []string{"everyone"}, everyoneDefault)
	wantRoles(t, s, hugo.ID, "member sysadmin")
}

// A private channel is joined by its rules only, never as a team-join channel; a
// declared team is made as declared.
func testPrivateChannelsAndDeclarations(t *testing.T, s store.Store) {
	useRules(t, s, roleRules)
	ctx := context.Background()
	bob := mustUser(t, s, "bob", "")
	mustGroup(t, s, "Eng All", "", bob.ID)
	wantAccount(t, s, bob.ID, []string{"engineering"}, []string{"engineering/off-topic", "engineering/town-square"})
	mustGroup(t, s, "Engineering", "")
	teams, err := s.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tm := range teams {
		got = append(got, fmt.Sprintf("%s %q %s", tm.Name, tm.DisplayName, tm.Type))
	}
	wantLines(t, "teams", got, []string{`engineering "Engineering" I`, `everyone "everyone" O`})
	chans, err := s.TeamChannels(ctx, "engineering")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, c := range chans {
		got = append(got, fmt.Sprintf("%s %q %s", c.Name, c.DisplayName, c.Type))
	}
	wantLines(t, "channels", got, []string{`backend "backend" O`, `incidents "Incidents" P`,
		`off-topic "Off-Topic" O`, `town-square "Town Square" O`})
	// A private channel named like a team-join channel (made by hand before the rules
	// named it one) is not joined with the team either.
	carol := mustUser(t, s, "carol", "")
	if _, err := s.CreateChannel(cli(), store.NewChannel{Team: "everyone", Name: "news", Private: true}); err != nil {
		t.Fatal(err)
	}
	useRules(t, s, "default_team: everyone\ndefault_channels: [news]\n")
	if _, err := s.ApplyRules(ctx, acceptAll); err != nil {
		t.Fatal(err)
	}
	wantAccount(t, s, carol.ID, []string{"everyone"}, []string{"everyone/town-square"})
	dave := mustUser(t, s, "dave", "")
	wantAccount(t, s, dave.ID, []string{"everyone"}, []string{"everyone/town-square"})
}

// GrantRole's and RevokeRole's refusals.
func testRoleRefusals(t *testing.T, s store.Store) {
	useRules(t, s, roleRules)
	ctx := context.Background()
	alice := mustUser(t, s, "alice", "")
	gina := mustUser(t, s, "gina", "")
	mustGroup(t, s, "guest-acme", "", gina.ID)
	mustGroup(t, s, "Eng All", "")
	for _, tc := range []struct {
		what string
		id   string
		r    store.RoleRef
		code string
	}{
		{"a guest", gina.ID, sysAdmin, store.CodeGuest},
		{"not in the team", alice.ID, engAdmin, store.CodeNotTeamMember},
		{"not in the channel", alice.ID, store.RoleRef{Role: store.RoleChannelAdmin, Team: "everyone", Channel: "town-square2"}, store.CodeNotFound},
		{"no such team", alice.ID, store.RoleRef{Role: store.RoleTeamAdmin, Team: "nope"}, store.CodeNotFound},
		{"no such account", "00000000-0000-0000-0000-000000000000", sysAdmin, store.CodeNotFound},
		{"an invalid role", alice.ID, store.RoleRef{Role: "team_user", Team: "everyone"}, store.CodeInvalid},
		{"a team role without a team", alice.ID, store.RoleRef{Role: store.RoleTeamAdmin}, store.CodeInvalid},
	} {
		_, err := s.GrantRole(cli(), tc.id, tc.r)
		wantCode(t, "grant: "+tc.what, err, tc.code, "")
	}
	if _, err := s.CreateChannel(cli(), store.NewChannel{Team: "everyone", Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.GrantRole(cli(), alice.ID, store.RoleRef{Role: store.RoleChannelAdmin, Team: "everyone", Channel: "ops"})
	wantCode(t, "grant: not in the channel", err, store.CodeNotMember, "")
	_, err = s.RevokeRole(cli(), alice.ID, sysAdmin)
	wantCode(t, "revoke: no role", err, store.CodeNoRole, "")
	// A deactivated account is refused a grant, not a revoke.
	grant(t, s, alice.ID, store.RoleRef{Role: store.RoleTeamAdmin, Team: "everyone"})
	setActive(t, s, alice.ID, false)
	_, err = s.GrantRole(cli(), alice.ID, sysAdmin)
	wantCode(t, "grant: deactivated", err, store.CodeDeactivated, "")
	if _, err := s.RevokeRole(cli(), alice.ID, store.RoleRef{Role: store.RoleTeamAdmin, Team: "everyone"}); err != nil {
		t.Fatal(err)
	}
	// A deactivated account keeps its grants, but not those of a membership an admin
	// ends (CheckInvariants: no grant outlives its membership).
	setActive(t, s, alice.ID, true)
	mustTeam(t, s, "support", false)
	mustChange(t)(s.AddTeamMember(cli(), "support", alice.ID))
	grant(t, s, alice.ID, store.RoleRef{Role: store.RoleTeamAdmin, Team: "support"})
	grant(t, s, alice.ID, sysAdmin)
	setActive(t, s, alice.ID, false)
	mustChange(t)(s.RemoveTeamMember(cli(), "support", alice.ID, true))
	if d := details(t, s, alice.ID); !d.SystemAdmin || len(teamLines(d)) != 1 {
		t.Fatalf("deactivated alice: %v %v", d.SystemAdmin, teamLines(d))
	}
	if err := s.DeleteUser(ctx, alice.ID, 0); err != nil {
		t.Fatal(err)
	}
	_, err = s.GrantRole(cli(), alice.ID, sysAdmin)
	wantCode(t, "grant: SCIM-deleted", err, store.CodeSCIMDeleted, "")
}

// Team and channel member pages and the account's details show guests and admins.
func testRoleReads(t *testing.T, s store.Store) {
	useRules(t, s, roleRules)
	ctx := context.Background()
	alice := mustUser(t, s, "alice", "")
	gina := mustUser(t, s, "gina", "")
	mustGroup(t, s, "Eng Leads", "", alice.ID)
	mustGroup(t, s, "guest-acme", "", gina.ID)
	mustChange(t)(s.AddTeamMember(cli(), "partners", alice.ID))
	page, err := s.TeamMembers(ctx, "partners", 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range page.Members {
		got = append(got, fmt.Sprintf("%s guest=%v admin=%v", m.Username, m.Guest, m.Admin))
	}
	wantLines(t, "partners' members", got, []string{"alice guest=false admin=false", "gina guest=true admin=false"})
	page, err = s.TeamMembers(ctx, "engineering", 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, m := range page.Members {
		got = append(got, fmt.Sprintf("%s guest=%v admin=%v", m.Username, m.Guest, m.Admin))
	}
	wantLines(t, "engineering's members", got, []string{"alice guest=false admin=true"})
	page, err = s.ChannelMembers(ctx, "engineering", "incidents", 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, m := range page.Members {
		got = append(got, fmt.Sprintf("%s guest=%v admin=%v", m.Username, m.Guest, m.Admin))
	}
	wantLines(t, "incidents' members", got, []string{"alice guest=false admin=true"})
	st, err := s.ChatAccountState(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	var admin []string
	for _, c := range st.Channels {
		if c.Admin {
			admin = append(admin, c.Team+"/"+c.Channel)
		}
	}
	if fmt.Sprint(st.TeamAdmin, admin) != "[engineering] [engineering/incidents]" {
		t.Fatalf("state: team admin %v, channel admin %v", st.TeamAdmin, admin)
	}
	d := details(t, s, gina.ID)
	if !d.Guest || d.SystemAdmin {
		t.Fatalf("gina's details: %+v", d)
	}
}

// Two stores on one database race group member changes of member, guest and role
// groups, grants and revokes by hand, hand-made memberships and (de)activations; the
// invariants hold afterwards (checked again when the test ends, on both stores).
func testRoleRaces(t *testing.T, open func() store.Store) {
	s1, s2 := replicas(t, open, roleRules)
	stores := []store.Store{s1, s2}
	ctx := cli()
	var users, groups []string
	for i := range 5 {
		users = append(users, mustUser(t, s1, fmt.Sprintf("racer%d@example.com", i), "").ID)
	}
	for _, g := range []string{"Engineering", "Eng Leads", "Ops Leads", "Chat Admins", "guest-acme", "guest-beta"} {
		groups = append(groups, mustGroup(t, s1, g, "").ID)
	}
	roles := []store.RoleRef{sysAdmin, engAdmin, incidentsAdmin, {Role: store.RoleTeamAdmin, Team: "everyone"}}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			st := stores[w%2]
			for range 30 {
				u, g, r := users[rng.Intn(len(users))], groups[rng.Intn(len(groups))], roles[rng.Intn(len(roles))]
				var err error
				switch rng.Intn(8) {
				case 0, 1:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{u}}})
				case 2:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{u}}})
				case 3:
					_, err = st.GrantRole(ctx, u, r)
				case 4:
					_, err = st.RevokeRole(ctx, u, r)
				case 5:
					_, err = st.AddTeamMember(ctx, "engineering", u)
				case 6:
					_, err = st.RemoveTeamMember(ctx, "engineering", u, rng.Intn(2) == 0)
				case 7:
					_, _, err = st.SetAccountActive(ctx, u, rng.Intn(3) > 0)
				}
				switch store.ErrorCode(err) {
				case "", store.CodeNotMember, store.CodeStillGranted, store.CodeLastTeam, store.CodeDeactivated,
					store.CodeNotTeamMember, store.CodeNotFound, store.CodeGuest, store.CodeNoRole:
				default:
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, s1)
	// The journal's account.roles entries replay to each account's system roles: the
	// last one's After is what the account is now (entries are effective transitions, in
	// commit order, a promotion or demotion one entry).
	last := map[string]string{}
	for _, e := range allEvents(t, s1, store.EventQuery{}) {
		if e.Kind == store.EventAccountRoles {
			if prev, ok := last[e.Account]; ok && prev != e.Before[store.AttrRoles] {
				t.Errorf("%s: account.roles from %q after an entry to %q", e.Username, e.Before[store.AttrRoles], prev)
			}
			last[e.Account] = e.After[store.AttrRoles]
		}
	}
	for _, id := range users {
		d := details(t, s1, id)
		want := store.SystemRoles(d.SystemAdmin, d.Guest)
		if got, ok := last[id]; (ok && got != want) || (!ok && want != store.RoleSystemUser) {
			t.Errorf("%s: the journal replays to %q, the account is %q", d.Username, got, want)
		}
	}
}
