package connector_test

import (
	"slices"
	"testing"

	"github.com/townsquare/townsquare/server/mattermost/mmtest"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// rolesMapping is issue 14's example: declared teams and channels, groups granting
// team, channel and system admin, and a guest rule.
const rolesMapping = `
default_team: everyone
teams:
  - name: engineering
    display_name: Engineering
    private: true
channels:
  - name: engineering/incidents
    display_name: Incidents
    private: true
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend, engineering/incidents]
  - match: {displayName: "Eng Leads"}
    team_admin: [engineering]
    channel_admin: [engineering/incidents]
  - match: {displayName: "Chat Admins"}
    system_admin: true
  - match: {displayNamePrefix: "guest-"}
    guest: true
    channels: ["partners/{suffix}"]
mattermost:
  url: http://127.0.0.1:1
  reconcile_every: "0"
`

// eachE2E runs fn on every backend with the roles mapping: changes made through the
// store (SCIM groups, admin grants) delivered to the double.
func eachE2E(t *testing.T, fn func(t *testing.T, h *harness), opts ...mmtest.Option) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, newHarnessFor(t, sqltest.Open(t, b), rolesMapping, nil, opts...))
		})
	}
}

// converged checks that a further reconcile sends nothing.
func (h *harness) converged() {
	h.t.Helper()
	writes := len(h.writes())
	if _, err := h.e.Reconcile(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	if w := h.writes()[writes:]; len(w) != 0 {
		h.t.Errorf("a reconcile after delivery wrote %v", w)
	}
	if r := h.status(); r.DeadLetters.Count != 0 {
		h.t.Fatalf("dead letters: %+v", r.DeadLetters)
	}
}

func TestE2EDeclaredTeamsAndChannels(t *testing.T) {
	eachE2E(t, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.deliver()
		snap := h.mm.Snapshot()
		var engID string
		for _, tm := range snap.Teams {
			if tm.Name == "engineering" {
				engID = tm.ID
				if tm.DisplayName != "Engineering" || tm.Type != "I" {
					t.Errorf("team %+v", tm)
				}
			}
		}
		found := false
		for _, c := range snap.Channels {
			if c.TeamID == engID && c.Name == "incidents" {
				found = true
				if c.DisplayName != "Incidents" || c.Type != "P" {
					t.Errorf("channel %+v", c)
				}
			}
		}
		if !found {
			t.Fatal("engineering/incidents was not created")
		}
		u := h.mmUser("ann")
		if !slices.Contains(snap.ChannelMembers["engineering/incidents"], u.ID) {
			t.Error("ann is not in the private channel her group names")
		}
		h.converged()
	})
}

func TestE2EGroupRoles(t *testing.T) {
	eachE2E(t, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		leads := h.group("Eng Leads", ann.ID)
		admins := h.group("Chat Admins", ann.ID)
		h.deliver()
		checkRoles(t, h, "ann", roleCheck{roles: "system_admin system_user", teamAdmin: []string{"engineering"},
			channelAdmin: []string{"engineering/incidents"}, in: []string{"engineering/incidents", "engineering/town-square"}})
		h.converged()

		// The last group granting a role goes: the role goes.
		h.members(leads.ID, store.RemoveMembers, ann.ID)
		h.members(admins.ID, store.RemoveMembers, ann.ID)
		h.deliver()
		checkRoles(t, h, "ann", roleCheck{roles: "system_user", in: []string{"engineering/incidents"}})
		h.converged()
	})
}

// A role granted by hand (store.Admin GrantRole) reaches Mattermost and survives the
// group that also granted it going.
func TestE2EManualRoleSurvivesGroupChange(t *testing.T) {
	eachE2E(t, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		leads := h.group("Eng Leads", ann.ID)
		h.deliver()
		if _, err := h.st.GrantRole(h.ctx, ann.ID, store.RoleRef{Role: store.RoleTeamAdmin, Team: "engineering"}); err != nil {
			t.Fatal(err)
		}
		h.members(leads.ID, store.RemoveMembers, ann.ID)
		h.deliver()
		checkRoles(t, h, "ann", roleCheck{roles: "system_user", teamAdmin: []string{"engineering"}})
		if _, err := h.st.RevokeRole(h.ctx, ann.ID, store.RoleRef{Role: store.RoleTeamAdmin, Team: "engineering"}); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		checkRoles(t, h, "ann", roleCheck{roles: "system_user"})
		h.converged()
	})
}

// A guest group's member is a guest in exactly its channel and that channel's team;
// joining a member group promotes it, leaving it again demotes it, and it is never in
// town-square while a guest.
func TestE2EGuestPromotedAndDemoted(t *testing.T) {
	eachE2E(t, func(t *testing.T, h *harness) {
		bob := h.user("bob@example.com", "00uB", true)
		h.group("guest-acme", bob.ID)
		h.deliver()
		guest := roleCheck{roles: "system_guest", in: []string{"partners/acme"},
			notIn: []string{"partners/town-square", "partners/off-topic", "everyone/town-square"},
			teams: []string{"partners"}, noTeam: []string{"everyone", "engineering"}}
		checkRoles(t, h, "bob", guest)
		h.converged()

		eng := h.group("Engineering", bob.ID)
		h.deliver()
		checkRoles(t, h, "bob", roleCheck{roles: "system_user",
			in:    []string{"engineering/backend", "engineering/town-square", "partners/town-square", "partners/acme"},
			teams: []string{"engineering", "partners"}})
		h.converged()

		h.members(eng.ID, store.RemoveMembers, bob.ID)
		h.deliver()
		checkRoles(t, h, "bob", guest)
		h.converged()
	})
}

// A guest never holds an admin role in Mattermost: a member's admin grant by hand is
// kept when it is demoted but has no effect (store/roles.go), so Mattermost's demotion
// (which clears scheme_admin) is the whole of it, and a promotion brings the role back.
func TestE2EGuestHoldsNoAdmin(t *testing.T) {
	eachE2E(t, func(t *testing.T, h *harness) {
		bob := h.user("bob@example.com", "00uB", true)
		h.group("guest-acme", bob.ID)
		eng := h.group("Engineering", bob.ID)
		h.deliver()
		if _, err := h.st.GrantRole(h.ctx, bob.ID, store.RoleRef{Role: store.RoleTeamAdmin, Team: "partners"}); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		checkRoles(t, h, "bob", roleCheck{roles: "system_user", teamAdmin: []string{"partners"}, teams: []string{"partners", "engineering"}})
		h.members(eng.ID, store.RemoveMembers, bob.ID)
		h.deliver()
		checkRoles(t, h, "bob", roleCheck{roles: "system_guest", in: []string{"partners/acme"}, notIn: []string{"partners/town-square"},
			teams: []string{"partners"}, noTeam: []string{"engineering"}})
		h.converged()
		h.members(eng.ID, store.AddMembers, bob.ID)
		h.deliver()
		checkRoles(t, h, "bob", roleCheck{roles: "system_user", teamAdmin: []string{"partners"}, in: []string{"partners/town-square"}})
		h.converged()
	})
}

// Changing a declaration (the mapping reloaded) patches the team and channel.
func TestE2EDeclarationChangeIsPatched(t *testing.T) {
	eachE2E(t, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.deliver()
		cfg := h.cfg
		cfg.Teams = append([]rules.TeamDecl(nil), cfg.Teams...)
		cfg.Channels = append([]rules.ChannelDecl(nil), cfg.Channels...)
		cfg.Teams[0].DisplayName, cfg.Teams[0].Private = "Engineering Dept", false
		cfg.Channels[0].DisplayName = "Incidents & outages"
		h.st.SetRules(cfg)
		if _, err := h.st.ApplyRules(h.ctx, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		evs, err := h.st.Events(h.ctx, store.EventQuery{Limit: store.MaxEventPage})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(evs, func(e store.Event) bool { return e.Kind == store.EventTeamUpdated }) {
			t.Fatal("applying the changed declaration journaled no team.updated")
		}
		h.deliver()
		snap := h.mm.Snapshot()
		for _, tm := range snap.Teams {
			if tm.Name == "engineering" && (tm.DisplayName != "Engineering Dept" || tm.Type != "O") {
				t.Errorf("team %+v", tm)
			}
		}
		for _, c := range snap.Channels {
			if c.Name == "incidents" && (c.DisplayName != "Incidents & outages" || c.Type != "P") {
				t.Errorf("channel %+v", c)
			}
		}
		h.converged()
	})
}
