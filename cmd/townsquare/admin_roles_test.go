package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// "user show" prints an account's roles: its system role string, guest, what grants the
// system admin role, and each membership's roles where they are not a plain member's.
func TestAdminCLIShowRoles(t *testing.T) {
	group := func(name string) store.MembershipSource {
		return store.MembershipSource{Kind: store.SourceGroup, Group: &store.GroupRef{ID: "g-" + name, DisplayName: name}}
	}
	manual := store.MembershipSource{Kind: store.SourceManual}
	teamJoin := store.MembershipSource{Kind: store.SourceTeamJoin}
	for _, c := range []struct {
		name string
		d    store.AccountDetails
		want string // the lines from "roles:" on
	}{
		{"admin", store.AccountDetails{SystemAdmin: true, SystemAdminSources: []store.MembershipSource{group("Chat Admins"), manual},
			Teams: []store.TeamMembership{
				{Team: "engineering", Sources: []store.MembershipSource{group("Engineering")}, Admin: true,
					AdminSources: []store.MembershipSource{group("Eng Leads"), manual}},
				{Team: "everyone", Sources: []store.MembershipSource{group("Engineering")}}},
			Channels: []store.ChannelMembership{
				{Team: "engineering", Channel: "incidents", Sources: []store.MembershipSource{manual}, Admin: true,
					AdminSources: []store.MembershipSource{manual}},
				{Team: "engineering", Channel: "town-square", Sources: []store.MembershipSource{teamJoin}}}}, `
roles:        system_admin system_user
guest:        no
system_admin: granted by group:Chat Admins, manual
groups:       -
teams:
  engineering  group:Engineering  team_user team_admin (group:Eng Leads, manual)
  everyone     group:Engineering
channels:
  engineering:incidents    manual     channel_user channel_admin (manual)
  engineering:town-square  team-join
`},
		{"guest", store.AccountDetails{Guest: true, SystemAdminSources: []store.MembershipSource{manual},
			Teams: []store.TeamMembership{{Team: "partners", Sources: []store.MembershipSource{group("guest-acme")},
				AdminSources: []store.MembershipSource{manual}}},
			Channels: []store.ChannelMembership{{Team: "partners", Channel: "acme", Sources: []store.MembershipSource{group("guest-acme")}}}}, `
roles:        system_guest
guest:        yes: in exactly the channels its guest groups name
system_admin: granted by manual (no effect while a guest)
groups:       -
teams:
  partners  group:guest-acme  team_guest (admin granted by manual: no effect while a guest)
channels:
  partners:acme  group:guest-acme  channel_guest
`},
	} {
		var b bytes.Buffer
		printAccount(&b, c.d)
		out := b.String()
		i := strings.Index(out, "roles:")
		if i < 0 || "\n"+out[i:] != c.want {
			t.Errorf("%s: got\n%s\nwant the lines\n%s", c.name, out, c.want)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.TrimRight(line, " ") != line {
				t.Errorf("%s: trailing spaces in %q", c.name, line)
			}
		}
	}
}
