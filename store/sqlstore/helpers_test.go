package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// Helpers of the tests that need SQL. (The behaviour tests are in store/storetest, which
// has its own, written against store.Store.)

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

var everyoneDefault = []string{"everyone/off-topic", "everyone/town-square"}

// withRules runs fn on each backend with the given rules installed, and checks every
// provisioning rule when fn is done.
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

// twoStores opens two Store values on one fresh database of backend b, as two server
// processes would share it, both with the given rules.
func twoStores(t *testing.T, b sqltest.Backend, yaml string) (*sqlstore.Store, *sqlstore.Store) {
	t.Helper()
	cfg, err := rules.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	dsn := b.DSN(t)
	var out [2]*sqlstore.Store
	for i := range out {
		s, err := sqlstore.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		s.SetRules(cfg)
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
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

// wantAccount fails the test unless the account of user id is in exactly these teams and
// channels ("team/channel").
func wantAccount(t *testing.T, s *sqlstore.Store, id string, teams, channels []string) {
	t.Helper()
	u, err := s.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	a := u.Account
	teams, channels = slices.Sorted(slices.Values(teams)), slices.Sorted(slices.Values(channels))
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

// memberIDs lists the ids of a group's members, sorted.
func memberIDs(t *testing.T, s *sqlstore.Store, gid string) []string {
	t.Helper()
	var ids []string
	if err := s.EachGroupMember(context.Background(), gid, func(m store.Member) error {
		ids = append(ids, m.Value)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

// storeAtMigration opens a fresh database of backend b migrated up to version only, as an
// older release left it, for a test of the migrations after it; it is closed at the
// test's end.
func storeAtMigration(t *testing.T, b sqltest.Backend, version int) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Connect(ctx, b.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.MigrateToForTest(ctx, version); err != nil {
		t.Fatal(err)
	}
	return s
}
