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

// Member is one member of a group, as SCIM shows it.
type Member struct {
	Value   string // the member User's SCIM id
	Display string // the member's displayName, or userName when it has none
}

// GroupRef names a group a user belongs to.
type GroupRef struct {
	ID          string
	DisplayName string
}

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
	IDs  []string // member ids (SCIM user ids), in request order
}
