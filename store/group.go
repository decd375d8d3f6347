package store

import "time"

// Group is a SCIM Group without its members: members are read (Groups.EachGroupMember)
// and changed (MemberOp) as deltas, so that a request on a 50k-member group never loads
// the whole list.
type Group struct {
	ID           string
	ExternalID   string
	DisplayName  string
	Created      time.Time
	LastModified time.Time
	Version      int64
}

// Member types (RFC 7643 §4.2, members.type): a group's member is a User or a Group.
const (
	MemberTypeUser  = "User"
	MemberTypeGroup = "Group"
)

// Member is one member of a group, as SCIM shows it.
type Member struct {
	Value   string // the member's SCIM id: a User's or a Group's
	Display string // a User's displayName, or userName when it has none; a Group's displayName
	Type    string // MemberTypeUser or MemberTypeGroup
}

// GroupRef names a group a user belongs to.
type GroupRef struct {
	ID          string
	DisplayName string
	// Indirect says that the user is in the group only through groups nested in it
	// (RFC 7643 §4.1.2, groups.type "indirect"); false is a direct member ("direct"),
	// whatever else nests it.
	Indirect bool
}

// Nested groups (RFC 7643 §4.2: a Group's members may be Groups).
//
// A group that is a member of another is nested in it. For provisioning, an account is
// in every group it is a direct member of and in every group that contains one of those,
// at any depth: a group's teams, channels, roles and kind (guest or member) apply to the
// members of the groups nested in it exactly as to its own members, each membership and
// grant with the containing group as its source. A change anywhere in the tree (a member
// added to or removed from a nested group, a group nested or un-nested, a containing
// group renamed to another mapping, a group deleted) re-evaluates only the accounts below
// the groups it changes. A group's members, as SCIM lists them, are its direct members,
// users and groups; a user's groups are its direct and indirect groups.
//
// Nesting never makes a cycle: a group cannot contain itself, directly or through
// others. Adding one that would is an InvalidError "members", with nothing written; so is
// one that would give a group more than MaxGroupAncestors groups containing it (directly
// or not): the bound on how many groups one direct membership can put an account in.
const MaxGroupAncestors = 64

// MemberOpKind says what a MemberOp does to a group's member list.
type MemberOpKind int

// Member operation kinds.
const (
	AddMembers       MemberOpKind = iota + 1 // add these users (members already are skipped)
	RemoveMembers                            // remove these users (non-members are skipped)
	ReplaceMembers                           // the member list becomes exactly these users (possibly none)
	RemoveAllMembers                         // the member list becomes empty; IDs is empty
)

func (k MemberOpKind) String() string {
	switch k {
	case AddMembers:
		return "AddMembers"
	case RemoveMembers:
		return "RemoveMembers"
	case ReplaceMembers:
		return "ReplaceMembers"
	case RemoveAllMembers:
		return "RemoveAllMembers"
	}
	return "MemberOpKind(?)"
}

// MemberOp is one change to a group's member list. A PATCH is a sequence of them,
// applied in order in one transaction, each costing what its IDs cost, never what the
// group's size costs (ReplaceMembers and RemoveAllMembers excepted, by their nature).
type MemberOp struct {
	Kind MemberOpKind
	IDs  []string // member ids (SCIM ids of users or of groups: both are UUIDs, never equal), in request order
}
