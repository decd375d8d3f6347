package rules

import (
	"strings"
	"testing"
)

// FuzzNames checks that every derived name is valid (or "" where that is allowed) whatever
// the input. The seeds run as part of the normal tests; `go test -fuzz FuzzNames
// ./store/rules/` searches further.
func FuzzNames(f *testing.F) {
	for _, s := range []string{
		"", "a", "Sales & Marketing EMEA", "Helpdesk", "team-", "team-Zoë", "Straße",
		"Jane.Doe@Example.com", "@", "007", "all", "system", "here", "日本", "e\u0301",
		"\u212a", "\xff", "a__b", "--", "._-", strings.Repeat("x", 100),
		id26a + "__" + id26b, hex40, "team-" + hex40, "a - b", "İstanbul",
	} {
		f.Add(s)
	}
	example := exampleConfig(f)
	f.Fuzz(func(t *testing.T, s string) {
		if n := TeamNameFrom(s); n != "" && !ValidTeamName(n) {
			t.Errorf("TeamNameFrom(%q) = %q, not valid", s, n)
		}
		if n := ChannelNameFrom(s); n != "" && !ValidChannelName(n) {
			t.Errorf("ChannelNameFrom(%q) = %q, not valid", s, n)
		}
		if n := GroupNameFrom(s); n != "" && !ValidGroupName(n) {
			t.Errorf("GroupNameFrom(%q) = %q, not valid", s, n)
		}
		if n, err := Username(s, nil); err != nil || !ValidUsername(n) {
			t.Errorf("Username(%q) = %q, %v; not ValidUsername", s, n, err)
		}
		// A name that is already valid is kept.
		if ValidTeamName(s) && !strings.Contains(s, "__") && TeamNameFrom(s) != s {
			t.Errorf("TeamNameFrom(%q) = %q, changed a valid name", s, TeamNameFrom(s))
		}
		for _, c := range []Config{Default(), example} {
			checkTarget(t, s, c.Resolve(s, s))
		}
	})
}

func checkTarget(t *testing.T, in string, tg Target) {
	t.Helper()
	for _, n := range tg.Teams {
		if !ValidTeamName(n) {
			t.Errorf("Resolve(%q): team %q is not valid", in, n)
		}
	}
	for _, r := range tg.Channels {
		if !ValidTeamName(r.Team) || !ValidChannelName(r.Channel) {
			t.Errorf("Resolve(%q): channel %q is not valid", in, r)
		}
	}
}
