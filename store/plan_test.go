package store

import (
	"reflect"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store/rules"
)

// TestPlanBuilder: what each journal kind counts for, the guest counts per team and
// channel, the totals, the limit, and the lines people read.
func TestPlanBuilder(t *testing.T) {
	roles := func(before, after string) (map[string]string, map[string]string) {
		return map[string]string{AttrRoles: before}, map[string]string{AttrRoles: after}
	}
	var es []Event
	add := func(kind EventKind, account, team, channel string, before, after map[string]string) {
		es = append(es, Event{Kind: kind, Account: account, Username: account, Team: team, Channel: channel, Before: before, After: after})
	}
	add(EventTeamCreated, "", "partners", "", nil, nil)
	add(EventChannelCreated, "", "partners", "acme", nil, nil)
	add(EventTeamUpdated, "", "eng", "", map[string]string{AttrType: TeamOpen}, map[string]string{AttrType: TeamInviteOnly})
	add(EventTeamUpdated, "", "eng", "", map[string]string{AttrDisplayName: "eng"}, map[string]string{AttrDisplayName: "Eng"})
	add(EventTeamJoined, "a", "eng", "", nil, nil)
	add(EventTeamJoined, "b", "eng", "", nil, nil)
	add(EventTeamLeft, "c", "eng", "", nil, nil)
	add(EventChannelJoined, "a", "eng", "town-square", nil, nil)
	add(EventChannelLeft, "c", "eng", "town-square", nil, nil)
	b, a := roles("team_user", "team_user team_admin")
	add(EventTeamRoles, "a", "eng", "", b, a)
	b, a = roles("team_user team_admin", "team_user")
	add(EventTeamRoles, "d", "eng", "", b, a)
	b, a = roles("channel_user", "channel_user channel_admin")
	add(EventChannelRoles, "a", "eng", "town-square", b, a)
	b, a = roles("system_user", "system_admin system_user")
	add(EventAccountRoles, "a", "", "", b, a)
	b, a = roles("system_user", "system_guest")
	add(EventAccountRoles, "g", "", "", b, a)
	b, a = roles("system_guest", "system_user")
	add(EventAccountRoles, "p", "", "", b, a)
	add(EventTeamJoined, "g", "partners", "", nil, nil)
	add(EventChannelJoined, "g", "partners", "acme", nil, nil)

	pb := NewPlanBuilder(true)
	for _, e := range es {
		pb.Add(e)
	}
	guests, promoted := pb.GuestAccounts()
	if !reflect.DeepEqual(guests, []string{"g"}) || !reflect.DeepEqual(promoted, []string{"p"}) {
		t.Fatalf("GuestAccounts = %q, %q", guests, promoted)
	}
	pb.GuestMember("g", "partners", "")
	pb.GuestMember("g", "partners", "acme")
	pb.GuestMember("p", "eng", "")
	pb.GuestMember("x", "eng", "") // not a guest change: not counted
	p := pb.Plan(3, 20, rules.RemovalLimit{Count: 1})

	wantLines := []string{
		`eng: display_name "eng" → "Eng", type "O" → "I", +2 join, -1 leave, +1 team_admin, -1 team_admin, 1 stop being guests`,
		"partners: created, +1 join, 1 become guests",
		"eng/town-square: +1 join, -1 leave, +1 channel_admin",
		"partners/acme: created, +1 join, 1 become guests",
	}
	if got := p.Lines(); !reflect.DeepEqual(got, wantLines) {
		t.Fatalf("Lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}
	wantSummary := "mapping change: 3 groups remapped; teams +3 join, -1 leave, +1 team_admin, -1 team_admin, 1 become guests, 1 stop being guests; " +
		"channels +2 join, -1 leave, +1 channel_admin, 1 become guests; accounts 1 become guests, 1 stop being guests, +1 system_admin; " +
		"2 of 20 memberships removed (max_removals_on_reload 1: over it: a server refuses it without --accept-mapping-change)"
	if got := p.Summary(); got != wantSummary {
		t.Fatalf("Summary:\n%s\nwant\n%s", got, wantSummary)
	}
	if p.Removals != 2 || p.WithinLimit || p.Limit != "1" || len(p.Changes) != len(es) || p.ChangesLeftOut != 0 {
		t.Fatalf("plan %+v", p)
	}
	if r := p.Refusal(); r.Code != CodeTooManyRemovals || ErrorCode(r) != CodeTooManyRemovals ||
		r.Reason != "the mapping change removes 2 of 20 memberships, more than max_removals_on_reload (1) allows; start with --accept-mapping-change to apply it" {
		t.Fatalf("Refusal = %+v", r)
	}
	if got := p.Changes[10].String(); got != `team.roles d eng roles "team_user team_admin" → "team_user"` {
		t.Fatalf("a change: %s", got)
	}
	if got := UnchangedPlan(rules.DefaultRemovalLimit); got.Changed || !got.WithinLimit || got.Summary() != "the mapping is the one applied: no change" {
		t.Fatalf("UnchangedPlan = %+v", got)
	}
}

// TestPlanBuilderBoundsChanges: a verbose plan keeps MaxPlanChanges changes and counts
// the rest; counts cover them all; a plan that is not verbose keeps none.
func TestPlanBuilderBoundsChanges(t *testing.T) {
	for _, verbose := range []bool{true, false} {
		pb := NewPlanBuilder(verbose)
		for range MaxPlanChanges + 7 {
			pb.Add(Event{Kind: EventChannelLeft, Account: "a", Team: "t", Channel: "c"})
		}
		p := pb.Plan(0, MaxPlanChanges+7, rules.RemovalLimit{Percent: 100})
		wantKept, wantLeft := MaxPlanChanges, 7
		if !verbose {
			wantKept, wantLeft = 0, 0
		}
		if len(p.Changes) != wantKept || p.ChangesLeftOut != wantLeft || p.Removals != MaxPlanChanges+7 || !p.WithinLimit {
			t.Fatalf("verbose %v: %d changes, %d left out, %d removals, within %v", verbose, len(p.Changes), p.ChangesLeftOut, p.Removals, p.WithinLimit)
		}
	}
}
