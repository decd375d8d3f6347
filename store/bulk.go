package store

import (
	"context"
	"fmt"
	"strings"
)

// Bulk loading: the chat state in the shape of Mattermost's bulk import format (teams,
// channels, users with their team and channel memberships), which store/jsonl reads and
// writes. Names are the chat's: team names, channel names within their team, chat
// usernames. Roles are Mattermost role strings.

// Bulk is how the whole chat state is exported and how bulk lines are applied.
type Bulk interface {
	// ExportChat streams one consistent snapshot of the chat state to sink (a read
	// transaction or snapshot: no write that commits during the export shows in it),
	// in the order Mattermost's importer requires and in a stable order, so that the
	// same state always exports the same sequence: every team by name, then every
	// channel by team and name, then every account by username, each account's teams by
	// name and each team's channels by name. Memory does not grow with the number of
	// accounts (accounts are read in bounded pages inside the snapshot). An error from
	// sink ends the export with that error. Accounts whose SCIM resource was deleted
	// (kept for relinking) are not exported; deactivated accounts only when
	// q.IncludeDeactivated.
	ExportChat(ctx context.Context, q ExportQuery, sink BulkSink) error

	// ImportChat applies one batch in one transaction and reports what it changed.
	// Teams first, then channels, then users, in the batch's order. It only ever adds and
	// overwrites: it never removes a team, channel, membership or attribute (a field
	// left empty or nil is left as it is).
	//   - A team or channel is matched by name (channel: team and name); a new one is
	//     created, an existing one takes the batch's display name and type.
	//   - An account is matched by ImportUser.ExternalID (against externalId), then by
	//     email (case-insensitive), then by chat username; the first match wins. Only
	//     accounts whose SCIM resource exists are matched (a username that one whose
	//     resource was deleted still holds is an *InvalidError). A new
	//     one is a SCIM User with userName = Email, externalId = ExternalID, the given
	//     chat username (taken as given: jsonl validated it), active unless DeleteAt > 0.
	//   - Memberships are added with source "import"; the provisioning rules then hold
	//     for every account the batch touched (rule 1: an active account with no team
	//     gets the default team; every team member is in its team-join channels). A
	//     membership naming a team or channel that exists neither in the database nor
	//     earlier in the batch is an *InvalidError.
	//   - DeleteAt > 0 deactivates the account (keeping its memberships), 0 leaves its
	//     activity as it is; ImportUser.Reactivate reactivates it.
	//   - Every change is journaled with ctx's actor (the CLI sets "import").
	// Applying the same batch again changes nothing and reports no change. With
	// opts.DryRun the transaction is rolled back: the report says what would have changed, given the
	// database as it is (a dry run of a later batch does not see an earlier batch's
	// effects). Errors: for a batch this store cannot apply (its fields exceed the stored
	// limits, a reference to nothing, a username another account holds), ImportProblems
	// (see CheckImport) listing every problem found with the ImportX.Line of its item, or
	// an *InvalidError; nothing of the batch is written.
	ImportChat(ctx context.Context, b ImportBatch, opts ImportOptions) (ImportReport, error)

	// CheckImport writes nothing and reports every problem for which ImportChat would
	// refuse b given the database as it is now: what ImportChat checks before it writes
	// (MaxImportBatch, the stored limits, types, two lines of b naming one team, channel
	// or person) and the accounts' conflicts with the database (a username another
	// account holds, live or whose SCIM user was deleted, or a group's name; a new
	// account's email that is another user's userName; two lines finding one account; an
	// email that would give an account more than MaxMultiValues emails). The error is
	// ImportProblems, every problem with its line, or an error of the store. ImportChat
	// makes the same checks through the same code and refuses b with the same
	// ImportProblems.
	//
	// References to teams and channels are not checked: a batch of a file may name what
	// an earlier batch of it creates (store/jsonl checks them against the file and the
	// database). So when CheckImport passes, ImportChat refuses b only for a reference to
	// nothing or a change committed in between. It costs a statement or two whatever
	// the batch's size. When it finds no problem it says which account each user line
	// finds (ImportCheck), so that a caller checking several batches can tell two lines
	// of different batches that find one account.
	CheckImport(ctx context.Context, b ImportBatch) (ImportCheck, error)
}

// ImportCheck is what CheckImport found in a batch it could apply.
type ImportCheck struct {
	// Accounts holds, for each of the batch's Users in order, the SCIM id of the
	// account the line finds, "" when it would create one.
	Accounts []string
}

// ImportProblem is one reason a batch cannot be applied: Line is the ImportX.Line of the
// item (0 for the batch as a whole), Field the bulk format's field ("user.username").
type ImportProblem struct {
	Line          int
	Field, Reason string
}

// ImportProblems is every problem of a batch, in line order. It unwraps to one
// *InvalidError per problem (Attribute "line N: field"), so errors.As finds the first
// and errors.Is(err, ErrInvalid) holds.
type ImportProblems []ImportProblem

func (p ImportProblems) Error() string {
	if len(p) == 0 {
		return "no problem"
	}
	msg := p[0].invalid().Error()
	if len(p) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(p)-1)
	}
	return msg
}

// Unwrap returns each problem as an *InvalidError.
func (p ImportProblems) Unwrap() []error {
	out := make([]error, len(p))
	for i := range p {
		out[i] = p[i].invalid()
	}
	return out
}

func (p ImportProblem) invalid() *InvalidError {
	if p.Line == 0 {
		return &InvalidError{Attribute: p.Field, Reason: p.Reason}
	}
	return &InvalidError{Attribute: fmt.Sprintf("line %d: %s", p.Line, p.Field), Reason: p.Reason}
}

// String is "line N: field reason".
func (p ImportProblem) String() string { return strings.TrimSpace(p.invalid().Error()) }

// ExportQuery selects what ExportChat exports.
type ExportQuery struct {
	// IncludeDeactivated exports deactivated accounts too (with DeleteAt set).
	IncludeDeactivated bool
	// Teams, when not empty, limits the export to these teams (by name), their
	// channels, and the accounts that are members of at least one of them, with their
	// memberships in these teams only. A name that is no team is an ErrNotFound.
	Teams []string
}

// BulkSink receives an export, in order: every Team, then every Channel, then every
// User. A sink's error ends the export.
type BulkSink interface {
	Team(ExportTeam) error
	Channel(ExportChannel) error
	User(ExportUser) error
}

// Team and channel types, as Mattermost spells them.
const (
	TeamOpen       = "O" // anyone on the server may join
	TeamInviteOnly = "I"
	ChannelOpen    = "O" // public
	ChannelPrivate = "P"
)

// ExportTeam is one team.
type ExportTeam struct {
	Name        string
	DisplayName string
	Type        string // TeamOpen or TeamInviteOnly
}

// ExportChannel is one channel of a team.
type ExportChannel struct {
	Team        string
	Name        string
	DisplayName string
	Type        string // ChannelOpen or ChannelPrivate
}

// ExportUser is one account and its memberships.
type ExportUser struct {
	ID         string // SCIM id
	UserName   string // SCIM userName
	ExternalID string // SCIM externalId ("" when none)
	Username   string // chat username
	Email      string
	FirstName  string // name.givenName
	LastName   string // name.familyName
	Nickname   string // nickName
	Position   string // title
	Locale     string // locale, as stored ("" when none)
	Roles      string // SystemRoles: "system_user", "system_admin system_user", "system_guest"
	DeleteAt   int64  // Unix ms of the deactivation; 0 when active
	Teams      []ExportTeamMembership
}

// ExportTeamMembership is one team an account is in, and that team's channels it is in.
type ExportTeamMembership struct {
	Name     string
	Roles    string // TeamRoles: "team_user", "team_user team_admin", "team_guest"
	Channels []ExportChannelMembership
}

// ExportChannelMembership is one channel an account is in.
type ExportChannelMembership struct {
	Name  string
	Roles string // ChannelRoles
}

// ImportBatch is one bounded batch of bulk lines, already validated by store/jsonl.
type ImportBatch struct {
	Teams    []ImportTeam
	Channels []ImportChannel
	Users    []ImportUser
}

// MaxImportBatch is the most items (teams, channels and users together) and the most
// memberships one ImportBatch may hold; beyond either, ImportChat is an *InvalidError.
// Memberships are counted as the user lines give them: each team of a user counts one,
// and each channel under it one more (a user in one team and five of its channels holds
// six).
const MaxImportBatch = 5000

// ImportTeam is a team line.
type ImportTeam struct {
	Line        int // the line of the file it came from, for errors
	Name        string
	DisplayName string
	Type        string // TeamOpen or TeamInviteOnly
}

// ImportChannel is a channel line.
type ImportChannel struct {
	Line        int
	Team        string
	Name        string
	DisplayName string
	Type        string // ChannelOpen or ChannelPrivate
}

// ImportUser is a user line. Empty strings are "not given": they leave an existing
// account's value as it is.
type ImportUser struct {
	Line       int
	Username   string // chat username (required)
	Email      string // required
	ExternalID string // auth_data of an IdP auth service; "" otherwise
	// AuthService is that IdP auth service ("saml", …) when ExternalID is given; it is
	// kept (AccountDetails.AuthService) on a new account only.
	AuthService string
	FirstName   string
	LastName    string
	Nickname    string
	Position    string
	Locale      string
	// PasswordHash, when not empty, is the hash (as SCIM's password) of the line's
	// password; it is set only on a new account.
	PasswordHash string
	DeleteAt     int64 // > 0: deactivate
	Reactivate   bool  // the line gave delete_at 0 explicitly: reactivate
	// SystemAdmin: the line's roles hold system_admin, granted with source import
	// (roles.go: like a grant by hand, no group or rule ends it).
	SystemAdmin bool
	Teams       []ImportTeamMembership
}

// ImportTeamMembership is a team an imported user is in, and channels of it. Admin
// (team_admin in the team's roles) and AdminChannels (the channels whose roles hold
// channel_admin, each also in Channels) are granted with source import.
type ImportTeamMembership struct {
	Name          string
	Channels      []string
	Admin         bool
	AdminChannels []string
}

// ImportOptions are how ImportChat applies a batch.
type ImportOptions struct {
	DryRun  bool // roll the transaction back: report what would change
	Verbose bool // list every change in ImportReport.Changes
}

// ImportReport counts what ImportChat changed (or would change, in a dry run), and with
// ImportOptions.Verbose, Changes lists each change as a line for people ("team engineering created", "alice
// joined engineering/backend", …), in the order they were made.
type ImportReport struct {
	TeamsCreated, TeamsUpdated       int
	ChannelsCreated, ChannelsUpdated int
	UsersCreated, UsersUpdated       int
	UsersDeactivated                 int
	UsersReactivated                 int
	TeamMembershipsAdded             int // effective joins, not rows
	ChannelMembershipsAdded          int
	RolesGranted                     int // admin roles that came into effect (account.roles, team.roles, channel.roles)
	Changes                          []string
}

// Add adds o's counts and changes to r.
func (r *ImportReport) Add(o ImportReport) {
	r.TeamsCreated += o.TeamsCreated
	r.TeamsUpdated += o.TeamsUpdated
	r.ChannelsCreated += o.ChannelsCreated
	r.ChannelsUpdated += o.ChannelsUpdated
	r.UsersCreated += o.UsersCreated
	r.UsersUpdated += o.UsersUpdated
	r.UsersDeactivated += o.UsersDeactivated
	r.UsersReactivated += o.UsersReactivated
	r.TeamMembershipsAdded += o.TeamMembershipsAdded
	r.ChannelMembershipsAdded += o.ChannelMembershipsAdded
	r.RolesGranted += o.RolesGranted
	r.Changes = append(r.Changes, o.Changes...)
}
