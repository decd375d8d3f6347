package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The admin's hands: what an administrator does by hand (the CLI's user, team and
// channel commands and /api/v1's writes) and what the chat's sign-in layer asks when a
// person first signs in. Every method is one transaction, keeps every provisioning rule
// (store.go) and journals what it changes with the actor of ctx (WithActor: "cli", or
// the token's name over HTTP).
//
// Accounts are named by their SCIM user id; callers resolve what a person typed (an
// email, a chat username, an id) with Chat.AccountID first. A created account is a SCIM
// user too (userName its email, externalId its auth data), so an IdP that looks for it
// by userName or externalId finds and links it rather than making a second one.

// Admin is the write side of the admin API and CLI, and on-demand provisioning.
type Admin interface {
	// ListAccounts returns one page of accounts, by chat username, and the total that q
	// selects: every account (SCIM-deleted ones included) or, with Team, the team's
	// members; with Inactive only deactivated ones; with Terms only those whose
	// username, email, first name, last name or nickname contains every term, without
	// regard to case. A term longer than MaxNameLength or holding a NUL is an
	// InvalidError; more than MaxSearchTerms terms too. A Team that does not exist is
	// ErrNotFound. Limit is capped to MaxAccountPage; 0 asks only for the total.
	ListAccounts(ctx context.Context, q AccountQuery) (AccountPage, error)

	// CreateAccount makes an account and its SCIM user (userName = Email, externalId =
	// AuthData, origin OriginManual), joins it to the default team and its team-join
	// channels (rule 1) and returns it. Email is required, a valid address, and not the
	// email or userName of another account (ConflictError "email"); Username is
	// required, a valid chat username (rules.ValidUsername), and used by no account or
	// group (ConflictError "username"). Without AuthData a PasswordHash is required
	// (InvalidError "password"); AuthService without AuthData, or AuthData without
	// AuthService, is an InvalidError. AuthData bound to a live account already is a
	// ConflictError "auth_data".
	CreateAccount(ctx context.Context, a NewAccount) (AccountDetails, error)

	// SetAccountActive deactivates (active false: the account, its memberships and
	// history are kept, shown offline) or reactivates an account, as SCIM's active does
	// and with the same journal entries; SCIM shows the result. changed is false when
	// it already was so. An account whose SCIM resource was deleted cannot be
	// reactivated by hand (RefusedError CodeSCIMDeleted): it comes back when its IdP
	// creates it again.
	SetAccountActive(ctx context.Context, id string, active bool) (d AccountDetails, changed bool, err error)

	// DeleteAccount removes an account for good, whatever delete_mode says: its SCIM
	// user, memberships and group memberships (account.deleted is journaled, with the
	// memberships it leaves). ErrNotFound when there is none.
	DeleteAccount(ctx context.Context, id string) error

	// EditAccount changes what e sets (nil fields are kept) and returns the account:
	// Email becomes the primary email (the userName is the IdP's and is kept); Username
	// the chat username (checked as in CreateAccount; a later change of the SCIM
	// userName derives it again); AuthData the externalId (the IdP's id changed) and
	// AuthService with it. Conflicts and invalid values are reported as in
	// CreateAccount, and nothing is written. An account whose SCIM resource was deleted
	// is its IdP's: a RefusedError CodeSCIMDeleted.
	EditAccount(ctx context.Context, id string, e AccountEdit) (AccountDetails, error)

	// CreateTeam makes a team with its town-square, off-topic and team-join channels. A
	// name that rules.TeamNameProblem refuses, or a display name longer than
	// MaxTextLength, is an InvalidError; a name in use is a ConflictError "team".
	// DisplayName defaults to Name.
	CreateTeam(ctx context.Context, t NewTeam) (TeamSummary, error)
	// CreateChannel makes a channel in an existing team (ErrNotFound otherwise). A name
	// rules.ChannelNameProblem refuses is an InvalidError, and so is a private channel
	// named like a team-join channel (every team member joins those); a name in use in
	// the team is a ConflictError "channel".
	CreateChannel(ctx context.Context, c NewChannel) (ChannelSummary, error)

	// AddTeamMember adds the account to the team by hand (source SourceManual) and then
	// to the team's team-join channels (rule 2). A deactivated account is a
	// RefusedError CodeDeactivated; a SCIM-deleted one CodeSCIMDeleted. Adding a member
	// again adds the manual source (Changed false when it was there already).
	AddTeamMember(ctx context.Context, team, id string) (MembershipChange, error)
	// (A guest is refused by AddTeamMember, AddChannelMember and JoinTeam with a
	// RefusedError CodeGuest: the mapping decides a guest's memberships, roles.go.)
	// RemoveTeamMember removes what hand or import added (the manual and import sources
	// of the team and of its channels). When another source still grants the team (a
	// group, the default team) the account stays and Remaining says why; when nothing
	// could be removed and it stays, that is a RefusedError CodeStillGranted naming the
	// sources. Leaving the account's last team is a RefusedError CodeLastTeam (rule 1),
	// unless toDefault, when it joins the default team instead. Not a member:
	// RefusedError CodeNotMember.
	RemoveTeamMember(ctx context.Context, team, id string, toDefault bool) (MembershipChange, error)
	// AddChannelMember adds the account to a channel by hand (SourceManual). The
	// account must be a member of the channel's team (RefusedError CodeNotTeamMember),
	// as Mattermost demands; deactivated and SCIM-deleted accounts are refused as in
	// AddTeamMember.
	AddChannelMember(ctx context.Context, team, channel, id string) (MembershipChange, error)
	// RemoveChannelMember removes the manual and import sources of the channel; the
	// account stays while another source grants it (a group, a team-join channel:
	// Remaining; CodeStillGranted when nothing was removed). Not a member: CodeNotMember.
	RemoveChannelMember(ctx context.Context, team, channel, id string) (MembershipChange, error)

	// Login is on-demand provisioning at first sign-in (POST /api/v1/logins):
	//  1. an account whose externalId is r.AuthData is returned, its email and names
	//     updated when r's differ (Mattermost's "ID attribute" rule); deactivated, it is
	//     a RefusedError CodeDeactivated and nothing changes;
	//  2. else an account with r.Email as its email and no externalId is bound to
	//     r.AuthData (Bound) and returned; one bound to another id is a ConflictError
	//     "email";
	//  3. else a new account is made (origin OriginLogin, userName r.Email, username
	//     derived from the email as for SCIM users) in the default team, Town Square and
	//     the team-join channels (Created).
	// Joinable lists the open teams the account is not in. AuthData and Email are
	// required and checked as in CreateAccount.
	Login(ctx context.Context, r LoginRequest) (LoginResult, error)
	// JoinTeam is a person joining an open team themselves (after Login): as
	// AddTeamMember, but an invite-only team is a RefusedError CodePrivateTeam.
	JoinTeam(ctx context.Context, id, team string) (MembershipChange, error)

	// GrantRole gives the account a role by hand (source SourceManual; roles.go): the
	// system admin role, or the admin role of a team or channel it is a member of
	// (RefusedError CodeNotTeamMember or CodeNotMember otherwise). A guest is a
	// RefusedError CodeGuest, a deactivated account CodeDeactivated, a SCIM-deleted one
	// CodeSCIMDeleted; an invalid RoleRef an InvalidError; a team or channel that does
	// not exist ErrNotFound. Granting again is Changed false. A role that becomes
	// effective is journaled (EventAccountRoles, EventTeamRoles, EventChannelRoles).
	GrantRole(ctx context.Context, id string, r RoleRef) (RoleChange, error)
	// RevokeRole ends the grants of a role by hand and by import (sources manual and
	// import, as RemoveTeamMember takes memberships). When a group still grants it the
	// account keeps it (Remaining); when there was no such grant and a group grants it,
	// that is a RefusedError CodeStillGranted naming the groups; when nothing grants it,
	// CodeNoRole.
	RevokeRole(ctx context.Context, id string, r RoleRef) (RoleChange, error)
}

// Limits of the admin calls.
const (
	MaxAccountPage    = 1000 // accounts in one ListAccounts page
	MaxSearchTerms    = 10   // terms of one search
	MinPasswordLength = 8    // Mattermost's default minimum
	MaxPasswordLength = 72   // bytes; what bcrypt, Mattermost's hash, reads
)

// Origins of an account (AccountDetails.Origin): what made it.
const (
	OriginSCIM   = "scim"   // an IdP's POST /Users, or an account made before origins were kept
	OriginImport = "import" // a bulk import
	OriginManual = "manual" // the CLI or the admin API
	OriginLogin  = "login"  // on-demand provisioning at first sign-in
)

// AccountQuery selects accounts for ListAccounts.
type AccountQuery struct {
	Team     string   // only the team's members ("" every account)
	Inactive bool     // only deactivated accounts
	Terms    []string // each must be contained in username, email, first/last name or nickname
	Limit    int
	Offset   int
}

// AccountPage is one page of ListAccounts.
type AccountPage struct {
	Total    int
	Accounts []AccountSummary
}

// AccountSummary is an account as a list shows it.
type AccountSummary struct {
	ID          string // SCIM user id
	Username    string
	Email       string
	FirstName   string
	LastName    string
	Nickname    string
	Active      bool
	Status      string
	SCIMDeleted bool
	AuthService string
	AuthData    string // the externalId
	Origin      string
}

// NewAccount is what CreateAccount makes.
type NewAccount struct {
	Email, Username                         string
	FirstName, LastName, Nickname, Position string
	AuthService, AuthData                   string
	PasswordHash                            string // a hash (resources.HashPassword), never the password
}

// AccountEdit is what EditAccount changes; nil keeps a value.
type AccountEdit struct {
	Email, Username, AuthService, AuthData  *string
	FirstName, LastName, Nickname, Position *string
}

// NewTeam is what CreateTeam makes.
type NewTeam struct {
	Name, DisplayName string
	Private           bool // invite only (TeamInviteOnly); else open
}

// NewChannel is what CreateChannel makes.
type NewChannel struct {
	Team, Name, DisplayName string
	Private                 bool // ChannelPrivate; else public
}

// MembershipChange is what a membership call did.
type MembershipChange struct {
	Account   string // SCIM user id
	Username  string
	Team      string
	Channel   string             // "" for a team
	Changed   bool               // a source was added or removed
	Member    bool               // the account is a member afterwards
	Removed   []MembershipSource // the sources a remove took away
	Remaining []MembershipSource // the sources that still grant it
	Moved     bool               // RemoveTeamMember with toDefault moved the account to the default team
}

// LoginRequest is what the chat's sign-in layer learned about a person.
type LoginRequest struct {
	AuthService, AuthData string // "saml", "oidc", …; the IdP's id of the person
	Email                 string
	FirstName, LastName   string
}

// LoginResult is the account a sign-in gets.
type LoginResult struct {
	Account  AccountDetails
	Created  bool // made now
	Bound    bool // an existing account was bound to the auth data now
	Joinable []TeamSummary
}

// RefusedError is an admin call that a provisioning rule or the account's state
// refuses; nothing was written. Code is stable (the Code constants) and Reason is for
// people ("alice stays in engineering: granted by group Engineering").
type RefusedError struct{ Code, Reason string }

func (e *RefusedError) Error() string { return e.Reason }

// Codes of RefusedError.
const (
	CodeDeactivated   = "deactivated"     // the account is deactivated
	CodeSCIMDeleted   = "scim_deleted"    // the account's SCIM resource was deleted; its IdP owns it
	CodeLastTeam      = "last_team"       // rule 1: the account's last team
	CodeStillGranted  = "still_granted"   // another source grants the membership
	CodeNotMember     = "not_member"      // the account is not a member
	CodeNotTeamMember = "not_team_member" // a channel of a team the account is not in
	CodePrivateTeam   = "private_team"    // an invite-only team cannot be joined by oneself
)

// Stable codes of the other errors (ErrorCode).
const (
	CodeNotFound    = "not_found"
	CodeConflict    = "conflict"
	CodeInvalid     = "invalid"
	CodeUnavailable = "unavailable"
	CodeInternal    = "internal"
)

// ErrorCode is the stable code of an error a store call returned: a RefusedError's
// Code, else not_found, conflict, invalid (InvalidError, a filter), unavailable, or
// internal for anything else. The admin API's error bodies and the CLI's scenario tests
// read it.
func ErrorCode(err error) string {
	var r *RefusedError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &r):
		return r.Code
	case errors.Is(err, ErrNotFound):
		return CodeNotFound
	case errors.Is(err, ErrConflict):
		return CodeConflict
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrInvalidFilter), errors.Is(err, ErrInvalidScope):
		return CodeInvalid
	case errors.Is(err, ErrUnavailable):
		return CodeUnavailable
	}
	return CodeInternal
}

// CheckPassword checks a password an admin sets (CreateAccount hashes it first):
// MinPasswordLength to MaxPasswordLength bytes of valid UTF-8 without NUL.
func CheckPassword(p string) error {
	switch {
	case len(p) < MinPasswordLength:
		return &InvalidError{"password", fmt.Sprintf("must be at least %d characters", MinPasswordLength)}
	case len(p) > MaxPasswordLength:
		return &InvalidError{"password", fmt.Sprintf("must not be longer than %d bytes", MaxPasswordLength)}
	case !utf8.ValidString(p):
		return &InvalidError{"password", "must be valid UTF-8"}
	}
	for i := 0; i < len(p); i++ {
		if p[i] == 0 {
			return &InvalidError{"password", "must not hold a NUL"}
		}
	}
	return nil
}

// Where is the team, or "team:channel", a change is about.
func (c MembershipChange) Where() string {
	if c.Channel == "" {
		return c.Team
	}
	return c.Team + ":" + c.Channel
}

// String says what a membership call did, for people; the CLI prints it and the admin
// API answers it as "message": "added alice to support", "removed alice from support",
// "alice stays in engineering: granted by group Engineering", ….
func (c MembershipChange) String() string {
	switch {
	case c.Member && len(c.Remaining) > 0 && len(c.Removed) > 0:
		return fmt.Sprintf("removed what hand or import added; %s stays in %s: granted by %s", c.Username, c.Where(), DescribeSources(c.Remaining))
	case c.Member && len(c.Remaining) > 0 && !c.Changed:
		return fmt.Sprintf("%s stays in %s: granted by %s", c.Username, c.Where(), DescribeSources(c.Remaining))
	case c.Moved:
		return fmt.Sprintf("removed %s from %s; they are in the default team now", c.Username, c.Where())
	case !c.Member:
		return fmt.Sprintf("removed %s from %s", c.Username, c.Where())
	case c.Changed:
		return fmt.Sprintf("added %s to %s", c.Username, c.Where())
	}
	return fmt.Sprintf("%s was already added to %s by hand", c.Username, c.Where())
}

// DescribeSources says why memberships exist, for people: "group Engineering and the
// default team".
func DescribeSources(src []MembershipSource) string {
	parts := make([]string, len(src))
	for i, s := range src {
		parts[i] = s.Describe()
	}
	switch len(parts) {
	case 0:
		return "nothing"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// Describe says what a source is, for people: "group Engineering", "the default team",
// "the team-join channels", "an import", "hand".
func (m MembershipSource) Describe() string {
	switch m.Kind {
	case SourceGroup:
		if m.Group != nil {
			return "group " + m.Group.DisplayName
		}
		return fmt.Sprintf("a deleted group (#%d)", m.GroupPK)
	case SourceDefault:
		return "the default team"
	case SourceTeamJoin:
		return "the team-join channels (every team member is in them)"
	case SourceImport:
		return "an import"
	case SourceManual:
		return "an admin (by hand)"
	}
	return m.String()
}
