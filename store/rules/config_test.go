package rules

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	c := Default()
	want := Config{DefaultTeam: "everyone", UnmappedGroups: "team", DeleteMode: "deactivate", MaxRemovalsOnReload: DefaultRemovalLimit}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Default() = %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if got := c.TeamJoinChannels(); !reflect.DeepEqual(got, []string{"town-square", "off-topic"}) {
		t.Fatalf("TeamJoinChannels() = %v", got)
	}
	loaded, err := Load("")
	if err != nil || !reflect.DeepEqual(loaded, want) {
		t.Fatalf(`Load("") = %+v, %v; want Default()`, loaded, err)
	}
}

func exampleConfig(t testing.TB) Config {
	t.Helper()
	c, err := Load(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoadExample(t *testing.T) {
	want := Config{
		DefaultTeam:         "everyone",
		DefaultChannels:     []string{"announcements"},
		UnmappedGroups:      "team",
		DeleteMode:          "deactivate",
		MaxRemovalsOnReload: DefaultRemovalLimit,
		Groups: []Rule{
			{
				Match:    Match{DisplayName: "Engineering"},
				Teams:    []string{"engineering"},
				Channels: []ChannelRef{{"engineering", "backend"}, {"everyone", "eng-news"}},
			},
			{
				Match:    Match{ExternalID: "00g1abcd"},
				Channels: []ChannelRef{{"everyone", "leads"}},
			},
			{
				Match: Match{DisplayNamePrefix: "team-"},
				Teams: []string{"{suffix}"},
			},
			{
				Match:        Match{DisplayName: "Eng Leads"},
				TeamAdmin:    []string{"engineering"},
				ChannelAdmin: []ChannelRef{{"engineering", "incidents"}},
			},
			{Match: Match{DisplayName: "Chat Admins"}, SystemAdmin: true},
			{
				Match:    Match{DisplayNamePrefix: "guest-"},
				Guest:    true,
				Channels: []ChannelRef{{"partners", "{suffix}"}},
			},
		},
		Teams:    []TeamDecl{{Name: "engineering", DisplayName: "Engineering", Private: true}},
		Channels: []ChannelDecl{{ChannelRef: ChannelRef{"engineering", "incidents"}, DisplayName: "Incidents", Private: true}},
	}
	got := exampleConfig(t)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load(example.yaml) =\n%+v\nwant\n%+v", got, want)
	}
	if j := got.TeamJoinChannels(); !reflect.DeepEqual(j, []string{"town-square", "announcements"}) {
		t.Fatalf("TeamJoinChannels() = %v", j)
	}
}

func TestTeamJoinChannels(t *testing.T) {
	for _, tc := range []struct {
		defaults []string
		want     []string
	}{
		{nil, []string{"town-square", "off-topic"}},
		{[]string{}, []string{"town-square", "off-topic"}},
		{[]string{"announcements"}, []string{"town-square", "announcements"}},
		{[]string{"town-square"}, []string{"town-square"}},
		{[]string{"a", "town-square", "a", "b"}, []string{"town-square", "a", "b"}},
		{[]string{"off-topic", "x"}, []string{"town-square", "off-topic", "x"}},
	} {
		c := Default()
		c.DefaultChannels = tc.defaults
		if got := c.TeamJoinChannels(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DefaultChannels %q: TeamJoinChannels() = %q, want %q", tc.defaults, got, tc.want)
		}
	}
}

func TestParseDefaultsAndNormalisation(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       Config
	}{
		{"empty", "", Default()},
		{"comments only", "# nothing here\n", Default()},
		{"empty mapping", "{}", Default()},
		{"null values take defaults", "default_team:\nunmapped_groups: ~\ndelete_mode: null\ngroups:\n", Default()},
		{"partial", "delete_mode: purge\n", Config{DefaultTeam: "everyone", UnmappedGroups: "team", DeleteMode: "purge", MaxRemovalsOnReload: DefaultRemovalLimit}},
		{"empty default_channels is off-topic", "default_channels: []\n", Default()},
		{
			"default_channels deduped",
			"default_team: all-staff\ndefault_channels: [news, town-square, news]\nunmapped_groups: ignore\n",
			Config{DefaultTeam: "all-staff", DefaultChannels: []string{"news", "town-square"}, UnmappedGroups: "ignore", DeleteMode: "deactivate", MaxRemovalsOnReload: DefaultRemovalLimit},
		},
		{
			"numbers are names",
			"groups:\n  - match: {externalId: 42}\n    teams: [2024]\n",
			Config{DefaultTeam: "everyone", UnmappedGroups: "team", DeleteMode: "deactivate", MaxRemovalsOnReload: DefaultRemovalLimit,
				Groups: []Rule{{Match: Match{ExternalID: "42"}, Teams: []string{"2024"}}}},
		},
		{
			"rule that maps to nothing",
			"groups:\n  - match: {displayName: Contractors}\n",
			Config{DefaultTeam: "everyone", UnmappedGroups: "team", DeleteMode: "deactivate", MaxRemovalsOnReload: DefaultRemovalLimit,
				Groups: []Rule{{Match: Match{DisplayName: "Contractors"}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestParseDecodeErrors covers input that is not a well-formed config at all.
func TestParseDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown top-level key", "default_team: everyone\ndefault_teams: x\n",
			[]string{"line 2", `unknown key "default_teams" at the top level`, "default_team, default_channels"}},
		{"unknown rule key", "groups:\n  - match: {displayName: A}\n    team: [a]\n",
			[]string{"line 3", `unknown key "team" in a groups rule`, "match, teams, channels"}},
		{"unknown match key", "groups:\n  - match: {display_name: A}\n",
			[]string{"line 2", `unknown key "display_name" in match`, "displayNamePrefix"}},
		{"wrong type", "groups:\n  - match: {displayName: A}\n    teams: engineering\n",
			[]string{"line 3", "enginee", "[]string"}},
		{"not a mapping", "- a\n- b\n", []string{"line 1"}},
		{"syntax", "groups: [\n", []string{"yaml:"}},
		{"duplicate key", "delete_mode: purge\ndelete_mode: deactivate\n", []string{"line 2", "delete_mode", "already defined"}},
		{"two documents", "delete_mode: purge\n---\ndelete_mode: deactivate\n", []string{"line 2", "second YAML document"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "rules.file") {
				t.Errorf("error %q leaks a Go type name", err)
			}
		})
	}
}

// TestValidationErrors has one case per rule Validate enforces. Each error must name the
// place, the offending value and the rule, and (coming from Parse) the line.
func TestValidationErrors(t *testing.T) {
	rule := func(lines ...string) string { return "groups:\n" + strings.Join(lines, "\n") + "\n" }
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"default_team invalid characters", "default_team: Help Desk\n",
			[]string{"line 1", `default_team: "Help Desk"`, "lower-case", `did you mean "team-help-desk"`}},
		{"default_team reserved prefix", "default_team: helpdesk\n",
			[]string{`"helpdesk"`, `reserved word "help"`, "playbooks"}},
		{"default_team empty", "default_team: ''\n", []string{`default_team: ""`, "is empty"}},
		{"default_team too short", "default_team: x\n", []string{`"x"`, "shorter than 2"}},
		{"default_team too long", "default_team: " + strings.Repeat("a", 65) + "\n", []string{strings.Repeat("a", 65), "at most 64"}},
		{"default_channels invalid", "default_channels: [news, Announcements]\n",
			[]string{"line 1", `default_channels[1]: "Announcements"`, `did you mean "announcements"`}},
		{"default_channels template", "default_channels: ['{suffix}']\n", []string{`"{suffix}"`, "template"}},
		{"default_channels DM shape", "default_channels: [" + id26a + "__" + id26b + "]\n", []string{id26a, "direct-message"}},
		{"unmapped_groups", "unmapped_groups: teams\n", []string{`unmapped_groups: "teams"`, `use "team" or "ignore"`}},
		{"unmapped_groups empty", "unmapped_groups: ''\n", []string{`unmapped_groups: ""`, `use "team" or "ignore"`}},
		{"delete_mode", "delete_mode: Purge\n", []string{`delete_mode: "Purge"`, `use "deactivate" or "purge"`}},
		{"match missing", rule("  - teams: [a1]"), []string{"line 2", "groups[0].match", "exactly one", "sets none"}},
		{"match empty value", rule("  - match: {displayName: ''}"), []string{"groups[0].match", "sets none"}},
		{"match two keys", rule("  - match: {displayName: Eng, externalId: 00g1}"),
			[]string{"line 2", `groups[0].match: {displayName: "Eng", externalId: "00g1"}`, "sets 2"}},
		{"team invalid", rule("  - match: {displayName: A}", "    teams: [ok-team, Engineering]"),
			[]string{"line 3", `groups[0].teams[1]: "Engineering"`, `did you mean "engineering"`}},
		{"team reserved", rule("  - match: {displayName: A}", "    teams: [api-team]"),
			[]string{`groups[0].teams[0]: "api-team"`, `reserved word "api"`}},
		{"team template outside prefix rule", rule("  - match: {externalId: A}", "    teams: ['{suffix}']"),
			[]string{`groups[0].teams[0]: "{suffix}"`, "only allowed in rules that match displayNamePrefix"}},
		{"unknown template", rule("  - match: {displayNamePrefix: A}", "    teams: ['{name}']"),
			[]string{`"{name}"`, `other than "{suffix}"`}},
		{"stray brace", rule("  - match: {displayNamePrefix: A}", "    teams: ['{suffix}}']"),
			[]string{`"{suffix}}"`, `other than "{suffix}"`}},
		{"template with bad literal", rule("  - match: {displayNamePrefix: A}", "    teams: ['Eng-{suffix}']"),
			[]string{`"Eng-{suffix}"`, `gives "Eng-x1"`, "lower-case"}},
		{"template with reserved literal", rule("  - match: {displayNamePrefix: A}", "    teams: ['admin-{suffix}']"),
			[]string{`"admin-{suffix}"`, `reserved word "admin"`}},
		{"channel without team", rule("  - match: {displayName: A}", "    channels: [backend]"),
			[]string{"line 3", `groups[0].channels[0]: "backend"`, `"team/channel"`}},
		{"channel with two slashes", rule("  - match: {displayName: A}", "    channels: [eng/back/end]"),
			[]string{`"eng/back/end"`, `one "/"`}},
		{"channel with empty team", rule("  - match: {displayName: A}", "    channels: [/backend]"),
			[]string{`"backend"`, `"team/channel"`}},
		{"channel bad team", rule("  - match: {displayName: A}", "    channels: [Eng/backend]"),
			[]string{`"Eng/backend"`, `has team "Eng"`, `did you mean "eng"`}},
		{"channel reserved team", rule("  - match: {displayName: A}", "    channels: [helpdesk/tickets]"),
			[]string{`"helpdesk/tickets"`, `reserved word "help"`}},
		{"channel bad channel", rule("  - match: {displayName: A}", "    channels: [eng/Back End]"),
			[]string{`"eng/Back End"`, `has channel "Back End"`, `did you mean "back-end"`}},
		{"channel empty channel", rule("  - match: {displayName: A}", "    channels: [eng/]"),
			[]string{`"eng/"`, `has channel ""`, "is empty"}},
		{"channel GM shape", rule("  - match: {displayName: A}", "    channels: [eng/"+hex40+"]"),
			[]string{hex40, "group-message"}},
		{"channel template outside prefix rule", rule("  - match: {displayName: A}", "    channels: ['eng/{suffix}']"),
			[]string{`"eng/{suffix}"`, "only allowed in rules that match displayNamePrefix"}},
		{"channel team template outside prefix rule", rule("  - match: {displayName: A}", "    channels: ['{suffix}/general']"),
			[]string{`"{suffix}/general"`, "displayNamePrefix"}},
		{"second rule", rule("  - match: {displayName: A}", "  - match: {displayName: B}", "    teams: [b_b]"),
			[]string{"line 4", `groups[1].teams[0]: "b_b"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want a *ValidationError", err)
			}
			if len(ve.Problems) != 1 {
				t.Errorf("%d problems, want 1: %v", len(ve.Problems), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValidTemplates(t *testing.T) {
	const yaml = `
groups:
  - match: {displayNamePrefix: "proj-"}
    teams: ["{suffix}", "proj-{suffix}", "{suffix}-{suffix}"]
    channels: ["projects/{suffix}", "{suffix}/general", "{suffix}/{suffix}_chat"]
`
	if _, err := Parse([]byte(yaml)); err != nil {
		t.Fatal(err)
	}
}

func TestValidationErrorListsEveryProblem(t *testing.T) {
	const yaml = `default_team: Everyone
delete_mode: wipe
groups:
  - match: {displayName: Eng}
    teams: [Eng]
    channels: [eng/Backend]
`
	_, err := Parse([]byte(yaml))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	wantLines := []int{1, 2, 5, 6}
	if len(ve.Problems) != len(wantLines) {
		t.Fatalf("problems: %v", err)
	}
	for i, p := range ve.Problems {
		if p.Line != wantLines[i] {
			t.Errorf("problem %d (%s) on line %d, want %d", i, p.Path, p.Line, wantLines[i])
		}
	}
	if !strings.HasPrefix(err.Error(), "4 problems: line 1: default_team") {
		t.Errorf("error = %q", err)
	}
}

func TestValidateProgrammaticConfig(t *testing.T) {
	err := Config{}.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Config{}.Validate() = %v", err)
	}
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
		if p.Line != 0 {
			t.Errorf("%s has line %d without a file", p.Path, p.Line)
		}
	}
	if want := []string{"default_team", "unmapped_groups", "delete_mode"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("problems at %v, want %v", paths, want)
	}
	if strings.Contains(err.Error(), "line ") {
		t.Errorf("error %q mentions a line", err)
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(bad, []byte("groups:\n  - match: {displayName: A}\n    teams: [Help]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, w := range []string{bad, "line 3", `groups[0].teams[0]: "Help"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("Load error does not wrap the *ValidationError")
	}

	missing := filepath.Join(dir, "nope.yaml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v", err)
	}

	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("delete: purge\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(unknown); err == nil || !strings.Contains(err.Error(), unknown) || !strings.Contains(err.Error(), `"delete"`) {
		t.Errorf("Load(unknown key) = %v", err)
	}
}

func TestResolveExample(t *testing.T) {
	c := exampleConfig(t)
	for _, tc := range []struct {
		displayName, externalID string
		want                    Target
	}{
		{"Engineering", "00gX", Target{
			Teams:    []string{"engineering"},
			Channels: []ChannelRef{{"engineering", "backend"}, {"everyone", "eng-news"}},
			Rule:     0,
		}},
		{"engineering", "", Target{
			Teams:    []string{"engineering"},
			Channels: []ChannelRef{{"engineering", "backend"}, {"everyone", "eng-news"}},
			Rule:     0,
		}},
		// First match wins: rule 0 beats the externalId rule.
		{"ENGINEERING", "00g1abcd", Target{
			Teams:    []string{"engineering"},
			Channels: []ChannelRef{{"engineering", "backend"}, {"everyone", "eng-news"}},
			Rule:     0,
		}},
		{"Leads", "00G1ABCD", Target{Channels: []ChannelRef{{"everyone", "leads"}}, Rule: 1}},
		{"team-sales", "", Target{Teams: []string{"sales"}, Rule: 2}},
		{"Team-Sales EMEA", "", Target{Teams: []string{"sales-emea"}, Rule: 2}},
		{"TEAM-Zoë", "", Target{Teams: []string{"zoe"}, Rule: 2}},
		{"team-help", "", Target{Teams: []string{"team-help"}, Rule: 2}},
		{"team-x", "", Target{Teams: []string{"team-x"}, Rule: 2}},
		{"team-", "", Target{Rule: 2}},
		{"team- !!", "", Target{Rule: 2}},
		{"team-日本", "", Target{Rule: 2}},
		{"Engineering ", "", Target{Teams: []string{"engineering"}, TeamDisplayName: "Engineering", Rule: RuleUnmapped}},
		{"Sales & Marketing EMEA", "", Target{Teams: []string{"sales-marketing-emea"}, TeamDisplayName: "Sales & Marketing EMEA", Rule: RuleUnmapped}},
		{"Helpdesk", "", Target{Teams: []string{"team-helpdesk"}, TeamDisplayName: "Helpdesk", Rule: RuleUnmapped}},
		{"", "", Target{Rule: RuleUnmapped}},
		{"日本", "", Target{Rule: RuleUnmapped}},
		{"", "00g1abcd", Target{Channels: []ChannelRef{{"everyone", "leads"}}, Rule: 1}},
	} {
		got := c.Resolve(tc.displayName, tc.externalID)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Resolve(%q, %q) = %+v, want %+v", tc.displayName, tc.externalID, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	c, err := Parse([]byte(`
unmapped_groups: ignore
groups:
  - match: {displayName: Contractors}
  - match: {displayNamePrefix: "proj-"}
    teams: ["{suffix}", "projects", "{suffix}"]
    channels: ["projects/{suffix}", "{suffix}/general", "projects/{suffix}"]
  - match: {displayNamePrefix: "Équipe "}
    teams: ["fr-{suffix}"]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		displayName string
		want        Target
	}{
		{"contractors", Target{Rule: 0}},
		{"Marketing", Target{Rule: RuleNone}},
		{"Proj-Apollo 11", Target{
			Teams:    []string{"apollo-11", "projects"},
			Channels: []ChannelRef{{"projects", "apollo-11"}, {"apollo-11", "general"}},
			Rule:     1,
		}},
		{"proj-", Target{Teams: []string{"projects"}, Rule: 1}},
		{"ÉQUIPE Paris", Target{Teams: []string{"fr-paris"}, Rule: 2}},
		{"équipe Île-de-France", Target{Teams: []string{"fr-ile-de-france"}, Rule: 2}},
		{"Equipe Paris", Target{Rule: RuleNone}},
	} {
		got := c.Resolve(tc.displayName, "")
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Resolve(%q) = %+v, want %+v", tc.displayName, got, tc.want)
		}
	}
}

// Resolve on a Config that was never validated still returns only valid names.
func TestResolveUnvalidated(t *testing.T) {
	c := Config{Groups: []Rule{{
		Match:    Match{DisplayName: "x"},
		Teams:    []string{"Bad Name", "!!!", "help"},
		Channels: []ChannelRef{{"Eng", "Back End"}, {"", "orphan"}, {"eng", "???"}},
	}}}
	want := Target{Teams: []string{"bad-name", "team-help"}, Channels: []ChannelRef{{"eng", "back-end"}}, Rule: 0}
	if got := c.Resolve("X", ""); !reflect.DeepEqual(got, want) {
		t.Fatalf("Resolve = %+v, want %+v", got, want)
	}
	// A zero Config treats unmapped groups as "team", the default.
	if got := (Config{}).Resolve("Ops", ""); !reflect.DeepEqual(got, Target{Teams: []string{"ops"}, TeamDisplayName: "Ops", Rule: RuleUnmapped}) {
		t.Fatalf("Config{}.Resolve = %+v", got)
	}
}

func TestCutPrefixFold(t *testing.T) {
	for _, tc := range []struct {
		s, prefix, rest string
		ok              bool
	}{
		{"team-sales", "team-", "sales", true},
		{"TEAM-Sales", "team-", "Sales", true},
		{"ÉQUIPE-x", "équipe-", "x", true},
		{"\u212aelvin", "k", "elvin", true}, // Kelvin sign folds to k
		{"team", "team-", "", false},
		{"tea-sales", "team-", "", false},
		{"anything", "", "anything", true},
	} {
		rest, ok := cutPrefixFold(tc.s, tc.prefix)
		if rest != tc.rest || ok != tc.ok {
			t.Errorf("cutPrefixFold(%q, %q) = %q, %v; want %q, %v", tc.s, tc.prefix, rest, ok, tc.rest, tc.ok)
		}
	}
}
