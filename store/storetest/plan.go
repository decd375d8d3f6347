package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// Plans of mapping changes and the reload guard (store.PlanRules, store.ApplyRules,
// plan.go): a plan writes nothing and says what the apply then does; an apply over
// max_removals_on_reload is refused whole unless accepted; declarations update
// existing teams and channels.

// acceptAll applies a mapping change whatever it removes: the tests of what a change
// does, as against whether it is allowed.
var acceptAll = store.ApplyOptions{AcceptRemovals: true}

// planBase maps two groups to two teams; other groups map to nothing.
const planBase = `
default_team: everyone
unmapped_groups: ignore
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
  - match: {displayName: "Sales"}
    teams: [sales]
`

// planScenario is a database with planBase applied: alice and bob in Engineering, carol
// in Sales, dave in Platform and erin in Partners (both mapped to nothing, so in the
// default team only). Twelve memberships: a team and its two channels each.
type planScenario struct {
	users  map[string]store.User
	groups map[string]store.Group
}

func newPlanScenario(t *testing.T, s store.Store) planScenario {
	t.Helper()
	useRules(t, s, planBase)
	sc := planScenario{users: map[string]store.User{}, groups: map[string]store.Group{}}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		sc.users[name] = mustUser(t, s, name, "")
	}
	for group, members := range map[string][]string{
		"Engineering": {"alice", "bob"}, "Sales": {"carol"}, "Platform": {"dave"}, "Partners": {"erin"},
	} {
		var ids []string
		for _, m := range members {
			ids = append(ids, sc.users[m].ID)
		}
		sc.groups[group] = mustGroup(t, s, group, "", ids...)
	}
	if _, err := s.ApplyRules(context.Background(), acceptAll); err != nil {
		t.Fatal(err)
	}
	return sc
}

// snapshot is everything a plan must leave as it was: the journal's head, the teams and
// channels with their display names and types, and every account's memberships.
func snapshot(t *testing.T, s store.Store) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	fmt.Fprintf(&b, "head %d\n", head(t, s))
	teams, err := s.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range teams {
		fmt.Fprintf(&b, "team %+v\n", tm)
		chans, err := s.TeamChannels(ctx, tm.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chans {
			fmt.Fprintf(&b, "  channel %+v\n", c)
		}
	}
	for _, l := range exportLines(t, s, store.ExportQuery{IncludeDeactivated: true}) {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// plan runs PlanRules with the rules of yaml, verbose.
func plan(t *testing.T, s store.Store, yaml string) store.RulesPlan {
	t.Helper()
	p, err := s.PlanRules(context.Background(), parseRules(t, yaml), true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// changeLine renders a plan's change as eventLine renders the entry it stands for.
func changeLine(c store.PlanChange) string {
	return eventLine(store.Event{Kind: c.Kind, Username: c.Username, Team: c.Team, Channel: c.Channel,
		Source: c.Source, Before: c.Before, After: c.After})
}

// wantPlanThenApply checks that a plan of yaml writes nothing, that applying yaml then
// journals exactly the plan's changes, and returns the plan.
func wantPlanThenApply(t *testing.T, s store.Store, yaml string) store.RulesPlan {
	t.Helper()
	before := snapshot(t, s)
	p := plan(t, s, yaml)
	if after := snapshot(t, s); after != before {
		t.Fatalf("PlanRules wrote:\nbefore\n%s\nafter\n%s", before, after)
	}
	if again := plan(t, s, yaml); !reflect.DeepEqual(again, p) {
		t.Fatalf("a second plan differs:\n%+v\n%+v", p, again)
	}
	cursor := head(t, s)
	useRules(t, s, yaml)
	applied, err := s.ApplyRules(context.Background(), acceptAll)
	if err != nil {
		t.Fatal(err)
	}
	lines, _ := journalSince(t, s, cursor)
	var planned []string
	for _, c := range p.Changes {
		planned = append(planned, changeLine(c))
	}
	wantLines(t, "the plan's changes against the apply's journal", planned, lines)
	p.Changes = nil
	if !reflect.DeepEqual(applied, p) {
		t.Fatalf("ApplyRules returned\n%+v\nthe plan was\n%+v", applied, p)
	}
	return p
}

// testPlanRules runs the plan cases in turn on one database, each from planBase
// applied, then the reload guard and the declarations.
func testPlanRules(t *testing.T, s store.Store) {
	sc := newPlanScenario(t, s)
	renamed := strings.Replace(planBase, `"Engineering"`, `"Platform"`, 1)
	removed := planBase[:strings.Index(planBase, `  - match: {displayName: "Sales"}`)]
	guest := planBase + "  - match: {displayName: \"Partners\"}\n    guest: true\n    channels: [partners/acme]\n"
	for _, tc := range []struct {
		name, yaml string
		lines      []string
		removals   int
		accounts   store.AccountCounts
		skip       string
	}{
		{"unchanged", planBase, nil, 0, store.AccountCounts{}, ""},
		{
			// The rule of engineering now matches Platform: its members move in, and
			// Engineering's fall back to the default team.
			"renamed rule", renamed, []string{
				"engineering: +1 join, -2 leave",
				"everyone: +2 join, -1 leave",
				"engineering/off-topic: +1 join, -2 leave",
				"engineering/town-square: +1 join, -2 leave",
				"everyone/off-topic: +2 join, -1 leave",
				"everyone/town-square: +2 join, -1 leave",
			}, 9, store.AccountCounts{}, "",
		},
		{
			"removed rule", removed, []string{
				"everyone: +1 join",
				"sales: -1 leave",
				"everyone/off-topic: +1 join",
				"everyone/town-square: +1 join",
				"sales/off-topic: -1 leave",
				"sales/town-square: -1 leave",
			}, 3, store.AccountCounts{}, "",
		},
		{
			// erin becomes a guest in partners/acme and its team only: no default team,
			// no Town Square (store/roles.go).
			"new guest rule", guest, []string{
				"everyone: -1 leave",
				"partners: created, +1 join, 1 become guests",
				"everyone/off-topic: -1 leave",
				"everyone/town-square: -1 leave",
				"partners/acme: created, +1 join, 1 become guests",
				"partners/off-topic: created",
				"partners/town-square: created",
			}, 3, store.AccountCounts{BecomeGuests: 1}, "",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			p := wantPlanThenApply(t, s, tc.yaml)
			wantLines(t, "plan", p.Lines(), tc.lines)
			changed := tc.name != "unchanged"
			if p.Changed != changed || p.Removals != tc.removals || p.WithinLimit != (tc.removals == 0) ||
				p.Accounts != tc.accounts || p.Limit != "10%" {
				t.Fatalf("plan %+v", p)
			}
			if changed && p.MembershipsBefore != 15 {
				t.Fatalf("memberships before: %d, want 15", p.MembershipsBefore)
			}
			// Back to planBase for the next case.
			useRules(t, s, planBase)
			if _, err := s.ApplyRules(context.Background(), acceptAll); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("roles", func(t *testing.T) { testPlanRoles(t, s, sc) })
	t.Run("promotion", func(t *testing.T) { testPlanPromotion(t, s, guest) })
	t.Run("reload guard", func(t *testing.T) { testApplyRulesRemovalLimit(t, s, renamed) })
	t.Run("declarations", func(t *testing.T) { testApplyRulesDeclarations(t, s) })
}

// testApplyRulesRemovalLimit applies the renamed rule of testPlanRules (9 of 15
// memberships removed) under several limits: over the limit it is refused, whole, unless
// accepted.
func testApplyRulesRemovalLimit(t *testing.T, s store.Store, renamed string) {
	ctx := context.Background()
	for _, tc := range []struct {
		limit   string // max_removals_on_reload; "" the default, 10%
		accept  bool
		applied bool
	}{
		{"", false, false},
		{"", true, true},
		{"59%", false, false},
		{"60%", false, true},
		{"8", false, false},
		{"9", false, true},
		{"0", true, true},
	} {
		t.Run(fmt.Sprintf("%q accept %v", tc.limit, tc.accept), func(t *testing.T) {
			yaml := renamed
			if tc.limit != "" {
				yaml += "max_removals_on_reload: " + tc.limit + "\n"
			}
			before := snapshot(t, s)
			useRules(t, s, yaml)
			// BeforeCommit sees the plan of a change that will be committed, and no other.
			var seen []store.RulesPlan
			p, err := s.ApplyRules(ctx, store.ApplyOptions{AcceptRemovals: tc.accept,
				BeforeCommit: func(p store.RulesPlan) { seen = append(seen, p) }})
			if p.Removals != 9 || p.MembershipsBefore != 15 || p.WithinLimit != (tc.applied && !tc.accept) {
				t.Fatalf("plan %+v", p)
			}
			if tc.applied && (len(seen) == 0 || !reflect.DeepEqual(seen[len(seen)-1], p)) || !tc.applied && len(seen) > 0 {
				t.Fatalf("BeforeCommit saw %d plans (applied %v)", len(seen), tc.applied)
			}
			if tc.applied {
				if err != nil {
					t.Fatal(err)
				}
				if snapshot(t, s) == before {
					t.Fatal("applied, yet nothing changed")
				}
			} else {
				var r *store.RefusedError
				if !errors.As(err, &r) || r.Code != store.CodeTooManyRemovals || store.ErrorCode(err) != store.CodeTooManyRemovals {
					t.Fatalf("ApplyRules = %v, want a RefusedError %s", err, store.CodeTooManyRemovals)
				}
				for _, says := range []string{"9 of 15 memberships", store.AcceptMappingChangeFlag} {
					if !strings.Contains(r.Reason, says) {
						t.Errorf("the refusal %q does not say %q", r.Reason, says)
					}
				}
				if after := snapshot(t, s); after != before {
					t.Fatalf("a refused change wrote:\nbefore\n%s\nafter\n%s", before, after)
				}
				// Nothing was recorded as applied: the change is refused again.
				if _, err := s.ApplyRules(ctx, store.ApplyOptions{}); store.ErrorCode(err) != store.CodeTooManyRemovals {
					t.Fatalf("ApplyRules again = %v", err)
				}
			}
			useRules(t, s, planBase)
			if _, err := s.ApplyRules(ctx, acceptAll); err != nil {
				t.Fatal(err)
			}
			// The same rules again: no change, no call.
			if _, err := s.ApplyRules(ctx, store.ApplyOptions{BeforeCommit: func(store.RulesPlan) { t.Error("BeforeCommit of an unchanged mapping") }}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// testApplyRulesDeclarations declares an existing team and channel with other display
// names and privacy, and a team and channel that do not exist.
func testApplyRulesDeclarations(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.CreateChannel(cli(), store.NewChannel{Team: "engineering", Name: "incidents"}); err != nil {
		t.Fatal(err)
	}
	declared := planBase + `
teams:
  - name: engineering
    display_name: Engineering
    private: true
  - name: sales
channels:
  - name: engineering/incidents
    display_name: Incidents
    private: true
  - name: ops/alerts
    display_name: Alerts
`
	cursor := head(t, s)
	p := wantPlanThenApply(t, s, declared)
	journal, _ := journalSince(t, s, cursor)
	for _, want := range []string{
		"team.updated  engineering {display_name=engineering type=O} {display_name=Engineering type=I}",
		"channel.updated  engineering/incidents {display_name=incidents type=O} {display_name=Incidents type=P}",
		"team.created  ops",
		"channel.created  ops/alerts",
	} {
		if !slices.Contains(journal, want) {
			t.Errorf("the journal lacks %q: %q", want, journal)
		}
	}
	wantLines(t, "plan", p.Lines(), []string{
		`engineering: display_name "engineering" → "Engineering", type "O" → "I"`,
		"ops: created",
		`engineering/incidents: display_name "incidents" → "Incidents", type "O" → "P"`,
		"ops/alerts: created",
		"ops/off-topic: created",
		"ops/town-square: created",
	})
	if p.Removals != 0 || !p.WithinLimit {
		t.Fatalf("plan %+v", p)
	}
	if again := plan(t, s, declared); again.Changed {
		t.Fatalf("the declarations applied again: %+v", again)
	}
	teams, err := s.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tm := range teams {
		got = append(got, tm.Name+" "+tm.DisplayName+" "+tm.Type)
	}
	wantLines(t, "teams", got, []string{"engineering Engineering I", "everyone everyone O", "ops ops O", "partners partners O", "sales sales O"})
	chans, err := s.TeamChannels(ctx, "engineering")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, c := range chans {
		got = append(got, c.Name+" "+c.DisplayName+" "+c.Type)
	}
	wantLines(t, "engineering's channels", got, []string{"incidents Incidents P", "off-topic Off-Topic O", "town-square Town Square O"})
	chans, err = s.TeamChannels(ctx, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if len(chans) != 3 || chans[0].Name != "alerts" || chans[0].DisplayName != "Alerts" || chans[0].Type != store.ChannelOpen {
		t.Fatalf("ops's channels: %+v", chans)
	}
	// A declaration that changes the display name only journals that key.
	cursor = head(t, s)
	wantPlanThenApply(t, s, strings.Replace(declared, "display_name: Engineering", "display_name: Eng", 1))
	journal, _ = journalSince(t, s, cursor)
	wantLines(t, "journal of a new display name", journal, []string{"team.updated  engineering {display_name=Engineering} {display_name=Eng}"})
}

// testPlanRoles plans and applies rules granting roles, then their removal: a team admin
// made by hand is neither counted as gained nor lost, and keeps the role (store/roles.go).
func testPlanRoles(t *testing.T, s store.Store, sc planScenario) {
	ctx := cli()
	bob := sc.users["bob"].ID
	engAdmin := store.RoleRef{Role: store.RoleTeamAdmin, Team: "engineering"}
	if _, err := s.GrantRole(ctx, bob, engAdmin); err != nil {
		t.Fatal(err)
	}
	admins := strings.Replace(planBase, "teams: [engineering]\n", "teams: [engineering]\n    team_admin: [engineering]\n", 1) +
		"  - match: {displayName: \"Platform\"}\n    system_admin: true\n"
	for _, step := range []struct {
		yaml     string
		lines    []string
		accounts store.AccountCounts
	}{
		{admins, []string{"engineering: +1 team_admin"}, store.AccountCounts{SystemAdminsGained: 1}},
		{planBase, []string{"engineering: -1 team_admin"}, store.AccountCounts{SystemAdminsLost: 1}},
	} {
		p := wantPlanThenApply(t, s, step.yaml)
		wantLines(t, "plan", p.Lines(), step.lines)
		if p.Accounts != step.accounts || p.Removals != 0 || !p.WithinLimit {
			t.Fatalf("plan %+v", p)
		}
	}
	d := details(t, s, bob)
	if len(d.Teams) != 1 || d.Teams[0].Team != "engineering" || !d.Teams[0].Admin {
		t.Fatalf("bob's teams after the rules went: %+v", d.Teams)
	}
	if _, err := s.RevokeRole(ctx, bob, engAdmin); err != nil {
		t.Fatal(err)
	}
}

// testPlanPromotion plans the promotion of a guest (erin: her guest group's rule becomes a
// member's) and her demotion back.
func testPlanPromotion(t *testing.T, s store.Store, guest string) {
	useRules(t, s, guest)
	if _, err := s.ApplyRules(context.Background(), acceptAll); err != nil {
		t.Fatal(err)
	}
	member := strings.Replace(guest, "guest: true\n    channels: [partners/acme]", "teams: [partners]\n    channels: [partners/acme]", 1)
	for _, step := range []struct {
		yaml     string
		lines    []string
		accounts store.AccountCounts
	}{
		// Promoted: a member of partners, so in its team-join channels, and not in the
		// default team (partners is a team of hers).
		{member, []string{
			"partners: 1 stop being guests",
			"partners/acme: 1 stop being guests",
			"partners/off-topic: +1 join, 1 stop being guests",
			"partners/town-square: +1 join, 1 stop being guests",
		}, store.AccountCounts{StopBeingGuests: 1}},
		// Demoted: only the guest rule's channel and its team are left.
		{guest, []string{
			"partners: 1 become guests",
			"partners/acme: 1 become guests",
			"partners/off-topic: -1 leave",
			"partners/town-square: -1 leave",
		}, store.AccountCounts{BecomeGuests: 1}},
	} {
		p := wantPlanThenApply(t, s, step.yaml)
		wantLines(t, "plan", p.Lines(), step.lines)
		if p.Accounts != step.accounts {
			t.Fatalf("plan %+v", p)
		}
	}
	useRules(t, s, planBase)
	if _, err := s.ApplyRules(context.Background(), acceptAll); err != nil {
		t.Fatal(err)
	}
}
