package resources

import "github.com/townsquare/townsquare/store"

// Event is a kind of change the SCIM API made, reported after the change succeeded to
// the function OnEvent installs (the server counts them as metrics).
type Event string

// The events, each reported with how many times it happened in one request.
const (
	EventUserCreated     Event = "user_created"     // a POST /Users created (or relinked) a user
	EventUserDeactivated Event = "user_deactivated" // a PUT or PATCH turned active from true to false
	EventUserReactivated Event = "user_reactivated" // a PUT or PATCH turned active from false to true
	EventUserDeleted     Event = "user_deleted"     // a DELETE /Users/{id}
	EventGroupCreated    Event = "group_created"
	EventGroupDeleted    Event = "group_deleted"
	EventMemberAdded     Event = "member_added"     // one per member id a create or an add named
	EventMemberRemoved   Event = "member_removed"   // one per member id a remove named
	EventMembersReplaced Event = "members_replaced" // one per member list replaced or emptied as a whole
)

// OnEvent installs fn, called with each kind of change a request made once the change is
// stored. Call it before Register; fn is called concurrently and must not block.
func (a *API) OnEvent(fn func(e Event, n int)) { a.onEvent = fn }

func (a *API) event(e Event, n int) {
	if a.onEvent != nil && n > 0 {
		a.onEvent(e, n)
	}
}

// activeChange reports the event of a user's active going from was to is, if any.
func (a *API) activeChange(was, is bool) {
	switch {
	case was && !is:
		a.event(EventUserDeactivated, 1)
	case !was && is:
		a.event(EventUserReactivated, 1)
	}
}

// memberEvents reports the member changes ops asked for.
func (a *API) memberEvents(ops []store.MemberOp) {
	for _, op := range ops {
		switch op.Kind {
		case store.AddMembers:
			a.event(EventMemberAdded, len(op.IDs))
		case store.RemoveMembers:
			a.event(EventMemberRemoved, len(op.IDs))
		case store.ReplaceMembers, store.RemoveAllMembers:
			a.event(EventMembersReplaced, 1)
		}
	}
}
