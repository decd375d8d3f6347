package store

import (
	"context"
	"time"
)

// MattermostState is what the Mattermost connector (server/connector) keeps, and the
// desired state it reads. The connector never changes Townsquare's accounts, groups or
// memberships; it delivers them to a live Mattermost and records, here, what it did
// there: which Mattermost user is which account, the ids of teams and channels, the
// memberships it added (the only ones it may ever remove), the entries it could not
// deliver, the deactivations its breaker holds, and its status. All of it lives in the
// database, so that whichever replica holds the connector's lease, and every replica's
// status endpoint, sees the same.
type MattermostState interface {
	// ChatAccountState returns the desired state of one account (ErrNotFound when the
	// account is gone, as after a purge): its chat fields and the teams and channels it
	// is in, deactivated or not.
	ChatAccountState(ctx context.Context, accountID string) (ChatAccountState, error)
	// EachChatAccountState calls fn for every account (SCIM-deleted ones included), in a
	// stable order, reading them in bounded chunks so that memory does not grow with
	// the tenant. fn's error stops the walk and is returned.
	EachChatAccountState(ctx context.Context, fn func(ChatAccountState) error) error

	// MMUser returns the Mattermost user linked to an account; ErrNotFound when none.
	MMUser(ctx context.Context, accountID string) (MMUserLink, error)
	// LinkMMUser records (or replaces) the link of l.AccountID. A Mattermost user id
	// already linked to another account is a ConflictError: one user, one account.
	LinkMMUser(ctx context.Context, l MMUserLink) error
	// EachMMUser calls fn for every link, by account id, in bounded chunks.
	EachMMUser(ctx context.Context, fn func(MMUserLink) error) error
	// EachPurgedMMUser is EachMMUser for the links whose account is gone (purged).
	EachPurgedMMUser(ctx context.Context, fn func(MMUserLink) error) error

	// MMTeamID and MMChannelID return the Mattermost id recorded for a team or channel
	// (by Townsquare's names); ErrNotFound when none. SetMMTeamID and SetMMChannelID
	// record one, replacing what was there.
	MMTeamID(ctx context.Context, team string) (string, error)
	SetMMTeamID(ctx context.Context, team, id string) error
	MMChannelID(ctx context.Context, team, channel string) (string, error)
	SetMMChannelID(ctx context.Context, team, channel, id string) error

	// OwnedMemberships lists the memberships the connector added for an account, teams
	// and channels by name.
	OwnedMemberships(ctx context.Context, accountID string) (teams []string, channels []ChannelRef, err error)
	// OwnTeam and OwnChannel record a membership the connector added (no error when
	// recorded already). DisownTeam forgets a team membership and every channel
	// membership of that team (leaving a team leaves its channels); DisownChannel one
	// channel membership. Forgetting what is not recorded is no error.
	OwnTeam(ctx context.Context, accountID, team string) error
	OwnChannel(ctx context.Context, accountID, team, channel string) error
	DisownTeam(ctx context.Context, accountID, team string) error
	DisownChannel(ctx context.Context, accountID, team, channel string) error
	// EachOwnedMember calls fn with the account ids whose membership of a team
	// (channel "") or a channel the connector added, in bounded chunks, each with the
	// Mattermost user id linked to it ("" when none): a reconcile compares them with the
	// team's members without a look-up per membership.
	EachOwnedMember(ctx context.Context, team, channel string, fn func(accountID, mmUserID string) error) error

	// AddDeadLetter parks an entry the connector could not deliver, assigning d.ID and
	// d.Time, and returns its id. The account's earlier dead letters stay.
	AddDeadLetter(ctx context.Context, d DeadLetter) (int64, error)
	// DeadLetters returns up to limit dead letters (oldest first) and how many there
	// are; limit is capped to MaxMMListPage.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, int, error)
	// RequeueDeadLetters marks the given dead letters (every one when all) to be
	// retried, and returns how many it marked. Ids naming none are ignored.
	RequeueDeadLetters(ctx context.Context, ids []int64, all bool) (int, error)
	// RequeuedAccounts returns up to limit distinct accounts that have a requeued dead
	// letter.
	RequeuedAccounts(ctx context.Context, limit int) ([]string, error)
	// ResolveDeadLetters deletes every dead letter of an account (it was delivered).
	ResolveDeadLetters(ctx context.Context, accountID string) error
	// UnqueueDeadLetters clears the requeue mark of an account's dead letters and counts
	// one more attempt (the retry failed again).
	UnqueueDeadLetters(ctx context.Context, accountID string) error

	// RecordDeactivation notes a deactivation sent at t, for the breaker;
	// DeactivationsSince counts those sent at or after since, and forgets older ones.
	RecordDeactivation(ctx context.Context, accountID string, t time.Time) error
	DeactivationsSince(ctx context.Context, since time.Time) (int, error)
	// HoldDeactivation records a deactivation the breaker held (no error when held
	// already: the first hold's time stays). HeldDeactivations returns up to limit of
	// them (oldest first) and how many there are. ReleaseHeld marks held ones released
	// (every one when all) and returns how many; ReleasedHeld lists up to limit released
	// account ids; DropHeld forgets an account's hold (sent, or no longer wanted).
	HoldDeactivation(ctx context.Context, h HeldDeactivation) error
	HeldDeactivations(ctx context.Context, limit int) ([]HeldDeactivation, int, error)
	ReleaseHeld(ctx context.Context, accountIDs []string, all bool) (int, error)
	ReleasedHeld(ctx context.Context, limit int) ([]string, error)
	IsHeld(ctx context.Context, accountID string) (held, released bool, err error)
	DropHeld(ctx context.Context, accountID string) error

	// AddMMFailure records a failure for status, keeping the newest MaxMMFailures;
	// RecentMMFailures returns up to limit of them, newest first.
	AddMMFailure(ctx context.Context, f MMFailure) error
	RecentMMFailures(ctx context.Context, limit int) ([]MMFailure, error)

	// MMStatus reads the connector's key/value status; SetMMStatus writes the given keys
	// (an empty value deletes the key), leaving the others.
	MMStatus(ctx context.Context) (map[string]string, error)
	SetMMStatus(ctx context.Context, kv map[string]string) error
}

// Limits of the connector's lists.
const (
	MaxMMFailures = 100  // recent failures kept
	MaxMMListPage = 1000 // dead letters or held deactivations per read
)

// ChatAccountState is an account as Mattermost should see it. Fields use Mattermost's
// names: FirstName is name.givenName, LastName name.familyName, Nickname nickName,
// Position title.
type ChatAccountState struct {
	ID          string // SCIM user id
	UserName    string // SCIM userName
	ExternalID  string
	Username    string // chat username
	Email       string
	FirstName   string
	LastName    string
	Nickname    string
	Position    string
	Active      bool
	SCIMDeleted bool
	Teams       []string          // by name
	Channels    []ChannelWithType // by team, then name
	// Roles (roles.go): Guest is system_guest (every membership then team_guest and
	// channel_guest); SystemAdmin and TeamAdmin (team names, by name) are the admin
	// roles in effect, none while a guest; ChannelWithType.Admin the channel's.
	Guest       bool
	SystemAdmin bool
	TeamAdmin   []string
}

// ChannelRef names a channel of a team.
type ChannelRef struct{ Team, Channel string }

// ChannelWithType is a channel an account is in, with the channel's type ("O", "P").
type ChannelWithType struct {
	Team, Channel, Type string
	Admin               bool // channel_admin in effect (roles.go)
}

// MMUserLink binds an account to a Mattermost user.
type MMUserLink struct {
	AccountID string
	MMUserID  string
	Origin    string // MMOriginCreated or MMOriginAdopted
	AuthData  string // the auth_data last sent (Mattermost never returns it)
}

// Origins of an MMUserLink.
const (
	MMOriginCreated = "created"
	MMOriginAdopted = "adopted"
)

// DeadLetter is an entry the connector could not deliver: the account, the journal
// position, the call that was refused and Mattermost's answer.
type DeadLetter struct {
	ID        int64
	AccountID string
	Cursor    int64
	Call      string // "POST /api/v4/users"
	Status    int
	ErrorID   string
	Message   string
	Time      time.Time
	Attempts  int
	Requeued  bool
}

// HeldDeactivation is a deactivation the breaker held.
type HeldDeactivation struct {
	AccountID string
	Username  string
	Permanent bool // a permanent delete, not a deactivation
	Time      time.Time
	Released  bool
}

// MMFailure is one failed call, for status.
type MMFailure struct {
	Time      time.Time
	AccountID string
	Call      string
	Status    int
	ErrorID   string
	Message   string
}
