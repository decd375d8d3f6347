// Package jsonl reads, validates, imports and writes Mattermost's bulk loading format: one
// JSON object a line ({"type": "<t>", "<t>": {…}}), as `mmctl import` takes it, in a
// .jsonl file or a .zip holding one. It is the format side of issue 12; the store side is
// store.Bulk, which this package drives and never bypasses.
//
// The rules are Mattermost's own (mattermost/mattermost server/channels/app/imports:
// import_types.go for the shapes, import_validators.go for the checks; the name rules of
// server/public/model team.go, channel.go and user.go, which store/rules already holds),
// restated here, with the few places where Townsquare is stricter said where they are.
package jsonl

import "encoding/json"

// Limits of the input. Each has a test at its edge.
const (
	// MaxLineBytes bounds one line, its newline excluded, and so what one line may hold
	// in memory. Lines Townsquare keeps are far smaller (a user in 1,000 channels is
	// about 60 KB); post lines, read only to be skipped, carry a message of up to
	// 65,535 bytes (Mattermost's PostMessageMaxBytesV2) and props, which in practice
	// are small: 4 MiB holds them with a wide margin.
	MaxLineBytes = 4 << 20
	// MaxInputBytes bounds the .jsonl read (in a .zip: its uncompressed size), so that a
	// small zip cannot expand into an endless read. An export with posts of a large
	// Mattermost is tens of GB; the users, teams and channels of 100k accounts are about
	// 100 MB.
	MaxInputBytes = 64 << 30
	// MaxErrors bounds the errors a validation lists; beyond it they are only counted.
	MaxErrors = 1000
	// MaxZipEntries bounds the entries of a .zip (its attachments count): the central
	// directory is read whole before anything else.
	MaxZipEntries = 1 << 20
)

// Line types, in the order Mattermost's importer requires them (lineRank).
const (
	TypeVersion       = "version"
	TypeScheme        = "scheme"
	TypeRole          = "role"
	TypeEmoji         = "emoji"
	TypeTeam          = "team"
	TypeChannel       = "channel"
	TypeUser          = "user"
	TypeBot           = "bot"
	TypePost          = "post"
	TypeDirectChannel = "direct_channel"
	TypeDirectPost    = "direct_post"
)

// lineRank is each type's place in the required order: a line may follow only lines of
// the same or a lower rank (version, then scheme/role/emoji, team, channel, user/bot,
// post, direct_channel, direct_post).
var lineRank = map[string]int{
	TypeVersion: 0,
	TypeScheme:  1, TypeRole: 1, TypeEmoji: 1,
	TypeTeam:    2,
	TypeChannel: 3,
	TypeUser:    4, TypeBot: 4,
	TypePost:          5,
	TypeDirectChannel: 6,
	TypeDirectPost:    7,
}

// orderText says the required order, for errors.
const orderText = "version, then scheme/role/emoji, team, channel, user/bot, post, direct_channel, direct_post"

// Line is one line of a bulk file. Number is its line number (from 1). Exactly the field
// of its Type is set for the types Townsquare keeps (Version, Team, Channel, User); the
// others keep their object raw (Skipped), checked only for being an object.
type Line struct {
	Number  int             `json:"-"`
	Type    string          `json:"type"`
	Version *int64          `json:"version,omitempty"`
	Info    *VersionInfo    `json:"info,omitempty"`
	Team    *Team           `json:"team,omitempty"`
	Channel *Channel        `json:"channel,omitempty"`
	User    *User           `json:"user,omitempty"`
	Scheme  json.RawMessage `json:"scheme,omitempty"`
	Role    json.RawMessage `json:"role,omitempty"`
	Emoji   json.RawMessage `json:"emoji,omitempty"`
	Bot     json.RawMessage `json:"bot,omitempty"`
	Post    json.RawMessage `json:"post,omitempty"`
	// DirectChannel and DirectPost are the direct_channel and direct_post objects.
	DirectChannel json.RawMessage `json:"direct_channel,omitempty"`
	DirectPost    json.RawMessage `json:"direct_post,omitempty"`
}

// VersionInfo is the version line's optional info (import_types.go VersionInfoImportData).
type VersionInfo struct {
	Generator  string          `json:"generator"`
	Version    string          `json:"version,omitempty"`
	Created    string          `json:"created,omitempty"`
	Additional json.RawMessage `json:"additional,omitempty"`
}

// Team is a team line (TeamImportData). Pointers tell a field left out from one given
// empty, as Mattermost's checks do.
type Team struct {
	Name            *string `json:"name"`
	DisplayName     *string `json:"display_name"`
	Type            *string `json:"type"`
	Description     *string `json:"description,omitempty"`
	AllowOpenInvite *bool   `json:"allow_open_invite,omitempty"`
	Scheme          *string `json:"scheme,omitempty"`
}

// Channel is a channel line (ChannelImportData; deleted_at is newer servers' archive
// time).
type Channel struct {
	Team        *string `json:"team"`
	Name        *string `json:"name"`
	DisplayName *string `json:"display_name"`
	Type        *string `json:"type"`
	Header      *string `json:"header,omitempty"`
	Purpose     *string `json:"purpose,omitempty"`
	Scheme      *string `json:"scheme,omitempty"`
	DeletedAt   *int64  `json:"deleted_at,omitempty"`
}

// User is a user line (UserImportData), with its memberships nested.
type User struct {
	ProfileImage       *string          `json:"profile_image,omitempty"`
	Username           *string          `json:"username"`
	Email              *string          `json:"email"`
	AuthService        *string          `json:"auth_service,omitempty"`
	AuthData           *string          `json:"auth_data,omitempty"`
	Password           *string          `json:"password,omitempty"`
	Nickname           *string          `json:"nickname,omitempty"`
	FirstName          *string          `json:"first_name,omitempty"`
	LastName           *string          `json:"last_name,omitempty"`
	Position           *string          `json:"position,omitempty"`
	Roles              *string          `json:"roles,omitempty"`
	Locale             *string          `json:"locale,omitempty"`
	UseMarkdownPreview *string          `json:"feature_enabled_markdown_preview,omitempty"`
	UseFormatting      *string          `json:"formatting,omitempty"`
	ShowUnreadSection  *string          `json:"show_unread_section,omitempty"`
	DeleteAt           *int64           `json:"delete_at,omitempty"`
	Teams              *[]UserTeam      `json:"teams,omitempty"`
	Theme              *string          `json:"theme,omitempty"`
	UseMilitaryTime    *string          `json:"military_time,omitempty"`
	CollapsePreviews   *string          `json:"link_previews,omitempty"`
	MessageDisplay     *string          `json:"message_display,omitempty"`
	CollapseConsec     *string          `json:"collapse_consecutive_messages,omitempty"`
	ColorizeUsernames  *string          `json:"colorize_usernames,omitempty"`
	ChannelDisplayMode *string          `json:"channel_display_mode,omitempty"`
	TutorialStep       *string          `json:"tutorial_step,omitempty"`
	EmailInterval      *string          `json:"email_interval,omitempty"`
	NotifyProps        *UserNotifyProps `json:"notify_props,omitempty"`
}

// UserNotifyProps are a user's notification settings (UserNotifyPropsImportData).
type UserNotifyProps struct {
	Desktop          *string `json:"desktop,omitempty"`
	DesktopSound     *string `json:"desktop_sound,omitempty"`
	Email            *string `json:"email,omitempty"`
	Mobile           *string `json:"mobile,omitempty"`
	MobilePushStatus *string `json:"mobile_push_status,omitempty"`
	ChannelTrigger   *string `json:"channel,omitempty"`
	CommentsTrigger  *string `json:"comments,omitempty"`
	MentionKeys      *string `json:"mention_keys,omitempty"`
}

// UserTeam is a team a user line puts its user in (UserTeamImportData).
type UserTeam struct {
	Name     *string        `json:"name"`
	Roles    *string        `json:"roles,omitempty"`
	Theme    *string        `json:"theme,omitempty"`
	Channels *[]UserChannel `json:"channels,omitempty"`
}

// UserChannel is a channel of a UserTeam (UserChannelImportData).
type UserChannel struct {
	Name               *string                `json:"name"`
	Roles              *string                `json:"roles,omitempty"`
	NotifyProps        *UserChannelNotifyProp `json:"notify_props,omitempty"`
	Favorite           *bool                  `json:"favorite,omitempty"`
	MentionCount       *int64                 `json:"mention_count,omitempty"`
	MentionCountRoot   *int64                 `json:"mention_count_root,omitempty"`
	UrgentMentionCount *int64                 `json:"urgend_mention_count,omitempty"` // sic, as upstream spells it
	MsgCount           *int64                 `json:"msg_count,omitempty"`
	MsgCountRoot       *int64                 `json:"msg_count_root,omitempty"`
	LastViewedAt       *int64                 `json:"last_viewed_at,omitempty"`
}

// UserChannelNotifyProp are a user's settings in one channel.
type UserChannelNotifyProp struct {
	Desktop    *string `json:"desktop,omitempty"`
	Mobile     *string `json:"mobile,omitempty"`
	MarkUnread *string `json:"mark_unread,omitempty"`
}

// str reads an optional string: "" when absent.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
