package jsonl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// Mattermost's limits that its import validators check (server/public/model: team.go,
// channel.go, user.go, role.go, scheme.go). Byte limits are len(), rune limits count
// characters, exactly as upstream counts each.
const (
	teamDisplayNameMaxRunes    = 64  // model.TeamDisplayNameMaxRunes
	teamDescriptionMaxLength   = 255 // model.TeamDescriptionMaxLength (bytes)
	channelDisplayNameMaxRunes = 64  // model.ChannelDisplayNameMaxRunes
	channelHeaderMaxRunes      = 1024
	channelPurposeMaxRunes     = 250
	userEmailMaxLength         = 128 // bytes
	userAuthDataMaxLength      = 128 // bytes
	userPasswordMaxLength      = 72  // bytes
	userNicknameMaxRunes       = 64
	userFirstNameMaxRunes      = 64
	userLastNameMaxRunes       = 64
	userPositionMaxRunes       = 128
	userNameMaxLength          = 64 // model.UserNameMaxLength; Townsquare keeps 3–22 (rules.ValidUsername)
	roleNameMaxLength          = 64 // model.RoleNameMaxLength
	schemeNameMaxLength        = 64 // model.SchemeNameMaxLength
)

// AuthServices are the auth_service values Mattermost's importer accepts
// (import_validators.go validAuthServices).
var AuthServices = []string{"", "email", "gitlab", "saml", "ldap", "google", "office365", "openid"}

// IdPAuthServices are the auth services whose auth_data is an identity provider's id for
// the person: an imported user's auth_data becomes its SCIM externalId only for these
// ("" and email sign in with a password and have no such id).
var IdPAuthServices = []string{"saml", "ldap", "openid", "office365", "google", "gitlab"}

// Roles Townsquare recognises; any other valid role name is a custom one.
const (
	roleSystemUser   = "system_user"
	roleSystemAdmin  = "system_admin"
	roleSystemGuest  = "system_guest"
	roleTeamUser     = "team_user"
	roleTeamAdmin    = "team_admin"
	roleTeamGuest    = "team_guest"
	roleChannelUser  = "channel_user"
	roleChannelAdmin = "channel_admin"
	roleChannelGuest = "channel_guest"
)

// Catalog is what validation asks the database: which teams and channels exist, for
// lines that name ones the file does not create. store.Chat has it.
type Catalog interface {
	ListTeams(ctx context.Context) ([]store.TeamSummary, error)
	TeamChannels(ctx context.Context, team string) ([]store.ChannelSummary, error)
}

// Summary is what a validation found: the lines by type, what Townsquare will skip or
// ignore, and every error (the first MaxErrors of them listed, all counted).
type Summary struct {
	Lines      int            // lines read
	Types      map[string]int // lines of each type
	Errors     []Error        // in line order, at most MaxErrors
	ErrorCount int            // every error, listed or not
	// Guests counts user lines of system guests, which are not imported: a Townsquare
	// guest is one the mapping's guest rules make (store/roles.go), and a guest imported
	// as a member would see more than a guest may.
	Guests int
	// AdminRoles counts system_admin, team_admin and channel_admin roles, imported as
	// role grants of source import (no group or rule ends them); CustomRoles other role
	// names, ignored (the membership is imported plain).
	AdminRoles  map[string]int
	CustomRoles int
	// Ignored counts the fields Townsquare does not keep ("user.notify_props"), which
	// are checked as Mattermost checks them and then left out.
	Ignored map[string]int
	// Attachments counts the files of a zip besides its .jsonl, which are not read.
	Attachments int
}

// Skipped are the types Townsquare counts and skips: it keeps teams, channels and users.
var Skipped = []string{TypeScheme, TypeRole, TypeEmoji, TypeBot, TypePost, TypeDirectChannel, TypeDirectPost}

// Warnings says, one line each, what the import leaves out: skipped line types, guests,
// custom roles, ignored fields and attachments. Every line is stable for the same file.
func (s *Summary) Warnings() []string {
	var w []string
	var parts []string
	for _, t := range Skipped {
		if n := s.Types[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t, n))
		}
	}
	if s.Attachments > 0 {
		parts = append(parts, fmt.Sprintf("attachment files %d", s.Attachments))
	}
	if len(parts) > 0 {
		w = append(w, "skipped what Townsquare does not keep: "+strings.Join(parts, ", "))
	}
	if s.Guests > 0 {
		w = append(w, fmt.Sprintf("%d guest user(s) (system_guest) not imported: Townsquare's guests are made by the mapping's guest rules from IdP groups, and importing one as a member would widen a guest's access", s.Guests))
	}
	if s.CustomRoles > 0 {
		w = append(w, fmt.Sprintf("%d custom role(s) ignored (the user, team or channel membership is imported plain)", s.CustomRoles))
	}
	if len(s.Ignored) > 0 {
		w = append(w, "fields Townsquare does not keep were ignored: "+formatCounts(s.Ignored))
	}
	return w
}

// formatCounts is "a ×2, b ×1", sorted by name.
func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// Validate reads every line of src and checks it as Mattermost's importer would, and
// what it names against the file and cat: every error is collected (see Summary), none
// stops it. teamChannels are the channels a team the file creates is made with
// (town-square, off-topic and the team-join channels), which user lines may name
// without a channel line. A read that fails, or an input beyond MaxInputBytes, is the
// returned error.
func Validate(ctx context.Context, src Source, cat Catalog, teamChannels []string) (*Summary, error) {
	rc, err := src()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	v := newValidator(ctx, cat, teamChannels)
	v.people = map[string]int{}
	r := NewReader(rc)
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le Error
		if err != nil && !errors.As(err, &le) {
			return nil, err
		}
		v.sum.Lines++
		if err != nil {
			v.addErr(le)
			if l.Type != "" {
				v.order(l) // a known type keeps the order checks going
			}
			continue
		}
		if err := v.line(l); err != nil {
			return nil, err
		}
	}
	if v.sum.Lines == 0 {
		v.addErr(Error{Message: "the file is empty: it needs at least the version line {\"type\":\"version\",\"version\":1}"})
	}
	return &v.sum, nil
}

type validator struct {
	ctx          context.Context
	cat          Catalog
	teamChannels []string
	dbTeams      map[string]bool            // nil until first asked
	dbChannels   map[string]map[string]bool // per team, filled when first asked
	fileTeams    map[string]bool
	fileChannels map[string]bool // team + "/" + channel
	// people are the keys that find an account (samePerson) → the line of the file
	// that has them; nil when not checked. Validate checks them; Import's later passes
	// check each line again (the file may have changed) but not these, which would
	// hold every person's keys once more.
	people  map[string]int
	maxRank int
	maxType string
	maxLine int
	sum     Summary
}

func newValidator(ctx context.Context, cat Catalog, teamChannels []string) *validator {
	if teamChannels == nil {
		teamChannels = []string{rules.TownSquare, rules.OffTopic}
	}
	return &validator{
		ctx: ctx, cat: cat, teamChannels: teamChannels,
		dbChannels: map[string]map[string]bool{}, fileTeams: map[string]bool{}, fileChannels: map[string]bool{},
		sum: Summary{Types: map[string]int{}, AdminRoles: map[string]int{}, Ignored: map[string]int{}},
	}
}

func (v *validator) addErr(e Error) {
	v.sum.ErrorCount++
	if len(v.sum.Errors) < MaxErrors {
		v.sum.Errors = append(v.sum.Errors, e)
	}
}

// order checks the version line's place and the order of types, and counts the line.
func (v *validator) order(l Line) {
	v.sum.Types[l.Type]++
	if l.Type == TypeVersion {
		if l.Number != 1 {
			v.addErr(Error{Line: l.Number, Field: "type", Message: "the version line must be the first line, and only the first"})
		}
		return
	}
	if l.Number == 1 {
		v.addErr(Error{Line: 1, Field: "type", Message: `the first line must be the version line {"type":"version","version":1}`})
	}
	rank := lineRank[l.Type]
	if rank < v.maxRank {
		v.addErr(Error{Line: l.Number, Field: "type", Message: fmt.Sprintf("a %s line after the %s line of line %d: the order is %s",
			l.Type, v.maxType, v.maxLine, orderText)})
		return
	}
	if rank > v.maxRank || v.maxType == "" {
		v.maxRank, v.maxType, v.maxLine = rank, l.Type, l.Number
	}
}

// line checks one line that parsed.
func (v *validator) line(l Line) error {
	v.order(l)
	e := &lineErrs{v: v, line: l.Number}
	switch l.Type {
	case TypeVersion:
		if *l.Version != 1 {
			e.add("version", fmt.Sprintf("is %d: only version 1 exists", *l.Version))
		}
	case TypeTeam:
		v.team(e, l.Team)
	case TypeChannel:
		return v.channel(e, l.Channel)
	case TypeUser:
		return v.user(e, l.User)
	}
	return nil
}

// lineErrs adds errors of one line.
type lineErrs struct {
	v    *validator
	line int
}

func (e *lineErrs) add(field, msg string) {
	e.v.addErr(Error{Line: e.line, Field: field, Message: msg})
}

// text checks an optional kept string: no NUL (no stored string holds one), at most max
// runes (or bytes when bytes), and not empty when nonEmpty.
func (e *lineErrs) text(field string, p *string, max int, bytes, nonEmpty bool) {
	if p == nil {
		return
	}
	s := *p
	n := utf8.RuneCountInString(s)
	unit := "characters"
	if bytes {
		n, unit = len(s), "bytes"
	}
	switch {
	case nonEmpty && s == "":
		e.add(field, "must not be empty")
	case n > max:
		e.add(field, fmt.Sprintf("is %d %s long; at most %d", n, unit, max))
	case strings.ContainsRune(s, 0):
		e.add(field, "must not hold a NUL character")
	}
}

func (v *validator) ignore(field string, present bool) {
	if present {
		v.sum.Ignored[field]++
	}
}

// team follows ValidateTeamImportData: a name Mattermost accepts once lower-cased (it
// forgives upper case on import), a display name of 1–64 characters, type O or I, a
// description of at most 255 bytes, a valid scheme name.
func (v *validator) team(e *lineErrs, t *Team) {
	if t.Name == nil {
		e.add("team.name", "is required")
	} else if p := rules.TeamNameProblem(strings.ToLower(*t.Name)); p != "" {
		e.add("team.name", p)
	} else {
		v.fileTeams[strings.ToLower(*t.Name)] = true
	}
	if t.DisplayName == nil {
		e.add("team.display_name", "is required")
	} else {
		e.text("team.display_name", t.DisplayName, teamDisplayNameMaxRunes, false, true)
	}
	if t.Type == nil {
		e.add("team.type", "is required")
	} else if *t.Type != store.TeamOpen && *t.Type != store.TeamInviteOnly {
		e.add("team.type", fmt.Sprintf("is %q: use %q (open) or %q (invite only)", *t.Type, store.TeamOpen, store.TeamInviteOnly))
	}
	if t.Description != nil && len(*t.Description) > teamDescriptionMaxLength {
		e.add("team.description", fmt.Sprintf("is %d bytes long; at most %d", len(*t.Description), teamDescriptionMaxLength))
	}
	e.scheme("team.scheme", t.Scheme)
	v.ignore("team.description", t.Description != nil)
	v.ignore("team.allow_open_invite", t.AllowOpenInvite != nil)
	v.ignore("team.scheme", t.Scheme != nil)
}

// scheme checks a scheme name as model.IsValidSchemeName: 1–64 of [a-z0-9_].
func (e *lineErrs) scheme(field string, p *string) {
	if p != nil && !validRoleName(*p, schemeNameMaxLength) {
		e.add(field, fmt.Sprintf("%q is not a scheme name: 1–%d of a-z, 0-9 and _", *p, schemeNameMaxLength))
	}
}

// channel follows ValidateChannelImportData (a display name left out or empty is the
// name), and its team must be in the file before it or in the database.
func (v *validator) channel(e *lineErrs, c *Channel) error {
	team := ""
	if c.Team == nil {
		e.add("channel.team", "is required")
	} else {
		team = strings.ToLower(*c.Team)
		ok, err := v.teamExists(team)
		if err != nil {
			return err
		}
		if !ok {
			e.add("channel.team", fmt.Sprintf("%q is no team of the file (before this line) or of the database", *c.Team))
			team = ""
		}
	}
	if c.Name == nil {
		e.add("channel.name", "is required")
	} else if p := rules.ChannelNameProblem(strings.ToLower(*c.Name)); p != "" {
		e.add("channel.name", p)
	} else if team != "" {
		v.fileChannels[team+"/"+strings.ToLower(*c.Name)] = true
	}
	if c.DisplayName != nil && *c.DisplayName != "" {
		e.text("channel.display_name", c.DisplayName, channelDisplayNameMaxRunes, false, false)
	}
	if c.Type == nil {
		e.add("channel.type", "is required")
	} else if *c.Type != store.ChannelOpen && *c.Type != store.ChannelPrivate {
		e.add("channel.type", fmt.Sprintf("is %q: use %q (public) or %q (private)", *c.Type, store.ChannelOpen, store.ChannelPrivate))
	}
	e.text("channel.header", c.Header, channelHeaderMaxRunes, false, false)
	e.text("channel.purpose", c.Purpose, channelPurposeMaxRunes, false, false)
	e.scheme("channel.scheme", c.Scheme)
	v.ignore("channel.header", c.Header != nil)
	v.ignore("channel.purpose", c.Purpose != nil)
	v.ignore("channel.scheme", c.Scheme != nil)
	v.ignore("channel.deleted_at", c.DeletedAt != nil)
	return nil
}

// samePerson reports a user line (imported: not a guest) whose username, email
// (case-insensitive) or auth_data (as externalId) an earlier line of the file has.
// ImportChat refuses two such lines in one batch, and in two batches the later one
// would find the account the earlier made or changed; so the file is refused whatever
// its batches, before anything is written.
func (v *validator) samePerson(e *lineErrs, u *User) {
	if v.people == nil {
		return
	}
	type personKey struct{ key, field, what string }
	var keys []personKey
	if u.Username != nil {
		keys = append(keys, personKey{"u:" + strings.ToLower(*u.Username), "user.username", "username"})
	}
	if u.Email != nil {
		keys = append(keys, personKey{"e:" + strings.ToLower(*u.Email), "user.email", "email"})
	}
	if u.AuthService != nil && contains(IdPAuthServices, *u.AuthService) && !blank(u.AuthData) {
		keys = append(keys, personKey{"x:" + *u.AuthData, "user.auth_data", "auth_data"})
	}
	for _, k := range keys {
		if prev, dup := v.people[k.key]; dup {
			e.add(k.field, fmt.Sprintf("is the %s of line %d too: one person, one line", k.what, prev))
		} else {
			v.people[k.key] = e.line
		}
	}
}

// user follows ValidateUserImportData and the team and channel checks it calls, then
// checks that every team and channel it names exists.
func (v *validator) user(e *lineErrs, u *User) error {
	if u.Username == nil {
		e.add("user.username", "is required")
	} else if p := usernameProblem(strings.ToLower(*u.Username)); p != "" {
		e.add("user.username", p)
	}
	if u.Email == nil {
		e.add("user.email", "is required")
	} else {
		e.text("user.email", u.Email, userEmailMaxLength, true, true)
		if *u.Email != "" && len(*u.Email) <= userEmailMaxLength && !validEmail(strings.ToLower(*u.Email)) {
			e.add("user.email", "is not an email address")
		}
	}
	if u.AuthData != nil && u.Password != nil {
		e.add("user.password", "must not be given with auth_data: a user signs in with one or the other")
	}
	e.text("user.auth_data", u.AuthData, userAuthDataMaxLength, true, false)
	if blank(u.AuthService) != blank(u.AuthData) {
		e.add("user.auth_service", "auth_service and auth_data are given together or not at all")
	}
	if u.AuthService != nil && !contains(AuthServices, *u.AuthService) {
		e.add("user.auth_service", fmt.Sprintf("%q is not an auth service Mattermost imports: use one of %s", *u.AuthService, strings.Join(AuthServices[1:], ", ")))
	}
	if u.Password != nil {
		if *u.Password == "" {
			e.add("user.password", "must not be empty")
		} else if len(*u.Password) > userPasswordMaxLength {
			e.add("user.password", fmt.Sprintf("is %d bytes long; at most %d", len(*u.Password), userPasswordMaxLength))
		}
	}
	e.text("user.nickname", u.Nickname, userNicknameMaxRunes, false, false)
	e.text("user.first_name", u.FirstName, userFirstNameMaxRunes, false, false)
	e.text("user.last_name", u.LastName, userLastNameMaxRunes, false, false)
	e.text("user.position", u.Position, userPositionMaxRunes, false, false)
	e.text("user.locale", u.Locale, store.MaxNameLength, false, false)
	if u.Roles != nil && !validUserRoles(*u.Roles) {
		e.add("user.roles", rolesProblem(*u.Roles))
	}
	if u.DeleteAt != nil && *u.DeleteAt < 0 {
		e.add("user.delete_at", "must be 0 (active) or the deactivation time in milliseconds")
	}
	guest := v.guestRoles(e, u)
	v.notifyProps(e, u)
	v.userIgnored(u)
	if guest {
		v.sum.Guests++
	} else {
		v.samePerson(e, u)
	}
	if u.Teams == nil {
		return nil
	}
	for i, t := range *u.Teams {
		tf := func() string { return fmt.Sprintf("user.teams[%d]", i) } // built only for an error
		team := ""
		if t.Name == nil {
			e.add(tf()+".name", "is required")
		} else {
			team = strings.ToLower(*t.Name)
			ok, err := v.teamExists(team)
			if err != nil {
				return err
			}
			if !ok {
				e.add(tf()+".name", fmt.Sprintf("%q is no team of the file or of the database", *t.Name))
				team = ""
			}
		}
		if t.Roles != nil && !validUserRoles(*t.Roles) {
			e.add(tf()+".roles", rolesProblem(*t.Roles))
		}
		if t.Theme != nil && strings.Trim(*t.Theme, " \t\r") != "" {
			var m map[string]string
			if json.Unmarshal([]byte(*t.Theme), &m) != nil {
				e.add(tf()+".theme", "is not a JSON object of strings")
			}
		}
		v.ignore("user.teams.theme", t.Theme != nil)
		if !guest {
			v.countRoles(t.Roles, roleTeamUser)
		}
		if t.Channels == nil {
			continue
		}
		for j, c := range *t.Channels {
			cf := func() string { return fmt.Sprintf("%s.channels[%d]", tf(), j) }
			if c.Name == nil {
				e.add(cf()+".name", "is required")
			} else if team != "" {
				ok, err := v.channelExists(team, strings.ToLower(*c.Name))
				if err != nil {
					return err
				}
				if !ok {
					e.add(cf()+".name", fmt.Sprintf("%q is no channel of team %q in the file or the database", *c.Name, team))
				}
			}
			if c.Roles != nil && !validUserRoles(*c.Roles) {
				e.add(cf()+".roles", rolesProblem(*c.Roles))
			}
			if np := c.NotifyProps; np != nil {
				e.oneOf(cf()+".notify_props.desktop", np.Desktop, "default", "all", "mention", "none")
				e.oneOf(cf()+".notify_props.mobile", np.Mobile, "default", "all", "mention", "none")
				e.oneOf(cf()+".notify_props.mark_unread", np.MarkUnread, "all", "mention")
			}
			if !guest {
				v.countRoles(c.Roles, roleChannelUser)
			}
			v.ignore("user.teams.channels.notify_props", c.NotifyProps != nil)
			v.ignore("user.teams.channels.favorite", c.Favorite != nil)
			v.ignore("user.teams.channels.counts", c.MentionCount != nil || c.MentionCountRoot != nil ||
				c.UrgentMentionCount != nil || c.MsgCount != nil || c.MsgCountRoot != nil || c.LastViewedAt != nil)
		}
	}
	if !guest {
		v.countRoles(u.Roles, roleSystemUser)
	}
	return nil
}

// guestRoles is validateGuestRoles: a system guest in any team must be a team guest in
// every team and a channel guest in every channel it names, and a user that is a guest
// of every team (or every channel) must be a system guest. It reports whether the user
// is a system guest.
func (v *validator) guestRoles(e *lineErrs, u *User) bool {
	if u.Roles == nil {
		return false
	}
	sysGuest := inRole(*u.Roles, roleSystemGuest)
	if u.Teams == nil || len(*u.Teams) == 0 {
		return sysGuest
	}
	var teamGuests, channelGuests, channels int
	for _, t := range *u.Teams {
		if t.Roles != nil && inRole(*t.Roles, roleTeamGuest) {
			teamGuests++
		}
		if t.Channels != nil {
			for _, c := range *t.Channels {
				channels++
				if c.Roles != nil && inRole(*c.Roles, roleChannelGuest) {
					channelGuests++
				}
			}
		}
	}
	teamGuest := teamGuests == len(*u.Teams)
	channelGuest := channels > 0 && channelGuests == channels
	switch {
	case sysGuest && !teamGuest:
		e.add("user.teams", fmt.Sprintf("a system_guest must be team_guest in every team: %d of %d teams say so", teamGuests, len(*u.Teams)))
	case sysGuest && channels > 0 && !channelGuest:
		e.add("user.teams", fmt.Sprintf("a system_guest must be channel_guest in every channel: %d of %d channels say so", channelGuests, channels))
	case !sysGuest && teamGuest:
		e.add("user.roles", "a team_guest in every team must be a system_guest")
	case !sysGuest && channelGuest:
		e.add("user.roles", "a channel_guest in every channel must be a system_guest")
	}
	return sysGuest
}

// countRoles counts the admin roles of a kept user, and the custom roles Townsquare
// does not keep.
func (v *validator) countRoles(p *string, plain string) {
	if p == nil {
		return
	}
	for _, r := range strings.Fields(*p) {
		switch r {
		case plain:
		case roleSystemAdmin, roleTeamAdmin, roleChannelAdmin:
			v.sum.AdminRoles[r]++
		default:
			v.sum.CustomRoles++
		}
	}
}

// notifyProps checks a user's notification settings and preferences as upstream does.
func (v *validator) notifyProps(e *lineErrs, u *User) {
	tf := []string{"true", "false"}
	if np := u.NotifyProps; np != nil {
		e.oneOf("user.notify_props.desktop", np.Desktop, "all", "mention", "none")
		e.oneOf("user.notify_props.desktop_sound", np.DesktopSound, tf...)
		e.oneOf("user.notify_props.email", np.Email, tf...)
		e.oneOf("user.notify_props.mobile", np.Mobile, "all", "mention", "none")
		e.oneOf("user.notify_props.mobile_push_status", np.MobilePushStatus, "online", "away", "offline")
		e.oneOf("user.notify_props.channel", np.ChannelTrigger, tf...)
		e.oneOf("user.notify_props.comments", np.CommentsTrigger, "any", "root", "never")
	}
	e.oneOf("user.feature_enabled_markdown_preview", u.UseMarkdownPreview, tf...)
	e.oneOf("user.formatting", u.UseFormatting, tf...)
	e.oneOf("user.show_unread_section", u.ShowUnreadSection, tf...)
	e.oneOf("user.email_interval", u.EmailInterval, "immediately", "fifteen", "hour")
}

func (v *validator) userIgnored(u *User) {
	v.ignore("user.profile_image", u.ProfileImage != nil)
	v.ignore("user.notify_props", u.NotifyProps != nil)
	v.ignore("user.preferences", u.UseMarkdownPreview != nil || u.UseFormatting != nil || u.ShowUnreadSection != nil ||
		u.Theme != nil || u.UseMilitaryTime != nil || u.CollapsePreviews != nil || u.MessageDisplay != nil ||
		u.CollapseConsec != nil || u.ColorizeUsernames != nil || u.ChannelDisplayMode != nil || u.TutorialStep != nil ||
		u.EmailInterval != nil)
}

func (e *lineErrs) oneOf(field string, p *string, allowed ...string) {
	if p != nil && !contains(allowed, *p) {
		e.add(field, fmt.Sprintf("is %q: use one of %s", *p, strings.Join(allowed, ", ")))
	}
}

// teamExists reports whether team is in the file (so far) or the database.
func (v *validator) teamExists(team string) (bool, error) {
	if v.fileTeams[team] {
		return true, nil
	}
	if !rules.ValidTeamName(team) {
		return false, nil
	}
	if v.dbTeams == nil {
		v.dbTeams = map[string]bool{}
		if v.cat != nil {
			ts, err := v.cat.ListTeams(v.ctx)
			if err != nil {
				return false, fmt.Errorf("list teams: %w", err)
			}
			for _, t := range ts {
				v.dbTeams[t.Name] = true
			}
		}
	}
	return v.dbTeams[team], nil
}

// channelExists reports whether the channel of team is in the file, is one every team
// the file creates is made with, or is in the database.
func (v *validator) channelExists(team, channel string) (bool, error) {
	if v.fileChannels[team+"/"+channel] || (v.fileTeams[team] && contains(v.teamChannels, channel)) {
		return true, nil
	}
	if !rules.ValidChannelName(channel) {
		return false, nil
	}
	chs, ok := v.dbChannels[team]
	if !ok {
		chs = map[string]bool{}
		if ok, err := v.teamExists(team); err != nil {
			return false, err
		} else if ok && v.dbTeams[team] && v.cat != nil {
			list, err := v.cat.TeamChannels(v.ctx, team)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return false, fmt.Errorf("list channels of %q: %w", team, err)
			}
			for _, c := range list {
				chs[c.Name] = true
			}
		}
		v.dbChannels[team] = chs
	}
	return chs[channel], nil
}

// usernameProblem checks a (lower-cased) username: model.IsValidUsername (1–64 of
// [a-z0-9.-_], not a reserved name), then Townsquare's stricter rule, the webapp's
// (rules.ValidUsername: 3–22, starting with a letter), which every chat username it
// keeps follows.
func usernameProblem(s string) string {
	if s == "" || len(s) > userNameMaxLength {
		return fmt.Sprintf("must be 1–%d characters", userNameMaxLength)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return "may hold only a-z, 0-9, '.', '-' and '_'"
		}
	}
	if !rules.ValidUsername(s) {
		switch s {
		case "all", "channel", "matterbot", "system":
			return fmt.Sprintf("%q is reserved", s)
		}
		return "Townsquare keeps usernames of 3–22 characters starting with a letter (the Mattermost webapp's rule)"
	}
	return ""
}

// validRoleName is model.IsValidRoleName (and IsValidSchemeName): 1–max of [a-z0-9_].
func validRoleName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validUserRoles is model.IsValidUserRoles: space-separated valid role names, and not
// system_admin alone (upstream refuses it to catch a forgotten system_user).
func validUserRoles(s string) bool {
	roles := strings.Fields(s)
	for _, r := range roles {
		if !validRoleName(r, roleNameMaxLength) {
			return false
		}
	}
	return !(len(roles) == 1 && roles[0] == roleSystemAdmin)
}

func rolesProblem(s string) string {
	roles := strings.Fields(s)
	if len(roles) == 1 && roles[0] == roleSystemAdmin {
		return `"system_admin" alone is refused: write "system_admin system_user"`
	}
	return fmt.Sprintf("%q is not a list of role names (space-separated, each 1–%d of a-z, 0-9 and _)", s, roleNameMaxLength)
}

// inRole is model.IsInRole: role is one of the space-separated roles.
func inRole(roles, role string) bool {
	for _, r := range strings.Split(roles, " ") {
		if r == role {
			return true
		}
	}
	return false
}

func blank(p *string) bool { return p == nil || *p == "" }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validEmail follows model.IsValidEmail (server/public/model/utils.go), which the
// importer's user.IsValid applies when it saves the user (the line validator itself only
// checks the length): one plain address as net/mail reads it, with no display name and
// one "@". Checked here so that a file Mattermost would stop on half-way is refused
// before anything is written.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Count(a.Address, "@") == 1
}
