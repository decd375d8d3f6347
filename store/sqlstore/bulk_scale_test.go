package sqlstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// envBulkBench gates TestBulkAtScale: minutes per backend, so never in CI or make test.
const envBulkBench = "TOWNSQUARE_BENCH_BULK"

// TestBulkAtScale is issue 12's performance target: TOWNSQUARE_BENCH_BULK_USERS accounts
// (default 100,000) in 100 teams of 10 channels, each account in one team and 5 of its
// channels (500,000 channel memberships at the default), imported through ImportChat in
// batches as full as MaxImportBatch allows, then exported once. It logs the time of
// each, the statements' rate, the Go heap's peak (sampled) and the process's peak RSS
// (VmHWM: run one backend per process, -run TestBulkAtScale/sqlite, since the figure
// only grows). Targets: import ≤ 60 s, export ≤ 20 s, RSS ≤ 200 MB.
func TestBulkAtScale(t *testing.T) {
	if os.Getenv(envBulkBench) == "" || testing.Short() {
		t.Skip("set " + envBulkBench + "=1 to run (minutes per backend)")
	}
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("TOWNSQUARE_BENCH_BULK_USERS")); err == nil && v > 0 {
		n = v
	}
	const teams, channelsPerTeam, channelsPerUser = 100, 10, 5
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := sqltest.Open(t, b)
			ctx := store.WithActor(context.Background(), store.ActorImport)
			var peakHeap atomic.Uint64
			stop := sampleHeap(&peakHeap)
			defer stop()

			start := time.Now()
			var first store.ImportBatch
			for i := range teams {
				first.Teams = append(first.Teams, store.ImportTeam{Line: len(first.Teams) + 2, Name: fmt.Sprintf("team%03d", i), DisplayName: fmt.Sprintf("Team %d", i), Type: store.TeamOpen})
				for j := range channelsPerTeam {
					typ := store.ChannelOpen
					if j == channelsPerTeam-1 {
						typ = store.ChannelPrivate
					}
					first.Channels = append(first.Channels, store.ImportChannel{Line: 1000 + i*channelsPerTeam + j, Team: fmt.Sprintf("team%03d", i),
						Name: fmt.Sprintf("c%d", j), DisplayName: fmt.Sprintf("Channel %d", j), Type: typ})
				}
			}
			var total store.ImportReport
			rep, err := s.ImportChat(ctx, first, store.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			total.Add(rep)
			perUser := 1 + channelsPerUser
			batch := store.MaxImportBatch / perUser
			batches := 0
			userBatch := func(lo int) store.ImportBatch {
				var b store.ImportBatch
				for i := lo; i < min(n, lo+batch); i++ {
					team := i % teams
					chans := make([]string, channelsPerUser)
					for k := range chans {
						chans[k] = fmt.Sprintf("c%d", (i+k)%channelsPerTeam)
					}
					b.Users = append(b.Users, store.ImportUser{Line: 10000 + i, Username: fmt.Sprintf("user%06d", i),
						Email: fmt.Sprintf("user%06d@example.com", i), ExternalID: fmt.Sprintf("00u%06d", i),
						FirstName: "First", LastName: fmt.Sprintf("Last%d", i), Position: "Engineer",
						Teams: []store.ImportTeamMembership{{Name: fmt.Sprintf("team%03d", team), Channels: chans}}})
				}
				return b
			}
			// The first pass of townsquare import: every batch checked before any is
			// applied (CheckImport).
			checkStart := time.Now()
			for lo := 0; lo < n; lo += batch {
				if _, err := s.CheckImport(ctx, userBatch(lo)); err != nil {
					t.Fatalf("check of the batch at %d: %v", lo, err)
				}
			}
			t.Logf("%s: CheckImport of the %d accounts' batches: %v", b.Name, n, time.Since(checkStart).Round(time.Millisecond))
			for lo := 0; lo < n; lo += batch {
				rep, err := s.ImportChat(ctx, userBatch(lo), store.ImportOptions{})
				if err != nil {
					t.Fatalf("batch at %d: %v", lo, err)
				}
				total.Add(rep)
				batches++
			}
			imported := time.Since(start)
			t.Logf("%s: import of %d accounts in %d batches: %v (%.0f accounts/s); %d teams, %d channels created, %d team and %d channel joins",
				b.Name, n, batches+1, imported.Round(time.Millisecond), float64(n)/imported.Seconds(), total.TeamsCreated, total.ChannelsCreated,
				total.TeamMembershipsAdded, total.ChannelMembershipsAdded)
			if total.UsersCreated != n || total.ChannelMembershipsAdded < n*channelsPerUser {
				t.Fatalf("report %+v", total)
			}
			heapAfterImport := peakHeap.Load()

			start = time.Now()
			var c exportCounter
			if err := s.ExportChat(context.Background(), store.ExportQuery{}, &c); err != nil {
				t.Fatal(err)
			}
			exported := time.Since(start)
			t.Logf("%s: export of %d teams, %d channels, %d accounts with %d team and %d channel memberships: %v",
				b.Name, c.teams, c.channels, c.users, c.teamMembers, c.channelMembers, exported.Round(time.Millisecond))
			if c.users != n {
				t.Fatalf("exported %d accounts", c.users)
			}
			t.Logf("%s: peak Go heap in use: %.0f MB during the import, %.0f MB overall; peak RSS (VmHWM) %s",
				b.Name, float64(heapAfterImport)/(1<<20), float64(peakHeap.Load())/(1<<20), vmHWM())
			if os.Getenv("TOWNSQUARE_BENCH_BULK_REIMPORT") != "" {
				// The same file again: every account matched, nothing written; its
				// check first.
				start = time.Now()
				for lo := 0; lo < n; lo += batch {
					if _, err := s.CheckImport(ctx, userBatch(lo)); err != nil {
						t.Fatalf("check of the batch at %d: %v", lo, err)
					}
				}
				t.Logf("%s: CheckImport of the same %d accounts, all matched: %v", b.Name, n, time.Since(start).Round(time.Millisecond))
				start = time.Now()
				for lo := 0; lo < n; lo += batch {
					rep, err := s.ImportChat(ctx, userBatch(lo), store.ImportOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(rep) != fmt.Sprint(store.ImportReport{}) {
						t.Fatalf("re-import at %d: %+v", lo, rep)
					}
				}
				t.Logf("%s: re-import of the same %d accounts (no change): %v", b.Name, n, time.Since(start).Round(time.Millisecond))
			}
			if os.Getenv("TOWNSQUARE_BENCH_BULK_CHECK") != "" {
				start = time.Now()
				v, err := s.CheckInvariants(context.Background())
				if err != nil || len(v) > 0 {
					t.Fatalf("invariants: %v %q", err, v[:min(len(v), 10)])
				}
				t.Logf("%s: the rules hold (CheckInvariants, %v)", b.Name, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// exportCounter is a BulkSink that counts.
type exportCounter struct {
	teams, channels, users, teamMembers, channelMembers int
	last                                                string
}

func (c *exportCounter) Team(store.ExportTeam) error       { c.teams++; return nil }
func (c *exportCounter) Channel(store.ExportChannel) error { c.channels++; return nil }
func (c *exportCounter) User(u store.ExportUser) error {
	if u.Username <= c.last {
		return fmt.Errorf("%q after %q", u.Username, c.last)
	}
	c.last = u.Username
	c.users++
	c.teamMembers += len(u.Teams)
	for _, t := range u.Teams {
		c.channelMembers += len(t.Channels)
	}
	return nil
}

// sampleHeap records the highest HeapInuse seen, every 50 ms, until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done) }
}

// vmHWM is the process's peak resident set, as /proc reports it.
func vmHWM() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
