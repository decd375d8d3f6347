package rules

import (
	"reflect"
	"strings"
	"testing"
)

// The keys of issue 14: declarations, admin roles, guests and the removal limit.
func TestParseRolesAndDeclarations(t *testing.T) {
	c, err := Parse([]byte(`
max_removals_on_reload: 25
teams:
  - name: engineering
    display_name: Engineering
    private: true
channels:
  - name: engineering/incidents
    display_name: Incidents
    private: true
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend, engineering/incidents]
  - match: {displayName: "Eng Leads"}
    team_admin: [engineering]
    channel_admin: [engineering/incidents]
  - match: {displayName: "Chat Admins"}
    system_admin: true
  - match: {displayNamePrefix: "guest-"}
    guest: true
    channels: ["partners/{suffix}"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := c.TeamDecl("engineering"); !ok || d.DisplayName != "Engineering" || !d.Private {
		t.Errorf("TeamDecl = %+v, %v", d, ok)
	}
	if d, ok := c.ChannelDecl("engineering", "incidents"); !ok || d.DisplayName != "Incidents" || !d.Private {
		t.Errorf("ChannelDecl = %+v, %v", d, ok)
	}
	if _, ok := c.ChannelDecl("engineering", "backend"); ok {
		t.Error("an undeclared channel has a declaration")
	}
	if c.MaxRemovalsOnReload != (RemovalLimit{Count: 25}) {
		t.Errorf("MaxRemovalsOnReload = %+v", c.MaxRemovalsOnReload)
	}
	for _, tc := range []struct {
		group string
		want  Target
		kind  string
	}{
		{"eng leads", Target{Teams: []string{"engineering"}, Channels: []ChannelRef{{"engineering", "incidents"}},
			TeamAdmin: []string{"engineering"}, ChannelAdmin: []ChannelRef{{"engineering", "incidents"}}, Rule: 1}, KindMember},
		{"Chat Admins", Target{SystemAdmin: true, Rule: 2}, KindMember},
		{"guest-Acme", Target{Channels: []ChannelRef{{"partners", "acme"}}, Guest: true, Rule: 3}, KindGuest},
		{"guest-", Target{Guest: true, Rule: 3}, KindGuest},
	} {
		got := c.Resolve(tc.group, "")
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Resolve(%q) = %+v, want %+v", tc.group, got, tc.want)
		}
		if got.Kind() != tc.kind {
			t.Errorf("Resolve(%q).Kind() = %s, want %s", tc.group, got.Kind(), tc.kind)
		}
	}
	if k := (Target{Rule: 0}).Kind(); k != KindNone {
		t.Errorf("a rule granting nothing is %s", k)
	}
	if Default().MaxRemovalsOnReload != DefaultRemovalLimit {
		t.Error("the default removal limit is not 10%")
	}
}

func TestParseRolesProblems(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"groups:\n  - match: {displayName: G}\n    guest: true\n    teams: [a]\n    channels: [a/b]\n", "groups[0].teams: \"a\" is not allowed in a guest rule"},
		{"groups:\n  - match: {displayName: G}\n    guest: true\n    system_admin: true\n    channels: [a/b]\n", "groups[0].system_admin"},
		{"groups:\n  - match: {displayName: G}\n    guest: true\n    channel_admin: [a/b]\n    channels: [a/b]\n", "groups[0].channel_admin"},
		{"groups:\n  - match: {displayName: G}\n    guest: true\n", "needs channels"},
		{"groups:\n  - match: {displayName: G}\n    team_admin: [Bad]\n", `line 3: groups[0].team_admin[0]: "Bad" is not a valid team name`},
		{"groups:\n  - match: {displayName: G}\n    channel_admin: [nochannel]\n", `groups[0].channel_admin[0]: "nochannel" must be written "team/channel"`},
		{"groups:\n  - match: {displayName: G}\n    team_admin: [\"{suffix}\"]\n", `only allowed in rules that match displayNamePrefix`},
		{"teams:\n  - name: Eng\n", `line 2: teams[0].name: "Eng" is not a valid team name`},
		{"teams:\n  - name: eng\n  - name: eng\n", `teams[1].name: "eng" is declared twice`},
		{"teams:\n  - name: eng\n    display_name: \" x\"\n", `must not start or end with spaces`},
		{"teams:\n  - name: eng\n    display_name: " + strings.Repeat("é", 65) + "\n", `longer than 64`},
		{"teams:\n  - name: \"{suffix}\"\n", `contains a template`},
		{"channels:\n  - name: eng/town-square\n    private: true\n", `cannot be private`},
		{"default_channels: [news]\nchannels:\n  - name: eng/news\n    private: true\n", `cannot be private`},
		{"channels:\n  - name: eng\n", `must be written "team/channel"`},
		{"channels:\n  - name: eng/a\n  - name: eng/a\n", `declared twice`},
		{"teams:\n  - name: eng\n    owner: x\n", `unknown key "owner" in a teams declaration`},
		{"groups:\n  - match: {displayName: G}\n    admins: [x]\n", `allowed: match, teams, channels, team_admin, channel_admin, system_admin, guest`},
		{"max_removals_on_reload: 0%\n", "max_removals_on_reload"},
		{"max_removals_on_reload: 101%\n", "max_removals_on_reload"},
		{"max_removals_on_reload: -3\n", "max_removals_on_reload"},
		{"max_removals_on_reload: lots\n", "max_removals_on_reload"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.yaml, err, tc.want)
		}
	}
}

func TestRemovalLimit(t *testing.T) {
	for _, tc := range []struct {
		in             string
		removed, total int
		allows         bool
	}{
		{"10%", 10, 100, true},
		{"10%", 11, 100, false},
		{"10%", 0, 0, true},
		{"2.5%", 1, 40, true},
		{"2.5%", 2, 40, false},
		{"100%", 50, 50, true},
		{"0", 0, 100, true},
		{"0", 1, 100, false},
		{"250", 250, 10, true},
		{"250", 251, 1000000, false},
	} {
		l, ok := parseRemovalLimit(tc.in)
		if !ok {
			t.Fatalf("parseRemovalLimit(%q) failed", tc.in)
		}
		if got := l.Allows(tc.removed, tc.total); got != tc.allows {
			t.Errorf("%s.Allows(%d, %d) = %v", tc.in, tc.removed, tc.total, got)
		}
		if l.String() != tc.in {
			t.Errorf("String() = %q, want %q", l.String(), tc.in)
		}
	}
}

func TestTeamDisplayNameFrom(t *testing.T) {
	for in, want := range map[string]string{
		" Engineering ":         "Engineering",
		"Sales\x00 & Marketing": "Sales & Marketing",
		strings.Repeat("a", 70): strings.Repeat("a", 64),
		"\t":                    "",
		"Zoë's Équipe":          "Zoë's Équipe",
	} {
		if got := TeamDisplayNameFrom(in); got != want {
			t.Errorf("TeamDisplayNameFrom(%q) = %q, want %q", in, got, want)
		}
	}
}
