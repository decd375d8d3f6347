package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The change journal: every change of Townsquare's state that a chat server would see
// (accounts, teams, channels, memberships) appended in the transaction that makes it, in
// one total order that consumers follow by cursor (the Mattermost connector, the audit
// trail of GET /api/v1/events and "townsquare events").

// EventKind is what an entry records.
type EventKind string

// Event kinds.
const (
	EventAccountCreated     EventKind = "account.created"     // After holds the attributes
	EventAccountUpdated     EventKind = "account.updated"     // Before/After: changed keys only
	EventAccountDeactivated EventKind = "account.deactivated" // Before/After: active
	EventAccountReactivated EventKind = "account.reactivated" // Before/After: active
	EventAccountDeleted     EventKind = "account.deleted"     // purged: the account is gone
	EventTeamCreated        EventKind = "team.created"
	EventChannelCreated     EventKind = "channel.created"
	EventTeamUpdated        EventKind = "team.updated"    // Before/After: display_name, type; changed keys only
	EventChannelUpdated     EventKind = "channel.updated" // Before/After: display_name, type; changed keys only
	EventTeamJoined         EventKind = "team.joined"     // the account became a member
	EventTeamLeft           EventKind = "team.left"       // the account stopped being one
	EventChannelJoined      EventKind = "channel.joined"
	EventChannelLeft        EventKind = "channel.left"
	// Written by the connector through AppendEvent, never by a Townsquare change: what a
	// dry run would have sent (Source holds the call, e.g. "POST /api/v4/users"), and an
	// entry parked as a dead letter. Consumers of Townsquare's changes skip "mattermost.*".
	EventMattermostDryRun     EventKind = "mattermost.dry_run"
	EventMattermostDeadLetter EventKind = "mattermost.dead_letter"
)

// MattermostEventPrefix starts the kinds AppendEvent takes (and only those).
const MattermostEventPrefix = "mattermost."

// IsMattermost reports whether k is a kind the connector writes, which records no change
// of Townsquare's state.
func (k EventKind) IsMattermost() bool { return strings.HasPrefix(string(k), MattermostEventPrefix) }

// Account attribute keys of Event.Before and Event.After: Mattermost's names of the
// attributes Townsquare sends it.
const (
	AttrUsername  = "username"
	AttrEmail     = "email"
	AttrFirstName = "first_name" // name.givenName
	AttrLastName  = "last_name"  // name.familyName
	AttrNickname  = "nickname"   // nickName
	AttrPosition  = "position"   // title
	AttrAuthData  = "auth_data"  // externalId
	AttrActive    = "active"     // "true" or "false"
)

// Team and channel attribute keys of Event.Before and Event.After (team.updated,
// channel.updated): Mattermost's names. A type is TeamOpen/TeamInviteOnly or
// ChannelOpen/ChannelPrivate.
const (
	AttrDisplayName = "display_name"
	AttrType        = "type"
)

// AccountAttributes are the attributes of u that a chat server holds, by the keys above,
// the empty ones left out (active is always there: the account's state, active and not
// deactivated). Account.Username, Email and DeleteAt are the chat side's, so they must
// be set.
func AccountAttributes(u *User) map[string]string {
	m := make(map[string]string, 8)
	m[AttrActive] = "false"
	if u.Active && u.Account.DeleteAt == 0 {
		m[AttrActive] = "true"
	}
	for _, kv := range [...]struct{ k, v string }{
		{AttrUsername, u.Account.Username}, {AttrEmail, u.Account.Email}, {AttrFirstName, u.Name.GivenName},
		{AttrLastName, u.Name.FamilyName}, {AttrNickname, u.NickName}, {AttrPosition, u.Title}, {AttrAuthData, u.ExternalID},
	} {
		if kv.v != "" {
			m[kv.k] = kv.v
		}
	}
	return m
}

// ChangedAttributes returns the keys of before and after whose values differ (a key
// missing on one side is ""), with each side's values, leaving active out (its changes
// are account.deactivated and account.reactivated). Both are nil when nothing changed.
func ChangedAttributes(before, after map[string]string) (b, a map[string]string) {
	seen := func(k string, from, to map[string]string) {
		if k == AttrActive || from[k] == to[k] {
			return
		}
		if b == nil {
			b, a = map[string]string{}, map[string]string{}
		}
		b[k], a[k] = before[k], after[k]
	}
	for k := range before {
		seen(k, before, after)
	}
	for k := range after {
		seen(k, before, after)
	}
	return b, a
}

// Event is one journal entry. Membership events are EFFECTIVE transitions (the account
// becomes / stops being a member), not per-source row changes; Source says why
// ("group:Engineering", "team-join", "default", "import", "delete", …).
type Event struct {
	Cursor    int64 // position in the total order; EventQuery.After resumes after it
	Time      time.Time
	Kind      EventKind
	Actor     string
	RequestID string
	Account   string // SCIM user id of the account ("" for team/channel events)
	Username  string // the account's chat username when the entry was written
	Team      string // team name (team.*, channel.* events)
	Channel   string // channel name (channel.* events)
	Source    string
	// Account attributes by key — the Mattermost names: username, email, first_name,
	// last_name, nickname, position, auth_data (the externalId), active. For
	// account.updated only the keys that changed; for account.created all set ones.
	// For team.updated and channel.updated, display_name and type, the keys that
	// changed.
	Before, After map[string]string
}

// Limits of the journal's queries and of what AppendEvent stores.
const (
	DefaultEventPage = 100  // EventQuery.Limit 0
	MaxEventPage     = 1000 // the largest EventQuery.Limit
	// MaxEventText is the most characters of an appended entry's Username, Team,
	// Channel and Source, and of each key and value of its Before and After.
	MaxEventText = MaxTextLength
	// MaxEventAttributes is the most keys of an appended entry's Before or After.
	MaxEventAttributes = 32
)

// EventQuery selects a page of the journal.
type EventQuery struct {
	After   int64  // return entries with Cursor > After
	Limit   int    // 1..MaxEventPage (1000); 0 means DefaultEventPage (100)
	Account string // "" all; else only entries of that SCIM user id
}

// Check reports an EventQuery no backend runs: a negative After, or a Limit outside
// 0..MaxEventPage. It is an InvalidError.
func (q EventQuery) Check() error {
	switch {
	case q.After < 0:
		return &InvalidError{"after", "must not be negative"}
	case q.Limit < 0 || q.Limit > MaxEventPage:
		return &InvalidError{"limit", fmt.Sprintf("must be between 1 and %d (0: %d)", MaxEventPage, DefaultEventPage)}
	case q.Account != "" && checkString(q.Account, MaxNameLength) != "":
		return &InvalidError{"account", checkString(q.Account, MaxNameLength)}
	}
	return nil
}

// CheckAppend reports an entry AppendEvent refuses (an InvalidError): a kind other than
// "mattermost.*", a string longer than MaxEventText (Account: MaxNameLength) or not valid
// UTF-8 without NUL, or more than MaxEventAttributes keys in Before or After. Cursor,
// Time, Actor and RequestID are the store's and are not checked.
func (e *Event) CheckAppend() error {
	if !e.Kind.IsMattermost() {
		return &InvalidError{"kind", "must start with " + MattermostEventPrefix + " (the store journals its own changes)"}
	}
	if r := checkString(string(e.Kind), MaxNameLength); r != "" {
		return &InvalidError{"kind", r}
	}
	if r := checkString(e.Account, MaxNameLength); r != "" {
		return &InvalidError{"account", r}
	}
	for _, f := range [...]struct{ name, v string }{
		{"username", e.Username}, {"team", e.Team}, {"channel", e.Channel}, {"source", e.Source},
	} {
		if r := checkString(f.v, MaxEventText); r != "" {
			return &InvalidError{f.name, r}
		}
	}
	for _, side := range [...]struct {
		name string
		m    map[string]string
	}{{"before", e.Before}, {"after", e.After}} {
		if len(side.m) > MaxEventAttributes {
			return &InvalidError{side.name, fmt.Sprintf("must not have more than %d keys", MaxEventAttributes)}
		}
		for k, v := range side.m {
			if r := checkString(k, MaxEventText); r != "" {
				return &InvalidError{side.name, "key " + r}
			}
			if r := checkString(v, MaxEventText); r != "" {
				return &InvalidError{side.name + "." + k, r}
			}
		}
	}
	return nil
}

// CheckCoordinationName reports a consumer, lease or holder name the journal's
// coordination state does not store (an InvalidError named what): empty, longer than
// MaxNameLength, or not valid UTF-8 without NUL.
func CheckCoordinationName(what, name string) error {
	if name == "" {
		return &InvalidError{what, "is required"}
	}
	if r := checkString(name, MaxNameLength); r != "" {
		return &InvalidError{what, r}
	}
	return nil
}

// MaxLeaseTTL is the longest lease AcquireLease grants; a ttl must be positive and at
// most this.
const MaxLeaseTTL = 24 * time.Hour

// PageSize is the number of entries q asks for: Limit, or DefaultEventPage when 0.
func (q EventQuery) PageSize() int {
	if q.Limit == 0 {
		return DefaultEventPage
	}
	return q.Limit
}

// Journal is the change journal and the small coordination state its consumers keep.
type Journal interface {
	// Events returns committed entries in Cursor order. Total order across replicas: an
	// entry that becomes visible later never has a Cursor ≤ one already returned. A
	// query EventQuery.Check refuses is an InvalidError.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
	// JournalHead is the Cursor and Time of the newest entry (0, zero time when empty).
	JournalHead(ctx context.Context) (int64, time.Time, error)
	// Cursor is a consumer's stored position (0 when none); SetCursor stores it and never
	// moves it backwards (a lower value is ignored).
	Cursor(ctx context.Context, consumer string) (int64, error)
	SetCursor(ctx context.Context, consumer string, cursor int64) error
	// AcquireLease takes or renews the named lease for holder until now+ttl (the
	// database's clock), and reports whether holder holds it. A lease whose holder has not
	// renewed it past its expiry is free. ReleaseLease frees it if holder holds it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	// AppendEvent journals one entry that records no change of Townsquare's state (kinds
	// "mattermost.*" only; any other kind is an InvalidError). Actor and RequestID come
	// from ctx as for every entry.
	AppendEvent(ctx context.Context, e Event) error
	// PruneEvents deletes entries older than before, but never one a consumer with a
	// stored cursor has not passed yet; it returns how many it deleted.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
}
