package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestApplyRulesAfterUpgrade: a database whose recorded fingerprint is another build's
// (an upgrade adds keys to the fingerprint) applies the same file again, through the
// guard, and nothing changes: no membership, no journal entry.
func TestApplyRulesAfterUpgrade(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		c, err := rules.Parse([]byte("default_channels: [news]\ngroups:\n  - match: {displayName: Engineering}\n    teams: [engineering]\n    channels: [everyone/eng]\n"))
		if err != nil {
			t.Fatal(err)
		}
		s.SetRules(c)
		// alice: engineering and everyone (the team of everyone/eng), 5 channels; bob:
		// sales (unmapped_groups: team), 2 channels. 10 memberships.
		a, b := mustUser(t, s, "alice", ""), mustUser(t, s, "bob", "")
		mustGroup(t, s, "Engineering", "", a.ID)
		mustGroup(t, s, "Sales", "", b.ID)
		if _, err := s.ApplyRules(ctx, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, `UPDATE settings SET value = 'an older build' WHERE key = 'rules_fingerprint'`); err != nil {
			t.Fatal(err)
		}
		head, _, err := s.JournalHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.ApplyRules(ctx, store.ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !p.Changed || p.GroupsRemapped != 0 || p.Removals != 0 || len(p.Lines()) != 0 || p.MembershipsBefore != 10 {
			t.Fatalf("plan %+v", p)
		}
		if after, _, _ := s.JournalHead(ctx); after != head {
			t.Fatalf("journal head %d, was %d", after, head)
		}
		if p, err := s.PlanRules(ctx, c, true); err != nil || p.Changed {
			t.Fatalf("plan of the file applied: %+v, %v", p, err)
		}
	})
}

// TestPlanRacesApply: plans on one server while another applies the planned file and
// SCIM changes memberships: every plan sees the database before the apply (the whole
// change) or after it (no change), never half of it, and the provisioning rules hold.
func TestPlanRacesApply(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			open := func() *sqlstore.Store {
				s, err := sqlstore.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			base, err := rules.Parse([]byte("unmapped_groups: ignore\ngroups:\n  - match: {displayName: Engineering}\n    teams: [engineering]\n"))
			if err != nil {
				t.Fatal(err)
			}
			renamed, err := rules.Parse([]byte("unmapped_groups: ignore\ngroups:\n  - match: {displayName: Platform}\n    teams: [engineering]\n"))
			if err != nil {
				t.Fatal(err)
			}
			applier, planner := open(), open()
			applier.SetRules(base)
			planner.SetRules(base)
			var eng []string
			for i := range 20 {
				eng = append(eng, mustUser(t, applier, fmt.Sprintf("user%02d", i), "").ID)
			}
			mustGroup(t, applier, "Engineering", "", eng...)
			other := mustUser(t, applier, "other", "")
			g := mustGroup(t, applier, "Sales", "")
			if _, err := applier.ApplyRules(ctx, store.ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			whole, err := planner.PlanRules(ctx, renamed, false)
			if err != nil || !whole.Changed || whole.Removals != 60 {
				t.Fatalf("plan before: %+v, %v", whole, err)
			}

			var wg sync.WaitGroup
			errs := make(chan error, 100)
			done := make(chan struct{})
			wg.Add(2)
			go func() { // SCIM: a group's members come and go (Sales maps to nothing)
				defer wg.Done()
				for i := 0; ; i++ {
					select { // paced: SQLite hands its one write lock to no one in turn
					case <-done:
						return
					case <-time.After(5 * time.Millisecond):
					}
					kind := store.AddMembers
					if i%2 == 1 {
						kind = store.RemoveMembers
					}
					if _, err := planner.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: kind, IDs: []string{other.ID}}}); err != nil {
						errs <- err
						return
					}
				}
			}()
			planned := make(chan struct{})
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					if n == 1 {
						close(planned) // the apply starts once a plan ran beside the writes
					}
					select { // paced: SQLite hands its one write lock to no one in turn
					case <-done:
						return
					case <-time.After(5 * time.Millisecond):
					}
					p, err := planner.PlanRules(ctx, renamed, false)
					switch {
					case err != nil:
						errs <- err
						return
					case p.Changed && (p.Removals != 60 || p.TeamTotals != whole.TeamTotals):
						errs <- fmt.Errorf("a plan saw part of the apply: %+v", p)
						return
					}
				}
			}()
			select {
			case <-planned:
			case err := <-errs:
				t.Fatal(err)
			}
			applier.SetRules(renamed)
			_, applyErr := applier.ApplyRules(ctx, store.ApplyOptions{AcceptRemovals: true})
			close(done)
			wg.Wait()
			close(errs)
			if applyErr != nil {
				t.Fatal(applyErr)
			}
			for err := range errs {
				t.Fatal(err)
			}
			if p, err := planner.PlanRules(ctx, renamed, false); err != nil || p.Changed {
				t.Fatalf("plan after: %+v, %v", p, err)
			}
			if v, err := applier.CheckInvariants(ctx); err != nil || len(v) > 0 {
				t.Fatalf("invariants: %q, %v", v, err)
			}
		})
	}
}
