package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The read side of nested groups, on rows written directly: a group's members are its
// users then its groups (EachGroupMember), a user's groups are its direct and indirect
// groups, each once (GetUser, AccountDetails), and filters see both.

// nestRows makes child a member of parent with SQL alone, as the write path leaves the
// rows: the group_groups row, and every descendant of child (itself included) under
// every ancestor of parent (itself included) in the closure.
func nestRows(t *testing.T, s *sqlstore.Store, parent, child store.Group) {
	t.Helper()
	db := s.DB()
	var ppk, cpk int64
	for id, pk := range map[string]*int64{parent.ID: &ppk, child.ID: &cpk} {
		if err := db.Get(pk, db.Rebind(`SELECT pk FROM groups WHERE id = ?`), id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(db.Rebind(`INSERT INTO group_groups (group_pk, member_pk) VALUES (?, ?)`), ppk, cpk); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(db.Rebind(`INSERT INTO group_ancestors (group_pk, ancestor_pk)
		SELECT d.group_pk, a.ancestor_pk FROM group_ancestors d, group_ancestors a
		WHERE d.ancestor_pk = ? AND a.group_pk = ? ON CONFLICT DO NOTHING`), cpk, ppk); err != nil {
		t.Fatal(err)
	}
}

// nestedFixture: Eng contains Backend, which contains Platform; Solo contains nothing.
// ann is in Backend, bob in Eng and in Backend, cat in Platform, dan in no group.
type nestedFixture struct {
	eng, backend, platform, solo store.Group
	ann, bob, cat, dan           store.User
}

func makeNested(t *testing.T, s *sqlstore.Store) nestedFixture {
	var f nestedFixture
	f.ann = mustUser(t, s, "ann@example.com", "")
	f.bob = mustUser(t, s, "bob@example.com", "")
	f.cat = mustUser(t, s, "cat@example.com", "")
	f.dan = mustUser(t, s, "dan@example.com", "")
	f.eng = mustGroup(t, s, "Eng", "", f.bob.ID)
	f.backend = mustGroup(t, s, "Backend", "", f.ann.ID, f.bob.ID)
	f.platform = mustGroup(t, s, "Platform", "", f.cat.ID)
	f.solo = mustGroup(t, s, "Solo", "")
	nestRows(t, s, f.eng, f.backend)
	nestRows(t, s, f.backend, f.platform)
	return f
}

func TestNestedGroupMembersRead(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := makeNested(t, s)
		// Engineering also contains Solo, nested after Backend but created before
		// neither: member groups come in key order, after the users.
		nestRows(t, s, f.eng, f.solo)
		cases := []struct {
			group store.Group
			want  []string
		}{
			{f.eng, []string{"User " + f.bob.ID + " bob@example.com", "Group " + f.backend.ID + " Backend", "Group " + f.solo.ID + " Solo"}},
			{f.backend, []string{"User " + f.ann.ID + " ann@example.com", "User " + f.bob.ID + " bob@example.com", "Group " + f.platform.ID + " Platform"}},
			{f.platform, []string{"User " + f.cat.ID + " cat@example.com"}},
			{f.solo, nil},
		}
		for _, chunk := range []int{1, 2, 1000} {
			restore := sqlstore.SetMemberChunkForTest(chunk)
			for _, c := range cases {
				var got []string
				if err := s.EachGroupMember(ctx, c.group.ID, func(m store.Member) error {
					got = append(got, m.Type+" "+m.Value+" "+m.Display)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("chunk %d, members of %s:\n got %q\nwant %q", chunk, c.group.DisplayName, got, c.want)
				}
			}
			restore()
		}
	})
}

func TestNestedGroupsOfAUser(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := makeNested(t, s)
		d, i := "direct", "indirect"
		// By group key (creation) for SCIM, by displayName for the admin's view.
		cases := []struct {
			user        store.User
			scim, admin []string
		}{
			{f.ann, []string{"Eng " + i, "Backend " + d}, []string{"Backend " + d, "Eng " + i}},
			{f.bob, []string{"Eng " + d, "Backend " + d}, []string{"Backend " + d, "Eng " + d}}, // Eng both ways: direct
			{f.cat, []string{"Eng " + i, "Backend " + i, "Platform " + d}, []string{"Backend " + i, "Eng " + i, "Platform " + d}},
			{f.dan, nil, nil},
		}
		show := func(gs []store.GroupRef) []string {
			var out []string
			for _, g := range gs {
				out = append(out, g.DisplayName+" "+map[bool]string{false: d, true: i}[g.Indirect])
			}
			return out
		}
		for _, c := range cases {
			u, err := s.GetUser(ctx, c.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := show(u.Groups); !slices.Equal(got, c.scim) {
				t.Errorf("GetUser %s: groups %q, want %q", c.user.UserName, got, c.scim)
			}
			users, _, err := s.ListUsers(ctx, store.Query{Filter: parseFilter(t, fmt.Sprintf(`id eq %q`, c.user.ID)), Count: 10})
			if err != nil || len(users) != 1 {
				t.Fatalf("ListUsers %s: %v %v", c.user.UserName, users, err)
			}
			if got := show(users[0].Groups); !slices.Equal(got, c.scim) {
				t.Errorf("ListUsers %s: groups %q, want %q", c.user.UserName, got, c.scim)
			}
			ad, err := s.AccountDetails(ctx, c.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := show(ad.Groups); !slices.Equal(got, c.admin) {
				t.Errorf("AccountDetails %s: groups %q, want %q", c.user.UserName, got, c.admin)
			}
		}
	})
}

func TestNestedGroupFilters(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		f := makeNested(t, s)
		users := []struct {
			filter string
			want   []string
		}{
			{fmt.Sprintf(`groups.value eq %q`, f.eng.ID), []string{"ann@example.com", "bob@example.com", "cat@example.com"}},
			{fmt.Sprintf(`groups eq %q`, f.platform.ID), []string{"cat@example.com"}},
			{`groups.display eq "ENG"`, []string{"ann@example.com", "bob@example.com", "cat@example.com"}},
			{fmt.Sprintf(`groups[value eq %q and type eq "indirect"]`, f.eng.ID), []string{"ann@example.com", "cat@example.com"}},
			{fmt.Sprintf(`groups[value eq %q and type eq "Direct"]`, f.eng.ID), []string{"bob@example.com"}},
			{`groups.type eq "indirect"`, []string{"ann@example.com", "cat@example.com"}},
			{`groups[type eq "indirect" and display eq "backend"]`, []string{"cat@example.com"}},
			{`not (groups pr)`, []string{"dan@example.com"}},
		}
		for _, c := range users {
			if got := userNames(t, s, c.filter); !sameSet(got, c.want) {
				t.Errorf("Users %s: got %q, want %q", c.filter, got, c.want)
			}
		}
		groups := []struct {
			filter string
			want   []string
		}{
			{fmt.Sprintf(`members.value eq %q`, f.backend.ID), []string{"Eng"}},
			{fmt.Sprintf(`members eq %q`, f.ann.ID), []string{"Backend"}}, // direct members only
			{`members[type eq "Group"]`, []string{"Eng", "Backend"}},
			{`members.type eq "user"`, []string{"Eng", "Backend", "Platform"}},
			{`members[type eq "Group" and display eq "platform"]`, []string{"Backend"}},
			{`members.display eq "BACKEND"`, []string{"Eng"}},
			{`members pr`, []string{"Eng", "Backend", "Platform"}},
			{`not (members pr)`, []string{"Solo"}},
			// Any member but Backend: Eng has bob; a group without members has none.
			{fmt.Sprintf(`members.value ne %q`, f.backend.ID), []string{"Eng", "Backend", "Platform", "Solo"}},
			{fmt.Sprintf(`not (members.value eq %q)`, f.platform.ID), []string{"Eng", "Platform", "Solo"}},
		}
		for _, c := range groups {
			if got := groupNames(t, s, c.filter); !sameSet(got, c.want) {
				t.Errorf("Groups %s: got %q, want %q", c.filter, got, c.want)
			}
		}
	})
}
