package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// users creates n SCIM users named prefix-i@example.com and returns their ids.
func users(t *testing.T, srv *child, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = srv.createUser(t, fmt.Sprintf("%s-%d@example.com", prefix, i), fmt.Sprintf("ext-%s-%d", prefix, i))
	}
	return ids
}

// answered counts the double's answers with a status.
func answered(d *drill, status int) int {
	n := 0
	for _, r := range d.mm.Requests() {
		if r.Status == status {
			n++
		}
	}
	return n
}

// TestDrillMattermostFailing: the double answers 500s, then a proxy's 502 page, while
// accounts, a group and a deactivation are provisioned; delivery retries to the end.
func TestDrillMattermostFailing(t *testing.T) {
	eachDrillBackend(t, func(t *testing.T, b sqltest.Backend) {
		d := newDrill(t, b, nil, "")
		d.mm.FailNext(25, 500)
		srv := d.serve()
		ids := users(t, srv, "f", 8)
		srv.createGroup(t, "Engineering", ids[:5]...)
		srv.setActive(t, ids[7], false)
		d.converged(90 * time.Second)
		if n := answered(d, 500); n != 25 {
			t.Errorf("the double answered %d 500s, want 25", n)
		}
		d.mm.FailNextRaw(5, 502, "<html><body>502 Bad Gateway</body></html>")
		more := users(t, srv, "g", 3)
		srv.createGroup(t, "Staff", more...)
		d.converged(90 * time.Second)
	})
}

// TestDrillRateLimited: 429 with Retry-After is honoured (no request before the time it
// names) and delivery completes.
func TestDrillRateLimited(t *testing.T) {
	eachDrillBackend(t, func(t *testing.T, b sqltest.Backend) {
		d := newDrill(t, b, nil, "")
		srv := d.serve()
		d.converged(30 * time.Second) // the connector is up
		d.mm.RateLimitNext(6, 2*time.Second)
		ids := users(t, srv, "r", 6)
		srv.createGroup(t, "Engineering", ids...)
		d.converged(90 * time.Second)
		reqs := d.mm.Requests()
		for i, r := range reqs {
			if r.Status != 429 {
				continue
			}
			// The next request after a 429 may come no sooner than Retry-After.
			for _, next := range reqs[i+1:] {
				if gap := next.Time.Sub(r.Time); gap < 2*time.Second-50*time.Millisecond {
					t.Fatalf("a request %s after a 429 with Retry-After: 2", gap)
				}
				break
			}
		}
	})
}

// TestDrillTimeouts: requests the double never answers time out and are retried.
func TestDrillTimeouts(t *testing.T) {
	eachDrillBackend(t, func(t *testing.T, b sqltest.Backend) {
		d := newDrill(t, b, nil, "")
		srv := d.serve()
		d.converged(30 * time.Second)
		d.mm.HangNext(3)
		ids := users(t, srv, "h", 4)
		srv.createGroup(t, "Engineering", ids...)
		d.converged(90 * time.Second)
	})
}

// TestDrillConnectionsRefusedForAMinute: Mattermost is down (connections refused) for a
// minute while the IdP keeps provisioning; everything arrives once it is back.
func TestDrillConnectionsRefusedForAMinute(t *testing.T) {
	eachDrillBackend(t, func(t *testing.T, b sqltest.Backend) {
		d := newDrill(t, b, nil, "")
		srv := d.serve()
		d.converged(30 * time.Second)
		d.mm.RefuseConnections(time.Minute)
		ids := users(t, srv, "down", 10)
		g := srv.createGroup(t, "Engineering", ids...)
		srv.patchMembers(t, g, "remove", ids[0])
		srv.setActive(t, ids[1], false)
		// The status shows the failures while they last (the minute is not over before
		// 45 s; polled, since how soon the first attempt fails depends on the machine).
		for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			st := srv.status(t)
			if fmt.Sprint(st["recent_failures"]) != "[]" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("status shows no failure while Mattermost refuses connections: %v", st)
			}
		}
		d.converged(3 * time.Minute)
	})
}

// TestDrillKilledBetweenCommitAndDelivery: changes acknowledged to the IdP but not yet
// delivered (Mattermost unreachable) survive a SIGKILL; the restarted server delivers
// them.
func TestDrillKilledBetweenCommitAndDelivery(t *testing.T) {
	eachDrillBackend(t, func(t *testing.T, b sqltest.Backend) {
		d := newDrill(t, b, nil, "")
		srv := d.serve()
		d.converged(30 * time.Second)
		d.mm.RefuseConnections(4 * time.Second)
		ids := users(t, srv, "k", 12)
		srv.createGroup(t, "Engineering", ids[:6]...)
		srv.kill(t)
		if n := len(d.mm.Snapshot().Users); n > 1 {
			t.Logf("%d users reached Mattermost before the kill", n-1)
		}
		time.Sleep(4 * time.Second)
		d.serve()
		d.converged(60 * time.Second)
	})
}

// TestDrillTwoServersDelivererKilled: two servers on one PostgreSQL; one delivers (it
// holds the lease); it is SIGKILLed and the other takes over within 30 s.
func TestDrillTwoServersDelivererKilled(t *testing.T) {
	eachDrillBackend(t, func(t *testing.T, b sqltest.Backend) {
		if b.Name != "postgres" {
			t.Skip("two servers share one PostgreSQL")
		}
		d := newDrill(t, b, nil, "")
		d.env = append(d.env, "TOWNSQUARE_MATTERMOST_LEASE_TTL=15s") // the production TTL
		s1, s2 := d.serve(), d.serve()
		ids := users(t, s2, "two", 5)
		s1.createGroup(t, "Engineering", ids...)
		d.converged(60 * time.Second)
		holder, other := s1, s2
		if !strings.Contains(fmt.Sprint(s1.status(t)["holder"]), strconv.Itoa(s1.cmd.Process.Pid)) {
			holder, other = s2, s1
		}
		holder.kill(t)
		killed := time.Now()
		more := users(t, other, "after", 5)
		other.createGroup(t, "Staff", more...)
		d.converged(45 * time.Second)
		if took := time.Since(killed); took > 40*time.Second {
			t.Errorf("the survivor took %s to deliver", took)
		}
	})
}

// TestDrillAdoptsExistingMattermost: a Mattermost with 1,000 users; the IdP pushes the
// same people; each is adopted by email and bound with PUT /auth, none created.
func TestDrillAdoptsExistingMattermost(t *testing.T) {
	eachDrillBackend(t, func(t *testing.T, b sqltest.Backend) {
		d := newDrill(t, b, nil, "")
		const n = 1000
		for i := range n {
			d.mm.SeedUser(mattermost.User{Username: fmt.Sprintf("old%04d", i),
				Email: fmt.Sprintf("person%04d@example.com", i), FirstName: "Old"})
		}
		srv := d.serve()
		for i := range n {
			srv.createUser(t, fmt.Sprintf("person%04d@example.com", i), fmt.Sprintf("00u%04d", i))
		}
		// Adopted users keep their Mattermost usernames (an SSO username is not
		// changed through the API): compare by email.
		deadline := time.Now().Add(3 * time.Minute)
		for {
			bound := 0
			for _, u := range d.mm.Snapshot().Users {
				if strings.HasPrefix(u.AuthData, "00u") && u.AuthService == "saml" {
					bound++
				}
			}
			if bound == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d users bound", bound, n)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if c := d.mm.Count("POST", "/api/v4/users"); c != 0 {
			t.Errorf("%d users created; every one should have been adopted", c)
		}
		if got := len(d.mm.Snapshot().Users); got != n+2 {
			t.Errorf("%d Mattermost users, want %d and the double's two built-in ones", got, n)
		}
	})
}

// TestDrillManualMembershipSurvives: a person added to a channel by hand in Mattermost
// stays there when a group change removes what Townsquare added.
func TestDrillManualMembershipSurvives(t *testing.T) {
	eachDrillBackend(t, func(t *testing.T, b sqltest.Backend) {
		d := newDrill(t, b, nil, "")
		srv := d.serve()
		alice := srv.createUser(t, "alice@example.com", "ext-alice")
		eng := srv.createGroup(t, "Engineering", alice)
		srv.createGroup(t, "Staff", alice)
		d.converged(60 * time.Second)
		d.mm.SeedChannel("engineering", "random-talk", "Random talk", "O")
		u, ok := d.mm.UserByUsername("alice")
		if !ok {
			t.Fatal("alice is not in Mattermost")
		}
		d.mm.SeedChannelMember("engineering", "random-talk", u.ID)
		srv.patchMembers(t, eng, "remove", alice)
		d.convergedIgnoring(60*time.Second, map[string]bool{"engineering/random-talk": true})
		if !contains(d.mm.Snapshot().ChannelMembers["engineering/random-talk"], u.ID) {
			t.Error("the hand-made membership of engineering/random-talk is gone")
		}
		if contains(d.mm.Snapshot().ChannelMembers["engineering/backend"], u.ID) {
			t.Error("alice is still in engineering/backend")
		}
	})
}

// TestDrillBreakerHoldsMassDeactivation: beyond max_deactivations_per_hour the breaker
// holds deactivations, status shows them, and "mattermost release" sends them.
func TestDrillBreakerHoldsMassDeactivation(t *testing.T) {
	eachDrillBackend(t, func(t *testing.T, b sqltest.Backend) {
		d := newDrill(t, b, nil, "  max_deactivations_per_hour: 5\n")
		srv := d.serve()
		ids := users(t, srv, "mass", 20)
		srv.createGroup(t, "Engineering", ids...)
		d.converged(60 * time.Second)
		for _, id := range ids {
			srv.setActive(t, id, false)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			held := srv.status(t)["breaker"].(map[string]any)["held"]
			if n, _ := held.(float64); n == 15 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("breaker: %v, want 15 held", srv.status(t)["breaker"])
			}
			time.Sleep(200 * time.Millisecond)
		}
		deactivated := 0
		for _, u := range d.mm.Snapshot().Users {
			if u.DeleteAt != 0 {
				deactivated++
			}
		}
		if deactivated != 5 {
			t.Fatalf("%d deactivated in Mattermost, want 5 (the limit)", deactivated)
		}
		var out, errOut strings.Builder
		if err := run(context.Background(), []string{"mattermost", "release", "--all", "--database", d.dsn}, &out, &errOut); err != nil {
			t.Fatalf("release: %v: %s", err, errOut.String())
		}
		d.converged(60 * time.Second)
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
