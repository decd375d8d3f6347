package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestMemberChangeWaitsForReactivation pins down the race that the conformance suite's
// ConcurrentAddRemoveReactivate hunts for at random: a reactivation is held open (its users row updated, not yet committed) while a member
// add runs. The add must wait for the account's lock and then reconcile it as active; an
// add that took the account for inactive and skipped it left an active group member
// without the group's team.
func TestMemberChangeWaitsForReactivation(t *testing.T) {
	withRules(t, exampleRules, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "sleeper", "")
		eng := mustGroup(t, s, "Engineering", "")
		if _, err := s.UpdateUser(ctx, u.ID, 0, func(x *store.User) error { x.Active = false; return nil }); err != nil {
			t.Fatal(err)
		}
		tx, err := s.DB().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		// What a reactivation does first; its reconcile cannot see the add below.
		if _, err := tx.Exec(tx.Rebind(`UPDATE users SET active = ?, delete_at = 0, status = 'online' WHERE id = ?`), true, u.ID); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := s.UpdateGroup(ctx, eng.ID, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{u.ID}}})
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("the add finished (%v) while the account's reactivation was open", err)
		case <-time.After(300 * time.Millisecond):
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		wantAccount(t, s, u.ID, []string{"engineering", "everyone"}, []string{"engineering/backend", "engineering/off-topic",
			"engineering/town-square", "everyone/eng-news", "everyone/off-topic", "everyone/town-square"})
	})
}

// teamPK returns the key of the named team.
func teamPK(t *testing.T, s *sqlstore.Store, name string) int64 {
	t.Helper()
	var pk int64
	if err := s.DB().Get(&pk, s.DB().Rebind(`SELECT pk FROM teams WHERE name = ?`), name); err != nil {
		t.Fatalf("team %s: %v", name, err)
	}
	return pk
}

// TestDefaultTeamCacheFollowsTheDatabase changes the default team and its channels behind
// a store that has cached their keys: through another store on the same database (another
// server), by changing the rules, and by making the cache name other rows. Every new
// account must still land in the team the rules name, with its team-join channels.
func TestDefaultTeamCacheFollowsTheDatabase(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, other := twoStores(t, b, exampleRules)
			t.Cleanup(func() { checkInvariants(t, s) })
			n := 0
			newUser := func() store.User {
				t.Helper()
				n++
				u := mustUser(t, s, fmt.Sprintf("cached%d@example.com", n), "")
				wantJournalledJoins(t, s, u.ID)
				return u
			}
			// moveOut puts every account of the default team in Engineering, so that the
			// default team can go away without leaving an account teamless.
			eng := mustGroup(t, s, "Engineering", "")
			moveOut := func() {
				t.Helper()
				var ids []string
				if err := s.DB().Select(&ids, `SELECT id FROM users`); err != nil {
					t.Fatal(err)
				}
				patchMembers(t, s, eng.ID, store.AddMembers, ids...)
			}

			first := newUser() // fills the cache
			wantAccount(t, s, first.ID, []string{"everyone"}, everyoneDefault)
			before := teamPK(t, s, "everyone")

			// Another server renames the team: new accounts join a new team named "everyone".
			if _, err := other.DB().Exec(`UPDATE teams SET name = 'everyone-old' WHERE name = 'everyone'`); err != nil {
				t.Fatal(err)
			}
			u := newUser()
			wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)
			if teamPK(t, s, "everyone") == before {
				t.Fatal("the renamed team was reused")
			}

			// Another server deletes the team (its members elsewhere first).
			moveOut()
			if _, err := other.DB().Exec(`DELETE FROM teams WHERE name = 'everyone'`); err != nil {
				t.Fatal(err)
			}
			u = newUser()
			wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)

			// Another server deletes a team-join channel of the default team.
			moveOut()
			if _, err := other.DB().Exec(other.DB().Rebind(`DELETE FROM channels WHERE name = 'off-topic' AND team_pk = ?`), teamPK(t, s, "everyone")); err != nil {
				t.Fatal(err)
			}
			u = newUser()
			wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)

			// A cache naming other rows (left by a rolled-back transaction, say): the
			// Engineering team and its channels.
			var engChans []int64
			if err := s.DB().Select(&engChans, s.DB().Rebind(`SELECT pk FROM channels WHERE team_pk = ? AND name IN ('town-square', 'off-topic') ORDER BY name DESC`),
				teamPK(t, s, "engineering")); err != nil {
				t.Fatal(err)
			}
			s.SetJoinCacheForTest(teamPK(t, s, "engineering"), engChans)
			u = newUser()
			wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)
			s.SetJoinCacheForTest(teamPK(t, s, "everyone"), engChans)
			u = newUser()
			wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)

			// New rules: another default team and team-join channels.
			staff, err := rules.Parse([]byte("default_team: staff\ndefault_channels: [announcements]\n"))
			if err != nil {
				t.Fatal(err)
			}
			s.SetRules(staff)
			if _, err := s.ApplyRules(ctx, store.ApplyOptions{AcceptRemovals: true}); err != nil {
				t.Fatal(err)
			}
			u = newUser()
			wantAccount(t, s, u.ID, []string{"staff"}, []string{"staff/announcements", "staff/town-square"})
		})
	}
}

const deltaRules = `
default_team: everyone
channels:
  - name: sales/deals
    private: true
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend, everyone/eng-news]
  - match: {displayName: "All Hands"}
    teams: [everyone]
  - match: {displayName: "Deals"}
    channels: [sales/deals]
  - match: {externalId: "00gLEADS"}
    channels: [everyone/leads]
  - match: {displayName: "Nothing"}
  - match: {displayNamePrefix: "team-"}
    teams: ["{suffix}"]
  - match: {displayName: "Eng Leads"}
    team_admin: [engineering]
    channel_admin: [engineering/backend]
  - match: {displayName: "Root"}
    system_admin: true
  - match: {displayNamePrefix: "guest-"}
    guest: true
    channels: ["sales/{suffix}"]
`

// memberships returns every team and channel membership row (team or channel, account,
// source), role grant row and guest flag, sorted, and separately those of accounts that
// are not active.
func memberships(t *testing.T, s *sqlstore.Store) (all, inactive string) {
	t.Helper()
	var rows []struct {
		Line   string `db:"line"`
		Active bool   `db:"active"`
	}
	if err := s.DB().Select(&rows, `SELECT 'team ' || t.name || ' ' || u.username || ' ' || tm.source AS line, u.active AS active
		FROM team_members tm JOIN teams t ON t.pk = tm.team_pk JOIN users u ON u.pk = tm.user_pk
		UNION ALL
		SELECT 'channel ' || t.name || '/' || c.name || ' ' || u.username || ' ' || cm.source, u.active
		FROM channel_members cm JOIN channels c ON c.pk = cm.channel_pk JOIN teams t ON t.pk = c.team_pk JOIN users u ON u.pk = cm.user_pk
		UNION ALL
		SELECT 'system admin ' || u.username || ' ' || x.source, u.active FROM system_admins x JOIN users u ON u.pk = x.user_pk
		UNION ALL
		SELECT 'team admin ' || t.name || ' ' || u.username || ' ' || x.source, u.active
		FROM team_admins x JOIN teams t ON t.pk = x.team_pk JOIN users u ON u.pk = x.user_pk
		UNION ALL
		SELECT 'channel admin ' || t.name || '/' || c.name || ' ' || u.username || ' ' || x.source, u.active
		FROM channel_admins x JOIN channels c ON c.pk = x.channel_pk JOIN teams t ON t.pk = c.team_pk JOIN users u ON u.pk = x.user_pk
		UNION ALL
		SELECT 'guest ' || u.username, u.active FROM users u WHERE u.guest
		ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	var a, in strings.Builder
	for _, r := range rows {
		a.WriteString(r.Line + "\n")
		if !r.Active {
			in.WriteString(r.Line + "\n")
		}
	}
	return a.String(), in.String()
}

// TestDeltaAddMatchesReconcile runs random sequences of member changes, creations of
// groups with members, nestings and un-nestings of groups, and (de)activations, and after every step reconciles every account
// in full: the memberships must not change, that is, a delta add left exactly what the
// full reconcile computes. Adds must not touch the frozen rows of deactivated accounts.
func TestDeltaAddMatchesReconcile(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for seed := range int64(6) {
				t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
					ctx := context.Background()
					s, _ := twoStores(t, b, deltaRules)
					rng := rand.New(rand.NewSource(seed))
					var users, groups []string
					for i := range 10 {
						users = append(users, mustUser(t, s, fmt.Sprintf("d%d", i), "").ID)
					}
					names := []string{"Engineering", "All Hands", "Deals", "Leads", "Nothing", "team-ops", "Random Name",
						"Eng Leads", "Root", "guest-deals", "guest-pub"}
					roles := []store.RoleRef{{Role: store.RoleSystemAdmin}, {Role: store.RoleTeamAdmin, Team: "everyone"},
						{Role: store.RoleTeamAdmin, Team: "engineering"}, {Role: store.RoleChannelAdmin, Team: "everyone", Channel: "town-square"}}
					ext := map[string]string{"Leads": "00gleads"}
					some := func() []string {
						var ids []string
						for range 1 + rng.Intn(4) {
							ids = append(ids, users[rng.Intn(len(users))])
						}
						return ids
					}
					for step := range 40 {
						_, frozen := memberships(t, s)
						var what string
						var err error
						switch k := rng.Intn(15); {
						case k >= 12 && len(groups) > 1:
							// Nested groups: a nesting is an add for the accounts below the
							// child (with users beside it, sometimes); an un-nesting a
							// remove. A cycle or the bound is a refusal, not a failure.
							parent, child := groups[rng.Intn(len(groups))], groups[rng.Intn(len(groups))]
							if k < 14 {
								what = "nest"
								ids := []string{child}
								if k == 13 {
									ids = append(some(), child)
								}
								_, err = s.UpdateGroup(ctx, parent, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: ids}})
								var invalid *store.InvalidError
								if errors.As(err, &invalid) && invalid.Attribute == "members" {
									err = nil
								}
							} else {
								what = "un-nest"
								_, err = s.UpdateGroup(ctx, parent, 0, nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{child}}})
							}
						case k >= 12:
							what = "nothing"
						case k >= 10:
							// Roles by hand: refusals (a guest, not a member) are answers, not failures.
							what = "grant or revoke"
							r := roles[rng.Intn(len(roles))]
							if k == 10 {
								_, err = s.GrantRole(ctx, users[rng.Intn(len(users))], r)
							} else {
								_, err = s.RevokeRole(ctx, users[rng.Intn(len(users))], r)
							}
							var refused *store.RefusedError
							if errors.As(err, &refused) || errors.Is(err, store.ErrNotFound) {
								err = nil
							}
						case k < 5 && len(groups) > 0:
							what = "add"
							_, err = s.UpdateGroup(ctx, groups[rng.Intn(len(groups))], 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: some()}})
						case k < 7:
							what = "create group"
							name := names[rng.Intn(len(names))]
							g := store.Group{DisplayName: name, ExternalID: ext[name]}
							if err = s.CreateGroup(ctx, &g, some()); err == nil {
								groups = append(groups, g.ID)
							} else if errors.Is(err, store.ErrConflict) {
								err = nil // the name is taken: names are unique
							}
						case k < 8 && len(groups) > 0:
							what = "remove"
							_, err = s.UpdateGroup(ctx, groups[rng.Intn(len(groups))], 0, nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: some()}})
						default:
							what = "(de)activate"
							active := rng.Intn(3) > 0
							_, err = s.UpdateUser(ctx, users[rng.Intn(len(users))], 0, func(u *store.User) error { u.Active = active; return nil })
						}
						if err != nil {
							t.Fatalf("step %d (%s): %v", step, what, err)
						}
						after, frozenAfter := memberships(t, s)
						if what == "add" || what == "create group" || what == "nest" {
							if frozenAfter != frozen {
								t.Fatalf("step %d (%s) changed deactivated accounts:\nbefore\n%s\nafter\n%s", step, what, frozen, frozenAfter)
							}
						}
						if err := s.ReconcileAllForTest(ctx); err != nil {
							t.Fatal(err)
						}
						if want, _ := memberships(t, s); want != after {
							t.Fatalf("step %d (%s) left memberships a full reconcile changes:\n got\n%s\nwant\n%s", step, what, after, want)
						}
						checkInvariants(t, s)
					}
				})
			}
		})
	}
}

// TestDeltaAddCases adds an account that is in the default team only to each kind of
// group, and checks the result against the full reconcile as TestDeltaAddMatchesReconcile
// does, plus the expected teams and channels.
func TestDeltaAddCases(t *testing.T) {
	everyone := []string{"everyone/off-topic", "everyone/town-square"}
	cases := []struct {
		group, ext      string
		teams, channels []string
	}{
		{"All Hands", "", []string{"everyone"}, everyone}, // the default team itself, now from a group
		{"Engineering", "", []string{"engineering", "everyone"}, append([]string{"engineering/backend", "engineering/off-topic",
			"engineering/town-square", "everyone/eng-news"}, everyone...)},
		{"Deals", "", []string{"sales"}, []string{"sales/deals", "sales/off-topic", "sales/town-square"}}, // a channel only: its team too
		{"Leads", "00gLEADS", []string{"everyone"}, append([]string{"everyone/leads"}, everyone...)},
		{"Nothing", "", []string{"everyone"}, everyone},
		{"team-ops", "", []string{"ops"}, []string{"ops/off-topic", "ops/town-square"}},
		// The full reconcile's cases: a group granting roles, a guest group.
		{"Eng Leads", "", []string{"engineering"}, []string{"engineering/backend", "engineering/off-topic", "engineering/town-square"}},
		{"Root", "", []string{"everyone"}, everyone},
		{"guest-deals", "", []string{"sales"}, []string{"sales/deals"}},
	}
	for _, c := range cases {
		t.Run(c.group, func(t *testing.T) {
			withRules(t, deltaRules, func(t *testing.T, s *sqlstore.Store) {
				ctx := context.Background()
				u := mustUser(t, s, "dee", "")
				asleep := mustUser(t, s, "asleep", "")
				if _, err := s.UpdateUser(ctx, asleep.ID, 0, func(x *store.User) error { x.Active = false; return nil }); err != nil {
					t.Fatal(err)
				}
				g := mustGroup(t, s, c.group, c.ext)
				patchMembers(t, s, g.ID, store.AddMembers, u.ID, asleep.ID, u.ID)
				wantAccount(t, s, u.ID, c.teams, c.channels)
				wantAccount(t, s, asleep.ID, []string{"everyone"}, everyone) // frozen
				got, _ := memberships(t, s)
				if err := s.ReconcileAllForTest(ctx); err != nil {
					t.Fatal(err)
				}
				if want, _ := memberships(t, s); want != got {
					t.Fatalf("a full reconcile changes the result:\n got\n%s\nwant\n%s", got, want)
				}
				if m := memberIDs(t, s, g.ID); len(m) != 2 {
					t.Fatalf("members %v, want both accounts", m)
				}
			})
		})
	}
}

// TestGroupDeleteWaitsForMemberAdd holds a member add open (the group's row locked, the
// member and its team row written, not committed) while the group is deleted. The delete
// must read the member list once the add is done, and so take the team away again; read
// before, it missed the new member, who kept a team from a group that no longer exists.
func TestGroupDeleteWaitsForMemberAdd(t *testing.T) {
	withRules(t, exampleRules, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "late", "")
		eng := mustGroup(t, s, "Engineering", "")
		tx, err := s.DB().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		// The lock a member add takes on the group's row (UpdateGroup).
		lock := `SELECT pk FROM groups WHERE id = ?` + s.LockForUpdateForTest()
		var gpk, upk int64
		if err := tx.Get(&gpk, tx.Rebind(lock), eng.ID); err != nil {
			t.Fatal(err)
		}
		if err := tx.Get(&upk, tx.Rebind(`SELECT pk FROM users WHERE id = ?`), u.ID); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO group_members (group_pk, user_pk) VALUES (?, ?)`,
			`INSERT INTO team_members (team_pk, user_pk, source, created_at)
			 SELECT t.pk, ?, 'group:' || CAST(? AS TEXT), 0 FROM teams t WHERE t.name = 'engineering'`,
			`INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
			 SELECT c.pk, ?, 'team', 0 FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE t.name = 'engineering'
			 AND c.name IN ('town-square', 'off-topic')`,
		} {
			args := []any{gpk, upk}
			if !strings.HasPrefix(q, "INSERT INTO group_members") {
				args = []any{upk, gpk}
				if strings.Contains(q, "channel_members") {
					args = args[:1]
				}
			}
			if _, err := tx.Exec(tx.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan error, 1)
		go func() { done <- s.DeleteGroup(ctx, eng.ID, 0) }()
		time.Sleep(300 * time.Millisecond)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)
	})
}

// TestWritesNeverWaitForAPreparation runs the prepared write paths on a pool of one
// connection, from a fresh store (nothing prepared yet). Preparing a statement for the
// pool needs a connection; a transaction that waited for one while holding the only one
// (or, with a bigger pool, while every other one waits for its locks) would wait forever.
func TestWritesNeverWaitForAPreparation(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		s.DB().SetMaxOpenConns(1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := range 3 {
			u := store.User{UserName: fmt.Sprintf("solo%d", i), Active: true, Emails: []store.MultiValue{{Value: "solo@example.com"}}}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			g := store.Group{DisplayName: fmt.Sprintf("solo%d", i)}
			if err := s.CreateGroup(ctx, &g, []string{u.ID}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{u.ID}}}); err != nil {
				t.Fatal(err)
			}
		}
		checkInvariants(t, s)
	})
}

// wantJournalledJoins checks the journal of a new account: account.created, then one
// join per team and channel it is in, which on any path (a stale cache, a partial
// insert, the reconcile after it) are exactly its memberships.
func wantJournalledJoins(t *testing.T, s *sqlstore.Store, id string) {
	t.Helper()
	es, err := s.Events(context.Background(), store.EventQuery{Account: id, Limit: store.MaxEventPage})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 || es[0].Kind != store.EventAccountCreated {
		t.Fatalf("journal of a new account: %+v", es)
	}
	var got []string
	for _, e := range es[1:] {
		switch e.Kind {
		case store.EventTeamJoined:
			got = append(got, e.Team)
		case store.EventChannelJoined:
			got = append(got, e.Team+"/"+e.Channel)
		default:
			t.Fatalf("journal of a new account: %s", e.Kind)
		}
	}
	u, err := s.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(u.Account.Teams), u.Account.Channels...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("joins journalled %q, memberships %q", got, want)
	}
}

// TestDeltaAddEndsAdminGrantsOfDefaultTeamLeft: an admin of the default team (and of one
// of its channels) by hand, there by default, added to a group that grants another team
// leaves the default team, and the grants end with it, as a full reconcile does. The delta
// used to leave them, grants without their membership.
func TestDeltaAddEndsAdminGrantsOfDefaultTeamLeft(t *testing.T) {
	withRules(t, deltaRules, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "dee", "")
		for _, r := range []store.RoleRef{{Role: store.RoleTeamAdmin, Team: "everyone"},
			{Role: store.RoleChannelAdmin, Team: "everyone", Channel: "town-square"}} {
			if _, err := s.GrantRole(ctx, u.ID, r); err != nil {
				t.Fatal(err)
			}
		}
		g := mustGroup(t, s, "team-ops", "")
		patchMembers(t, s, g.ID, store.AddMembers, u.ID)
		wantAccount(t, s, u.ID, []string{"ops"}, []string{"ops/off-topic", "ops/town-square"})
		got, err := s.GetUser(ctx, u.ID)
		if err != nil || len(got.Account.TeamAdmin) != 0 || len(got.Account.ChannelAdmin) != 0 {
			t.Fatalf("admin roles after the default team was left: %+v, %v", got.Account, err)
		}
		checkInvariants(t, s)
	})
}

// TestGraphChangesWaitForMemberAddsBelow holds a member add to a group open (its row
// locked, the member written, not committed) while a group above it changes mapping, or
// the group is nested in a mapped group. Each must lock the rows of the groups below
// before it reads the accounts below (nesting.go), and so see the new member once the add
// commits; read before, it missed the member, who never got the mapped group's team.
func TestGraphChangesWaitForMemberAddsBelow(t *testing.T) {
	const nestRules = "default_team: everyone\nunmapped_groups: ignore\ngroups:\n  - match: {displayName: \"Engineering\"}\n    teams: [engineering]\n"
	for _, c := range []struct {
		name   string
		change func(s *sqlstore.Store, parent, child, eng store.Group) error
	}{
		{"remap", func(s *sqlstore.Store, parent, _, _ store.Group) error {
			_, err := s.UpdateGroup(context.Background(), parent.ID, 0, func(g *store.Group) error { g.DisplayName = "Engineering"; return nil }, nil)
			return err
		}},
		{"nest", func(s *sqlstore.Store, _, child, eng store.Group) error {
			_, err := s.UpdateGroup(context.Background(), eng.ID, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{child.ID}}})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			withRules(t, nestRules, func(t *testing.T, s *sqlstore.Store) {
				ctx := context.Background()
				u := mustUser(t, s, "late", "")
				child := mustGroup(t, s, "Child", "")
				parent := mustGroup(t, s, "Parent", "", child.ID)
				eng := mustGroup(t, s, "Eng", "")
				if c.name == "nest" {
					var err error
					if eng, err = s.UpdateGroup(ctx, eng.ID, 0, func(g *store.Group) error { g.DisplayName = "Engineering"; return nil }, nil); err != nil {
						t.Fatal(err)
					}
				}
				tx, err := s.DB().BeginTxx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				// What a member add to Child holds until it commits: Child's row locked,
				// the member row written (no group above maps to anything yet).
				var gpk, upk int64
				if err := tx.Get(&gpk, tx.Rebind(`SELECT pk FROM groups WHERE id = ?`+s.LockForUpdateForTest()), child.ID); err != nil {
					t.Fatal(err)
				}
				if err := tx.Get(&upk, tx.Rebind(`SELECT pk FROM users WHERE id = ?`), u.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec(tx.Rebind(`INSERT INTO group_members (group_pk, user_pk) VALUES (?, ?)`), gpk, upk); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- c.change(s, parent, child, eng) }()
				time.Sleep(300 * time.Millisecond)
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				wantAccount(t, s, u.ID, []string{"engineering"}, []string{"engineering/off-topic", "engineering/town-square"})
			})
		})
	}
}

// TestNestingAGroupDeletedMeanwhile: a group DELETEd while a PATCH nesting it waits for
// its row is an unknown member (400), not the edge's foreign key violation (500).
func TestNestingAGroupDeletedMeanwhile(t *testing.T) {
	withRules(t, "default_team: everyone\n", func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		child := mustGroup(t, s, "Child", "")
		parent := mustGroup(t, s, "Parent", "")
		tx, err := s.DB().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		// What DeleteGroup holds until it commits: the child's row locked and deleted.
		var pk int64
		if err := tx.Get(&pk, tx.Rebind(`SELECT pk FROM groups WHERE id = ?`+s.LockForUpdateForTest()), child.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(tx.Rebind(`DELETE FROM groups WHERE pk = ?`), pk); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := s.UpdateGroup(ctx, parent.ID, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{child.ID}}})
			done <- err
		}()
		time.Sleep(300 * time.Millisecond) // the nesting resolves the child, then waits for its row
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var unknown *store.UnknownMembersError
		if err := <-done; !errors.As(err, &unknown) || len(unknown.IDs) != 1 || unknown.IDs[0] != child.ID {
			t.Fatalf("err = %v, want UnknownMembersError naming the deleted group", err)
		}
		if problems, err := s.CheckInvariants(ctx); err != nil || len(problems) > 0 {
			t.Fatalf("invariants: %v %v", problems, err)
		}
	})
}
