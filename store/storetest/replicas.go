package storetest

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// replicas opens two stores on one database, as two server processes would share it,
// both with the rules of yaml.
func replicas(t *testing.T, open func() store.Store, yaml string) (store.Store, store.Store) {
	t.Helper()
	cfg := parseRules(t, yaml)
	s1, s2 := open(), open()
	s1.SetRules(cfg)
	s2.SetRules(cfg)
	return s1, s2
}

// testConcurrentMembershipChanges runs membership changes, deactivations and member
// replacements from several goroutines through two replicas, and checks every rule
// afterwards.
func testConcurrentMembershipChanges(t *testing.T, open func() store.Store) {
	s1, s2 := replicas(t, open, exampleRules)
	var users []string
	for i := range 12 {
		users = append(users, mustUser(t, s1, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("00u%d", i)).ID)
	}
	groups := []string{
		mustGroup(t, s1, "Engineering", "").ID,
		mustGroup(t, s1, "Leads", "00g1abcd").ID,
		mustGroup(t, s1, "team-sales", "").ID,
		mustGroup(t, s1, "Unmapped", "").ID,
	}
	churn(t, []store.Store{s1, s2}, users, groups, 8, 25, true)
	checkInvariants(t, s1)
}

// testConcurrentAddRemoveReactivate hammers a few accounts with member adds, removes and
// (de)activations from two replicas at once. A member change must serialise with a
// concurrent reactivation of an account it sees inactive too: otherwise the reactivation
// re-evaluates from a member list without the change, and the change, having seen an
// inactive account, re-evaluates nothing.
func testConcurrentAddRemoveReactivate(t *testing.T, open func() store.Store) {
	s1, s2 := replicas(t, open, exampleRules)
	stores := []store.Store{s1, s2}
	var users, groups []string
	for i := range 4 {
		users = append(users, mustUser(t, s1, fmt.Sprintf("racer%d", i), "").ID)
	}
	for _, g := range []string{"Engineering", "team-sales", "Unmapped"} {
		groups = append(groups, mustGroup(t, s1, g, "").ID)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			st := stores[w%2]
			ctx := context.Background()
			for range 40 {
				u, g := users[rng.Intn(len(users))], groups[rng.Intn(len(groups))]
				var err error
				switch rng.Intn(4) {
				case 0, 1:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{u}}})
				case 2:
					_, err = st.UpdateGroup(ctx, g, 0, nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{u}}})
				case 3:
					active := rng.Intn(2) == 0
					_, err = st.UpdateUser(ctx, u, 0, func(x *store.User) error { x.Active = active; return nil })
				}
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, s1)
}

// testNewUsernamesSkipTakenNames creates accounts whose userNames derive the same chat
// username, one after another and concurrently through two replicas: each gets the next
// free name, and a race for the same name is resolved inside the store, never shown to
// the client.
func testNewUsernamesSkipTakenNames(t *testing.T, open func() store.Store) {
	s1, s2 := replicas(t, open, "")
	mustGroup(t, s1, "Zed", "") // a group's name is no username
	var got []string
	for i := range 3 {
		got = append(got, mustUser(t, s1, fmt.Sprintf("zed@%d.example", i), "").Account.Username)
	}
	if fmt.Sprint(got) != "[zed2 zed3 zed4]" {
		t.Fatalf("usernames %v, want [zed2 zed3 zed4]", got)
	}
	var wg sync.WaitGroup
	names := make([]string, 8)
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := store.User{UserName: fmt.Sprintf("ann@%d.example", i), Active: true}
			if err := []store.Store{s1, s2}[i%2].CreateUser(context.Background(), &u); err != nil {
				t.Error(err)
				return
			}
			names[i] = u.Account.Username
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Fatalf("username %q given twice: %v", n, names)
		}
		seen[n] = true
	}
}

// churn runs workers goroutines, alternating between stores (replicas on one database),
// each making rounds random changes: member adds and removes on groups, (de)activations
// of users, and member replacements when replace is set. Any error fails the test.
func churn(t *testing.T, stores []store.Store, users, groups []string, workers, rounds int, replace bool) {
	t.Helper()
	kinds := 4
	if replace {
		kinds = 5
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			st := stores[w%len(stores)]
			ctx := context.Background()
			for range rounds {
				g := groups[rng.Intn(len(groups))]
				ids := []string{users[rng.Intn(len(users))], users[rng.Intn(len(users))]}
				var err error
				switch rng.Intn(kinds) {
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
		}()
	}
	wg.Wait()
}
