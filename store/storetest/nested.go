package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// Nested groups (store/group.go: MaxGroupAncestors): a group's teams, channels, roles and
// kind reach the members of the groups nested in it, at any depth.

const nestedRules = `
default_team: everyone
unmapped_groups: ignore
groups:
  - match: {displayName: "Company"}
    teams: [company]
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend]
  - match: {displayName: "Eng Leads"}
    team_admin: [engineering]
  - match: {displayName: "Chat Admins"}
    system_admin: true
  - match: {displayNamePrefix: "guest-"}
    guest: true
    channels: ["partners/{suffix}"]
`

// The channels of each team of nestedRules an account is in through a group.
var (
	companyChannels     = []string{"company/off-topic", "company/town-square"}
	engineeringChannels = []string{"engineering/backend", "engineering/off-topic", "engineering/town-square"}
)

func cat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func nest(t *testing.T, s store.Store, parent store.Group, children ...store.Group) {
	t.Helper()
	ids := make([]string, len(children))
	for i, c := range children {
		ids[i] = c.ID
	}
	patchMembers(t, s, parent.ID, store.AddMembers, ids...)
}

// journalNames lists, once each and in order, the usernames of the entries after cursor.
func journalNames(t *testing.T, s store.Store, cursor int64) []string {
	t.Helper()
	var out []string
	for _, e := range allEvents(t, s, store.EventQuery{After: cursor}) {
		if len(out) == 0 || out[len(out)-1] != e.Username {
			out = append(out, e.Username)
		}
	}
	return out
}

// wantNestingRefused fails the test unless err is an InvalidError "members" whose reason
// says what.
func wantNestingRefused(t *testing.T, what string, err error, reason string) {
	t.Helper()
	var ie *store.InvalidError
	if !errors.As(err, &ie) || ie.Attribute != "members" || !strings.Contains(ie.Reason, reason) {
		t.Fatalf("%s: err = %v, want InvalidError members %q", what, err, reason)
	}
}

// Teams and channels reach the members of nested groups through two and three levels, a
// member added deep re-evaluates that account only, and a nesting or un-nesting changes
// exactly the accounts below it.
func testNestedTransitive(t *testing.T, s store.Store) {
	useRules(t, s, nestedRules)
	alice := mustUser(t, s, "alice", "")
	carol := mustUser(t, s, "carol", "")
	backend := mustGroup(t, s, "Backend", "", alice.ID)
	eng := mustGroup(t, s, "Engineering", "")
	company := mustGroup(t, s, "Company", "", carol.ID)
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)

	cur := head(t, s)
	nest(t, s, eng, backend)
	wantAccount(t, s, alice.ID, []string{"engineering"}, engineeringChannels)
	wantLines(t, "accounts a nesting journals", journalNames(t, s, cur), []string{"alice"})
	cur = head(t, s)
	nest(t, s, company, eng)
	wantAccount(t, s, alice.ID, []string{"company", "engineering"}, cat(companyChannels, engineeringChannels))
	wantAccount(t, s, carol.ID, []string{"company"}, companyChannels)
	wantLines(t, "accounts a nesting two levels up journals", journalNames(t, s, cur), []string{"alice"})

	// A member added three levels down gets every level, and only it is journaled.
	bob := mustUser(t, s, "bob", "")
	cur = head(t, s)
	patchMembers(t, s, backend.ID, store.AddMembers, bob.ID)
	wantAccount(t, s, bob.ID, []string{"company", "engineering"}, cat(companyChannels, engineeringChannels))
	wantLines(t, "accounts a deep member add journals", journalNames(t, s, cur), []string{"bob"})
	if lines, _ := journalSince(t, s, cur); !strings.Contains(strings.Join(lines, "\n"), "team.joined bob company (group:Company)") {
		t.Fatalf("a membership through nesting names the containing group:\n%s", strings.Join(lines, "\n"))
	}
	// A deep removal, likewise.
	cur = head(t, s)
	patchMembers(t, s, backend.ID, store.RemoveMembers, bob.ID)
	wantAccount(t, s, bob.ID, []string{"everyone"}, everyoneDefault)
	wantLines(t, "accounts a deep member remove journals", journalNames(t, s, cur), []string{"bob"})

	// Un-nesting the middle group from the top: its accounts lose the top's team only.
	cur = head(t, s)
	patchMembers(t, s, company.ID, store.RemoveMembers, eng.ID)
	wantAccount(t, s, alice.ID, []string{"engineering"}, engineeringChannels)
	wantAccount(t, s, carol.ID, []string{"company"}, companyChannels)
	wantLines(t, "accounts an un-nesting journals", journalNames(t, s, cur), []string{"alice"})
	// Nested again, then the middle group deleted: the bottom group stays, un-nested.
	nest(t, s, company, eng)
	if err := s.DeleteGroup(context.Background(), eng.ID, 0); err != nil {
		t.Fatal(err)
	}
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)
	if got := memberIDs(t, s, backend.ID); fmt.Sprint(got) != fmt.Sprint([]string{alice.ID}) {
		t.Fatalf("the bottom group's members after its parent went: %v", got)
	}
	// The top group deleted while it contains a group: its accounts below lose it.
	nest(t, s, company, backend)
	wantAccount(t, s, alice.ID, []string{"company"}, companyChannels)
	if err := s.DeleteGroup(context.Background(), company.ID, 0); err != nil {
		t.Fatal(err)
	}
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)
	wantAccount(t, s, carol.ID, []string{"everyone"}, everyoneDefault)
}

// A group made with member groups, and the member operations that replace or remove
// them all.
func testNestedCreateReplace(t *testing.T, s store.Store) {
	useRules(t, s, nestedRules)
	alice := mustUser(t, s, "alice", "")
	bob := mustUser(t, s, "bob", "")
	backend := mustGroup(t, s, "Backend", "", alice.ID)
	frontend := mustGroup(t, s, "Frontend", "", bob.ID)
	eng := mustGroup(t, s, "Engineering", "", backend.ID, frontend.ID)
	wantAccount(t, s, alice.ID, []string{"engineering"}, engineeringChannels)
	wantAccount(t, s, bob.ID, []string{"engineering"}, engineeringChannels)

	patchMembers(t, s, eng.ID, store.ReplaceMembers, frontend.ID)
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)
	wantAccount(t, s, bob.ID, []string{"engineering"}, engineeringChannels)
	patchMembers(t, s, eng.ID, store.ReplaceMembers, alice.ID, backend.ID)
	wantAccount(t, s, alice.ID, []string{"engineering"}, engineeringChannels)
	wantAccount(t, s, bob.ID, []string{"everyone"}, everyoneDefault)
	patchMembers(t, s, eng.ID, store.RemoveAllMembers)
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)

	// An id naming no user and no group fails the whole add.
	_, err := s.UpdateGroup(context.Background(), eng.ID, 0, nil, []store.MemberOp{{Kind: store.AddMembers,
		IDs: []string{backend.ID, "7d3b0f43-0000-4000-8000-000000000000"}}})
	var ue *store.UnknownMembersError
	if !errors.As(err, &ue) || fmt.Sprint(ue.IDs) != "[7d3b0f43-0000-4000-8000-000000000000]" || !strings.Contains(err.Error(), "no user or group") {
		t.Fatalf("add of an unknown id with a group: %v", err)
	}
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)
	// Adding a group nested already changes nothing.
	nest(t, s, eng, backend)
	cur := head(t, s)
	nest(t, s, eng, backend)
	wantLines(t, "entries of a nesting made twice", journalNames(t, s, cur), nil)
}

// Roles and a guest group's kind reach the accounts below.
func testNestedRoles(t *testing.T, s store.Store) {
	useRules(t, s, nestedRules)
	alice := mustUser(t, s, "alice", "")
	gina := mustUser(t, s, "gina", "")
	platform := mustGroup(t, s, "Platform", "", alice.ID)
	backend := mustGroup(t, s, "Backend", "", platform.ID)
	mustGroup(t, s, "Engineering", "", backend.ID)
	leads := mustGroup(t, s, "Eng Leads", "")
	admins := mustGroup(t, s, "Chat Admins", "")
	nest(t, s, leads, platform)
	wantRoles(t, s, alice.ID, "member admin:engineering")
	nest(t, s, admins, backend)
	wantRoles(t, s, alice.ID, "member sysadmin admin:engineering")
	// A member added below a group that grants a role gets it.
	bob := mustUser(t, s, "bob", "")
	patchMembers(t, s, platform.ID, store.AddMembers, bob.ID)
	wantRoles(t, s, bob.ID, "member sysadmin admin:engineering")
	patchMembers(t, s, admins.ID, store.RemoveMembers, backend.ID)
	wantRoles(t, s, alice.ID, "member admin:engineering")
	wantRoles(t, s, bob.ID, "member admin:engineering")

	// A guest group's kind through nesting: a guest, in the guest group's channel only.
	contractors := mustGroup(t, s, "Contractors", "", gina.ID)
	acme := mustGroup(t, s, "guest-acme", "")
	nest(t, s, acme, contractors)
	wantRoles(t, s, gina.ID, "guest")
	wantAccount(t, s, gina.ID, []string{"partners"}, []string{"partners/acme"})
	hugo := mustUser(t, s, "hugo", "")
	patchMembers(t, s, contractors.ID, store.AddMembers, hugo.ID)
	wantRoles(t, s, hugo.ID, "guest")
	wantAccount(t, s, hugo.ID, []string{"partners"}, []string{"partners/acme"})
	// A member group above the guests promotes them.
	nest(t, s, backend, contractors)
	wantRoles(t, s, gina.ID, "member")
	wantAccount(t, s, gina.ID, []string{"engineering", "partners"}, cat(engineeringChannels, []string{"partners/acme", "partners/off-topic", "partners/town-square"}))
	patchMembers(t, s, backend.ID, store.RemoveMembers, contractors.ID)
	wantRoles(t, s, gina.ID, "guest")
	wantAccount(t, s, gina.ID, []string{"partners"}, []string{"partners/acme"})
}

// An account reached by two paths keeps what they grant until the last goes.
func testNestedDAG(t *testing.T, s store.Store) {
	useRules(t, s, nestedRules)
	alice := mustUser(t, s, "alice", "")
	x := mustGroup(t, s, "X", "", alice.ID)
	a := mustGroup(t, s, "A", "", x.ID)
	b := mustGroup(t, s, "B", "", x.ID)
	company := mustGroup(t, s, "Company", "", a.ID, b.ID, alice.ID)
	wantAccount(t, s, alice.ID, []string{"company"}, companyChannels)
	patchMembers(t, s, company.ID, store.RemoveMembers, alice.ID)
	wantAccount(t, s, alice.ID, []string{"company"}, companyChannels)
	patchMembers(t, s, a.ID, store.RemoveMembers, x.ID)
	wantAccount(t, s, alice.ID, []string{"company"}, companyChannels)
	cur := head(t, s)
	if err := s.DeleteGroup(context.Background(), b.ID, 0); err != nil {
		t.Fatal(err)
	}
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)
	wantLines(t, "accounts the last path's end journals", journalNames(t, s, cur), []string{"alice"})
	// A diamond: the bottom group reaches the top through both sides.
	nest(t, s, a, x)
	nest(t, s, company, a)
	nest(t, s, x, mustGroup(t, s, "Y", ""))
	nest(t, s, company, x)
	patchMembers(t, s, company.ID, store.RemoveMembers, a.ID)
	wantAccount(t, s, alice.ID, []string{"company"}, companyChannels)
}

// A nesting that would make a cycle is refused, with nothing written.
func testNestedCycles(t *testing.T, s store.Store) {
	useRules(t, s, nestedRules)
	ctx := context.Background()
	alice := mustUser(t, s, "alice", "")
	d := mustGroup(t, s, "D", "", alice.ID)
	c := mustGroup(t, s, "C", "", d.ID)
	b := mustGroup(t, s, "B", "", c.ID)
	a := mustGroup(t, s, "Company", "", b.ID)
	wantAccount(t, s, alice.ID, []string{"company"}, companyChannels)
	for _, tc := range []struct {
		what   string
		group  store.Group
		ops    []store.MemberOp
		reason string
	}{
		{"itself", a, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{a.ID}}}, `group "Company" cannot contain itself`},
		{"a 2-cycle", c, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{b.ID}}}, `group "B" contains group "C"`},
		{"a long cycle", d, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{a.ID}}}, `group "Company" contains group "D"`},
		{"a long cycle by replace", d, []store.MemberOp{{Kind: store.ReplaceMembers, IDs: []string{a.ID}}}, `group "Company" contains group "D"`},
		{"a cycle after a rename", d, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{alice.ID, b.ID}}}, `group "B" contains group "D"`},
	} {
		before := head(t, s)
		_, err := s.UpdateGroup(ctx, tc.group.ID, 0, func(g *store.Group) error { g.DisplayName = "Engineering"; return nil }, tc.ops)
		wantNestingRefused(t, tc.what+" with a rename", err, "would make a cycle")
		_, err = s.UpdateGroup(ctx, tc.group.ID, 0, nil, tc.ops)
		wantNestingRefused(t, tc.what, err, tc.reason)
		if got, err := s.GetGroup(ctx, tc.group.ID); err != nil || got.DisplayName != tc.group.DisplayName || got.Version != tc.group.Version {
			t.Fatalf("%s: the group after a refused nesting: %+v, %v", tc.what, got, err)
		}
		wantLines(t, tc.what+": entries", journalNames(t, s, before), nil)
	}
	if got := memberIDs(t, s, d.ID); fmt.Sprint(got) != fmt.Sprint([]string{alice.ID}) {
		t.Fatalf("members of D after refused nestings: %v", got)
	}
	wantAccount(t, s, alice.ID, []string{"company"}, companyChannels)
}

// MaxGroupAncestors groups may contain one group; one more is refused.
func testNestedBound(t *testing.T, s store.Store) {
	useRules(t, s, nestedRules)
	ctx := context.Background()
	alice := mustUser(t, s, "alice", "")
	// A chain of MaxGroupAncestors+1 groups, made from the bottom: the bottom one has
	// MaxGroupAncestors groups above it.
	chain := []store.Group{mustGroup(t, s, "chain-0", "", alice.ID)}
	for i := 1; i <= store.MaxGroupAncestors; i++ {
		chain = append(chain, mustGroup(t, s, fmt.Sprintf("chain-%d", i), "", chain[i-1].ID))
	}
	top := chain[len(chain)-1]
	// One more above, made with the chain as member: refused, and not made.
	g := store.Group{DisplayName: "Company"}
	err := s.CreateGroup(ctx, &g, []string{top.ID})
	wantNestingRefused(t, "a create over the bound", err, fmt.Sprintf(`would put group "chain-0" in more than %d groups`, store.MaxGroupAncestors))
	if _, total, err := s.ListGroups(ctx, store.Query{Filter: parseFilter(t, `displayName eq "Company"`), StartIndex: 1}); err != nil || total != 0 {
		t.Fatalf("a refused create made its group: %d, %v", total, err)
	}
	// By a member add of an existing group, likewise.
	company := mustGroup(t, s, "Company", "")
	_, err = s.UpdateGroup(ctx, company.ID, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{top.ID}}})
	wantNestingRefused(t, "a nesting over the bound", err, "chain-0")
	wantAccount(t, s, alice.ID, []string{"everyone"}, everyoneDefault)
	// Exactly the bound again, from the other side: without the bottom group, chain-1
	// has MaxGroupAncestors groups above it once the chain is in Company.
	patchMembers(t, s, chain[1].ID, store.RemoveMembers, chain[0].ID)
	nest(t, s, company, top)
	patchMembers(t, s, chain[1].ID, store.AddMembers, alice.ID)
	wantAccount(t, s, alice.ID, []string{"company"}, companyChannels)
	_, err = s.UpdateGroup(ctx, chain[1].ID, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{chain[0].ID}}})
	wantNestingRefused(t, "the bottom group back", err, "chain-0")
}

// Two stores on one database race nestings and un-nestings, member adds and removes in
// nested groups, renames that change a containing group's mapping, and deactivations;
// afterwards the invariants hold (the closure among them), and the journal's team
// entries replay to every account's teams.
func testNestedRaces(t *testing.T, open func() store.Store) {
	s1, s2 := replicas(t, open, nestedRules)
	stores := []store.Store{s1, s2}
	ctx := cli()
	var users, groups []string
	for i := range 6 {
		users = append(users, mustUser(t, s1, fmt.Sprintf("racer%d@example.com", i), "").ID)
	}
	for _, g := range []string{"Company", "Engineering", "Eng Leads", "Backend", "Platform", "guest-acme"} {
		groups = append(groups, mustGroup(t, s1, g, "").ID)
	}
	// Renames move the mapped names among the groups (a name taken is a conflict).
	names := []string{"Company", "Engineering", "Eng Leads", "Chat Admins", "Backend", "Platform", "Web", "guest-beta"}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			st := stores[w%2]
			for range 30 {
				u, g, h := users[rng.Intn(len(users))], groups[rng.Intn(len(groups))], groups[rng.Intn(len(groups))]
				var err error
				switch rng.Intn(9) {
				case 0, 1:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{h}}})
				case 2:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{h}}})
				case 3, 4:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{u}}})
				case 5:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{u}}})
				case 6:
					name := names[rng.Intn(len(names))]
					_, err = st.UpdateGroup(ctx, g, 0, func(g *store.Group) error { g.DisplayName = name; return nil }, nil)
				case 7:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.ReplaceMembers, IDs: []string{u, h}}})
				case 8:
					_, _, err = st.SetAccountActive(ctx, u, rng.Intn(3) > 0)
				}
				var ie *store.InvalidError
				var ce *store.ConflictError
				switch {
				case err == nil, errors.As(err, &ie) && ie.Attribute == "members", errors.As(err, &ce):
				default:
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, s1)
	teams := map[string]map[string]bool{}
	for _, e := range allEvents(t, s1, store.EventQuery{}) {
		switch e.Kind {
		case store.EventTeamJoined, store.EventTeamLeft:
			if teams[e.Account] == nil {
				teams[e.Account] = map[string]bool{}
			}
			if e.Kind == store.EventTeamJoined == teams[e.Account][e.Team] {
				t.Errorf("%s: %s %s twice in a row", e.Username, e.Kind, e.Team)
			}
			teams[e.Account][e.Team] = e.Kind == store.EventTeamJoined
		}
	}
	for _, id := range users {
		var replayed []string
		for team, in := range teams[id] {
			if in {
				replayed = append(replayed, team)
			}
		}
		a := account(t, s1, id)
		if fmt.Sprint(sorted(replayed...)) != fmt.Sprint(sorted(a.Teams...)) {
			t.Errorf("%s: the journal replays to teams %v, the account has %v", a.Username, sorted(replayed...), a.Teams)
		}
	}
}
