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

// exportRecorder keeps the usernames and the memberships an export sends.
type exportRecorder struct{ lines []string }

func (r *exportRecorder) Team(t store.ExportTeam) error {
	r.lines = append(r.lines, "team "+t.Name)
	return nil
}
func (r *exportRecorder) Channel(c store.ExportChannel) error {
	r.lines = append(r.lines, "channel "+c.Team+"/"+c.Name)
	return nil
}
func (r *exportRecorder) User(u store.ExportUser) error {
	r.lines = append(r.lines, fmt.Sprintf("user %s %v", u.Username, u.Teams))
	return nil
}

// TestExportPages: an export read a few accounts a page (keyset pages on SQLite, FETCHes
// from a cursor on PostgreSQL) sends what one page sends, in byte order of usernames
// ('.' and '-' sort before digits and letters, as no locale's collation has it), with
// and without a team filter.
func TestExportPages(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var b store.ImportBatch
		b.Teams = []store.ImportTeam{{Line: 1, Name: "eng"}, {Line: 2, Name: "ops"}}
		for i, name := range []string{"b.x", "a-b", "ab", "a.c", "b1", "zed", "a_b", "aa", "c"} {
			team := []string{"eng", "ops"}[i%2]
			b.Users = append(b.Users, store.ImportUser{Line: 10 + i, Username: name, Email: name + "@example.com",
				Teams: []store.ImportTeamMembership{{Name: team}}})
		}
		if _, err := s.ImportChat(ctx, b, store.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		export := func(q store.ExportQuery) []string {
			var r exportRecorder
			if err := s.ExportChat(ctx, q, &r); err != nil {
				t.Fatal(err)
			}
			return r.lines
		}
		whole, eng := export(store.ExportQuery{}), export(store.ExportQuery{Teams: []string{"eng"}})
		var users []string
		for _, l := range whole {
			if len(l) > 5 && l[:5] == "user " {
				users = append(users, l)
			}
		}
		if !slices.IsSortedFunc(users, func(a, b string) int { return compareBytes(a, b) }) || len(users) != 9 {
			t.Fatalf("users not in byte order: %q", users)
		}
		for _, n := range []int{1, 2, 4} {
			sqlstore.SetExportPageForTest(t, n)
			if got := export(store.ExportQuery{}); !slices.Equal(got, whole) {
				t.Fatalf("pages of %d:\n%q\nwant\n%q", n, got, whole)
			}
			if got := export(store.ExportQuery{Teams: []string{"eng"}}); !slices.Equal(got, eng) {
				t.Fatalf("pages of %d of eng:\n%q\nwant\n%q", n, got, eng)
			}
		}
	})
}

func compareBytes(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestImportExportRoles: an import's admin roles are grants of source import, in effect
// (AccountDetails), journaled once, kept by a group change, and exported back as
// Mattermost's role strings; a guest's roles export as guest roles.
func TestImportExportRoles(t *testing.T) {
	withRules(t, `
groups:
  - match: {displayName: "Partners"}
    guest: true
    channels: [eng/partners]
`, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		b := store.ImportBatch{
			Teams:    []store.ImportTeam{{Line: 1, Name: "eng"}},
			Channels: []store.ImportChannel{{Line: 2, Team: "eng", Name: "ops"}, {Line: 3, Team: "eng", Name: "partners"}},
			Users: []store.ImportUser{
				{Line: 4, Username: "ann", Email: "ann@example.com", SystemAdmin: true,
					Teams: []store.ImportTeamMembership{{Name: "eng", Channels: []string{"ops"}, Admin: true, AdminChannels: []string{"ops"}}}},
				{Line: 5, Username: "bob", Email: "bob@example.com", Teams: []store.ImportTeamMembership{{Name: "eng", Channels: []string{"ops"}}}},
			},
		}
		rep, err := s.ImportChat(ctx, b, store.ImportOptions{Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.RolesGranted != 3 {
			t.Errorf("RolesGranted = %d, want 3: %q", rep.RolesGranted, rep.Changes)
		}
		id, err := s.AccountID(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.AccountDetails(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !d.SystemAdmin || len(d.SystemAdminSources) != 1 || d.SystemAdminSources[0].Kind != store.SourceImport {
			t.Errorf("system admin %v from %+v", d.SystemAdmin, d.SystemAdminSources)
		}
		admins := map[string]bool{}
		for _, m := range d.Teams {
			admins[m.Team] = m.Admin
		}
		for _, m := range d.Channels {
			admins[m.Team+"/"+m.Channel] = m.Admin
		}
		if !admins["eng"] || !admins["eng/ops"] || admins["eng/town-square"] {
			t.Errorf("admin roles %v", admins)
		}
		// Importing the same batch again grants nothing new.
		if rep, err := s.ImportChat(ctx, b, store.ImportOptions{}); err != nil || rep.RolesGranted != 0 {
			t.Errorf("second import: %+v, %v", rep, err)
		}
		events, err := s.Events(ctx, store.EventQuery{Account: id, Limit: store.MaxEventPage})
		if err != nil {
			t.Fatal(err)
		}
		roles := 0
		for _, e := range events {
			if e.Kind.IsRoleEvent() {
				roles++
				if e.Actor != store.ActorImport && e.Actor != store.ActorSystem {
					t.Errorf("role entry by %q", e.Actor)
				}
			}
		}
		if roles != 3 {
			t.Errorf("%d role entries, want 3: %+v", roles, events)
		}
		// Bob becomes a guest through a guest group: his roles export as a guest's.
		bob, err := s.AccountID(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		mustGroup(t, s, "Partners", "", bob)
		var r exportRecorder
		rec := map[string]store.ExportUser{}
		if err := s.ExportChat(ctx, store.ExportQuery{}, exportSink{&r, rec}); err != nil {
			t.Fatal(err)
		}
		ann := rec["ann"]
		if ann.Roles != "system_admin system_user" || len(ann.Teams) != 1 || ann.Teams[0].Roles != "team_user team_admin" {
			t.Errorf("ann exported as %+v", ann)
		}
		for _, c := range ann.Teams[0].Channels {
			want := "channel_user"
			if c.Name == "ops" {
				want = "channel_user channel_admin"
			}
			if c.Roles != want {
				t.Errorf("ann in %s: %q, want %q", c.Name, c.Roles, want)
			}
		}
		g := rec["bob"]
		if g.Roles != "system_guest" || len(g.Teams) != 1 || g.Teams[0].Roles != "team_guest" ||
			len(g.Teams[0].Channels) != 1 || g.Teams[0].Channels[0] != (store.ExportChannelMembership{Name: "partners", Roles: "channel_guest"}) {
			t.Errorf("bob exported as %+v", g)
		}
		checkInvariants(t, s)
	})
}

// exportSink records an export's users by username.
type exportSink struct {
	*exportRecorder
	users map[string]store.ExportUser
}

func (e exportSink) User(u store.ExportUser) error {
	e.users[u.Username] = u
	return nil
}

// An imported admin role is taken away by hand like a hand-made one (RevokeRole ends
// the manual and import grants), as RemoveTeamMember takes imported memberships.
func TestRevokeImportedRole(t *testing.T) {
	withRules(t, ``, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		b := store.ImportBatch{
			Teams: []store.ImportTeam{{Line: 1, Name: "eng"}},
			Users: []store.ImportUser{{Line: 2, Username: "ann", Email: "ann@example.com", SystemAdmin: true,
				Teams: []store.ImportTeamMembership{{Name: "eng", Admin: true}}}},
		}
		if _, err := s.ImportChat(ctx, b, store.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		id, err := s.AccountID(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []store.RoleRef{{Role: store.RoleSystemAdmin}, {Role: store.RoleTeamAdmin, Team: "eng"}} {
			c, err := s.RevokeRole(ctx, id, r)
			if err != nil || !c.Changed || c.Has {
				t.Errorf("RevokeRole(%s) = %+v, %v", r.Where(), c, err)
			}
			if _, err := s.RevokeRole(ctx, id, r); store.ErrorCode(err) != store.CodeNoRole {
				t.Errorf("RevokeRole(%s) again = %v, want no_role", r.Where(), err)
			}
		}
	})
}
