package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// The reads of nested groups (store/store.go: EachGroupMember, User.Groups,
// AccountDetails.Groups): a group's members are its direct members, its users then its
// groups (Member.Type, a group's displayName as its display); a user's groups are its
// direct and indirect groups, each once, Indirect only when it is not a direct member.
func testNestedReads(t *testing.T, s store.Store) {
	ctx := context.Background()
	ann := mustUser(t, s, "ann@example.com", "")
	bob := mustUser(t, s, "bob@example.com", "")
	cat := mustUser(t, s, "cat@example.com", "")
	// Eng contains Backend and Platform; Backend contains Platform too (a DAG: cat
	// reaches Eng by two paths). bob is in Eng and in Backend.
	eng := mustGroup(t, s, "Eng", "", bob.ID)
	backend := mustGroup(t, s, "Backend", "", ann.ID, bob.ID)
	platform := mustGroup(t, s, "Platform", "", cat.ID)
	nest(t, s, backend, platform)
	nest(t, s, eng, platform, backend) // sent in this order; listed by creation

	members := func(g store.Group) []string {
		t.Helper()
		var out []string
		if err := s.EachGroupMember(ctx, g.ID, func(m store.Member) error {
			out = append(out, m.Type+" "+m.Display)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		g    store.Group
		want []string
	}{
		{eng, []string{"User bob@example.com", "Group Backend", "Group Platform"}},
		{backend, []string{"User ann@example.com", "User bob@example.com", "Group Platform"}},
		{platform, []string{"User cat@example.com"}},
	} {
		if got := members(c.g); !slices.Equal(got, c.want) {
			t.Errorf("members of %s: %q, want %q", c.g.DisplayName, got, c.want)
		}
	}

	show := func(gs []store.GroupRef) []string {
		var out []string
		for _, g := range gs {
			out = append(out, fmt.Sprintf("%s %v", g.DisplayName, g.Indirect))
		}
		return out
	}
	groups := func(u store.User) (scim, admin []string) {
		t.Helper()
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.AccountDetails(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return show(got.Groups), show(d.Groups)
	}
	for _, c := range []struct {
		u           store.User
		scim, admin []string // by creation; by displayName
	}{
		{ann, []string{"Eng true", "Backend false"}, []string{"Backend false", "Eng true"}},
		{bob, []string{"Eng false", "Backend false"}, []string{"Backend false", "Eng false"}},
		{cat, []string{"Eng true", "Backend true", "Platform false"}, []string{"Backend true", "Eng true", "Platform false"}},
	} {
		if scim, admin := groups(c.u); !slices.Equal(scim, c.scim) || !slices.Equal(admin, c.admin) {
			t.Errorf("groups of %s: user %q, account %q; want %q, %q", c.u.UserName, scim, admin, c.scim, c.admin)
		}
	}

	// Un-nested from Backend, Platform stays in Eng directly: cat keeps Eng, loses Backend.
	patchMembers(t, s, backend.ID, store.RemoveMembers, platform.ID)
	if scim, _ := groups(cat); !slices.Equal(scim, []string{"Eng true", "Platform false"}) {
		t.Errorf("cat after un-nesting Platform from Backend: %q", scim)
	}
	if got := members(backend); !slices.Equal(got, []string{"User ann@example.com", "User bob@example.com"}) {
		t.Errorf("Backend after un-nesting: %q", got)
	}
	// Deleted, Backend leaves Eng's members and ann's groups.
	if err := s.DeleteGroup(ctx, backend.ID, 0); err != nil {
		t.Fatal(err)
	}
	if got := members(eng); !slices.Equal(got, []string{"User bob@example.com", "Group Platform"}) {
		t.Errorf("Eng after deleting Backend: %q", got)
	}
	if scim, admin := groups(ann); len(scim) != 0 || len(admin) != 0 {
		t.Errorf("ann after deleting Backend: %q, %q", scim, admin)
	}
}
