package connector_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server/connector"
	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/server/mattermost/mmtest"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The connector's benchmarks at the size are tests that run only when
// TOWNSQUARE_BENCH_CONNECTOR=1 is set (and never with -short): each takes minutes, which
// CI does not pay for. docs/performance.md ("Mattermost connector") has the commands and
// the figures.
const envBench = "TOWNSQUARE_BENCH_CONNECTOR"

func requireBench(t *testing.T) {
	t.Helper()
	if testing.Short() || os.Getenv(envBench) != "1" {
		t.Skipf("a benchmark: set %s=1 (and no -short) to run it", envBench)
	}
}

// envInt reads a positive integer from the environment, def when unset; a malformed or
// out-of-range value fails the test rather than running another size than asked.
func envInt(t *testing.T, name string, def, lo, hi int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		t.Fatalf("%s=%q: want an integer in %d..%d", name, s, lo, hi)
	}
	return n
}

// scaleMapping: every account is in the default team everyone, and each group becomes a
// team of its own (unmapped_groups: team), so N accounts in T groups are N members of
// everyone and N/T of each other team, plus each team's town-square and off-topic.
const scaleMapping = `
default_team: everyone
unmapped_groups: team
mattermost:
  url: http://127.0.0.1:1
  auth_service: saml
  auth_data: externalId
  adopt_by: [email, username]
  reconcile_every: "0"
  max_deactivations_per_hour: 0
`

// drift kinds of TestReconcileAtScale: account i has kind i % driftEvery (kinds 1..5;
// every other account is in sync).
const (
	driftEvery          = 100
	driftMissingUser    = 1 // never delivered: no user in Mattermost, no link
	driftRemovedByHand  = 2 // its group team's membership was removed in Mattermost by hand
	driftExtraOwned     = 3 // the connector added it to another team it no longer belongs to
	driftChangedEmail   = 4 // its email was changed in Mattermost
	driftManualMembship = 5 // a member of another team by hand (not the connector's): stays
)

// TestReconcileAtScale is issue 11's reconcile benchmark: TOWNSQUARE_BENCH_MM_USERS
// accounts (default 100,000) in TOWNSQUARE_BENCH_MM_TEAMS groups, each its own team
// (default 1,000), delivered to a double answering in 5 ms, with 1% of the accounts in
// each kind of drift above. One reconcile must repair exactly the drift, within 5
// minutes, and its memory must not grow with the tenant: it logs the peak heap above the
// heap before it started (the store and the double are the same size before and after,
// so what grows is the connector's). Run it at 10k and 100k to compare.
func TestReconcileAtScale(t *testing.T) {
	requireBench(t)
	n := envInt(t, "TOWNSQUARE_BENCH_MM_USERS", 100_000, driftEvery, 1_000_000)
	teams := envInt(t, "TOWNSQUARE_BENCH_MM_TEAMS", max(1, n/100), 3, 100_000)
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			st := sqltest.Open(t, be)
			cfg, err := rules.Parse([]byte(scaleMapping))
			if err != nil {
				t.Fatal(err)
			}
			st.SetRules(cfg)
			ctx := context.Background()

			began := time.Now()
			ids := seedAccounts(t, st, n, teams)
			t.Logf("seeded %d accounts in %d groups in %s", n, teams, time.Since(began).Round(time.Second))

			mm := mmtest.New(t, mmtest.WithMaxUsersPerTeam(1<<30), mmtest.WithoutOpenAPIChecks(), mmtest.WithoutRequestLog())
			began = time.Now()
			want := seedDelivered(t, st, mm, cfg, ids, teams)
			t.Logf("seeded the double and the connector's state in %s", time.Since(began).Round(time.Second))

			client, err := mattermost.New(mattermost.Config{URL: mm.URL(), Token: mm.AdminToken()})
			if err != nil {
				t.Fatal(err)
			}
			e, err := connector.New(connector.Config{Settings: *cfg.Mattermost, Store: st, Client: client, Holder: "bench",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			mm.SetLatency(5 * time.Millisecond)

			// Memory: the live heap (as of each GC's mark) at its peak during the
			// reconcile, above the live heap before it. HeapAlloc would count garbage
			// not yet collected, which GOGC lets grow with the double's own heap.
			runtime.GC()
			base := liveHeap()
			// TOWNSQUARE_BENCH_HEAPPROFILE=DIR writes the heap profile before the
			// reconcile and at its peak, to see what the peak holds.
			profDir := os.Getenv("TOWNSQUARE_BENCH_HEAPPROFILE")
			heapProfile(t, profDir, be.Name+"-base.heap")
			var peak atomic.Uint64
			peak.Store(base)
			stop := make(chan struct{})
			var sampled sync.WaitGroup
			sampled.Add(1)
			go func() {
				defer sampled.Done()
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if l := liveHeap(); l > peak.Load() {
						peak.Store(l)
						heapProfile(t, profDir, be.Name+"-peak.heap")
					}
				}
			}()
			began = time.Now()
			plan, err := e.Reconcile(ctx)
			took := time.Since(began)
			close(stop)
			sampled.Wait()
			if err != nil {
				t.Fatal(err)
			}
			grew := int64(peak.Load()) - int64(base)
			var gcs runtime.MemStats
			runtime.ReadMemStats(&gcs)
			t.Logf("RESULT %s: reconcile of %d accounts, %d teams: %s (%.0f accounts/s); live heap before %.1f MB (the store's client and the double), peak during +%.1f MB; %d GCs in all; counts %v",
				be.Name, n, teams+1, took.Round(100*time.Millisecond), float64(n)/took.Seconds(),
				float64(base)/(1<<20), float64(grew)/(1<<20), gcs.NumGC, plan.Counts)

			// The drift, exactly: nothing more was changed.
			wantCounts := map[string]int{
				"user.created":  want.missing,
				"team.added":    want.teamAdds,
				"channel.added": want.channelAdds,
				"team.removed":  want.extraOwned,
				"user.updated":  want.changedEmail,
			}
			for k, v := range wantCounts {
				if plan.Counts[k] != v {
					t.Errorf("counts[%s] = %d, want %d (all: %v)", k, plan.Counts[k], v, plan.Counts)
				}
			}
			for k, v := range plan.Counts {
				if _, ok := wantCounts[k]; !ok && v != 0 {
					t.Errorf("counts[%s] = %d, want none (all: %v)", k, v, plan.Counts)
				}
			}
			if dl, total, err := st.DeadLetters(ctx, 10); err != nil || total != 0 {
				t.Errorf("dead letters: %d %v (%v)", total, dl, err)
			}
			checkRepaired(t, mm, want)
			if took > 5*time.Minute {
				t.Errorf("the reconcile took %s, more than issue 11's 5 minutes", took)
			}
		})
	}
}

// heapProfile writes the heap profile to dir/name; nothing when dir is "".
func heapProfile(t *testing.T, dir, name string) {
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Error(err)
	}
}

// liveHeap is the heap that the last GC found reachable.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// seedAccounts creates n accounts (8 at once) and teams groups ("grp00000"…), account i
// a member of group i % teams, and returns the accounts' ids in order.
func seedAccounts(t *testing.T, st store.Store, n, teams int) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	parallel(t, n, 8, func(i int) error {
		name := fmt.Sprintf("user%07d", i)
		u := store.User{UserName: name + "@example.com", ExternalID: "ext-" + name, Active: true,
			Name:   store.Name{GivenName: "Given", FamilyName: fmt.Sprintf("Family%d", i)},
			Emails: []store.MultiValue{{Value: name + "@example.com", Type: "work", Primary: true}}}
		if err := st.CreateUser(ctx, &u); err != nil {
			return err
		}
		ids[i] = u.ID
		return nil
	})
	parallel(t, teams, 4, func(g int) error {
		var members []string
		for i := g; i < n; i += teams {
			members = append(members, ids[i])
		}
		return st.CreateGroup(ctx, &store.Group{DisplayName: groupTeam(g)}, members)
	})
	return ids
}

func groupTeam(g int) string { return fmt.Sprintf("grp%05d", g) }

// parallel runs fn(0..n-1) on workers goroutines and fails t on the first error.
func parallel(t *testing.T, n, workers int, fn func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first.Load() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		t.Fatal(err)
	}
}

// scaleWant is what TestReconcileAtScale checks after the reconcile.
type scaleWant struct {
	missing, removedByHand, extraOwned, changedEmail, manual int
	// the memberships the repair adds: every team and channel (but town-square) of a
	// missing user; a team removed by hand and its channels (leaving a team left them)
	teamAdds, channelAdds int
	// per account of a drift: what must hold
	created  []store.ChatAccountState // missing users: created with these
	rejoined map[string]string        // Mattermost user id → the team it must be in again
	left     map[string]string        // Mattermost user id → the team it must have left
	emails   map[string]string        // Mattermost user id → the email it must have
	manualIn map[string]string        // Mattermost user id → the team it must still be in
}

// seedDelivered puts into the double and the connector's state what a complete delivery
// of the store would have left, but for the drift: users, teams with their default
// channels, memberships, links, owned memberships and recorded ids.
func seedDelivered(t *testing.T, st store.Store, mm *mmtest.Server, cfg rules.Config, ids []string, teams int) scaleWant {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex // w, between the workers below
	w := scaleWant{rejoined: map[string]string{}, left: map[string]string{}, emails: map[string]string{}, manualIn: map[string]string{}}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	tsTeams, err := st.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	teamID := map[string]string{}
	for _, tm := range tsTeams {
		teamID[tm.Name] = mm.SeedTeam(tm.Name, tm.DisplayName, "I")
	}
	snap := mm.Snapshot()
	teamName := map[string]string{}
	for name, id := range teamID {
		teamName[id] = name
	}
	parallel(t, len(snap.Teams), 4, func(i int) error {
		tm := snap.Teams[i]
		if _, ours := teamName[tm.ID]; !ours {
			return nil
		}
		return st.SetMMTeamID(ctx, tm.Name, tm.ID)
	})
	parallel(t, len(snap.Channels), 4, func(i int) error {
		c := snap.Channels[i]
		name, ours := teamName[c.TeamID]
		if !ours {
			return nil
		}
		return st.SetMMChannelID(ctx, name, c.Name, c.ID)
	})
	type seeded struct {
		state store.ChatAccountState
		mmID  string
		kind  int
	}
	var all []seeded
	if err := st.EachChatAccountState(ctx, func(a store.ChatAccountState) error {
		i := index[a.ID]
		kind := i % driftEvery
		s := seeded{state: a, kind: kind}
		if kind == driftMissingUser {
			w.missing++
			w.teamAdds += len(a.Teams)
			for _, c := range a.Channels {
				if c.Channel != rules.TownSquare {
					w.channelAdds++
				}
			}
			w.created = append(w.created, a)
			all = append(all, s)
			return nil
		}
		email := a.Email
		if kind == driftChangedEmail {
			email = "old-" + email
		}
		s.mmID = mm.SeedUser(mattermost.User{Username: a.Username, Email: email, FirstName: a.FirstName, LastName: a.LastName,
			Nickname: a.Nickname, Position: a.Position, AuthService: cfg.Mattermost.AuthService, AuthData: a.ExternalID})
		all = append(all, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Another group team than the account's own, for the extra and the manual membership.
	groupTeams := make([]string, 0, teams)
	for g := range teams {
		groupTeams = append(groupTeams, rules.TeamNameFrom(groupTeam(g)))
	}
	other := func(i, by int) string { return groupTeams[(i%teams+by)%teams] }
	parallel(t, len(all), 8, func(j int) error {
		s := all[j]
		a := s.state
		if s.kind == driftMissingUser {
			return nil
		}
		i := index[a.ID]
		if err := st.LinkMMUser(ctx, store.MMUserLink{AccountID: a.ID, MMUserID: s.mmID, Origin: store.MMOriginCreated, AuthData: a.ExternalID}); err != nil {
			return err
		}
		for _, team := range a.Teams {
			if s.kind == driftRemovedByHand && team != cfg.DefaultTeam {
				mu.Lock()
				w.removedByHand++
				w.teamAdds++
				for _, c := range a.Channels {
					if c.Team == team && c.Channel != rules.TownSquare {
						w.channelAdds++
					}
				}
				w.rejoined[s.mmID] = team
				mu.Unlock()
			} else {
				mm.SeedTeamMember(team, s.mmID)
			}
			if err := st.OwnTeam(ctx, a.ID, team); err != nil {
				return err
			}
		}
		for _, c := range a.Channels {
			if c.Channel == rules.TownSquare {
				continue
			}
			if err := st.OwnChannel(ctx, a.ID, c.Team, c.Channel); err != nil {
				return err
			}
		}
		switch s.kind {
		case driftExtraOwned:
			team := other(i, 1)
			mm.SeedTeamMember(team, s.mmID)
			if err := st.OwnTeam(ctx, a.ID, team); err != nil {
				return err
			}
			if err := st.OwnChannel(ctx, a.ID, team, rules.OffTopic); err != nil {
				return err
			}
			mu.Lock()
			w.extraOwned++
			w.left[s.mmID] = team
			mu.Unlock()
		case driftChangedEmail:
			mu.Lock()
			w.changedEmail++
			w.emails[s.mmID] = a.Email
			mu.Unlock()
		case driftManualMembship:
			team := other(i, 2)
			mm.SeedTeamMember(team, s.mmID)
			mu.Lock()
			w.manual++
			w.manualIn[s.mmID] = team
			mu.Unlock()
		}
		return nil
	})
	if w.missing == 0 || w.removedByHand == 0 || w.extraOwned == 0 || w.changedEmail == 0 || w.manual == 0 {
		t.Fatalf("a kind of drift is missing: %+v", w)
	}
	return w
}

// checkRepaired checks the double after the reconcile: the drift repaired, the manual
// membership kept.
func checkRepaired(t *testing.T, mm *mmtest.Server, w scaleWant) {
	t.Helper()
	snap := mm.Snapshot()
	byID := make(map[string]mattermost.User, len(snap.Users))
	for _, u := range snap.Users {
		byID[u.ID] = u
	}
	in := func(team, id string) bool {
		_, ok := slices.BinarySearch(snap.TeamMembers[team], id)
		return ok
	}
	for _, a := range w.created {
		u, ok := mm.UserByUsername(a.Username)
		if !ok || u.Email != a.Email || u.DeleteAt != 0 {
			t.Errorf("missing user %s: %+v (found %v)", a.Username, u, ok)
			continue
		}
		for _, team := range a.Teams {
			if !in(team, u.ID) {
				t.Errorf("created user %s is not in team %s", a.Username, team)
			}
		}
	}
	for id, team := range w.rejoined {
		if !in(team, id) {
			t.Errorf("user %s was not added to %s again", byID[id].Username, team)
		}
	}
	for id, team := range w.left {
		if in(team, id) {
			t.Errorf("user %s is still in %s, which the connector added and is no longer wanted", byID[id].Username, team)
		}
	}
	for id, email := range w.emails {
		if byID[id].Email != email {
			t.Errorf("user %s has email %q, want %q", byID[id].Username, byID[id].Email, email)
		}
	}
	for id, team := range w.manualIn {
		if !in(team, id) {
			t.Errorf("user %s lost its manual membership of %s", byID[id].Username, team)
		}
	}
}
