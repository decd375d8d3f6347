package mattermost

// The values the client sends and receives, with Mattermost's JSON names (snake_case, as
// server/public/model/user.go, team.go, channel.go, team_member.go and channel_member.go
// in mattermost/mattermost spell them). Only the fields provisioning reads or writes are
// here; everything else in an answer is ignored.

// User is a Mattermost user. AuthData is sent (create, PUT …/auth) and never returned:
// Mattermost's User.Sanitize blanks it in every answer.
type User struct {
	ID          string `json:"id,omitempty"`
	Username    string `json:"username"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Nickname    string `json:"nickname,omitempty"`
	Position    string `json:"position,omitempty"`
	AuthService string `json:"auth_service,omitempty"`
	AuthData    string `json:"auth_data,omitempty"`
	Roles       string `json:"roles,omitempty"`     // "system_user system_admin"
	DeleteAt    int64  `json:"delete_at,omitempty"` // non-zero: deactivated
	IsBot       bool   `json:"is_bot,omitempty"`
}

// UserPatch changes only the fields that are not nil (PUT /users/{id}/patch).
type UserPatch struct {
	Username  *string `json:"username,omitempty"`
	Email     *string `json:"email,omitempty"`
	FirstName *string `json:"first_name,omitempty"`
	LastName  *string `json:"last_name,omitempty"`
	Nickname  *string `json:"nickname,omitempty"`
	Position  *string `json:"position,omitempty"`
}

// Team is a Mattermost team; Type is "O" (open) or "I" (invite only).
type Team struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Type        string `json:"type"`
}

// Channel is a Mattermost channel; Type is "O" (public) or "P" (private).
type Channel struct {
	ID          string `json:"id,omitempty"`
	TeamID      string `json:"team_id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Type        string `json:"type"`
}

// TeamMember is one membership of a team; DeleteAt is non-zero for a member who left.
type TeamMember struct {
	TeamID      string `json:"team_id"`
	UserID      string `json:"user_id"`
	Roles       string `json:"roles"`
	SchemeAdmin bool   `json:"scheme_admin"`
	SchemeUser  bool   `json:"scheme_user"`
	SchemeGuest bool   `json:"scheme_guest"`
	DeleteAt    int64  `json:"delete_at"`
}

// ChannelMember is one membership of a channel.
type ChannelMember struct {
	ChannelID   string `json:"channel_id"`
	UserID      string `json:"user_id"`
	Roles       string `json:"roles"`
	SchemeAdmin bool   `json:"scheme_admin"`
	SchemeUser  bool   `json:"scheme_user"`
	SchemeGuest bool   `json:"scheme_guest"`
}

// SchemeRoles is the body of PUT …/members/{user_id}/schemeRoles: a member is an admin
// with SchemeAdmin and SchemeUser, a plain member with SchemeUser, a guest with
// SchemeGuest alone.
type SchemeRoles struct {
	SchemeAdmin bool `json:"scheme_admin"`
	SchemeUser  bool `json:"scheme_user"`
	SchemeGuest bool `json:"scheme_guest"`
}

// TeamPatch changes only the fields that are not nil (PUT /teams/{team_id}/patch).
type TeamPatch struct {
	DisplayName *string `json:"display_name,omitempty"`
}

// ChannelPatch changes only the fields that are not nil (PUT /channels/{channel_id}/patch).
type ChannelPatch struct {
	DisplayName *string `json:"display_name,omitempty"`
}
