// Package rules holds the administrator's mapping from SCIM groups to chat teams and
// channels, and Mattermost's naming rules for the teams, channels, groups and usernames
// that Townsquare derives from SCIM data.
//
// The mapping is a small YAML file (see testdata/example.yaml). Every literal name in it
// is checked at start-up, so a typo stops the server with a message naming the file, the
// line, the value and the rule it breaks, instead of failing provisioning requests later.
// Names derived at request time (from a group's displayName) are always made valid and
// never cause an error.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// TownSquare and OffTopic are the channels every Mattermost team is created with
// (model.DefaultChannelName and app/teams createDefaultChannels).
const (
	TownSquare = "town-square"
	OffTopic   = "off-topic"
)

// Values of Config.UnmappedGroups.
const (
	UnmappedTeam   = "team"   // a group no rule matches becomes a team named after it
	UnmappedIgnore = "ignore" // a group no rule matches stays a SCIM group only
)

// Values of Config.DeleteMode: what DELETE /Users/{id} does.
const (
	DeleteDeactivate = "deactivate" // like Mattermost's DELETE /users/{id}: memberships are kept
	DeletePurge      = "purge"      // like DELETE /users/{id}?permanent=true
)

// Values of Target.Rule that are not a rule index.
const (
	RuleUnmapped = -1 // no rule matched; unmapped_groups: team made the group a team
	RuleNone     = -2 // no rule matched and unmapped_groups: ignore
)

// DefaultTeamName is the team users with no mapped team join when default_team is not set.
const DefaultTeamName = "everyone"

// suffixPlaceholder is the only template a team or channel name may contain. In a rule
// that matches displayNamePrefix it stands for the displayName after the prefix.
const suffixPlaceholder = "{suffix}"

// Config is the group→team/channel mapping.
type Config struct {
	// DefaultTeam is the team users with no mapped team join; created if missing.
	DefaultTeam string
	// DefaultChannels, when not empty, replaces off-topic in the channels joined on every
	// team join (see TeamJoinChannels), exactly as TeamSettings.ExperimentalDefaultChannels
	// does in Mattermost. Listing only town-square makes town-square the only one.
	DefaultChannels []string
	// UnmappedGroups says what happens to a group no rule matches: UnmappedTeam or
	// UnmappedIgnore.
	UnmappedGroups string
	// DeleteMode says what DELETE /Users/{id} does: DeleteDeactivate or DeletePurge.
	DeleteMode string
	// Teams and Channels declare teams and channels: their display names and whether
	// they are private. A team or channel a rule names without a declaration is open
	// (public), its display name its name (for a team made from an unmapped group, the
	// group's displayName). Declared ones are created when the rules are applied, and
	// an existing one takes the declared display name and privacy then.
	Teams    []TeamDecl
	Channels []ChannelDecl
	// Groups are the rules; the first that matches a group wins.
	Groups []Rule
	// MaxRemovalsOnReload bounds what a changed mapping may take away when a server
	// applies it at start-up (store ApplyRules): more removed memberships than this
	// and the change is refused unless the operator accepts it. It is left out of the
	// fingerprint (JSON) as it maps no group.
	MaxRemovalsOnReload RemovalLimit `json:"-"`
	// Mattermost, when not nil, turns the connector on (mattermost.go). It is left out
	// of the JSON form on purpose: that form is the rules fingerprint (sqlstore's
	// rulesFingerprint), and the connector's settings map no group.
	Mattermost *Mattermost `json:"-"`
}

// Rule maps the groups it matches to teams, channels and roles. Names may contain
// "{suffix}" only in a rule that matches displayNamePrefix. A rule that grants nothing
// maps the groups it matches to nothing, which is how to keep one group out of the
// unmapped_groups: team fallback.
//
// TeamAdmin and ChannelAdmin make the group's members admins of those teams and
// channels, and members of them (a team admin is a team member; a channel admin is a
// member of the channel and of its team). SystemAdmin makes them system admins. A role a
// group grants ends when the account's last group granting it does; a role granted by
// hand (source manual) is never changed by groups or rules.
//
// Guest makes the group's members guests (Mattermost's system_guest) in exactly the
// rule's Channels and those channels' teams. A guest rule names channels only: no
// teams and no role (Validate). An account in a guest group and in any member group
// (one whose target is not a guest's and grants something: Target.Kind) is a member.
type Rule struct {
	Match        Match
	Teams        []string
	Channels     []ChannelRef
	TeamAdmin    []string
	ChannelAdmin []ChannelRef
	SystemAdmin  bool
	Guest        bool
}

// TeamDecl declares a team of the mapping.
type TeamDecl struct {
	Name        string
	DisplayName string // "" means the name
	Private     bool   // Mattermost's invite-only type "I"; false is open, "O"
}

// ChannelDecl declares a channel of the mapping.
type ChannelDecl struct {
	ChannelRef
	DisplayName string // "" means the name
	Private     bool   // Mattermost's type "P"; false is public, "O"
}

// RemovalLimit is Config.MaxRemovalsOnReload: a count of memberships, or a percentage of
// the memberships held before the change. The file writes "10%" or "250".
type RemovalLimit struct {
	Count   int     // used when Percent is 0
	Percent float64 // 0 < Percent <= 100
}

// DefaultRemovalLimit is MaxRemovalsOnReload when the file does not set it.
var DefaultRemovalLimit = RemovalLimit{Percent: 10}

// Allows reports whether removing removed of total memberships is within the limit.
func (l RemovalLimit) Allows(removed, total int) bool {
	if l.Percent > 0 {
		return float64(removed) <= l.Percent/100*float64(total)
	}
	return removed <= l.Count
}

// String is the limit as the file writes it.
func (l RemovalLimit) String() string {
	if l.Percent > 0 {
		return strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(l.Count)
}

// parseRemovalLimit reads "10%", "2.5%" or "250".
func parseRemovalLimit(s string) (RemovalLimit, bool) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(f > 0 && f <= 100) {
			return RemovalLimit{}, false
		}
		return RemovalLimit{Percent: f}, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return RemovalLimit{}, false
	}
	return RemovalLimit{Count: n}, true
}

// Match selects groups. Exactly one field is set; all compare without regard to case.
type Match struct {
	DisplayName       string // the whole displayName
	ExternalID        string // the IdP's id for the group
	DisplayNamePrefix string // the start of the displayName; the rest is "{suffix}"
}

// ChannelRef names a channel in a team; it is written "team/channel" in the file.
type ChannelRef struct {
	Team, Channel string
}

// String returns the "team/channel" form.
func (r ChannelRef) String() string {
	if r.Team == "" {
		return r.Channel
	}
	return r.Team + "/" + r.Channel
}

// Target is what a group maps to: team names and team/channel refs, all valid names. A
// channel's team is not implied in Teams: Mattermost adds a user to a channel only after
// they have joined its team, so the caller joins ref.Team first. Teams holds every team
// of TeamAdmin and Channels every channel of ChannelAdmin (an admin is a member).
type Target struct {
	Teams        []string
	Channels     []ChannelRef
	TeamAdmin    []string
	ChannelAdmin []ChannelRef
	SystemAdmin  bool
	Guest        bool
	// TeamDisplayName is, for the unmapped-groups fallback, the display name of the
	// team made from the group (TeamDisplayNameFrom of its displayName); "" otherwise.
	TeamDisplayName string
	// Rule is the index of the matching rule in Config.Groups, RuleUnmapped (-1) for the
	// unmapped-groups fallback, or RuleNone (-2) when the group maps to nothing.
	Rule int
}

// Kinds of a Target (Target.Kind), stored with each group.
const (
	KindMember = "member" // grants teams, channels or roles to members
	KindGuest  = "guest"  // makes its members guests in its channels
	KindNone   = "none"   // grants nothing: membership changes nothing in the chat
)

// Kind says what membership of a group of this target makes an account: a guest rule's
// group is KindGuest, a group granting any team, channel or role KindMember, and one
// granting nothing KindNone. An account is a guest when it is in a KindGuest group and
// in no KindMember group.
func (t Target) Kind() string {
	switch {
	case t.Guest:
		return KindGuest
	case len(t.Teams) > 0 || len(t.Channels) > 0 || t.SystemAdmin:
		return KindMember
	}
	return KindNone
}

// Default returns the configuration used when no file is given: default team "everyone",
// town-square and off-topic joined with every team, unmapped groups become teams, DELETE
// deactivates, and no rules.
func Default() Config {
	return Config{
		DefaultTeam:    DefaultTeamName,
		UnmappedGroups: UnmappedTeam,
		DeleteMode:     DeleteDeactivate,

		MaxRemovalsOnReload: DefaultRemovalLimit,
	}
}

// TeamDecl returns the declaration of a team, if the file has one.
func (c Config) TeamDecl(name string) (TeamDecl, bool) {
	for _, d := range c.Teams {
		if d.Name == name {
			return d, true
		}
	}
	return TeamDecl{}, false
}

// ChannelDecl returns the declaration of a channel, if the file has one.
func (c Config) ChannelDecl(team, channel string) (ChannelDecl, bool) {
	for _, d := range c.Channels {
		if d.Team == team && d.Channel == channel {
			return d, true
		}
	}
	return ChannelDecl{}, false
}

// MaxDisplayNameRunes is the longest team or channel display name Mattermost takes
// (model.TeamDisplayNameMaxRunes, model.ChannelDisplayNameMaxRunes).
const MaxDisplayNameRunes = 64

// TeamDisplayNameFrom makes a team display name from a group's displayName: trimmed,
// control characters dropped, cut to MaxDisplayNameRunes runes; "" when nothing is left.
func TeamDisplayNameFrom(displayName string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(displayName) {
		if n == MaxDisplayNameRunes {
			break
		}
		if r == utf8.RuneError || unicode.IsControl(r) {
			continue
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// TeamJoinChannels lists the channels a user joins with every team, in order and without
// duplicates: town-square, then DefaultChannels if any, else off-topic. It mirrors
// App.DefaultChannelNames, which JoinDefaultChannels uses on a team join.
func (c Config) TeamJoinChannels() []string {
	extra := c.DefaultChannels
	if len(extra) == 0 {
		extra = []string{OffTopic}
	}
	return dedupe(append([]string{TownSquare}, extra...))
}

// Resolve maps a SCIM group to its target. The first rule that matches wins: displayName
// and externalId compare with the whole value, displayNamePrefix with the start of the
// displayName, all without regard to case, and "{suffix}" stands for the displayName after
// the prefix. Every name in the result is valid: literal names are used as written (they
// were checked by Validate) and names built from a template go through TeamNameFrom or
// ChannelNameFrom. A name that cannot be made valid (an empty suffix, say) is left out, so
// Resolve never fails.
//
// When no rule matches, unmapped_groups: team gives Target{Teams: [TeamNameFrom(displayName)],
// Rule: RuleUnmapped} (no teams if the displayName has no usable character), and
// unmapped_groups: ignore gives Target{Rule: RuleNone}.
func (c Config) Resolve(displayName, externalID string) Target {
	for i, r := range c.Groups {
		if suffix, ok := r.Match.match(displayName, externalID); ok {
			return r.target(i, suffix)
		}
	}
	if c.UnmappedGroups == UnmappedIgnore {
		return Target{Rule: RuleNone}
	}
	t := Target{Rule: RuleUnmapped}
	if name := TeamNameFrom(displayName); name != "" {
		t.Teams = []string{name}
		t.TeamDisplayName = TeamDisplayNameFrom(displayName)
	}
	return t
}

// match reports whether the group matches m and, for a prefix match, the suffix.
func (m Match) match(displayName, externalID string) (suffix string, ok bool) {
	switch {
	case m.DisplayName != "":
		return "", strings.EqualFold(displayName, m.DisplayName)
	case m.ExternalID != "":
		return "", strings.EqualFold(externalID, m.ExternalID)
	case m.DisplayNamePrefix != "":
		return cutPrefixFold(displayName, m.DisplayNamePrefix)
	}
	return "", false
}

// cutPrefixFold is strings.CutPrefix without regard to case (simple Unicode folding, as
// strings.EqualFold). It walks runes, because folding may change a rune's byte length.
func cutPrefixFold(s, prefix string) (string, bool) {
	for prefix != "" {
		if s == "" {
			return "", false
		}
		pr, pn := utf8.DecodeRuneInString(prefix)
		sr, sn := utf8.DecodeRuneInString(s)
		if !equalFoldRune(pr, sr) {
			return "", false
		}
		prefix, s = prefix[pn:], s[sn:]
	}
	return s, true
}

func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

func (r Rule) target(index int, suffix string) Target {
	t := Target{Rule: index, SystemAdmin: r.SystemAdmin, Guest: r.Guest}
	teams := func(names []string, into ...*[]string) {
		for _, team := range names {
			if name := expand(team, suffix, ValidTeamName, TeamNameFrom); name != "" {
				for _, l := range into {
					if !contains(*l, name) {
						*l = append(*l, name)
					}
				}
			}
		}
	}
	channels := func(refs []ChannelRef, into ...*[]ChannelRef) {
		for _, ref := range refs {
			out := ChannelRef{
				Team:    expand(ref.Team, suffix, ValidTeamName, TeamNameFrom),
				Channel: expand(ref.Channel, suffix, ValidChannelName, ChannelNameFrom),
			}
			if out.Team != "" && out.Channel != "" {
				for _, l := range into {
					if !contains(*l, out) {
						*l = append(*l, out)
					}
				}
			}
		}
	}
	teams(r.Teams, &t.Teams)
	teams(r.TeamAdmin, &t.Teams, &t.TeamAdmin)
	channels(r.Channels, &t.Channels)
	channels(r.ChannelAdmin, &t.Channels, &t.ChannelAdmin)
	return t
}

// expand turns a configured name into a valid one, or "" when that is impossible.
func expand(name, suffix string, valid func(string) bool, from func(string) string) string {
	if strings.Contains(name, suffixPlaceholder) {
		// A suffix with no usable character ("team-" or "team- !") names nothing; without
		// this check "eng-{suffix}" would quietly become "eng".
		if slug(suffix, "") == "" {
			return ""
		}
		name = strings.ReplaceAll(name, suffixPlaceholder, suffix)
	}
	if valid(name) {
		return name
	}
	return from(name)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func dedupe(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Problem is one thing wrong with a Config.
type Problem struct {
	Path   string // where, in the file's terms: "default_team", "groups[2].teams[0]", …
	Value  string // the offending value as written
	Reason string // what is wrong with it: the rule it breaks
	Line   int    // the line in the YAML file, when the Config came from Parse or Load; else 0

	loc location
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	b.WriteString(p.Path)
	if p.loc.field == "match" {
		fmt.Fprintf(&b, ": %s: %s", p.Value, p.Reason) // Value is already formatted
	} else {
		fmt.Fprintf(&b, ": %q %s", p.Value, p.Reason)
	}
	return b.String()
}

// location is a Problem's position in the YAML tree, for finding its line.
type location struct {
	key   string // top-level key
	rule  int    // index in groups, or -1
	field string // key within a rule, or ""
	index int    // index in a list, or -1
}

// ValidationError lists everything wrong with a Config.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].Error()
	}
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return fmt.Sprintf("%d problems: %s", len(e.Problems), strings.Join(msgs, "; "))
}

// Validate checks the configuration; the error is a *ValidationError listing every
// problem. Literal team and channel names must be valid Mattermost names (ValidTeamName,
// ValidChannelName), because a bad one would fail every request that uses it. A name may
// contain the template "{suffix}" only in a rule that matches displayNamePrefix, and, with
// a sample suffix, must give a valid name. Each rule's match sets exactly one of
// displayName, externalId and displayNamePrefix. unmapped_groups is team or ignore;
// delete_mode is deactivate or purge.
func (c Config) Validate() error {
	var ps []Problem
	add := func(loc location, path, value, reason string) {
		ps = append(ps, Problem{Path: path, Value: value, Reason: reason, loc: loc})
	}

	if reason := teamNameProblem(c.DefaultTeam); reason != "" {
		add(location{"default_team", -1, "", -1}, "default_team", c.DefaultTeam, withSuggestion(reason, c.DefaultTeam, TeamNameFrom))
	}
	for i, ch := range c.DefaultChannels {
		reason := withSuggestion(channelNameProblem(ch), ch, ChannelNameFrom)
		if strings.ContainsAny(ch, "{}") {
			reason = `contains a template; "{suffix}" is only allowed in rules that match displayNamePrefix`
		}
		if reason != "" {
			add(location{"default_channels", -1, "", i}, fmt.Sprintf("default_channels[%d]", i), ch, reason)
		}
	}
	if c.UnmappedGroups != UnmappedTeam && c.UnmappedGroups != UnmappedIgnore {
		add(location{"unmapped_groups", -1, "", -1}, "unmapped_groups", c.UnmappedGroups,
			fmt.Sprintf("is not allowed: use %q or %q", UnmappedTeam, UnmappedIgnore))
	}
	if c.DeleteMode != DeleteDeactivate && c.DeleteMode != DeletePurge {
		add(location{"delete_mode", -1, "", -1}, "delete_mode", c.DeleteMode,
			fmt.Sprintf("is not allowed: use %q or %q", DeleteDeactivate, DeletePurge))
	}
	if c.Mattermost != nil {
		ps = append(ps, c.Mattermost.problems()...)
	}

	joins := c.TeamJoinChannels()
	seenTeams := map[string]bool{}
	for i, d := range c.Teams {
		path := fmt.Sprintf("teams[%d]", i)
		reason := ""
		switch {
		case strings.ContainsAny(d.Name, "{}"):
			reason = `contains a template; a declaration names one team`
		case seenTeams[d.Name]:
			reason = "is declared twice"
		default:
			reason = withSuggestion(teamNameProblem(d.Name), d.Name, TeamNameFrom)
		}
		seenTeams[d.Name] = true
		if reason != "" {
			add(location{"teams", i, "name", -1}, path+".name", d.Name, reason)
		}
		if reason := displayNameProblem(d.DisplayName); reason != "" {
			add(location{"teams", i, "display_name", -1}, path+".display_name", d.DisplayName, reason)
		}
	}
	seenChannels := map[ChannelRef]bool{}
	for i, d := range c.Channels {
		path := fmt.Sprintf("channels[%d]", i)
		reason := channelRefProblem(d.ChannelRef, false)
		switch {
		case reason != "":
		case strings.ContainsAny(d.String(), "{}"):
			reason = `contains a template; a declaration names one channel`
		case seenChannels[d.ChannelRef]:
			reason = "is declared twice"
		case d.Private && contains(append([]string{TownSquare, OffTopic}, joins...), d.Channel):
			reason = "cannot be private: every team member joins it (town-square, off-topic and default_channels are public)"
		}
		seenChannels[d.ChannelRef] = true
		if reason != "" {
			add(location{"channels", i, "name", -1}, path+".name", d.String(), reason)
		}
		if reason := displayNameProblem(d.DisplayName); reason != "" {
			add(location{"channels", i, "display_name", -1}, path+".display_name", d.DisplayName, reason)
		}
	}

	for i, r := range c.Groups {
		path := fmt.Sprintf("groups[%d]", i)
		if reason, shown := r.Match.problem(); reason != "" {
			add(location{"groups", i, "match", -1}, path+".match", shown, reason)
		}
		prefixRule := r.Match.DisplayNamePrefix != ""
		for _, f := range []struct {
			key   string
			names []string
		}{{"teams", r.Teams}, {"team_admin", r.TeamAdmin}} {
			for j, team := range f.names {
				if reason := nameProblem(team, prefixRule, teamNameProblem, TeamNameFrom); reason != "" {
					add(location{"groups", i, f.key, j}, fmt.Sprintf("%s.%s[%d]", path, f.key, j), team, reason)
				}
			}
		}
		for _, f := range []struct {
			key  string
			refs []ChannelRef
		}{{"channels", r.Channels}, {"channel_admin", r.ChannelAdmin}} {
			for j, ref := range f.refs {
				if reason := channelRefProblem(ref, prefixRule); reason != "" {
					add(location{"groups", i, f.key, j}, fmt.Sprintf("%s.%s[%d]", path, f.key, j), ref.String(), reason)
				}
			}
		}
		if r.Guest {
			guestProblem := func(key, value string) {
				add(location{"groups", i, key, -1}, path+"."+key, value,
					"is not allowed in a guest rule: guests are members of exactly the rule's channels and their teams, and hold no admin role")
			}
			switch {
			case len(r.Teams) > 0:
				guestProblem("teams", strings.Join(r.Teams, ", "))
			case len(r.TeamAdmin) > 0:
				guestProblem("team_admin", strings.Join(r.TeamAdmin, ", "))
			case len(r.ChannelAdmin) > 0:
				guestProblem("channel_admin", refsString(r.ChannelAdmin))
			case r.SystemAdmin:
				guestProblem("system_admin", "true")
			case len(r.Channels) == 0:
				add(location{"groups", i, "guest", -1}, path+".guest", "true", "needs channels: a guest rule names the channels its guests are in")
			}
		}
	}
	if c.MaxRemovalsOnReload.Percent < 0 || c.MaxRemovalsOnReload.Percent > 100 || c.MaxRemovalsOnReload.Count < 0 {
		add(location{"max_removals_on_reload", -1, "", -1}, "max_removals_on_reload", c.MaxRemovalsOnReload.String(),
			`must be a number of memberships ("250") or a percentage of them ("10%", at most "100%")`)
	}
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// channelRefProblem checks a "team/channel" of a rule (prefixRule: it may use
// "{suffix}") or of a declaration.
func channelRefProblem(ref ChannelRef, prefixRule bool) string {
	switch {
	case ref.Team == "":
		return `must be written "team/channel"`
	case strings.Contains(ref.Channel, "/"):
		return `must be written "team/channel", with one "/"`
	case !prefixRule && strings.Contains(ref.String(), suffixPlaceholder):
		return `uses "{suffix}", which is only allowed in rules that match displayNamePrefix`
	}
	if tr := nameProblem(ref.Team, prefixRule, teamNameProblem, TeamNameFrom); tr != "" {
		return fmt.Sprintf("has team %q, which %s", ref.Team, tr)
	}
	if cr := nameProblem(ref.Channel, prefixRule, channelNameProblem, ChannelNameFrom); cr != "" {
		return fmt.Sprintf("has channel %q, which %s", ref.Channel, cr)
	}
	return ""
}

// displayNameProblem checks a declared display name ("" is allowed: the name is used).
func displayNameProblem(s string) string {
	switch {
	case s == "":
		return ""
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return "must be text without control characters"
	case strings.TrimSpace(s) != s:
		return "must not start or end with spaces"
	case utf8.RuneCountInString(s) > MaxDisplayNameRunes:
		return fmt.Sprintf("is longer than %d characters", MaxDisplayNameRunes)
	}
	return ""
}

func refsString(refs []ChannelRef) string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.String()
	}
	return strings.Join(out, ", ")
}

// problem says what is wrong with m, and m as it should be shown.
func (m Match) problem() (reason, shown string) {
	var set []string
	for _, kv := range []struct{ key, value string }{
		{"displayName", m.DisplayName}, {"externalId", m.ExternalID}, {"displayNamePrefix", m.DisplayNamePrefix},
	} {
		if kv.value != "" {
			set = append(set, fmt.Sprintf("%s: %q", kv.key, kv.value))
		}
	}
	shown = "{" + strings.Join(set, ", ") + "}"
	switch len(set) {
	case 0:
		return "must set exactly one of displayName, externalId, displayNamePrefix (to a non-empty value); it sets none", shown
	case 1:
		return "", shown
	}
	return fmt.Sprintf("must set exactly one of displayName, externalId, displayNamePrefix; it sets %d", len(set)), shown
}

// nameProblem checks a team or channel name that may be a template.
func nameProblem(name string, prefixRule bool, problem func(string) string, from func(string) string) string {
	if !strings.ContainsAny(name, "{}") {
		return withSuggestion(problem(name), name, from)
	}
	if strings.ContainsAny(strings.ReplaceAll(name, suffixPlaceholder, ""), "{}") {
		return `contains a template other than "{suffix}", the only one supported`
	}
	if !prefixRule {
		return `uses "{suffix}", which is only allowed in rules that match displayNamePrefix`
	}
	// The literal part must not break the rules on its own: try a harmless suffix.
	const sample = "x1"
	if reason := problem(strings.ReplaceAll(name, suffixPlaceholder, sample)); reason != "" {
		return fmt.Sprintf("is not a valid template: with the suffix %q it gives %q, which %s",
			sample, strings.ReplaceAll(name, suffixPlaceholder, sample), reason)
	}
	return ""
}

// withSuggestion adds the valid name closest to s, if there is one, to a reason.
func withSuggestion(reason, s string, from func(string) string) string {
	if reason == "" {
		return ""
	}
	if fixed := from(s); fixed != "" && fixed != s {
		return fmt.Sprintf("%s (did you mean %q?)", reason, fixed)
	}
	return reason
}

// fileConfig is the YAML form of Config. Pointers tell an absent key (default applies)
// from one set to "" (an error).
type fileConfig struct {
	DefaultTeam         *string         `yaml:"default_team"`
	DefaultChannels     []string        `yaml:"default_channels"`
	UnmappedGroups      *string         `yaml:"unmapped_groups"`
	DeleteMode          *string         `yaml:"delete_mode"`
	MaxRemovalsOnReload *string         `yaml:"max_removals_on_reload"`
	Teams               []fileTeam      `yaml:"teams"`
	Channels            []fileChannel   `yaml:"channels"`
	Groups              []fileRule      `yaml:"groups"`
	Mattermost          *fileMattermost `yaml:"mattermost"`
}

type fileTeam struct {
	Name        string `yaml:"name"`
	DisplayName string `yaml:"display_name"`
	Private     bool   `yaml:"private"`
}

type fileChannel struct {
	Name        string `yaml:"name"` // "team/channel"
	DisplayName string `yaml:"display_name"`
	Private     bool   `yaml:"private"`
}

type fileRule struct {
	Match        fileMatch `yaml:"match"`
	Teams        []string  `yaml:"teams"`
	Channels     []string  `yaml:"channels"`
	TeamAdmin    []string  `yaml:"team_admin"`
	ChannelAdmin []string  `yaml:"channel_admin"`
	SystemAdmin  bool      `yaml:"system_admin"`
	Guest        bool      `yaml:"guest"`
}

// channelRef reads "team/channel"; without a "/" the team is empty, which Validate
// reports.
func channelRef(s string) ChannelRef {
	if team, channel, ok := strings.Cut(s, "/"); ok {
		return ChannelRef{Team: team, Channel: channel}
	}
	return ChannelRef{Channel: s}
}

func channelRefs(list []string) []ChannelRef {
	var out []ChannelRef
	for _, s := range list {
		out = append(out, channelRef(s))
	}
	return out
}

type fileMatch struct {
	DisplayName       string `yaml:"displayName"`
	ExternalID        string `yaml:"externalId"`
	DisplayNamePrefix string `yaml:"displayNamePrefix"`
}

func (f fileConfig) config() Config {
	c := Default()
	if f.DefaultTeam != nil {
		c.DefaultTeam = *f.DefaultTeam
	}
	if len(f.DefaultChannels) > 0 {
		c.DefaultChannels = dedupe(f.DefaultChannels)
	}
	if f.UnmappedGroups != nil {
		c.UnmappedGroups = *f.UnmappedGroups
	}
	if f.DeleteMode != nil {
		c.DeleteMode = *f.DeleteMode
	}
	for _, ft := range f.Teams {
		c.Teams = append(c.Teams, TeamDecl(ft))
	}
	for _, fc := range f.Channels {
		c.Channels = append(c.Channels, ChannelDecl{ChannelRef: channelRef(fc.Name), DisplayName: fc.DisplayName, Private: fc.Private})
	}
	for _, fr := range f.Groups {
		c.Groups = append(c.Groups, Rule{
			Match:        Match(fr.Match),
			Teams:        fr.Teams,
			Channels:     channelRefs(fr.Channels),
			TeamAdmin:    fr.TeamAdmin,
			ChannelAdmin: channelRefs(fr.ChannelAdmin),
			SystemAdmin:  fr.SystemAdmin,
			Guest:        fr.Guest,
		})
	}
	return c
}

// Load reads the configuration file at path; "" means Default(). The file is decoded
// strictly (an unknown key is an error), absent keys take their defaults, and the result
// is validated. Errors name the file and, where they can, the line.
func Load(path string) (Config, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("rules config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("rules config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates a configuration, like Load without the file. Empty input
// gives Default(). A *ValidationError from Parse has Problem.Line set.
func Parse(data []byte) (Config, error) {
	var f fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, decodeError{err}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return Config{}, decodeError{err}
		}
		return Config{}, fmt.Errorf("line %d: a second YAML document; the file must hold one", extra.Line)
	}

	c := f.config()
	var ps []Problem // problems of values that could not be read at all
	if f.MaxRemovalsOnReload != nil {
		if l, ok := parseRemovalLimit(*f.MaxRemovalsOnReload); ok {
			c.MaxRemovalsOnReload = l
		} else {
			ps = append(ps, Problem{Path: "max_removals_on_reload", Value: *f.MaxRemovalsOnReload,
				Reason: `must be a number of memberships ("250") or a percentage of them ("10%", more than 0 and at most "100%")`,
				loc:    location{"max_removals_on_reload", -1, "", -1}})
		}
	}
	if f.Mattermost != nil {
		c.Mattermost, ps = f.Mattermost.config()
	}
	if err := c.Validate(); err != nil || len(ps) > 0 {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ps = append(ps, ve.Problems...)
		} else if err != nil {
			return Config{}, err
		}
		ve = &ValidationError{Problems: ps}
		var root yaml.Node
		if yaml.Unmarshal(data, &root) == nil {
			for i := range ve.Problems {
				ve.Problems[i].Line = lineOf(&root, ve.Problems[i].loc)
			}
		}
		return Config{}, ve
	}
	return c, nil
}

// lineOf finds the line of loc in a YAML tree, or 0.
func lineOf(root *yaml.Node, loc location) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n = mapValue(n, loc.key); n == nil {
		return 0
	}
	if loc.rule >= 0 {
		if n = seqItem(n, loc.rule); n == nil {
			return 0
		}
	}
	if loc.field != "" {
		if v := mapValue(n, loc.field); v != nil {
			n = v
		}
	}
	if loc.index >= 0 {
		if item := seqItem(n, loc.index); item != nil {
			n = item
		}
	}
	return n.Line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func seqItem(n *yaml.Node, i int) *yaml.Node {
	if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

// decodeError rewords yaml.v3's messages about unknown keys, which name Go types, in the
// file's terms.
type decodeError struct{ err error }

func (e decodeError) Unwrap() error { return e.err }

var unknownFieldRe = regexp.MustCompile(`field (.*) not found in type rules\.(\w+)`)

// typeNames says what the file's types are called in yaml.v3's "cannot unmarshal" errors.
var typeNames = strings.NewReplacer(
	"rules.fileConfig", "the top-level mapping of settings",
	"rules.fileRule", "a groups rule (a mapping)",
	"rules.fileTeam", "a teams declaration (a mapping)",
	"rules.fileChannel", "a channels declaration (a mapping)",
	"rules.fileMatch", "match (a mapping)",
	"rules.fileMattermost", "mattermost (a mapping)",
)

func (e decodeError) Error() string {
	msg := unknownFieldRe.ReplaceAllStringFunc(e.err.Error(), func(m string) string {
		sub := unknownFieldRe.FindStringSubmatch(m)
		where := map[string]string{
			"fileConfig":     "at the top level (allowed: default_team, default_channels, unmapped_groups, delete_mode, max_removals_on_reload, teams, channels, groups, mattermost)",
			"fileMattermost": "in mattermost (allowed: " + mattermostKeys + ")",
			"fileRule":       "in a groups rule (allowed: match, teams, channels, team_admin, channel_admin, system_admin, guest)",
			"fileTeam":       "in a teams declaration (allowed: name, display_name, private)",
			"fileChannel":    "in a channels declaration (allowed: name, display_name, private)",
			"fileMatch":      "in match (allowed: displayName, externalId, displayNamePrefix)",
		}[sub[2]]
		if where == "" {
			return m
		}
		return fmt.Sprintf("unknown key %q %s", sub[1], where)
	})
	return typeNames.Replace(msg)
}
