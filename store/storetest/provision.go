package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
)

func testNewUserJoinsDefaultTeamWithTownSquare(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	u := mustUser(t, s, "Alice.Smith@example.com", "00u1")
	wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)
	a := account(t, s, u.ID)
	if a.Username != "alice.smith" || a.Email != "alice.smith@example.com" || a.Status != store.StatusOnline {
		t.Fatalf("account fields: %+v", a)
	}
}

func testGroupMembershipGrantsAndRevokes(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	u := mustUser(t, s, "bob@example.com", "00u2")
	eng := mustGroup(t, s, "engineering", "00gE") // rule match is case-insensitive
	patchMembers(t, s, eng.ID, store.AddMembers, u.ID)
	engChannels := []string{"engineering/backend", "engineering/off-topic", "engineering/town-square",
		"everyone/eng-news", "everyone/off-topic", "everyone/town-square"}
	wantAccount(t, s, u.ID, []string{"engineering", "everyone"}, engChannels)

	// A second group granting everyone/leads: removing it keeps what Engineering grants.
	leads := mustGroup(t, s, "Leads", "00g1ABCD", u.ID)
	wantAccount(t, s, u.ID, []string{"engineering", "everyone"}, append(slices.Clone(engChannels), "everyone/leads"))
	patchMembers(t, s, leads.ID, store.RemoveMembers, u.ID)
	wantAccount(t, s, u.ID, []string{"engineering", "everyone"}, engChannels)

	// Leaving the last mapped group moves the account to the default team.
	patchMembers(t, s, eng.ID, store.RemoveMembers, u.ID)
	wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)

	// Prefix rule and unmapped fallback.
	sales := mustGroup(t, s, "Team-Sales", "", u.ID)
	wantAccount(t, s, u.ID, []string{"sales"}, []string{"sales/off-topic", "sales/town-square"})
	other := mustGroup(t, s, "Marketing EMEA", "", u.ID)
	wantAccount(t, s, u.ID, []string{"marketing-emea", "sales"},
		[]string{"marketing-emea/off-topic", "marketing-emea/town-square", "sales/off-topic", "sales/town-square"})

	// Deleting a group removes all of its members from it.
	if err := s.DeleteGroup(context.Background(), sales.ID, 0); err != nil {
		t.Fatal(err)
	}
	wantAccount(t, s, u.ID, []string{"marketing-emea"}, []string{"marketing-emea/off-topic", "marketing-emea/town-square"})

	// A rename is matched again; the same name again changes nothing. (The first
	// engineering group goes first: names are unique.)
	if err := s.DeleteGroup(context.Background(), eng.ID, 0); err != nil {
		t.Fatal(err)
	}
	rename := func(name string) {
		t.Helper()
		if _, err := s.UpdateGroup(context.Background(), other.ID, 0, func(g *store.Group) error { g.DisplayName = name; return nil }, nil); err != nil {
			t.Fatal(err)
		}
	}
	rename("Engineering")
	wantAccount(t, s, u.ID, []string{"engineering", "everyone"}, engChannels)
	rename("Engineering")
	wantAccount(t, s, u.ID, []string{"engineering", "everyone"}, engChannels)
}

func testDefaultChannelsReplaceOffTopic(t *testing.T, s store.Store) {
	useRules(t, s, "default_team: staff\ndefault_channels: [announcements]\n")
	u := mustUser(t, s, "carol", "")
	wantAccount(t, s, u.ID, []string{"staff"}, []string{"staff/announcements", "staff/town-square"})
}

func testUnmappedGroupsIgnore(t *testing.T, s store.Store) {
	useRules(t, s, "unmapped_groups: ignore\n")
	u := mustUser(t, s, "dan", "")
	mustGroup(t, s, "Random Group", "", u.ID)
	wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)
}

func testDeactivationKeepsMembershipsReactivationReevaluates(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	u := mustUser(t, s, "erin", "00u5")
	eng := mustGroup(t, s, "Engineering", "", u.ID)
	setActive(t, s, u.ID, false)
	a := account(t, s, u.ID)
	if a.Status != store.StatusOffline || a.DeleteAt == 0 || !slices.Contains(a.Teams, "engineering") {
		t.Fatalf("deactivated account: %+v", a)
	}
	// Deactivated users still answer filters with active false.
	page, total, err := s.ListUsers(ctx, store.Query{Filter: parseFilter(t, `active eq false`), StartIndex: 1, Count: 10})
	if err != nil || total != 1 || len(page) != 1 || page[0].ID != u.ID {
		t.Fatalf("active=false filter: %d %v", total, err)
	}
	// While deactivated, leaving the group freezes nothing away...
	patchMembers(t, s, eng.ID, store.RemoveMembers, u.ID)
	if a := account(t, s, u.ID); !slices.Contains(a.Teams, "engineering") {
		t.Fatalf("deactivated account lost memberships: %+v", a)
	}
	// ...and reactivation re-evaluates against the groups of now.
	setActive(t, s, u.ID, true)
	a = account(t, s, u.ID)
	if a.Status != store.StatusOnline || a.DeleteAt != 0 {
		t.Fatalf("reactivated account: %+v", a)
	}
	wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)
}

func testDeleteDeactivatesAndRelinksByExternalID(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	u := mustUser(t, s, "frank@example.com", "00uF")
	eng := mustGroup(t, s, "Engineering", "", u.ID)
	if err := s.DeleteUser(ctx, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	_, total, _ := s.ListUsers(ctx, store.Query{StartIndex: 1, Count: 10})
	if total != 0 {
		t.Fatalf("deleted user listed")
	}
	// The account stays, deactivated, with its memberships.
	kept, err := s.AccountDetails(ctx, u.ID)
	if err != nil {
		t.Fatalf("account not kept: %v", err)
	}
	if kept.Active || kept.Status != store.StatusOffline || kept.DeleteAt == 0 || !kept.SCIMDeleted || len(kept.Teams) == 0 {
		t.Fatalf("kept account: %+v", kept)
	}
	if m := memberIDs(t, s, eng.ID); len(m) != 0 {
		t.Fatalf("deleted user still listed in group: %v", m)
	}
	// The userName is free again, but a new user taking it gets another account.
	other := mustUser(t, s, "frank@example.com", "00uOTHER")
	if other.ID == u.ID || other.Account.Username == kept.Username {
		t.Fatalf("new user reused the account: %+v", other.Account)
	}
	if err := s.DeleteUser(ctx, other.ID, 0); err != nil {
		t.Fatal(err)
	}
	// Same externalId, new userName and no email: the old account comes back, active,
	// with exactly the attributes of the new request (no email left from before).
	back := store.User{UserName: "frank.new@example.com", ExternalID: "00uF", Active: true}
	if err := s.CreateUser(ctx, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != u.ID || back.Account.Status != store.StatusOnline {
		t.Fatalf("relink: id %s (want %s), %+v", back.ID, u.ID, back.Account)
	}
	if got, _ := s.GetUser(ctx, back.ID); len(got.Emails) != 0 {
		t.Fatalf("relinked user kept the old emails: %+v", got.Emails)
	}
	if back.Account.Username != "frank-new" && back.Account.Username != "frank.new" {
		t.Fatalf("username should follow the new userName: %q", back.Account.Username)
	}
	// Live users may share an externalId (RFC 7643 sets no uniqueness on it, and
	// Microsoft's reference collection relies on that); only a DELETEd account relinks.
	dup := store.User{UserName: "someone-else", ExternalID: "00uF", Active: true}
	if err := s.CreateUser(ctx, &dup); err != nil || dup.ID == back.ID {
		t.Fatalf("second live user with the same externalId: %v", err)
	}
}

// testPurgeMode deletes a user under delete_mode purge: the account goes with the
// resource, with every membership, and its chat username is free again. (A backend's
// own tests may check that no row of it is left.)
func testPurgeMode(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules+"delete_mode: purge\n")
	ctx := context.Background()
	u := mustUser(t, s, "gina@example.com", "00uG")
	eng := mustGroup(t, s, "Engineering", "", u.ID)
	wantAccount(t, s, u.ID, []string{"engineering", "everyone"}, []string{"engineering/backend", "engineering/off-topic",
		"engineering/town-square", "everyone/eng-news", "everyone/off-topic", "everyone/town-square"})
	if err := s.DeleteUser(ctx, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after purge: %v", err)
	}
	if _, err := s.AccountDetails(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account after purge: %v", err)
	}
	if m := memberIDs(t, s, eng.ID); len(m) != 0 {
		t.Fatalf("purged user still in its group: %v", m)
	}
	teams, err := s.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range teams {
		if tm.MemberCount != 0 {
			t.Errorf("team %s has %d members after the only account was purged", tm.Name, tm.MemberCount)
		}
		chans, err := s.TeamChannels(ctx, tm.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chans {
			if c.MemberCount != 0 {
				t.Errorf("channel %s/%s has %d members after the only account was purged", tm.Name, c.Name, c.MemberCount)
			}
		}
	}
	// Nothing of the account is left to relink to or to hold its username.
	again := mustUser(t, s, "gina@example.com", "00uG")
	if again.ID == u.ID || again.Account.Username != u.Account.Username {
		t.Fatalf("user after purge: id %s (old %s), username %q (old %q)", again.ID, u.ID, again.Account.Username, u.Account.Username)
	}
}

func testChatUsernames(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustUser(t, s, "alice@one.example", "")
	b := mustUser(t, s, "Alice@two.example", "")
	if a.Account.Username != "alice" || b.Account.Username != "alice2" {
		t.Fatalf("usernames %q %q", a.Account.Username, b.Account.Username)
	}
	// userName changes keep the account; the username follows unless it collides.
	u, err := s.UpdateUser(ctx, b.ID, 0, func(u *store.User) error { u.UserName = "bea@two.example"; return nil })
	if err != nil || u.Account.Username != "bea" || u.ID != b.ID {
		t.Fatalf("rename: %+v %v", u.Account, err)
	}
	u, err = s.UpdateUser(ctx, b.ID, 0, func(u *store.User) error { u.UserName = "ALICE@three.example"; return nil })
	if err != nil || u.Account.Username == "alice" {
		t.Fatalf("rename onto a taken username: %+v %v", u.Account, err)
	}
	// A group's name is not available as a username.
	mustGroup(t, s, "Hank", "")
	h := mustUser(t, s, "hank@example.com", "")
	if h.Account.Username == "hank" {
		t.Fatalf("username took a group's name")
	}
}

// testApplyRulesGivesEveryTeamItsJoinChannels changes default_channels on a database with
// a team nobody is in any more: rule 2 holds for teams, members or not.
func testApplyRulesGivesEveryTeamItsJoinChannels(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	u := mustUser(t, s, "ivy", "")
	mustGroup(t, s, "team-sales", "", u.ID) // "everyone" is left without members
	useRules(t, s, exampleRules+"default_channels: [announcements]\n")
	if _, err := s.ApplyRules(context.Background(), acceptAll); err != nil {
		t.Fatal(err)
	}
	wantAccount(t, s, u.ID, []string{"sales"}, []string{"sales/announcements", "sales/town-square"})
}
