package rules

import (
	"strings"
	"testing"
)

var (
	id26a = strings.Repeat("a", 26)
	id26b = strings.Repeat("b1", 13)
	hex40 = "0123456789abcdef0123456789abcdef01234567"
)

func TestValidTeamName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"ab", true},
		{"engineering", true},
		{"sales-emea", true},
		{"1on1", true},
		{"a--b", true},
		{"a__b", true}, // model.validAlphaNum lets one "__" through
		{"team-admin", true},
		{"everyone", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{"a", false},
		{strings.Repeat("a", 65), false},
		{"a_b", false},
		{"a___b", false},
		{"-ab", false},
		{"ab-", false},
		{"Ab", false},
		{"a b", false},
		{"ünits", false},
		// Reserved as prefixes (model.IsReservedTeamName).
		{"admin", false},
		{"helpdesk", false},
		{"apiteam", false},
		{"api", false},
		{"channel-partners", false},
		{"claims", false},
		{"errors", false},
		{"files", false},
		{"landing", false},
		{"login", false},
		{"mfa", false},
		{"oauth2", false},
		{"plug", false},
		{"plugins", false},
		{"postsales", false},
		{"signup", false},
		{"boards", false},
		{"playbooks", false},
	} {
		if got := ValidTeamName(tc.in); got != tc.want {
			t.Errorf("ValidTeamName(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTeamNameFrom(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Sales & Marketing EMEA", "sales-marketing-emea"},
		{"Engineering", "engineering"},
		{"engineering", "engineering"},
		{"  --Eng--  ", "eng"},
		{"R&D", "r-d"},
		{"foo_bar.baz", "foo-bar-baz"},
		{"a__b", "a-b"},
		{"a--b", "a--b"}, // a valid name is kept
		{"a - b", "a-b"},
		{"Zoë Müller", "zoe-muller"},
		{"Straße", "strasse"},
		{"Łódź Office", "lodz-office"},
		{"ÆØÅ", "aeoa"},
		{"e\u0301cole", "ecole"}, // decomposed accent
		{"日本 Team", "team"},
		{"Ωmega", "mega"},
		{"Helpdesk", "team-helpdesk"},
		{"API", "team-api"},
		{"Post Sales", "team-post-sales"},
		{"x", "team-x"},
		{"7", "team-7"},
		{"\u212a", "team-k"}, // Kelvin sign lower-cases to ASCII k
		{"", ""},
		{"!!!", ""},
		{"日本", ""},
		{"\xff\xfe", ""},
		{strings.Repeat("a", 70), strings.Repeat("a", 64)},
		{strings.Repeat("a", 63) + " b", strings.Repeat("a", 63)},
		{"Help " + strings.Repeat("a", 70), "team-help-" + strings.Repeat("a", 54)},
	} {
		got := TeamNameFrom(tc.in)
		if got != tc.want {
			t.Errorf("TeamNameFrom(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got != "" && !ValidTeamName(got) {
			t.Errorf("TeamNameFrom(%q) = %q, not a valid team name", tc.in, got)
		}
	}
}

func TestValidChannelName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"town-square", true},
		{"off-topic", true},
		{"back_end", true},
		{"a-", true}, // model.validSimpleAlphaNum allows a trailing '-' or '_'
		{"a_", true},
		{"helpdesk", true}, // no reserved words for channels
		{strings.Repeat("a", 64), true},
		{id26a + "__" + id26b[:25], true},
		{hex40[:39], true},
		{hex40[:39] + "g", true},
		{"", false},
		{"_a", false},
		{"-a", false},
		{"A", false},
		{"a b", false},
		{"a/b", false},
		{strings.Repeat("a", 65), false},
		{id26a + "__" + id26b, false}, // direct-message shape
		{hex40, false},                // group-message shape
	} {
		if got := ValidChannelName(tc.in); got != tc.want {
			t.Errorf("ValidChannelName(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestChannelNameFrom(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Eng News", "eng-news"},
		{"Back_End", "back_end"},
		{"a_ b", "a_b"},
		{"a - b", "a-b"},
		{"__x__", "x"},
		{"Helpdesk", "helpdesk"},
		{"x", "x"},
		{"Ærø", "aero"},
		{"", ""},
		{"___", ""},
		{"日本", ""},
		{strings.Repeat("ab_", 30), strings.Repeat("ab_", 21) + "a"},
		{id26a + "__" + id26b, "channel-" + id26a + "__" + id26b},
		{strings.ToUpper(hex40), "channel-" + hex40},
	} {
		got := ChannelNameFrom(tc.in)
		if got != tc.want {
			t.Errorf("ChannelNameFrom(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got != "" && !ValidChannelName(got) {
			t.Errorf("ChannelNameFrom(%q) = %q, not a valid channel name", tc.in, got)
		}
	}
}

func TestValidGroupName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"a.b-c_d", true},
		{".x", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{"A", false},
		{"a b", false},
		{"all", false},
		{"channel", false},
		{"here", false},
		{strings.Repeat("a", 65), false},
	} {
		if got := ValidGroupName(tc.in); got != tc.want {
			t.Errorf("ValidGroupName(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestGroupNameFrom(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Engineering", "engineering"},
		{"Sales & Marketing", "sales-marketing"},
		{"first.last_team", "first.last_team"},
		{"Zoë's Team", "zoe-s-team"},
		{".hidden.", "hidden"},
		{"All", "all-group"},
		{"here", "here-group"},
		{"Channel", "channel-group"},
		{"all hands", "all-hands"},
		{"", ""},
		{"日本", ""},
		{"---", ""},
		{strings.Repeat("a", 70), strings.Repeat("a", 64)},
	} {
		got := GroupNameFrom(tc.in)
		if got != tc.want {
			t.Errorf("GroupNameFrom(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got != "" && !ValidGroupName(got) {
			t.Errorf("GroupNameFrom(%q) = %q, not a valid group name", tc.in, got)
		}
	}
}

// TeamNameProblem and ChannelNameProblem say why exactly the names the Valid functions
// refuse are refused, and nothing for the others.
func TestNameProblems(t *testing.T) {
	for _, s := range []string{"", "a", "engineering", "Engineering", "admin-team", "x__y", "town-square", "a_b", strings.Repeat("a", 65), "0123456789012345678901234567890123456789"} {
		if got := TeamNameProblem(s); (got == "") != ValidTeamName(s) {
			t.Errorf("team %q: %q, valid %v", s, got, ValidTeamName(s))
		}
		if got := ChannelNameProblem(s); (got == "") != ValidChannelName(s) {
			t.Errorf("channel %q: %q, valid %v", s, got, ValidChannelName(s))
		}
	}
}
