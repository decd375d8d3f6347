package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// testListGroupsTotals is testListUsersTotals for groups.
func testListGroupsTotals(t *testing.T, s store.Store) {
	ctx := context.Background()
	var all []string
	for i := range 5 {
		g := store.Group{DisplayName: fmt.Sprintf("g%d", i)}
		if err := s.CreateGroup(ctx, &g, nil); err != nil {
			t.Fatal(err)
		}
		all = append(all, g.ID)
	}
	check := func(name string, q store.Query, want []string, wantTotal int) {
		t.Helper()
		page, total, err := s.ListGroups(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var ids []string
		for _, g := range page {
			ids = append(ids, g.ID)
		}
		if page == nil || !slices.Equal(ids, want) || total != wantTotal {
			t.Errorf("%s: page %v total %d, want %v total %d", name, ids, total, want, wantTotal)
		}
	}
	for _, c := range []struct {
		name         string
		start, count int
	}{
		{"first page full", 1, 2},
		{"first page partial", 1, 10},
		{"middle page", 2, 2},
		{"last page partial", 5, 2},
		{"just past the end", 6, 2},
		{"far past the end", 40, 2},
		{"count 0", 1, 0},
	} {
		var want []string
		if c.start <= len(all) {
			want = all[c.start-1 : min(c.start-1+c.count, len(all))]
		}
		check(c.name, store.Query{StartIndex: c.start, Count: c.count}, want, len(all))
	}
	two := parseFilter(t, `displayName eq "g1" or displayName eq "g3"`)
	check("filter, second page partial", store.Query{Filter: two, StartIndex: 2, Count: 5}, all[3:4], 2)
	check("filter, past the end", store.Query{Filter: two, StartIndex: 3, Count: 5}, nil, 2)
	check("filter, no match", store.Query{Filter: parseFilter(t, `displayName eq "nobody"`), StartIndex: 1, Count: 5}, nil, 0)
}

func testGroupMemberDeltas(t *testing.T, s store.Store) {
	ctx := context.Background()
	var u [4]store.User
	for i := range u {
		u[i] = store.User{UserName: fmt.Sprintf("m%d", i), Active: true}
		if err := s.CreateUser(ctx, &u[i]); err != nil {
			t.Fatal(err)
		}
	}
	g := store.Group{DisplayName: "Engineering", ExternalID: "g-ext"}
	if err := s.CreateGroup(ctx, &g, []string{u[0].ID, u[1].ID}); err != nil {
		t.Fatal(err)
	}
	if got := memberIDs(t, s, g.ID); fmt.Sprint(got) != fmt.Sprint(sorted(u[0].ID, u[1].ID)) {
		t.Fatalf("members after create: %v", got)
	}
	// Remove one, add two (one already there), in one transaction.
	_, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{
		{Kind: store.RemoveMembers, IDs: []string{u[0].ID, "not-a-member"}},
		{Kind: store.AddMembers, IDs: []string{u[1].ID, u[2].ID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := memberIDs(t, s, g.ID); fmt.Sprint(got) != fmt.Sprint(sorted(u[1].ID, u[2].ID)) {
		t.Fatalf("members after delta: %v", got)
	}
	// Unknown ids in an add fail the whole request and list the culprits.
	_, err = s.UpdateGroup(ctx, g.ID, 0, func(g *store.Group) error { g.DisplayName = "Renamed"; return nil },
		[]store.MemberOp{{Kind: store.AddMembers, IDs: []string{u[3].ID, "ghost-1", "ghost-2"}}})
	var unknown *store.UnknownMembersError
	if !errors.As(err, &unknown) || fmt.Sprint(unknown.IDs) != "[ghost-1 ghost-2]" {
		t.Fatalf("unknown members: err = %v", err)
	}
	got, _ := s.GetGroup(ctx, g.ID)
	if got.DisplayName != "Engineering" || got.Version != 2 {
		t.Fatalf("failed update wrote something: %+v", got)
	}
	if m := memberIDs(t, s, g.ID); len(m) != 2 {
		t.Fatalf("failed add wrote members: %v", m)
	}
	// The user's groups are derived from membership.
	uu, _ := s.GetUser(ctx, u[1].ID)
	if len(uu.Groups) != 1 || uu.Groups[0].ID != g.ID || uu.Groups[0].DisplayName != "Engineering" {
		t.Fatalf("user groups: %+v", uu.Groups)
	}
	// Replace and remove-all.
	if _, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: store.ReplaceMembers, IDs: []string{u[3].ID}}}); err != nil {
		t.Fatal(err)
	}
	if m := memberIDs(t, s, g.ID); fmt.Sprint(m) != fmt.Sprint([]string{u[3].ID}) {
		t.Fatalf("after replace: %v", m)
	}
	if _, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: store.RemoveAllMembers}}); err != nil {
		t.Fatal(err)
	}
	if m := memberIDs(t, s, g.ID); len(m) != 0 {
		t.Fatalf("after remove all: %v", m)
	}
	// Deleting a user removes its memberships.
	if _, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{u[0].ID}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	if m := memberIDs(t, s, g.ID); len(m) != 0 {
		t.Fatalf("deleted user still a member: %v", m)
	}
	if err := s.DeleteGroup(ctx, g.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetGroup(ctx, g.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted group: %v", err)
	}
}

// testEachGroupMember walks a group: every member exactly once with its display (the
// displayName, or the userName when it has none), in the same order on every walk; fn's
// error stops the walk and is returned; a group that does not exist has no members.
// (How an implementation reads a large group, in chunks or not, is its own tests' affair.)
func testEachGroupMember(t *testing.T, s store.Store) {
	ctx := context.Background()
	var want, ids []string
	for i := range 9 {
		u := store.User{UserName: fmt.Sprintf("walk%d", i), Active: true}
		if i%2 == 0 {
			u.DisplayName = fmt.Sprintf("Walk %d", i)
		}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
		display := u.DisplayName
		if display == "" {
			display = u.UserName
		}
		want = append(want, u.ID+"|"+display)
	}
	g := mustGroup(t, s, "walked", "", ids...)
	walk := func() []string {
		t.Helper()
		var got []string
		if err := s.EachGroupMember(ctx, g.ID, func(m store.Member) error {
			got = append(got, m.Value+"|"+m.Display)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := walk()
	if got := slices.Sorted(slices.Values(first)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("members\n got %v\nwant %v", got, want)
	}
	if again := walk(); !slices.Equal(again, first) {
		t.Fatalf("the order changed between two walks:\n%v\n%v", first, again)
	}
	stop := errors.New("enough")
	n := 0
	err := s.EachGroupMember(ctx, g.ID, func(store.Member) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("fn's error should stop the walk: err %v after %d members", err, n)
	}
	if err := s.EachGroupMember(ctx, "no-such-group", func(store.Member) error {
		t.Fatal("member of an unknown group")
		return nil
	}); err != nil {
		t.Fatalf("unknown group: %v", err)
	}
}

// testGroupDisplayNameUnique: a displayName is unique among groups without regard to
// case, on create and on rename (a ConflictError naming displayName, nothing written);
// a group may be renamed to its own name in another case, and a deleted group's name is
// free again.
func testGroupDisplayNameUnique(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.Group{DisplayName: "Engineering"}
	if err := s.CreateGroup(ctx, &a, nil); err != nil {
		t.Fatal(err)
	}
	var c *store.ConflictError
	for _, name := range []string{"Engineering", "ENGINEERING", "engineering"} {
		g := store.Group{DisplayName: name}
		if err := s.CreateGroup(ctx, &g, nil); !errors.As(err, &c) || c.Attribute != "displayName" {
			t.Fatalf("create %q: %v; want a displayName conflict", name, err)
		}
	}
	b := store.Group{DisplayName: "Sales"}
	if err := s.CreateGroup(ctx, &b, nil); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateGroup(ctx, b.ID, 0, func(g *store.Group) error { g.DisplayName = "engineering"; return nil }, nil)
	if !errors.As(err, &c) || c.Attribute != "displayName" {
		t.Fatalf("rename onto another group's name: %v", err)
	}
	if got, err := s.GetGroup(ctx, b.ID); err != nil || got.DisplayName != "Sales" || got.Version != 1 {
		t.Fatalf("after the refused rename: %+v %v", got, err)
	}
	if _, err := s.UpdateGroup(ctx, a.ID, 0, func(g *store.Group) error { g.DisplayName = "ENGINEERING"; return nil }, nil); err != nil {
		t.Fatalf("rename to its own name in another case: %v", err)
	}
	if err := s.DeleteGroup(ctx, a.ID, 0); err != nil {
		t.Fatal(err)
	}
	again := store.Group{DisplayName: "Engineering"}
	if err := s.CreateGroup(ctx, &again, nil); err != nil {
		t.Fatalf("the name of a deleted group: %v", err)
	}
}
