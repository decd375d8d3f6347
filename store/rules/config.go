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
	// Groups are the rules; the first that matches a group wins.
	Groups []Rule
	// Mattermost, when not nil, turns the connector on (mattermost.go). It is left out
	// of the JSON form on purpose: that form is the rules fingerprint (sqlstore's
	// rulesFingerprint), and the connector's settings map no group.
	Mattermost *Mattermost `json:"-"`
}

// Rule maps the groups it matches to teams and channels. Names may contain "{suffix}" only
// in a rule that matches displayNamePrefix. A rule with neither teams nor channels maps
// the groups it matches to nothing, which is how to keep one group out of the
// unmapped_groups: team fallback.
type Rule struct {
	Match    Match
	Teams    []string
	Channels []ChannelRef
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
// they have joined its team, so the caller joins ref.Team first.
type Target struct {
	Teams    []string
	Channels []ChannelRef
	// Rule is the index of the matching rule in Config.Groups, RuleUnmapped (-1) for the
	// unmapped-groups fallback, or RuleNone (-2) when the group maps to nothing.
	Rule int
}

// Default returns the configuration used when no file is given: default team "everyone",
// town-square and off-topic joined with every team, unmapped groups become teams, DELETE
// deactivates, and no rules.
func Default() Config {
	return Config{
		DefaultTeam:    DefaultTeamName,
		UnmappedGroups: UnmappedTeam,
		DeleteMode:     DeleteDeactivate,
	}
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
	t := Target{Rule: index}
	for _, team := range r.Teams {
		if name := expand(team, suffix, ValidTeamName, TeamNameFrom); name != "" && !contains(t.Teams, name) {
			t.Teams = append(t.Teams, name)
		}
	}
	for _, ref := range r.Channels {
		out := ChannelRef{
			Team:    expand(ref.Team, suffix, ValidTeamName, TeamNameFrom),
			Channel: expand(ref.Channel, suffix, ValidChannelName, ChannelNameFrom),
		}
		if out.Team != "" && out.Channel != "" && !contains(t.Channels, out) {
			t.Channels = append(t.Channels, out)
		}
	}
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

	for i, r := range c.Groups {
		path := fmt.Sprintf("groups[%d]", i)
		if reason, shown := r.Match.problem(); reason != "" {
			add(location{"groups", i, "match", -1}, path+".match", shown, reason)
		}
		prefixRule := r.Match.DisplayNamePrefix != ""
		for j, team := range r.Teams {
			if reason := nameProblem(team, prefixRule, teamNameProblem, TeamNameFrom); reason != "" {
				add(location{"groups", i, "teams", j}, fmt.Sprintf("%s.teams[%d]", path, j), team, reason)
			}
		}
		for j, ref := range r.Channels {
			reason := ""
			switch {
			case ref.Team == "":
				reason = `must be written "team/channel"`
			case strings.Contains(ref.Channel, "/"):
				reason = `must be written "team/channel", with one "/"`
			case !prefixRule && strings.Contains(ref.String(), suffixPlaceholder):
				reason = `uses "{suffix}", which is only allowed in rules that match displayNamePrefix`
			default:
				if tr := nameProblem(ref.Team, prefixRule, teamNameProblem, TeamNameFrom); tr != "" {
					reason = fmt.Sprintf("has team %q, which %s", ref.Team, tr)
				} else if cr := nameProblem(ref.Channel, prefixRule, channelNameProblem, ChannelNameFrom); cr != "" {
					reason = fmt.Sprintf("has channel %q, which %s", ref.Channel, cr)
				}
			}
			if reason != "" {
				add(location{"groups", i, "channels", j}, fmt.Sprintf("%s.channels[%d]", path, j), ref.String(), reason)
			}
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
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
	DefaultTeam     *string         `yaml:"default_team"`
	DefaultChannels []string        `yaml:"default_channels"`
	UnmappedGroups  *string         `yaml:"unmapped_groups"`
	DeleteMode      *string         `yaml:"delete_mode"`
	Groups          []fileRule      `yaml:"groups"`
	Mattermost      *fileMattermost `yaml:"mattermost"`
}

type fileRule struct {
	Match    fileMatch `yaml:"match"`
	Teams    []string  `yaml:"teams"`
	Channels []string  `yaml:"channels"`
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
	for _, fr := range f.Groups {
		r := Rule{
			Match: Match(fr.Match),
			Teams: fr.Teams,
		}
		for _, ch := range fr.Channels {
			var ref ChannelRef
			if team, channel, ok := strings.Cut(ch, "/"); ok {
				ref = ChannelRef{Team: team, Channel: channel}
			} else {
				ref = ChannelRef{Channel: ch} // Validate reports the missing team
			}
			r.Channels = append(r.Channels, ref)
		}
		c.Groups = append(c.Groups, r)
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
	"rules.fileMatch", "match (a mapping)",
	"rules.fileMattermost", "mattermost (a mapping)",
)

func (e decodeError) Error() string {
	msg := unknownFieldRe.ReplaceAllStringFunc(e.err.Error(), func(m string) string {
		sub := unknownFieldRe.FindStringSubmatch(m)
		where := map[string]string{
			"fileConfig":     "at the top level (allowed: default_team, default_channels, unmapped_groups, delete_mode, groups, mattermost)",
			"fileMattermost": "in mattermost (allowed: " + mattermostKeys + ")",
			"fileRule":       "in a groups rule (allowed: match, teams, channels)",
			"fileMatch":      "in match (allowed: displayName, externalId, displayNamePrefix)",
		}[sub[2]]
		if where == "" {
			return m
		}
		return fmt.Sprintf("unknown key %q %s", sub[1], where)
	})
	return typeNames.Replace(msg)
}
