package main

import (
	"fmt"
	"strings"

	"github.com/townsquare/townsquare/store"
)

// "townsquare roles …", "townsquare team admins …" and "townsquare channel admins …":
// roles by hand (store/roles.go). A role given by hand has the source manual: no SCIM
// group or mapping change takes it away, and only these commands' remove does. Each
// account is one GrantRole or RevokeRole, printed as store.RoleChange.String.

// rolesCmd is mmctl's "roles system_admin USER…" (grant true) and "roles member USER…"
// (the system admin role given by hand taken away).
func rolesCmd(grant bool) adminCommand {
	cmd := adminCommand{
		synopsis: "USER…",
		help: `Makes each account a system admin by hand (mmctl's "roles system_admin"): no SCIM group
or mapping file change takes the role away; "townsquare roles member" does. A guest cannot
be made an admin.`,
	}
	if !grant {
		cmd.help = `Takes away the system admin role each account was given by hand (mmctl's "roles
member"). When a group of a system_admin rule grants it too, the account stays a system
admin and the answer names the group; when only a group grants it, nothing is taken
(still_granted): remove the person from the group in the IdP.`
	}
	cmd.run = func(c *adminCall) error {
		return c.eachRole(1, grant, func([]string) (store.RoleRef, error) {
			return store.RoleRef{Role: store.RoleSystemAdmin}, nil
		})
	}
	return cmd
}

// teamAdminsCmd is "team admins add|remove TEAM USER…".
func teamAdminsCmd(grant bool) adminCommand {
	cmd := adminCommand{
		synopsis: "TEAM USER…",
		help: `Makes each account a team admin of the team by hand (source manual; no SCIM group or
mapping file change takes it away). The account must be a member of the team; a guest
cannot be an admin.`,
	}
	if !grant {
		cmd.help = `Takes away the team admin role each account was given by hand in the team. When a
group of a team_admin rule grants it too, the account stays a team admin and the answer
names the group; when only a group grants it, nothing is taken (still_granted).`
	}
	cmd.run = func(c *adminCall) error {
		return c.eachRole(2, grant, func(args []string) (store.RoleRef, error) {
			return store.RoleRef{Role: store.RoleTeamAdmin, Team: args[0]}, nil
		})
	}
	return cmd
}

// channelAdminsCmd is "channel admins add|remove TEAM:CHANNEL USER…".
func channelAdminsCmd(grant bool) adminCommand {
	cmd := adminCommand{
		synopsis: "TEAM:CHANNEL USER…",
		help: `Makes each account a channel admin of the channel (TEAM:CHANNEL, or TEAM/CHANNEL) by
hand (source manual; no SCIM group or mapping file change takes it away). The account must
be a member of the channel; a guest cannot be an admin.`,
	}
	if !grant {
		cmd.help = `Takes away the channel admin role each account was given by hand in the channel. When a
group of a channel_admin rule grants it too, the account stays a channel admin and the
answer names the group; when only a group grants it, nothing is taken (still_granted).`
	}
	cmd.run = func(c *adminCall) error {
		return c.eachRole(2, grant, func(args []string) (store.RoleRef, error) {
			team, channel, err := splitChannel(args[0])
			return store.RoleRef{Role: store.RoleChannelAdmin, Team: team, Channel: channel}, err
		})
	}
	return cmd
}

// eachRole runs a role command: min positional arguments at least (the last USER
// included), the role ref reads from the arguments before the USERs, then GrantRole
// (grant) or RevokeRole for each account on its own.
func (c *adminCall) eachRole(min int, grant bool, ref func(args []string) (store.RoleRef, error)) error {
	if err := c.parse(min, min-1+maxAdminArgs); err != nil {
		return err
	}
	r, err := ref(c.args[:min-1])
	if err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	call := c.st.RevokeRole
	if grant {
		call = c.st.GrantRole
	}
	return c.eachUser(c.args[min-1:], func(key, id string) (string, error) {
		ch, err := call(c.ctx, id, r)
		return ch.String(), err
	})
}

// roleLine says what roles a membership holds besides the plain member's, for "user
// show": "team_user team_admin (group:Eng Leads, manual)", "team_guest", or "" for a
// plain member. A guest's admin grants are kept without effect, and said so.
func roleLine(roles string, admin, guest bool, adminSources []store.MembershipSource) string {
	grants := strings.Join(sourceStrings(adminSources), ", ")
	switch {
	case guest && grants != "":
		return fmt.Sprintf("%s (admin granted by %s: no effect while a guest)", roles, grants)
	case guest:
		return roles
	case admin:
		return fmt.Sprintf("%s (%s)", roles, grants)
	}
	return ""
}
