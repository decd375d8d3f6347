package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
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

// Role commands on both databases: one line per account, the journal's entries with the
// actor cli and the role strings before and after, and the rules still holding.
func TestAdminCLIRoles(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			mustCLI(t, dsn, "user", "create", "--email", "alice@example.com", "--username", "alice", "--password", "Passw0rd!x")
			out, _ := mustCLI(t, dsn, "roles", "system_admin", "alice")
			if out != "made alice system_admin\n" {
				t.Errorf("roles system_admin said %q", out)
			}
			out, _ = mustCLI(t, dsn, "team", "admins", "add", "everyone", "alice")
			if out != "made alice team_admin of everyone\n" {
				t.Errorf("team admins add said %q", out)
			}
			out, _ = mustCLI(t, dsn, "channel", "admins", "add", "everyone/town-square", "alice")
			if out != "made alice channel_admin of everyone:town-square\n" {
				t.Errorf("channel admins add said %q", out)
			}
			out, _ = mustCLI(t, dsn, "user", "show", "alice", "--json")
			m := jsonKeys(t, out)
			if m["roles"] != "system_admin system_user" || m["system_admin"] != true {
				t.Errorf("user show --json: %s", out)
			}
			out, _ = mustCLI(t, dsn, "roles", "member", "alice")
			if out != "alice is no longer system_admin\n" {
				t.Errorf("roles member said %q", out)
			}
			out, _ = mustCLI(t, dsn, "events", "--account", "alice", "--json")
			var roles []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var e struct {
					Actor, Kind   string
					Before, After map[string]string
				}
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatal(err)
				}
				if !store.EventKind(e.Kind).IsRoleEvent() {
					continue
				}
				if e.Actor != store.ActorCLI {
					t.Errorf("role entry by %q: %s", e.Actor, line)
				}
				roles = append(roles, e.Kind+" "+e.Before[store.AttrRoles]+" → "+e.After[store.AttrRoles])
			}
			want := []string{
				"account.roles system_user → system_admin system_user",
				"team.roles team_user → team_user team_admin",
				"channel.roles channel_user → channel_user channel_admin",
				"account.roles system_admin system_user → system_user",
			}
			if !slices.Equal(roles, want) {
				t.Errorf("alice's role entries:\n%s\nwant\n%s", strings.Join(roles, "\n"), strings.Join(want, "\n"))
			}
			if out, _ := mustCLI(t, dsn, "check"); out != "all provisioning rules hold\n" {
				t.Errorf("check: %q", out)
			}
		})
	}
}
