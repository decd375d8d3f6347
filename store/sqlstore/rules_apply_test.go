package sqlstore_test

import (
	"context"
	"testing"

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
