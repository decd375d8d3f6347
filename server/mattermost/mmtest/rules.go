package mmtest

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Mattermost's validation rules, as server/public/model (user.go, team.go, channel.go,
// utils.go) in mattermost/mattermost states them; docs/mattermost.md lists the ids.

const (
	usernameMaxLength    = 64  // model.UserNameMaxLength (the server allows 1–64)
	emailMaxLength       = 128 // model.UserEmailMaxLength
	nameMaxRunes         = 64  // first_name, last_name, nickname
	positionMaxRunes     = 128 // model.UserPositionMaxRunes
	authDataMaxLength    = 128 // model.UserAuthDataMaxLength
	teamNameMinLength    = 2   // model.TeamNameMinLength
	teamNameMaxLength    = 64  // model.TeamNameMaxLength
	displayNameMaxRunes  = 64  // model.TeamDisplayNameMaxRunes, model.ChannelDisplayNameMaxRunes
	channelNameMaxLength = 64  // model.ChannelNameMaxLength
	// maxPerPage is web/params.go's PerPageMaximum: a larger per_page is served as 200.
	maxPerPage     = 200
	defaultPerPage = 60
	// townSquare and offTopic are the default channels a team is created with
	// (app/teams/teams.go createDefaultChannels) and a non-guest joins with the team.
	townSquare = "town-square"
	offTopic   = "off-topic"
)

var (
	usernameRe    = regexp.MustCompile(`^[a-z0-9\.\-_]+$`)
	teamNameRe    = regexp.MustCompile(`^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$`)
	channelNameRe = regexp.MustCompile(`^[a-z0-9]+([a-z\-\_0-9]+|(__)?)[a-z0-9]*$`)
	idRe          = regexp.MustCompile(`^[a-z0-9]{26}$`)
	// restrictedUsernames is model.restrictedUsernames.
	restrictedUsernames = map[string]bool{"all": true, "channel": true, "matterbot": true, "system": true}
	// reservedTeamPrefixes is model.reservedName; IsReservedTeamName matches them as prefixes.
	reservedTeamPrefixes = []string{"admin", "api", "channel", "claim", "error", "files", "help", "landing",
		"login", "mfa", "oauth", "plug", "plugins", "post", "signup", "boards", "playbooks"}
	// validRoles are the system roles model.IsValidUserRoles accepts for provisioning.
	validRoles = map[string]bool{"system_user": true, "system_admin": true, "system_guest": true,
		"system_user_manager": true, "system_read_only_admin": true, "system_manager": true}
)

func validID(s string) bool { return idRe.MatchString(s) }

func validUsername(s string) bool {
	return s != "" && len(s) <= usernameMaxLength && usernameRe.MatchString(s) && !restrictedUsernames[s]
}

// validEmail is model.IsValidEmail: lower case, one address without a display name.
func validEmail(s string) bool {
	if s == "" || len(s) > emailMaxLength || strings.ToLower(s) != s || strings.Count(s, "@") != 1 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

func validTeamName(s string) bool {
	return len(s) >= teamNameMinLength && len(s) <= teamNameMaxLength && teamNameRe.MatchString(s)
}

func reservedTeamName(s string) bool {
	for _, p := range reservedTeamPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func validChannelName(s string) bool {
	return s != "" && len(s) <= channelNameMaxLength && channelNameRe.MatchString(s)
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// validUserRoles is model.IsValidUserRoles: known roles, and system_user or system_guest
// (not both): a lone system_admin is refused.
func validUserRoles(roles string) bool {
	user, guest := false, false
	for _, r := range strings.Fields(roles) {
		if !validRoles[r] {
			return false
		}
		user = user || r == "system_user"
		guest = guest || r == "system_guest"
	}
	return user != guest
}

func hasRole(roles, role string) bool {
	for _, r := range strings.Fields(roles) {
		if r == role {
			return true
		}
	}
	return false
}
