package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestPurgeMode checks that a purge leaves no row of the account in any table; the
// conformance suite (PurgeMode) checks what the interface shows of it.
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

// TestInvariantCheckerCatchesViolations breaks each rule by hand, behind the store's back,
// and expects CheckInvariants to name it: a checker that never complains proves nothing.
func TestInvariantCheckerCatchesViolations(t *testing.T) {
	cfg, err := rules.Parse([]byte(exampleRules + `
  - match: {displayName: "Eng Leads"}
    team_admin: [engineering]
    channel_admin: [engineering/backend]
  - match: {displayName: "Root"}
    system_admin: true
  - match: {displayNamePrefix: "guest-"}
    guest: true
    channels: ["partners/{suffix}"]
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		rule    string
		breakIt string
	}{
		{"rule 1: an active account that is not a guest is in no team", `DELETE FROM team_members WHERE user_pk = (SELECT pk FROM users WHERE username = 'ann')`},
		{"rule 2: a team member that is not a guest is not in a public team-join channel", `DELETE FROM channel_members WHERE user_pk = (SELECT pk FROM users WHERE username = 'ann')
			AND channel_pk IN (SELECT pk FROM channels WHERE name = 'town-square')`},
		{"rule 2: a channel member is not in the channel's team", `DELETE FROM team_members WHERE user_pk = (SELECT pk FROM users WHERE username = 'ann')
			AND team_pk = (SELECT pk FROM teams WHERE name = 'engineering')`},
		{"rule 3: a group member lacks a channel its group maps to", `DELETE FROM channel_members WHERE user_pk = (SELECT pk FROM users WHERE username = 'ann')
			AND channel_pk IN (SELECT pk FROM channels WHERE name = 'backend')`},
		{"rule 3: a membership claims a grant its group no longer makes", `DELETE FROM group_channels
			WHERE channel_pk IN (SELECT pk FROM channels WHERE name = 'eng-news')`},
		{"rule 3: a membership claims a group the account is not in", `DELETE FROM group_members`},
		{"guests: users.guest disagrees with the account's groups", `UPDATE users SET guest = NOT guest`},
		{"guests: a guest holds a membership no guest group's channel grants", `INSERT INTO team_members (team_pk, user_pk, source, created_at)
			SELECT t.pk, u.pk, 'manual', 0 FROM teams t, users u WHERE t.name = 'everyone' AND u.username = 'gus'`},
		{"roles: an admin grant without its membership", `INSERT INTO channel_admins (channel_pk, user_pk, source, created_at)
			SELECT c.pk, u.pk, 'manual', 0 FROM channels c, users u WHERE c.name = 'eng-news' AND u.username = 'gus'`},
		{"roles: a grant claims a group that does not grant it to the account", `DELETE FROM group_team_admins`},
		{"roles: a grant claims a group that does not grant it to the account", `UPDATE groups SET system_admin = false`},
		{"roles: a group member lacks a role its group grants", `DELETE FROM channel_admins`},
		{"roles: a group member lacks a role its group grants", `DELETE FROM system_admins`},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i, " ", c.rule), func(t *testing.T) {
			for _, b := range sqltest.Backends(t) {
				t.Run(b.Name, func(t *testing.T) {
					s := sqltest.Open(t, b)
					s.SetRules(cfg)
					u := mustUser(t, s, "ann@example.com", "")
					mustGroup(t, s, "Engineering", "", u.ID)
					mustGroup(t, s, "Eng Leads", "", u.ID)
					mustGroup(t, s, "Root", "", u.ID)
					mustGroup(t, s, "guest-acme", "", mustUser(t, s, "gus@example.com", "").ID)
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
