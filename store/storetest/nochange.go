package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
)

// testUpdateUserWithoutChange: an update that leaves every attribute as stored writes
// nothing (RFC 7643 §3.1): the version and lastModified stay, nothing is journaled, and
// the user comes back as stored; an empty list is no change from none.
func testUpdateUserWithoutChange(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := fullUser("unchanged")
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	stored, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := lastEvent(t, s)
	time.Sleep(2 * time.Millisecond) // a write now would move lastModified
	for _, tc := range []struct {
		name string
		fn   func(u *store.User)
	}{
		{"nothing", func(*store.User) {}},
		{"each attribute set to what it is", func(u *store.User) {
			u.UserName, u.Title, u.Active = stored.UserName, stored.Title, stored.Active
			u.Emails = append([]store.MultiValue(nil), stored.Emails...)
		}},
		{"store-kept fields the caller changed", func(u *store.User) { u.Version, u.LastModified = 99, time.Now() }},
	} {
		got, err := s.UpdateUser(ctx, u.ID, stored.Version, func(u *store.User) error { tc.fn(u); return nil })
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Version != stored.Version || !got.LastModified.Equal(stored.LastModified) || got.UserName != stored.UserName {
			t.Fatalf("%s: version %d lastModified %v, want %d %v", tc.name, got.Version, got.LastModified, stored.Version, stored.LastModified)
		}
	}
	if after := lastEvent(t, s); after != before {
		t.Fatalf("an update without change was journaled: %d → %d", before, after)
	}
	again, _ := s.GetUser(ctx, u.ID)
	if again.Version != stored.Version || !again.LastModified.Equal(stored.LastModified) {
		t.Fatalf("stored: version %d lastModified %v", again.Version, again.LastModified)
	}
	// One attribute changed is a change.
	got, err := s.UpdateUser(ctx, u.ID, 0, func(u *store.User) error { u.Title = "changed"; return nil })
	if err != nil || got.Version != stored.Version+1 || !got.LastModified.After(stored.LastModified) {
		t.Fatalf("a change: %v version %d", err, got.Version)
	}
	if lastEvent(t, s) == before {
		t.Fatal("a change was not journaled")
	}
}

// lastEvent is the cursor of the journal's newest entry (0: none).
func lastEvent(t *testing.T, s store.Store) int64 {
	t.Helper()
	c, _, err := s.JournalHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testUpdateGroupWithoutChange: an update without member operations that leaves
// displayName and externalId as stored writes nothing (Okta sends its group's name again
// with every membership change); with a member operation it is a change.
func testUpdateGroupWithoutChange(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := mustGroup(t, s, "Unchanged", "ext-unchanged")
	before := lastEvent(t, s)
	time.Sleep(2 * time.Millisecond) // a write now would move lastModified
	for _, fn := range []func(*store.Group) error{
		nil,
		func(g *store.Group) error { g.DisplayName, g.ExternalID = "Unchanged", "ext-unchanged"; return nil },
	} {
		got, err := s.UpdateGroup(ctx, g.ID, g.Version, fn, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != g.Version || !got.LastModified.Equal(g.LastModified) || got.DisplayName != "Unchanged" {
			t.Fatalf("version %d lastModified %v, want %d %v", got.Version, got.LastModified, g.Version, g.LastModified)
		}
	}
	if stored, _ := s.GetGroup(ctx, g.ID); stored.Version != g.Version || !stored.LastModified.Equal(g.LastModified) {
		t.Fatalf("stored: version %d lastModified %v", stored.Version, stored.LastModified)
	}
	if after := lastEvent(t, s); after != before {
		t.Fatalf("an update without change was journaled: %d → %d", before, after)
	}
	for i, tc := range []struct {
		fn  func(*store.Group) error
		ops []store.MemberOp
	}{
		{func(g *store.Group) error { g.DisplayName = "unchanged"; return nil }, nil}, // a change of case is a rename
		{nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{"00000000-0000-4000-8000-000000000000"}}}},
	} {
		got, err := s.UpdateGroup(ctx, g.ID, 0, tc.fn, tc.ops)
		if err != nil || got.Version != g.Version+int64(i)+1 {
			t.Fatalf("change %d: %v version %d", i+1, err, got.Version)
		}
	}
}
