package store

import "fmt"

// The chat side of provisioning as the admin API and the CLI show it: teams, channels,
// accounts, and why each membership exists.

// MaxMemberPage is the most members one page of TeamMembers or ChannelMembers holds; a
// larger limit is capped to it.
const MaxMemberPage = 10000

// TeamSummary is one team with its sizes.
type TeamSummary struct {
	Name         string
	DisplayName  string
	Type         string // TeamOpen ("O") or TeamInviteOnly ("I"); teams the rules create are open
	MemberCount  int    // accounts with at least one membership row, deactivated ones included
	ChannelCount int
}

// ChannelSummary is one channel of a team.
type ChannelSummary struct {
	Name        string
	DisplayName string
	Type        string // "O" public, "P" private
	MemberCount int
}

// SourceKind is why a membership row exists.
type SourceKind string

// Membership source kinds, in the order Sources lists them.
const (
	SourceGroup    SourceKind = "group"     // a group the account is (or was, while deactivated) in maps here
	SourceTeamJoin SourceKind = "team-join" // a channel every member of its team joins
	SourceDefault  SourceKind = "default"   // the default team, for accounts without another team
	SourceImport   SourceKind = "import"    // imported memberships
	SourceManual   SourceKind = "manual"    // added by hand (CLI, admin API, a person joining an open team); no group change removes it
	SourceOther    SourceKind = "other"     // a stored value this version does not know
)

// MembershipSource is one reason for a membership.
type MembershipSource struct {
	Kind    SourceKind
	GroupPK int64     // Kind SourceGroup: the group's internal key
	Group   *GroupRef // Kind SourceGroup: the group, nil when it no longer exists
	Raw     string    // the stored source value
}

// String renders the source for people: "group:<displayName>", "team-join", "default",
// "import". A group that no longer exists (a deactivated account keeps its rows frozen)
// is "group:(deleted #<pk>)".
func (m MembershipSource) String() string {
	switch m.Kind {
	case SourceGroup:
		if m.Group != nil {
			return "group:" + m.Group.DisplayName
		}
		return fmt.Sprintf("group:(deleted #%d)", m.GroupPK)
	case SourceOther:
		return m.Raw
	}
	return string(m.Kind)
}

// MemberSummary is one member of a team or channel.
type MemberSummary struct {
	ID          string // SCIM user id
	Username    string
	Active      bool
	Status      string
	SCIMDeleted bool // the SCIM resource was deleted; the account is kept
	Sources     []MembershipSource
	Guest       bool // the account is a guest: its roles here are team_guest or channel_guest
	Admin       bool // team_admin or channel_admin in effect here
}

// MemberPage is one page of a team's or channel's members, ordered by username.
type MemberPage struct {
	Total   int // all members, not only this page
	Members []MemberSummary
}

// TeamMembership is a team an account is in, and why.
type TeamMembership struct {
	Team    string
	Sources []MembershipSource
	// Admin is team_admin in effect (never for a guest); AdminSources are the grants of
	// the role (roles.go), kept while a guest though without effect.
	Admin        bool
	AdminSources []MembershipSource
}

// ChannelMembership is a channel an account is in, and why.
type ChannelMembership struct {
	Team, Channel string
	Sources       []MembershipSource
	Admin         bool // channel_admin in effect, as TeamMembership.Admin
	AdminSources  []MembershipSource
}

// AccountDetails is an account with its memberships and groups.
type AccountDetails struct {
	ID          string // SCIM user id
	UserName    string // SCIM userName
	Username    string // chat username
	Email       string
	Active      bool
	Status      string
	DeleteAt    int64 // Unix ms; 0 while active
	SCIMDeleted bool
	FirstName   string // name.givenName
	LastName    string // name.familyName
	Nickname    string
	Position    string              // title
	AuthService string              // "" when unknown (accounts made by SCIM: the connector's auth_service applies)
	AuthData    string              // the externalId
	Origin      string              // what made the account: OriginSCIM, OriginImport, OriginManual, OriginLogin
	Teams       []TeamMembership    // by team name
	Channels    []ChannelMembership // by team, then channel name
	Groups      []GroupRef          // current SCIM groups, direct and indirect (GroupRef.Indirect), by displayName
	// Roles (roles.go): Guest, and the system admin role in effect with its grants.
	Guest              bool
	SystemAdmin        bool
	SystemAdminSources []MembershipSource
}
