package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

const exampleRules = `
default_team: everyone
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend, everyone/eng-news]
  - match: {externalId: "00g1abcd"}
    channels: [everyone/leads]
  - match: {displayNamePrefix: "team-"}
    teams: ["{suffix}"]
`

// withRules runs fn on each backend with the given rules installed.
func withRules(t *testing.T, yaml string, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	cfg, err := rules.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		s.SetRules(cfg)
		t.Cleanup(func() { checkInvariants(t, s) })
		fn(t, s)
	})
}

// checkInvariants fails the test if any provisioning rule is broken anywhere.
func checkInvariants(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	v, err := s.CheckInvariants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range v {
		t.Errorf("invariant broken: %s", line)
	}
}

func mustUser(t *testing.T, s *sqlstore.Store, userName, externalID string) store.User {
	t.Helper()
	u := store.User{UserName: userName, ExternalID: externalID, Active: true,
		Emails: []store.MultiValue{{Value: userName, Primary: true}}}
	if err := s.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func mustGroup(t *testing.T, s *sqlstore.Store, name, externalID string, members ...string) store.Group {
	t.Helper()
	g := store.Group{DisplayName: name, ExternalID: externalID}
	if err := s.CreateGroup(context.Background(), &g, members); err != nil {
		t.Fatal(err)
	}
	return g
}

func account(t *testing.T, s *sqlstore.Store, id string) store.Account {
	t.Helper()
	u, err := s.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Account
}

func wantAccount(t *testing.T, s *sqlstore.Store, id string, teams, channels []string) {
	t.Helper()
	a := account(t, s, id)
	slices.Sort(teams)
	slices.Sort(channels)
	if fmt.Sprint(a.Teams) != fmt.Sprint(teams) || fmt.Sprint(a.Channels) != fmt.Sprint(channels) {
		t.Fatalf("account %s:\n teams    %v, want %v\n channels %v, want %v", a.Username, a.Teams, teams, a.Channels, channels)
	}
}

func patchMembers(t *testing.T, s *sqlstore.Store, gid string, kind store.MemberOpKind, ids ...string) {
	t.Helper()
	if _, err := s.UpdateGroup(context.Background(), gid, 0, nil, []store.MemberOp{{Kind: kind, IDs: ids}}); err != nil {
		t.Fatal(err)
	}
}

var everyoneDefault = []string{"everyone/off-topic", "everyone/town-square"}

func TestNewUserJoinsDefaultTeamWithTownSquare(t *testing.T) {
	withRules(t, exampleRules, func(t *testing.T, s *sqlstore.Store) {
		u := mustUser(t, s, "Alice.Smith@example.com", "00u1")
		wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)
		a := account(t, s, u.ID)
		if a.Username != "alice.smith" || a.Email != "alice.smith@example.com" || a.Status != store.StatusOnline {
			t.Fatalf("account fields: %+v", a)
		}
	})
}

func TestGroupMembershipGrantsAndRevokes(t *testing.T) {
	withRules(t, exampleRules, func(t *testing.T, s *sqlstore.Store) {
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

		// A rename is matched again; the same name again changes nothing.
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
	})
}

func TestDefaultChannelsReplaceOffTopic(t *testing.T) {
	withRules(t, "default_team: staff\ndefault_channels: [announcements]\n", func(t *testing.T, s *sqlstore.Store) {
		u := mustUser(t, s, "carol", "")
		wantAccount(t, s, u.ID, []string{"staff"}, []string{"staff/announcements", "staff/town-square"})
	})
}

func TestUnmappedGroupsIgnore(t *testing.T) {
	withRules(t, "unmapped_groups: ignore\n", func(t *testing.T, s *sqlstore.Store) {
		u := mustUser(t, s, "dan", "")
		mustGroup(t, s, "Random Group", "", u.ID)
		wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)
	})
}

func TestDeactivationKeepsMembershipsReactivationReevaluates(t *testing.T) {
	withRules(t, exampleRules, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "erin", "00u5")
		eng := mustGroup(t, s, "Engineering", "", u.ID)
		setActive := func(active bool) {
			t.Helper()
			if _, err := s.UpdateUser(ctx, u.ID, 0, func(x *store.User) error { x.Active = active; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		setActive(false)
		a := account(t, s, u.ID)
		if a.Status != store.StatusOffline || a.DeleteAt == 0 || !slices.Contains(a.Teams, "engineering") {
			t.Fatalf("deactivated account: %+v", a)
		}
		// Deactivated users still answer filters with active false.
		page, total, err := s.ListUsers(ctx, store.Query{Where: store.Where{SQL: "users.active = ?", Args: []any{false}}, StartIndex: 1, Count: 10})
		if err != nil || total != 1 || page[0].ID != u.ID {
			t.Fatalf("active=false filter: %d %v", total, err)
		}
		// While deactivated, leaving the group freezes nothing away...
		patchMembers(t, s, eng.ID, store.RemoveMembers, u.ID)
		if a := account(t, s, u.ID); !slices.Contains(a.Teams, "engineering") {
			t.Fatalf("deactivated account lost memberships: %+v", a)
		}
		// ...and reactivation re-evaluates against the groups of now.
		setActive(true)
		a = account(t, s, u.ID)
		if a.Status != store.StatusOnline || a.DeleteAt != 0 {
			t.Fatalf("reactivated account: %+v", a)
		}
		wantAccount(t, s, u.ID, []string{"everyone"}, everyoneDefault)
	})
}

func TestDeleteDeactivatesAndRelinksByExternalID(t *testing.T) {
	withRules(t, exampleRules, func(t *testing.T, s *sqlstore.Store) {
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
		var kept struct {
			Active   bool   `db:"active"`
			Status   string `db:"status"`
			Username string `db:"username"`
			Teams    int    `db:"teams"`
		}
		if err := s.DB().Get(&kept, s.DB().Rebind(`SELECT active, status, username,
			(SELECT COUNT(*) FROM team_members tm WHERE tm.user_pk = users.pk) AS teams FROM users WHERE id = ?`), u.ID); err != nil {
			t.Fatalf("account not kept: %v", err)
		}
		if kept.Active || kept.Status != store.StatusOffline || kept.Teams == 0 {
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
	})
}

func TestPurgeMode(t *testing.T) {
	withRules(t, "delete_mode: purge\n", func(t *testing.T, s *sqlstore.Store) {
		u := mustUser(t, s, "gina", "00uG")
		if err := s.DeleteUser(context.Background(), u.ID, 0); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.DB().Get(&n, `SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM team_members) + (SELECT COUNT(*) FROM channel_members)`); err != nil || n != 0 {
			t.Fatalf("purge left %d rows (%v)", n, err)
		}
	})
}

func TestChatUsernames(t *testing.T) {
	withRules(t, "", func(t *testing.T, s *sqlstore.Store) {
		a := mustUser(t, s, "alice@one.example", "")
		b := mustUser(t, s, "Alice@two.example", "")
		if a.Account.Username != "alice" || b.Account.Username != "alice2" {
			t.Fatalf("usernames %q %q", a.Account.Username, b.Account.Username)
		}
		// userName changes keep the account; the username follows unless it collides.
		u, err := s.UpdateUser(context.Background(), b.ID, 0, func(u *store.User) error { u.UserName = "bea@two.example"; return nil })
		if err != nil || u.Account.Username != "bea" || u.ID != b.ID {
			t.Fatalf("rename: %+v %v", u.Account, err)
		}
		u, err = s.UpdateUser(context.Background(), b.ID, 0, func(u *store.User) error { u.UserName = "ALICE@three.example"; return nil })
		if err != nil || u.Account.Username == "alice" {
			t.Fatalf("rename onto a taken username: %+v %v", u.Account, err)
		}
		// A group's name is not available as a username.
		mustGroup(t, s, "Hank", "")
		h := mustUser(t, s, "hank@example.com", "")
		if h.Account.Username == "hank" {
			t.Fatalf("username took a group's name")
		}
	})
}

// TestConcurrentMembershipChanges runs membership changes, deactivations and renames from
// several goroutines, through two Store values on the same database (two servers), and
// checks every rule afterwards.
func TestConcurrentMembershipChanges(t *testing.T) {
	cfg, err := rules.Parse([]byte(exampleRules))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			var stores [2]*sqlstore.Store
			for i := range stores {
				s, err := store.Open(context.Background(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				s.SetRules(cfg)
				t.Cleanup(func() { s.Close() })
				stores[i] = s
			}
			s := stores[0]
			var users []string
			for i := 0; i < 12; i++ {
				users = append(users, mustUser(t, s, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("00u%d", i)).ID)
			}
			groups := []string{
				mustGroup(t, s, "Engineering", "").ID,
				mustGroup(t, s, "Leads", "00g1abcd").ID,
				mustGroup(t, s, "team-sales", "").ID,
				mustGroup(t, s, "Unmapped", "").ID,
			}
			var wg sync.WaitGroup
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					rng := rand.New(rand.NewSource(int64(w)))
					st := stores[w%2]
					ctx := context.Background()
					for i := 0; i < 25; i++ {
						g := groups[rng.Intn(len(groups))]
						ids := []string{users[rng.Intn(len(users))], users[rng.Intn(len(users))]}
						var err error
						switch rng.Intn(5) {
						case 0, 1:
							_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: ids}})
						case 2:
							_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: ids}})
						case 3:
							active := rng.Intn(2) == 0
							_, err = st.UpdateUser(ctx, ids[0], 0, func(u *store.User) error { u.Active = active; return nil })
						case 4:
							_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.ReplaceMembers, IDs: ids}})
						}
						if err != nil {
							t.Errorf("worker %d: %v", w, err)
							return
						}
					}
				}(w)
			}
			wg.Wait()
			checkInvariants(t, s)
		})
	}
}

// TestInvariantCheckerCatchesViolations breaks each rule by hand, behind the store's back,
// and expects CheckInvariants to name it: a checker that never complains proves nothing.
func TestInvariantCheckerCatchesViolations(t *testing.T) {
	cfg, err := rules.Parse([]byte(exampleRules))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		rule    string
		breakIt string
	}{
		{"rule 1: an active account is in no team", `DELETE FROM team_members WHERE user_pk = (SELECT pk FROM users WHERE username = 'ann')`},
		{"rule 2: a team member is not in a team-join channel", `DELETE FROM channel_members WHERE user_pk = (SELECT pk FROM users WHERE username = 'ann')
			AND channel_pk IN (SELECT pk FROM channels WHERE name = 'town-square')`},
		{"rule 2: a channel member is not in the channel's team", `DELETE FROM team_members WHERE user_pk = (SELECT pk FROM users WHERE username = 'ann')
			AND team_pk = (SELECT pk FROM teams WHERE name = 'engineering')`},
		{"rule 3: a group member lacks a channel its group maps to", `DELETE FROM channel_members WHERE user_pk = (SELECT pk FROM users WHERE username = 'ann')
			AND channel_pk IN (SELECT pk FROM channels WHERE name = 'backend')`},
		{"rule 3: a membership claims a grant its group no longer makes", `DELETE FROM group_channels
			WHERE channel_pk IN (SELECT pk FROM channels WHERE name = 'eng-news')`},
		{"rule 3: a membership claims a group the account is not in", `DELETE FROM group_members`},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			for _, b := range sqltest.Backends(t) {
				t.Run(b.Name, func(t *testing.T) {
					s := sqltest.Open(t, b)
					s.SetRules(cfg)
					u := mustUser(t, s, "ann@example.com", "")
					mustGroup(t, s, "Engineering", "", u.ID)
					if v, _ := s.CheckInvariants(context.Background()); len(v) != 0 {
						t.Fatalf("violations before breaking anything: %v", v)
					}
					if _, err := s.DB().Exec(c.breakIt); err != nil {
						t.Fatal(err)
					}
					v, err := s.CheckInvariants(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					found := false
					for _, line := range v {
						found = found || strings.HasPrefix(line, c.rule)
					}
					if !found {
						t.Fatalf("%q not reported; got %v", c.rule, v)
					}
				})
			}
		})
	}
}

// TestApplyRulesGivesEveryTeamItsJoinChannels changes default_channels on a database with a
// team nobody is in any more: rule 2 holds for teams, members or not.
func TestApplyRulesGivesEveryTeamItsJoinChannels(t *testing.T) {
	withRules(t, exampleRules, func(t *testing.T, s *sqlstore.Store) {
		u := mustUser(t, s, "ivy", "")
		mustGroup(t, s, "team-sales", "", u.ID) // "everyone" is left without members
		cfg, err := rules.Parse([]byte(exampleRules + "default_channels: [announcements]\n"))
		if err != nil {
			t.Fatal(err)
		}
		s.SetRules(cfg)
		if _, err := s.ApplyRules(context.Background()); err != nil {
			t.Fatal(err)
		}
		wantAccount(t, s, u.ID, []string{"sales"}, []string{"sales/announcements", "sales/town-square"})
	})
}
