package store

import (
	"fmt"
	"strings"
)

// Roles and guests (issue 14). A role is a grant with sources, like a membership: the
// system admin role of an account, the admin role of a team or channel member. A group
// whose rule says system_admin, team_admin or channel_admin grants it (source
// "group:<pk>") to its active members, and it ends when the account's last group
// granting it does; a grant by hand (GrantRole, source SourceManual) is never changed
// by SCIM, groups or the rules, and only RevokeRole ends it. A role ends with the
// membership it is of: leaving a team ends its admin role, whatever granted it.
//
// A guest (Mattermost's system_guest) is an active account in a guest group
// (rules.KindGuest) and in no member group (rules.KindMember). A guest is a member of
// exactly the channels its guest groups name and of those channels' teams, with the
// roles team_guest and channel_guest everywhere, holds no admin role (grants are kept
// but have no effect while a guest), and joins no default team, Town Square, off-topic
// or team-join channel: rules 1 and 2 are for members. Joining a member group promotes
// a guest (the member's memberships follow at once: default team if no other, the
// team-join channels of its teams); leaving the last member group demotes the account,
// which keeps only the channels (and their teams) its guest groups grant: every other
// membership row of it, manual and import ones included, is removed. Each promotion and
// demotion is one transaction and one journal entry (EventAccountRoles), besides the
// entries of the memberships it changes.
//
// Private channels (type "P") are joined through rules, imports and admins only: the
// team-join channels are public, and a team join never joins a private channel.

// Mattermost's role names.
const (
	RoleSystemUser   = "system_user"
	RoleSystemAdmin  = "system_admin"
	RoleSystemGuest  = "system_guest"
	RoleTeamUser     = "team_user"
	RoleTeamAdmin    = "team_admin"
	RoleTeamGuest    = "team_guest"
	RoleChannelUser  = "channel_user"
	RoleChannelAdmin = "channel_admin"
	RoleChannelGuest = "channel_guest"
)

// SystemRoles is an account's role string as Mattermost writes it: "system_guest",
// "system_admin system_user" or "system_user". A guest's admin grants have no effect.
func SystemRoles(admin, guest bool) string {
	switch {
	case guest:
		return RoleSystemGuest
	case admin:
		return RoleSystemAdmin + " " + RoleSystemUser
	}
	return RoleSystemUser
}

// TeamRoles is a team member's role string: "team_guest", "team_user team_admin" or
// "team_user" (the form of Mattermost's bulk format and its team member roles).
func TeamRoles(admin, guest bool) string {
	switch {
	case guest:
		return RoleTeamGuest
	case admin:
		return RoleTeamUser + " " + RoleTeamAdmin
	}
	return RoleTeamUser
}

// ChannelRoles is a channel member's role string, as TeamRoles.
func ChannelRoles(admin, guest bool) string {
	switch {
	case guest:
		return RoleChannelGuest
	case admin:
		return RoleChannelUser + " " + RoleChannelAdmin
	}
	return RoleChannelUser
}

// RoleRef names a role that can be granted, and where: RoleSystemAdmin (Team and
// Channel empty), RoleTeamAdmin of Team, or RoleChannelAdmin of Team's Channel.
type RoleRef struct {
	Role          string
	Team, Channel string
}

// Check reports a RoleRef that names no grantable role, or names it in the wrong
// place, as an InvalidError "role".
func (r RoleRef) Check() error {
	switch {
	case r.Role == RoleSystemAdmin && r.Team == "" && r.Channel == "":
	case r.Role == RoleTeamAdmin && r.Team != "" && r.Channel == "":
	case r.Role == RoleChannelAdmin && r.Team != "" && r.Channel != "":
	default:
		return &InvalidError{"role", fmt.Sprintf("must be %s, %s of a team, or %s of a channel of a team", RoleSystemAdmin, RoleTeamAdmin, RoleChannelAdmin)}
	}
	return nil
}

// Where is the role and the team, or "team:channel", it applies in: "system_admin",
// "team_admin of engineering".
func (r RoleRef) Where() string {
	switch {
	case r.Channel != "":
		return r.Role + " of " + r.Team + ":" + r.Channel
	case r.Team != "":
		return r.Role + " of " + r.Team
	}
	return r.Role
}

// RoleChange is what GrantRole or RevokeRole did.
type RoleChange struct {
	Account   string // SCIM user id
	Username  string
	Role      RoleRef
	Changed   bool               // the manual grant was added or removed
	Has       bool               // the account holds the role afterwards
	Remaining []MembershipSource // the sources that grant it afterwards
}

// String says what a role call did, for people: "made alice team_admin of
// engineering", "alice stays team_admin of engineering: granted by group Eng Leads".
func (c RoleChange) String() string {
	switch {
	case c.Has && len(c.Remaining) > 0 && !hasManual(c.Remaining): // a revoke that leaves a group's grant, or none to revoke
		return fmt.Sprintf("%s stays %s: granted by %s", c.Username, c.Role.Where(), DescribeSources(c.Remaining))
	case c.Has && c.Changed:
		return fmt.Sprintf("made %s %s", c.Username, c.Role.Where())
	case c.Has:
		return fmt.Sprintf("%s was already made %s by hand", c.Username, c.Role.Where())
	}
	return fmt.Sprintf("%s is no longer %s", c.Username, c.Role.Where())
}

func hasManual(src []MembershipSource) bool {
	for _, s := range src {
		if s.Kind == SourceManual {
			return true
		}
	}
	return false
}

// CodeGuest refuses a change a guest cannot have: a membership or role by hand (the
// mapping decides a guest's channels, and a guest holds no admin role).
const CodeGuest = "guest"

// CodeNoRole refuses RevokeRole of a role the account does not hold.
const CodeNoRole = "no_role"

// Journal entries of roles. Before and After hold AttrRoles: the role strings of
// SystemRoles, TeamRoles or ChannelRoles before and after. They are effective
// transitions, like membership entries: a second source granting a role is not one.
// A promotion (system_guest → system_user) and a demotion are one account.roles entry
// each; the member roles that follow from it are not journaled again per membership.
const (
	EventAccountRoles EventKind = "account.roles" // the account's system roles changed
	EventTeamRoles    EventKind = "team.roles"    // a team member's roles changed (Team)
	EventChannelRoles EventKind = "channel.roles" // a channel member's roles changed (Team, Channel)
	AttrRoles                   = "roles"
)

// RoleChange says what a role entry did to role: 1 when After holds it and Before does
// not, -1 the other way, 0 otherwise (another kind of entry included).
func (e Event) RoleChange(role string) int {
	switch had, has := hasRole(e.Before[AttrRoles], role), hasRole(e.After[AttrRoles], role); {
	case has && !had:
		return 1
	case had && !has:
		return -1
	}
	return 0
}

// hasRole reports whether a roles string (SystemRoles, TeamRoles, ChannelRoles) holds
// role.
func hasRole(roles, role string) bool {
	for _, r := range strings.Fields(roles) {
		if r == role {
			return true
		}
	}
	return false
}

// IsRoleEvent reports the kinds above.
func (k EventKind) IsRoleEvent() bool {
	return k == EventAccountRoles || k == EventTeamRoles || k == EventChannelRoles
}

// ParseChannelPath reads "team/channel" (the form SCIM's teamAdmin and channel lists
// use), reporting false without a "/".
func ParseChannelPath(s string) (ChannelRef, bool) {
	team, channel, ok := strings.Cut(s, "/")
	return ChannelRef{Team: team, Channel: channel}, ok && team != "" && channel != ""
}
