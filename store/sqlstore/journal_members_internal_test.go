package sqlstore

import (
	"slices"
	"strings"
	"testing"
)

// TestMembershipStatementsReturnTheirRows checks, for every dialect, that each insert
// into and delete from a membership table among the statements journalMemberships
// brackets (the reconcile steps and the member add's delta) returns the rows it wrote:
// journalMemberships sees no other change, so a statement without its RETURNING clause
// would change memberships the journal never hears of.
func TestMembershipStatementsReturnTheirRows(t *testing.T) {
	for _, d := range dialects {
		var all []statement
		all = append(all, d.reconcile[:]...)
		all = append(all, d.grantGroup...)
		lacking := 0
		for _, st := range all {
			for _, c := range []struct{ write, returning string }{
				{"INSERT INTO team_members", returningTeamsJoined},
				{"DELETE FROM team_members", returningTeamsLeft},
				{"INSERT INTO channel_members", returningChannelsJoined},
				{"DELETE FROM channel_members", returningChannelsLeft},
			} {
				if w, r := strings.Count(st.sql, c.write), strings.Count(st.sql, c.returning); w != r {
					t.Errorf("%s: %q: %d %q, %d returning their rows", d.name, st.what, w, c.write, r)
				}
			}
			lacking += strings.Count(st.sql, "'"+opLacking+"'")
		}
		if lacking != 1 {
			t.Errorf("%s: the member add's delta counts the lacking teams %d times, want once", d.name, lacking)
		}
	}
}

func TestAppendMinus(t *testing.T) {
	for _, c := range []struct{ xs, ys, want []string }{
		{nil, nil, nil},
		{[]string{"a", "b"}, nil, []string{"a", "b"}},
		{[]string{"a", "b"}, []string{"b"}, []string{"a"}},
		{[]string{"a", "a", "b"}, []string{"a"}, []string{"a", "b"}}, // one for one
		{[]string{"a"}, []string{"a", "a"}, nil},
		{[]string{"default"}, []string{"group:1"}, []string{"default"}},
		{append(slices.Repeat([]string{"x"}, 70), "y"), slices.Repeat([]string{"x"}, 69), []string{"x", "y"}}, // beyond 64
	} {
		ys := slices.Clone(c.ys)
		got := appendMinus([]string{"kept"}, c.xs, c.ys)
		if !slices.Equal(got, append([]string{"kept"}, c.want...)) {
			t.Errorf("appendMinus(kept, %q, %q) = %q, want kept then %q", c.xs, c.ys, got, c.want)
		}
		if !slices.Equal(ys, c.ys) {
			t.Errorf("appendMinus changed its third argument: %q, was %q", c.ys, ys)
		}
	}
}
