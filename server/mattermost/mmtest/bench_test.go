package mmtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server/mattermost"
)

// seedLarge seeds users users spread over teams teams.
func seedLarge(s *Server, users, teams int) {
	for i := range teams {
		s.SeedTeam(fmt.Sprintf("team-%04d", i), "T", "O")
	}
	for i := range users {
		id := s.SeedUser(mattermost.User{Username: fmt.Sprintf("user%06d", i), Email: fmt.Sprintf("user%06d@example.org", i),
			AuthService: "saml", AuthData: fmt.Sprintf("ext-%06d", i)})
		s.SeedTeamMember(fmt.Sprintf("team-%04d", i%teams), id)
	}
}

// TestLargeDoubleIsFast: 100k users in 1k teams seed quickly, and lookups and member
// pages stay cheap at that size (no per-call sort, indexed lookups).
func TestLargeDoubleIsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100k users")
	}
	s := New(t)
	start := time.Now()
	seedLarge(s, 100_000, 1000)
	seeded := time.Since(start)
	c := client(t, s, s.AdminToken())
	tm := must[mattermost.Team](t)(c.GetTeamByName(ctx, "team-0999"))
	start = time.Now()
	for i := range 200 {
		must[mattermost.User](t)(c.GetUserByUsername(ctx, fmt.Sprintf("user%06d", i*499)))
		must[mattermost.User](t)(c.GetUserByEmail(ctx, fmt.Sprintf("user%06d@example.org", i*499)))
		if ms := must[[]mattermost.TeamMember](t)(c.GetTeamMembers(ctx, tm.ID, 0, 200)); len(ms) != 100 {
			t.Fatalf("%d members", len(ms))
		}
	}
	per := time.Since(start) / 600
	t.Logf("seeded 100k users in %s; %s per call with OpenAPI checks", seeded, per)
	// Generous bounds (a shared 2-core machine, -race): they catch a lookup or a page
	// that scans the 100k users, not a slow machine.
	if seeded > 60*time.Second || per > 50*time.Millisecond {
		t.Errorf("too slow: seeding %s, %s per call", seeded, per)
	}
}

func BenchmarkGetTeamMembers(b *testing.B) {
	for _, checked := range []bool{true, false} {
		b.Run(fmt.Sprintf("openapi=%v", checked), func(b *testing.B) {
			var opts []Option
			if !checked {
				opts = append(opts, WithoutOpenAPIChecks())
			}
			s := New(b, opts...)
			seedLarge(s, 20_000, 100)
			c, _ := mattermost.New(mattermost.Config{URL: s.URL(), Token: s.AdminToken()})
			tm, err := c.GetTeamByName(ctx, "team-0001")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.GetTeamMembers(ctx, tm.ID, 0, 200); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
