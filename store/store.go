// Package store is Townsquare's domain: the types a SCIM request is turned into (users,
// groups, memberships, chat accounts, tokens), the errors every backend reports, and the
// Store interface that the HTTP side, the CLI and the tests are handed. It holds no SQL;
// store/sqlstore implements Store on SQLite and PostgreSQL, and store/storetest is the
// conformance suite every implementation passes.
//
// The provisioning rules of the README ("Groups, teams and channels") are part of the
// contract: after every call that returns, and under any number of concurrent callers in
// any number of processes sharing one backend, every active account is in a team, every
// team member is in its team-join channels, and every membership is granted by a source
// (CheckInvariants lists any violation).
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/store/rules"
)

// Store is everything Townsquare keeps. Implementations are safe for concurrent use, and
// any number of them may share one database: nothing that matters lives in a process.
//
// Any method's error that comes from the backend being unable to serve at the moment (it
// is unreachable, out of connections or space, refuses this server's privileges, or its
// schema is gone) matches ErrUnavailable, whatever the request was: the same request may
// succeed later. Methods honour ctx: a cancelled or expired ctx ends the call, blocked
// statements included, with an error.
type Store interface {
	Users
	Groups
	Chat
	Tokens
	Journal
	MattermostState // the connector's state and desired-state reads (mattermost.go)
	Bulk            // export and import in Mattermost's bulk format (bulk.go)
	Admin           // the admin's writes and on-demand provisioning at first login (admin.go)

	// SetRules installs the mapping configuration (default: rules.Default()). Call it
	// before the store is used; it is not safe to call concurrently with other calls.
	SetRules(rules.Config)
	// ApplyRules re-maps every group and re-evaluates every account when the rules
	// differ from those last applied to this database, creates the teams and channels
	// they declare and gives existing ones their declared display names and privacy,
	// all in one transaction, and returns the plan of what it did (plan.go). A change
	// that ends more memberships than the rules' MaxRemovalsOnReload allows is not
	// applied unless opts.AcceptRemovals: nothing is written, and the plan comes with a
	// RefusedError CodeTooManyRemovals. Servers call it at start-up.
	ApplyRules(ctx context.Context, opts ApplyOptions) (RulesPlan, error)
	// PlanRules returns what installing c (SetRules) and applying it (ApplyRules) would
	// do to this database, and writes nothing: the same change is made in a transaction
	// that is rolled back. With verbose the plan lists each change. It waits for, and
	// is not run concurrently with, any ApplyRules on the database.
	PlanRules(ctx context.Context, c rules.Config, verbose bool) (RulesPlan, error)
	// CheckInvariants checks the provisioning rules over the whole store and returns one
	// line per violation (none when all hold). It only reads.
	CheckInvariants(ctx context.Context) ([]string, error)

	// Ready reports whether the store can serve now (/readyz): the backend answers, the
	// tables it serves from can be read, and its schema is the version this build
	// expects. It is nil when ready, else an error matching ErrUnavailable; a schema at
	// another version is a *SchemaVersionError. It only reads, and costs a few
	// statements.
	Ready(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// Users are the SCIM users and their chat accounts.
type Users interface {
	// CreateUser stores a new user and its chat account, assigning its ID, times and
	// version, and joins the account to its teams and channels. A userName taken in any
	// case is a ConflictError. When an account DELETEd earlier (delete_mode deactivate)
	// has the same externalId, the user is relinked to it: it keeps its old id, creation
	// time and memberships, and is reactivated. When a live account that no IdP made
	// (origin OriginManual, OriginLogin or OriginImport: the admin's, a first sign-in's,
	// an import's) has the same non-empty externalId, the POST adopts it: the user takes
	// the POSTed attributes, keeps the account's id, creation time and memberships, and
	// its origin becomes OriginSCIM; it is returned as created (u.ID is the account's).
	// Otherwise live users may share an externalId.
	// A user that breaks a limit of what is stored (User.Check) is an InvalidError, and
	// nothing is written.
	CreateUser(ctx context.Context, u *User) error
	// GetUser reads one live user with its multi-valued attributes, groups and account;
	// ErrNotFound when there is none. Here and in every call that takes an id, an id
	// that could name nothing (PossibleID) is ErrNotFound without a look at the database.
	GetUser(ctx context.Context, id string) (User, error)
	// UpdateUser reads the user, lets fn change it, and writes it back atomically, so
	// concurrent updates never lose each other's changes. ifVersion > 0 demands that the
	// stored version still be that one (ErrPrecondition otherwise): If-Match. fn's error
	// is returned as it is, and nothing is written; so is the InvalidError of a user fn
	// leaves breaking a limit (User.Check). fn may run more than once (a transaction that
	// lost a race is run again), each time on the user as then stored.
	UpdateUser(ctx context.Context, id string, ifVersion int64, fn func(u *User) error) (User, error)
	// DeleteUser ends a SCIM user: with delete_mode "deactivate" the account is kept,
	// deactivated, with its memberships, while the resource disappears (it leaves its
	// groups, reads are ErrNotFound, its userName is free); with "purge" everything goes.
	DeleteUser(ctx context.Context, id string, ifVersion int64) error
	// ListUsers returns one page of the live users q selects, in creation order, and the
	// total number of matches. An invalid filter is an error matching ErrInvalidFilter:
	// so is one of more than MaxFilterTerms terms, one comparing with a string that is
	// not valid UTF-8 or holds a NUL (no stored string can equal it), and one whose co,
	// sw or ew value is longer than any stored string (4 × MaxTextLength bytes).
	ListUsers(ctx context.Context, q Query) ([]User, int, error)
}

// Groups are the SCIM groups. Their members are read and changed as deltas, so that no
// call costs what a large group's size costs unless it asks for every member.
type Groups interface {
	// CreateGroup stores a new group with its initial members, assigning ID, times and
	// version, and maps it to teams and channels. A member id names a live user or a
	// group (nested groups: see MaxGroupAncestors); ids naming neither fail the
	// whole create (UnknownMembersError), ids that could name nothing (PossibleID)
	// included, as does a nesting over MaxGroupAncestors (InvalidError "members"). A group that breaks a limit of what is stored (Group.Check) is an
	// InvalidError. A displayName another group has, without regard to case, is a
	// ConflictError "displayName" (two groups of one name would map to one team). In
	// every case nothing is written.
	CreateGroup(ctx context.Context, g *Group, memberIDs []string) error
	// GetGroup reads a group without its members; ErrNotFound when there is none (or the
	// id could name nothing, PossibleID).
	GetGroup(ctx context.Context, id string) (Group, error)
	// EachGroupMember calls fn for each direct member of the group in a stable order (its
	// users, then its groups, each by creation), as of one moment, streaming them so that
	// a large group is never held in memory. Member.Type says which each is. A group that
	// does not exist has no members. fn's error stops the walk and is returned.
	EachGroupMember(ctx context.Context, groupID string, fn func(Member) error) error
	// UpdateGroup changes a group atomically: fn (which may be nil) edits its scalar
	// attributes, then ops change its member list, in order. ifVersion > 0 demands the
	// stored version (If-Match). A rename is matched against the rules again; renaming
	// to another group's displayName (without regard to case) is a ConflictError
	// "displayName", while a group that shared its name with another before names were
	// unique keeps it as long as it is not renamed. A group fn
	// leaves breaking a limit (Group.Check) is an InvalidError; an add naming ids that
	// are no live user and no group is an UnknownMembersError (a remove skips them); an
	// add of a group that is this group or contains it, or that would give a group more
	// than MaxGroupAncestors containing groups, is an InvalidError "members"; in every
	// case nothing is written. Nested groups' members are re-evaluated as the package
	// comment of group.go says (MaxGroupAncestors). fn may run more than once, as in UpdateUser.
	UpdateGroup(ctx context.Context, id string, ifVersion int64, fn func(g *Group) error, ops []MemberOp) (Group, error)
	// DeleteGroup removes a group; every member leaves it, member groups included (they
	// stay, no longer nested in it), and the accounts below it are re-evaluated.
	DeleteGroup(ctx context.Context, id string, ifVersion int64) error
	// ListGroups returns one page of the groups q selects, in creation order, and the
	// total number of matches. An invalid filter is an error matching ErrInvalidFilter,
	// as in ListUsers.
	ListGroups(ctx context.Context, q Query) ([]Group, int, error)
}

// Chat is the read side of provisioning: teams, channels and accounts as the chat sees
// them, and why each membership exists. A team or channel name that could name nothing
// (PossibleName), like an id that could not (PossibleID), is ErrNotFound without a look
// at the database.
type Chat interface {
	// ListTeams returns every team, by name.
	ListTeams(ctx context.Context) ([]TeamSummary, error)
	// TeamChannels returns a team's channels, by name; ErrNotFound for no such team.
	TeamChannels(ctx context.Context, team string) ([]ChannelSummary, error)
	// TeamMembers returns one page of a team's members, by username, with their
	// sources; ErrNotFound for no such team. limit is capped to MaxMemberPage; 0 asks
	// only for the total.
	TeamMembers(ctx context.Context, team string, limit, offset int) (MemberPage, error)
	// ChannelMembers is TeamMembers for a channel of a team.
	ChannelMembers(ctx context.Context, team, channel string, limit, offset int) (MemberPage, error)
	// AccountDetails returns the account of a SCIM user id, including one whose SCIM
	// resource was deleted, with its memberships and groups; ErrNotFound when none.
	AccountDetails(ctx context.Context, id string) (AccountDetails, error)
	// AccountID resolves how an admin names an account to its SCIM user id: the id
	// itself, the chat username, or the chat email (both without regard to case). It
	// finds accounts whose SCIM resource was deleted too, and a purged account by the id
	// the journal still names it by. ErrNotFound when nothing matches; an email several
	// accounts share is an InvalidError (name one by id or username), as is a key longer
	// than MaxNameLength.
	AccountID(ctx context.Context, key string) (string, error)
}

// Tokens are the API bearer tokens. Only a hash of each secret is stored.
type Tokens interface {
	// CreateToken records a named token by the hash of its secret, with its scopes; a
	// name in use is a ConflictError, a name CheckTokenName refuses is an InvalidError,
	// and an unknown scope or none at all is an error matching ErrInvalidScope
	// (NormalizeScopes), with nothing written.
	CreateToken(ctx context.Context, name, secretHash string, scopes []Scope) error
	// CreateFirstToken records a token only if none exists yet, atomically, so that two
	// servers starting on an empty database do not both mint one. It reports whether it
	// did. Scopes are checked as by CreateToken.
	CreateFirstToken(ctx context.Context, name, secretHash string, scopes []Scope) (bool, error)
	// LookupToken returns the token whose secret hashes to secretHash (its name, creation
	// time and scopes, in AllScopes order), or ErrNotFound.
	LookupToken(ctx context.Context, secretHash string) (Token, error)
	// ListTokens lists tokens by name, with their scopes, without secrets.
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken deletes a token by name; ErrNotFound if there is none.
	RevokeToken(ctx context.Context, name string) error
}

// Query is what a list request asks: a filter and a page. StartIndex is 1-based as in
// SCIM; Count 0 asks only for the total.
type Query struct {
	Filter     Filter // nil selects every resource
	StartIndex int
	Count      int
	// Keyset, when not nil, pages by position rather than by index (RFC 9865 cursors):
	// the page is the first Count matches after Keyset.After, in the list's order, and
	// StartIndex is not read. The list sets Keyset.Next and Keyset.More (see Keyset).
	// Keyset pages are in creation order: with SortBy they are an InvalidError.
	Keyset *Keyset
	// SortBy, when not "", orders the list by that attribute (RFC 7644 §3.4.2.3),
	// named as in a filter: a single-valued simple attribute, or a sub-attribute of a
	// single-valued complex one. Strings sort by Unicode code point, folded first when
	// the attribute is not caseExact (as the filter compares it); resources without a
	// value come last ascending and first descending; ties in creation order (reversed
	// descending). An attribute that cannot be sorted on is an InvalidError "sortBy".
	SortBy         string
	SortDescending bool
}

// Keyset is a position in a list, in the store's order of that list, and what a page
// read after it found. A page read after a position holds the matches that follow it
// as the list is when the page is read: resources created or deleted between pages move
// no other resource, so a walk from After 0 to a page without More returns every
// resource that existed throughout exactly once. Positions are the store's, opaque to
// callers, and stay meaningful after the resource at one is deleted; 0 is before the
// first resource.
type Keyset struct {
	After int64 // set by the caller
	Next  int64 // the position of the page's last resource (After when the page is empty)
	More  bool  // whether any match follows Next
}

// Filter is a parsed SCIM filter (RFC 7644 §3.4.2.2). The HTTP side parses it; the
// store decides what its attribute names mean.
type Filter = filter.Expression

// Errors. Callers see these (wrapped with context), never a driver's error.
var (
	ErrNotFound      = errors.New("not found")
	ErrConflict      = errors.New("already exists")   // a unique constraint would be broken
	ErrPrecondition  = errors.New("version mismatch") // If-Match did not match the stored version
	ErrInvalidFilter = errors.New("invalid filter")   // a filter names what cannot be filtered on
	// ErrUnavailable is the backend unable to serve now; trying again later may work.
	// The error that matches it keeps the backend's own error for logs (it may quote the
	// driver), so callers answer it with words of their own, never its text.
	ErrUnavailable = errors.New("backend unavailable")
)

// SchemaVersionError is a backend whose schema is not the version this build runs on:
// not migrated yet (Applied < Want: run "townsquare migrate"), emptied, or migrated by a
// newer build (Applied > Want). It matches ErrUnavailable under errors.Is.
type SchemaVersionError struct{ Applied, Want int }

func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("the database schema is at migration %d; this build needs %d", e.Applied, e.Want)
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *SchemaVersionError) Is(target error) bool { return target == ErrUnavailable }

// ConflictError is a write that would break a uniqueness rule. It matches ErrConflict
// under errors.Is; Attribute names the SCIM attribute (userName, name).
type ConflictError struct{ Attribute string }

func (e *ConflictError) Error() string {
	if e.Attribute == "" {
		return ErrConflict.Error()
	}
	return fmt.Sprintf("%s already exists", e.Attribute)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// FilterError says why a filter cannot be run. It matches ErrInvalidFilter under
// errors.Is; Reason is meant for the client.
type FilterError struct{ Reason string }

func (e *FilterError) Error() string { return ErrInvalidFilter.Error() + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidFilter) true.
func (e *FilterError) Is(target error) bool { return target == ErrInvalidFilter }

// UnknownMembersError reports member ids that name no live user and no group; nothing was written.
type UnknownMembersError struct{ IDs []string }

func (e *UnknownMembersError) Error() string {
	return fmt.Sprintf("no user or group with id %s", strings.Join(e.IDs, ", "))
}
