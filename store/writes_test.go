package store_test

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/storetest"
)

// twoStores opens two Store values on one fresh database of backend b, as two server
// processes would share it, both with the given rules.
func twoStores(t *testing.T, b storetest.Backend, yaml string) (*store.Store, *store.Store) {
	t.Helper()
	cfg, err := rules.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	dsn := b.DSN(t)
	var out [2]*store.Store
	for i := range out {
		s, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		s.SetRules(cfg)
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

// TestConcurrentAddRemoveReactivate hammers a few accounts with member adds, removes and
// (de)activations from two stores at once. A member change must lock an account it sees
// inactive too: otherwise a concurrent reactivation reconciles from a member list without
// the change, and the change, having seen an inactive account, reconciles nothing.
func TestConcurrentAddRemoveReactivate(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s1, s2 := twoStores(t, b, exampleRules)
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
					st := []*store.Store{s1, s2}[w%2]
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
		})
	}
}

// TestMemberChangeWaitsForReactivation pins the race above down on PostgreSQL: a
// reactivation is held open (its users row updated, not yet committed) while a member
// add runs. The add must wait for the account's lock and then reconcile it as active; an
// add that took the account for inactive and skipped it left an active group member
// without the group's team.
func TestMemberChangeWaitsForReactivation(t *testing.T) {
	withRules(t, exampleRules, func(t *testing.T, s *store.Store) {
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
