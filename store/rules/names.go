package rules

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The naming rules below mirror the Mattermost server (server/public/model) so that every
// name Townsquare creates is one Mattermost itself would accept: a name that passes here
// can be written to a Mattermost database or sent to its API without a 400.

const (
	teamNameMinLength    = 2  // model.TeamNameMinLength
	teamNameMaxLength    = 64 // model.TeamNameMaxLength
	channelNameMaxLength = 64 // model.ChannelNameMaxLength (the server itself only enforces it on import)
	groupNameMaxLength   = 64 // model.GroupNameMaxLength

	// The server accepts usernames of 1–64 characters, but the webapp refuses to show or
	// edit one that is not 3–22 characters starting with a letter
	// (Constants.MIN_USERNAME_LENGTH / MAX_USERNAME_LENGTH). We use the stricter rule.
	usernameMinLength = 3
	usernameMaxLength = 22
)

var (
	// model.validAlphaNum, the body of model.IsValidTeamName.
	teamNameRe = regexp.MustCompile(`^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$`)
	// model.validSimpleAlphaNum, the body of model.IsValidChannelIdentifier.
	channelNameRe = regexp.MustCompile(`^[a-z0-9]+([a-z\-\_0-9]+|(__)?)[a-z0-9]*$`)
	// model.gmNameRegex: Channel.IsValid refuses it for open and private channels, because
	// it is the shape of a group-message channel name (a SHA-1 of the member ids).
	gmNameRe = regexp.MustCompile(`^[a-f0-9]{40}$`)
	// model.validGroupnameChars, used by Group.IsValidName.
	groupNameRe = regexp.MustCompile(`^[a-z0-9\.\-_]+$`)
)

// reservedTeamPrefixes is model.reservedName. model.IsReservedTeamName tests it with
// strings.Index(s, v) == 0, so these are reserved as prefixes: "helpdesk" and "apiteam"
// are refused as team names, not only "help" and "api". They would shadow webapp routes.
var reservedTeamPrefixes = []string{
	"admin", "api", "channel", "claim", "error", "files", "help", "landing", "login",
	"mfa", "oauth", "plug", "plugins", "post", "signup", "boards", "playbooks",
}

// reservedUsernames is model.restrictedUsernames (checked by model.IsValidUsername): the
// names of @-mentions and of built-in accounts.
var reservedUsernames = map[string]bool{"all": true, "channel": true, "matterbot": true, "system": true}

// reservedGroupNames are the @-mentions a group name may not take: model.UserNotifyAll,
// model.ChannelMentionsNotifyProp and model.UserNotifyHere (Group.IsValidName).
var reservedGroupNames = map[string]bool{"all": true, "channel": true, "here": true}

func reservedTeamPrefix(s string) string {
	for _, w := range reservedTeamPrefixes {
		if strings.HasPrefix(s, w) {
			return w
		}
	}
	return ""
}

// ValidTeamName reports whether s is a name Mattermost accepts for a team: model.Team.IsValid
// checks the length (2–64), model.IsValidTeamName the characters (lower-case letters,
// digits and '-', starting and ending with a letter or digit; the regex also lets one "__"
// through), and model.IsReservedTeamName the reserved prefixes.
func ValidTeamName(s string) bool { return teamNameProblem(s) == "" }

// TeamNameProblem says why s is not a name ValidTeamName accepts, for people ("is
// empty", "starts with the reserved word …"), or "" when it is one.
func TeamNameProblem(s string) string { return teamNameProblem(s) }

// teamNameProblem says why s is not a valid team name, or "" when it is.
func teamNameProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > teamNameMaxLength:
		return fmt.Sprintf("is %d characters long; a team name has at most %d", len(s), teamNameMaxLength)
	case len(s) < teamNameMinLength:
		return fmt.Sprintf("is shorter than %d characters", teamNameMinLength)
	case !teamNameRe.MatchString(s):
		return "is not a valid team name: use only lower-case letters a-z, digits and '-', starting and ending with a letter or digit"
	}
	if w := reservedTeamPrefix(s); w != "" {
		return fmt.Sprintf("starts with the reserved word %q; Mattermost refuses team names that begin with any of %s",
			w, strings.Join(reservedTeamPrefixes, ", "))
	}
	return ""
}

// ValidChannelName reports whether s is a name Mattermost accepts for an open or private
// channel: model.IsValidChannelIdentifier (lower-case letters, digits, '-' and '_',
// starting with a letter or digit, at least 1 character), at most 64 characters, and not
// shaped like a direct-message name ("<id>__<id>") or a group-message name (40 hex digits),
// which Channel.IsValid refuses for these channel types.
func ValidChannelName(s string) bool { return channelNameProblem(s) == "" }

// ChannelNameProblem says why s is not a name ValidChannelName accepts, for people, or
// "" when it is one.
func ChannelNameProblem(s string) string { return channelNameProblem(s) }

func channelNameProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > channelNameMaxLength:
		return fmt.Sprintf("is %d characters long; a channel name has at most %d", len(s), channelNameMaxLength)
	case !channelNameRe.MatchString(s):
		return "is not a valid channel name: use only lower-case letters a-z, digits, '-' and '_', starting with a letter or digit"
	case looksLikeDM(s):
		return `has the shape of a direct-message channel name ("<26-char id>__<26-char id>")`
	case gmNameRe.MatchString(s):
		return "has the shape of a group-message channel name (40 hex digits)"
	}
	return ""
}

// looksLikeDM mirrors the direct-message test in model.Channel.IsValid: the name splits on
// "__" into exactly two model.IsValidId ids (26 letters or digits).
func looksLikeDM(s string) bool {
	parts := strings.Split(s, "__")
	return len(parts) == 2 && isValidID(parts[0]) && isValidID(parts[1])
}

// isValidID is model.IsValidId: 26 letters or digits.
func isValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// ValidGroupName reports whether s is a name Mattermost accepts for a user group
// (model.Group.IsValidName): 1–64 of [a-z0-9.-_], and not one of the @-mentions all,
// channel, here.
func ValidGroupName(s string) bool {
	return s != "" && len(s) <= groupNameMaxLength && groupNameRe.MatchString(s) && !reservedGroupNames[s]
}

// ValidUsername reports whether s is a username both the Mattermost server
// (model.IsValidUsername: [a-z0-9.-_], not all/channel/matterbot/system) and its webapp
// (3–22 characters, starting with a lower-case letter) accept.
func ValidUsername(s string) bool {
	if len(s) < usernameMinLength || len(s) > usernameMaxLength || s[0] < 'a' || s[0] > 'z' || reservedUsernames[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerAlnum(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_' {
			return false
		}
	}
	return true
}

// TeamNameFrom derives a valid team name from arbitrary text such as a SCIM group's
// displayName: "Sales & Marketing EMEA" → "sales-marketing-emea". It lower-cases, folds
// accented Latin letters to ASCII (é → e, ß → ss), drops other non-ASCII letters, turns
// every other run of characters into one '-', trims '-' and cuts to 64 characters. A
// result that is shorter than 2 or starts with a reserved word ("Helpdesk") gets the prefix
// "team-" ("team-helpdesk"), so the name stays recognisable instead of being replaced by a
// random id as model.CleanTeamName does. It returns "" only when no letter or digit is left.
func TeamNameFrom(s string) string {
	name := cut(slug(s, ""), teamNameMaxLength, "-")
	if name == "" {
		return ""
	}
	if len(name) < teamNameMinLength || reservedTeamPrefix(name) != "" {
		name = cut("team-"+name, teamNameMaxLength, "-")
	}
	return name
}

// ChannelNameFrom derives a valid channel name from arbitrary text, like TeamNameFrom but
// keeping '_' (allowed in channel names) and with no reserved words. A result shaped like a
// direct- or group-message name gets the prefix "channel-". It returns "" only when no
// letter or digit is left.
func ChannelNameFrom(s string) string {
	name := cut(slug(s, "_"), channelNameMaxLength, "-_")
	if name == "" {
		return ""
	}
	if looksLikeDM(name) || gmNameRe.MatchString(name) {
		name = cut("channel-"+name, channelNameMaxLength, "-_")
	}
	return name
}

// GroupNameFrom derives a Mattermost user-group name (the @-mention handle) from a group's
// displayName: lower-cased, accents folded, characters outside [a-z0-9.-_] turned into
// '-', trimmed of '-', '.' and '_' at both ends and cut to 64. The reserved mentions all,
// channel and here get the suffix "-group". It returns "" only when nothing usable is left.
func GroupNameFrom(displayName string) string {
	name := cut(slug(displayName, "._"), groupNameMaxLength, "-._")
	if reservedGroupNames[name] {
		name += "-group"
	}
	return name
}

// slug is the common core of the *From functions. It lower-cases s, spells accented Latin
// letters in ASCII, drops other letters, digits and combining marks that have no ASCII
// spelling, keeps [a-z0-9] and the characters in keep, and turns every other run of
// characters into one '-'. A literal '-' is kept (so names that are already valid pass
// through unchanged) unless it follows a replaced run ("a - b" → "a-b"). The result is
// trimmed of '-' and of the characters in keep.
func slug(s, keep string) string {
	var b strings.Builder
	b.Grow(len(s))
	lastReplaced := false // the last byte written is a '-' that replaced something
	sep := func() {
		if b.Len() == 0 {
			return
		}
		if last := b.String()[b.Len()-1]; last == '-' || strings.IndexByte(keep, last) >= 0 {
			return
		}
		b.WriteByte('-')
		lastReplaced = true
	}
	for _, r := range s {
		r = unicode.ToLower(r)
		switch {
		case r < utf8.RuneSelf && isLowerAlnum(byte(r)):
			b.WriteRune(r)
			lastReplaced = false
		case r == '-':
			if !lastReplaced && b.Len() > 0 {
				b.WriteByte('-')
			}
		case r < utf8.RuneSelf && strings.ContainsRune(keep, r):
			if b.Len() > 0 {
				b.WriteRune(r)
				lastReplaced = false
			}
		case latinFold[r] != "":
			b.WriteString(latinFold[r])
			lastReplaced = false
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)):
			// No ASCII spelling: drop it without a separator, so a combining accent after
			// its letter vanishes and "Ωmega" gives "mega".
		default:
			sep()
		}
	}
	return strings.Trim(b.String(), "-"+keep)
}

// cut shortens s to at most n bytes (s is ASCII) and trims the characters in trim from the
// end, so a cut never leaves a trailing separator.
func cut(s string, n int, trim string) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.TrimRight(s, trim)
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// latinFold spells the lower-case letters of Latin-1 and Latin Extended-A in ASCII. It
// stands in for Unicode normalisation (golang.org/x/text is not a dependency); names from
// an IdP are overwhelmingly in these ranges ("Zoë", "Łukasz", "Müller", "Ørsted").
var latinFold = func() map[rune]string {
	groups := map[string]string{
		"a": "àáâãäåāăąª", "ae": "æ", "c": "çćĉċč", "d": "ďđð", "e": "èéêëēĕėęě",
		"g": "ĝğġģ", "h": "ĥħ", "i": "ìíîïĩīĭįı", "ij": "ĳ", "j": "ĵ", "k": "ķĸ",
		"l": "ĺļľŀł", "n": "ñńņňŉŋ", "o": "òóôõöøōŏőº", "oe": "œ", "r": "ŕŗř",
		"s": "śŝşšſ", "ss": "ß", "t": "ţťŧ", "th": "þ", "u": "ùúûüũūŭůűų", "w": "ŵ",
		"y": "ýÿŷ", "z": "źżž",
	}
	m := make(map[rune]string)
	for ascii, letters := range groups {
		for _, r := range letters {
			m[r] = ascii
		}
	}
	return m
}()
