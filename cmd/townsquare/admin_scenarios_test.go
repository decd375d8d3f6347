package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The admin's hands through both front doors: every scenario below runs through the CLI
// ("townsquare user …") and through /api/v1 on every backend, and must end the same way.
// A step is written as the CLI's arguments; each driver turns it into what its front door
// takes (the API driver into requests). What a step must leave behind is checked through
// the store, so both drivers are held to the same state.

// adminStep is one admin command: args as after "townsquare" (without --database),
// the stable code it must fail with ("" for success: store.ErrorCode's codes, and
// "usage" for a command line the CLI refuses before doing anything), and text its
// answer must contain (the CLI's output or error, the API's "message" or "error").
type adminStep struct {
	args []string
	code string
	says string
}

// adminDriver runs steps through one front door on one database.
type adminDriver interface {
	// do runs s and returns what the front door said (the CLI's output and error
	// text; the API's answer body) and the stable code of its failure, "" on success.
	do(t *testing.T, s adminStep) (said, code string)
}

// adminDrivers are the front doors, by name; each driver's file registers itself in an
// init function. A driver gets the database the scenario's store also opens, and the
// path of the scenario's mapping file ("" for the built-in defaults), whose rules its
// front door must apply as a server started with it does.
var adminDrivers = map[string]func(t *testing.T, dsn, configPath string) adminDriver{}

// adminScenario is a sequence of steps and what they leave behind. setup runs first on
// a store of the same database (SCIM users and groups an IdP would have pushed), with
// the rules of config, the scenario's mapping file ("" for the defaults).
type adminScenario struct {
	name   string
	config string
	setup  func(t *testing.T, ctx context.Context, st store.Store)
	steps  []adminStep
	check  func(t *testing.T, ctx context.Context, st store.Store)
}

func TestAdminScenarios(t *testing.T) {
	if len(adminDrivers) == 0 {
		t.Fatal("no admin driver registered")
	}
	for _, b := range sqltest.Backends(t) {
		for _, name := range sortedKeys(adminDrivers) {
			for _, sc := range adminScenarios {
				t.Run(b.Name+"/"+name+"/"+sc.name, func(t *testing.T) {
					dsn := b.DSN(t)
					ctx := context.Background()
					st, err := sqlstore.Open(ctx, dsn)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { st.Close() })
					configPath := ""
					if sc.config != "" {
						configPath = filepath.Join(t.TempDir(), "mapping.yaml")
						if err := os.WriteFile(configPath, []byte(sc.config), 0o600); err != nil {
							t.Fatal(err)
						}
						cfg, err := rules.Load(configPath)
						if err != nil {
							t.Fatal(err)
						}
						st.SetRules(cfg)
					}
					if sc.setup != nil {
						sc.setup(t, ctx, st)
					}
					d := adminDrivers[name](t, dsn, configPath)
					for i, s := range sc.steps {
						said, code := d.do(t, s)
						if code != s.code {
							t.Fatalf("step %d %q: code %q, want %q; said:\n%s", i, strings.Join(s.args, " "), code, s.code, said)
						}
						if s.says != "" && !strings.Contains(said, s.says) {
							t.Fatalf("step %d %q: said\n%s\nwant it to contain %q", i, strings.Join(s.args, " "), said, s.says)
						}
					}
					if sc.check != nil {
						sc.check(t, ctx, st)
					}
					if v, err := st.CheckInvariants(ctx); err != nil || len(v) > 0 {
						t.Fatalf("invariants: %v %v", v, err)
					}
				})
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// step builds an adminStep from the CLI's words.
func step(args ...string) adminStep { return adminStep{args: args} }

func (s adminStep) fails(code, says string) adminStep { s.code, s.says = code, says; return s }
func (s adminStep) saying(says string) adminStep      { s.says = says; return s }

// accountOf reads an account by what an admin types.
func accountOf(t *testing.T, ctx context.Context, st store.Store, key string) store.AccountDetails {
	t.Helper()
	id, err := st.AccountID(ctx, key)
	if err != nil {
		t.Fatalf("account %q: %v", key, err)
	}
	d, err := st.AccountDetails(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// teamSources lists an account's teams as "team=source,source".
func teamSources(d store.AccountDetails) []string {
	var out []string
	for _, tm := range d.Teams {
		var src []string
		for _, s := range tm.Sources {
			src = append(src, s.String())
		}
		out = append(out, tm.Team+"="+strings.Join(src, ","))
	}
	return out
}

// scimMember makes a SCIM user (as an IdP would) in a new group of that displayName.
func scimMember(t *testing.T, ctx context.Context, st store.Store, userName, group string) (userID, groupID string) {
	t.Helper()
	u := store.User{UserName: userName, ExternalID: "ext-" + userName, Active: true,
		Emails: []store.MultiValue{{Value: userName, Primary: true}}}
	if err := st.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	g := store.Group{DisplayName: group}
	if err := st.CreateGroup(ctx, &g, []string{u.ID}); err != nil {
		t.Fatal(err)
	}
	return u.ID, g.ID
}

var adminScenarios = []adminScenario{
	{
		name: "create-show-and-refusals",
		steps: []adminStep{
			step("user", "create", "--email", "alice@example.com", "--username", "alice", "--password", "Passw0rd!x",
				"--first-name", "Alice", "--last-name", "Liddell"),
			step("user", "create", "--email", "alice2@example.com", "--username", "alice", "--password", "Passw0rd!x").
				fails(store.CodeConflict, "username"),
			step("user", "create", "--email", "bob@example.com", "--username", "bob").fails(store.CodeInvalid, "password"),
			step("user", "create", "--email", "sso@example.com", "--username", "sso", "--auth-service", "saml", "--auth-data", "00u1sso"),
			step("user", "show", "alice@example.com").saying("alice"),
			step("user", "show", "nobody").fails(store.CodeNotFound, "nobody"),
		},
		check: func(t *testing.T, ctx context.Context, st store.Store) {
			a := accountOf(t, ctx, st, "alice")
			if a.Email != "alice@example.com" || a.FirstName != "Alice" || a.Origin != store.OriginManual || !a.Active {
				t.Errorf("alice: %+v", a)
			}
			if got := teamSources(a); !slices.Equal(got, []string{"everyone=default"}) {
				t.Errorf("alice's teams: %v", got)
			}
			if s := accountOf(t, ctx, st, "sso"); s.AuthData != "00u1sso" || s.AuthService != "saml" {
				t.Errorf("sso: %+v", s)
			}
		},
	},
	{
		name: "manual-membership-survives-groups",
		setup: func(t *testing.T, ctx context.Context, st store.Store) {
			scimMember(t, ctx, st, "bob@example.com", "Engineering")
		},
		steps: []adminStep{
			step("team", "create", "support", "--display-name", "Support"),
			step("team", "users", "add", "support", "bob"),
			step("team", "users", "remove", "engineering", "bob").
				fails(store.CodeStillGranted, "bob stays in engineering: granted by group Engineering"),
		},
		check: func(t *testing.T, ctx context.Context, st store.Store) {
			b := accountOf(t, ctx, st, "bob")
			if got := teamSources(b); !slices.Equal(got, []string{"engineering=group:Engineering", "support=manual"}) {
				t.Errorf("bob's teams: %v", got)
			}
		},
	},
	{
		name: "last-team-and-to-default",
		steps: []adminStep{
			step("user", "create", "--email", "carol@example.com", "--username", "carol", "--password", "Passw0rd!x"),
			step("team", "create", "sales"),
			step("team", "users", "add", "sales", "carol"),
			step("team", "users", "remove", "sales", "carol").fails(store.CodeLastTeam, "carol"),
			step("team", "users", "remove", "sales", "carol", "--to-default"),
		},
		check: func(t *testing.T, ctx context.Context, st store.Store) {
			if got := teamSources(accountOf(t, ctx, st, "carol")); !slices.Equal(got, []string{"everyone=default"}) {
				t.Errorf("carol's teams: %v", got)
			}
		},
	},
	{
		name: "deactivate-shows-in-scim",
		steps: []adminStep{
			step("user", "create", "--email", "dave@example.com", "--username", "dave", "--password", "Passw0rd!x"),
			step("user", "deactivate", "dave"),
			step("team", "create", "ops"),
			step("team", "users", "add", "ops", "dave").fails(store.CodeDeactivated, "dave"),
		},
		check: func(t *testing.T, ctx context.Context, st store.Store) {
			d := accountOf(t, ctx, st, "dave")
			u, err := st.GetUser(ctx, d.ID)
			if err != nil || u.Active || d.Status != store.StatusOffline {
				t.Errorf("dave: %+v %v", d, err)
			}
		},
	},
	{
		name: "channels",
		steps: []adminStep{
			step("user", "create", "--email", "erin@example.com", "--username", "erin", "--password", "Passw0rd!x"),
			step("team", "create", "design"),
			step("channel", "create", "design:reviews", "--display-name", "Reviews", "--private"),
			step("channel", "users", "add", "design:reviews", "erin").fails(store.CodeNotTeamMember, "design"),
			step("team", "users", "add", "design", "erin"),
			step("channel", "users", "add", "design/reviews", "erin"),
			step("channel", "users", "remove", "design:town-square", "erin").fails(store.CodeStillGranted, "erin stays in"),
			step("channel", "users", "remove", "design:reviews", "erin"),
			step("channel", "create", "design:town-square").fails(store.CodeConflict, "channel"),
		},
		check: func(t *testing.T, ctx context.Context, st store.Store) {
			e := accountOf(t, ctx, st, "erin")
			for _, c := range e.Channels {
				if c.Channel == "reviews" {
					t.Errorf("erin still in reviews: %+v", c)
				}
			}
		},
	},
	{
		name: "edits-and-delete",
		steps: []adminStep{
			step("user", "create", "--email", "frank@example.com", "--username", "frank", "--auth-service", "saml", "--auth-data", "old-id"),
			step("user", "edit", "authdata", "frank", "new-id"),
			step("user", "edit", "email", "frank", "frank.n@example.com"),
			step("user", "edit", "username", "frank", "frankn"),
			step("user", "show", "frankn").saying("new-id"),
			step("user", "show", "frank.n@example.com").saying("frankn"),
			step("user", "edit", "username", "frankn", "x").fails(store.CodeInvalid, "username"),
			step("user", "delete", "frankn", "--confirm"),
			step("user", "show", "frankn").fails(store.CodeNotFound, ""),
		},
	},
}

// roleScenarioRules are the mapping of the role scenarios (issue 14): a group whose
// members are team admins of engineering, and guest groups.
const roleScenarioRules = `
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
  - match: {displayName: "Eng Leads"}
    team_admin: [engineering]
  - match: {displayNamePrefix: "guest-"}
    guest: true
    channels: ["partners/{suffix}"]
`

// adminOf reads whether an account holds the role named by where ("system", a team, or
// "team/channel") and what grants it.
func adminOf(t *testing.T, ctx context.Context, st store.Store, key, where string) (has bool, sources []string) {
	t.Helper()
	d := accountOf(t, ctx, st, key)
	strs := func(src []store.MembershipSource) []string {
		var out []string
		for _, s := range src {
			out = append(out, s.String())
		}
		return out
	}
	if where == "system" {
		return d.SystemAdmin, strs(d.SystemAdminSources)
	}
	if ref, ok := store.ParseChannelPath(where); ok {
		for _, c := range d.Channels {
			if c.Team == ref.Team && c.Channel == ref.Channel {
				return c.Admin, strs(c.AdminSources)
			}
		}
		return false, nil
	}
	for _, tm := range d.Teams {
		if tm.Team == where {
			return tm.Admin, strs(tm.AdminSources)
		}
	}
	return false, nil
}

// wantAdmin checks adminOf.
func wantAdmin(t *testing.T, ctx context.Context, st store.Store, key, where string, has bool, sources ...string) {
	t.Helper()
	gotHas, gotSources := adminOf(t, ctx, st, key, where)
	if gotHas != has || !slices.Equal(gotSources, sources) {
		t.Errorf("%s admin of %s: %v %v, want %v %v", key, where, gotHas, gotSources, has, sources)
	}
}

var roleScenarios = []adminScenario{
	{
		name: "system-admin-grant-and-revoke",
		steps: []adminStep{
			step("user", "create", "--email", "alice@example.com", "--username", "alice", "--password", "Passw0rd!x"),
			step("roles", "system_admin", "alice").saying("made alice system_admin"),
			step("roles", "system_admin", "alice").saying("alice was already made system_admin by hand"),
			step("user", "show", "alice").saying("system_admin system_user"),
			step("roles", "member", "alice").saying("alice is no longer system_admin"),
			step("roles", "member", "alice").fails(store.CodeNoRole, "alice"),
			step("roles", "system_admin", "alice", "nobody").fails(store.CodeNotFound, "nobody"),
			step("roles", "member").fails("usage", ""),
		},
		check: func(t *testing.T, ctx context.Context, st store.Store) {
			// The step naming nobody made alice an admin again: each account on its own.
			wantAdmin(t, ctx, st, "alice", "system", true, "manual")
		},
	},
	{
		// A team admin granted by a group stays one when the grant by hand goes, and a
		// revoke of what only the group grants is refused, naming the group.
		name:   "team-admin-survives-revoke-while-a-group-grants-it",
		config: roleScenarioRules,
		setup: func(t *testing.T, ctx context.Context, st store.Store) {
			var ids []string
			for _, name := range []string{"bob@example.com", "carol@example.com"} {
				u := store.User{UserName: name, Active: true, Emails: []store.MultiValue{{Value: name, Primary: true}}}
				if err := st.CreateUser(ctx, &u); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, u.ID)
			}
			for _, g := range []struct {
				name    string
				members []string
			}{{"Engineering", ids}, {"Eng Leads", ids[:1]}} {
				if err := st.CreateGroup(ctx, &store.Group{DisplayName: g.name}, g.members); err != nil {
					t.Fatal(err)
				}
			}
		},
		steps: []adminStep{
			step("team", "admins", "remove", "engineering", "bob").fails(store.CodeStillGranted, "group Eng Leads"),
			step("team", "admins", "add", "engineering", "bob").saying("made bob team_admin of engineering"),
			step("team", "admins", "remove", "engineering", "bob").saying("bob stays team_admin of engineering: granted by group Eng Leads"),
			step("user", "show", "bob").saying("team_user team_admin"),
			step("team", "admins", "add", "engineering", "carol").saying("made carol team_admin of engineering"),
			step("team", "admins", "remove", "engineering", "carol").saying("carol is no longer team_admin of engineering"),
			step("team", "admins", "remove", "engineering", "carol").fails(store.CodeNoRole, "carol"),
			step("team", "admins", "add", "nope", "carol").fails(store.CodeNotFound, "nope"),
		},
		check: func(t *testing.T, ctx context.Context, st store.Store) {
			wantAdmin(t, ctx, st, "bob", "engineering", true, "group:Eng Leads")
			wantAdmin(t, ctx, st, "carol", "engineering", false)
		},
	},
	{
		// The mapping decides a guest's memberships, and a guest holds no admin role.
		name:   "guest-refused",
		config: roleScenarioRules,
		setup: func(t *testing.T, ctx context.Context, st store.Store) {
			scimMember(t, ctx, st, "gina@example.com", "guest-acme")
		},
		steps: []adminStep{
			step("user", "show", "gina").saying("system_guest"),
			step("roles", "system_admin", "gina").fails(store.CodeGuest, "gina"),
			step("team", "admins", "add", "partners", "gina").fails(store.CodeGuest, "gina"),
			step("channel", "admins", "add", "partners:acme", "gina").fails(store.CodeGuest, "gina"),
			step("team", "users", "add", "partners", "gina").fails(store.CodeGuest, "gina"),
		},
		check: func(t *testing.T, ctx context.Context, st store.Store) {
			d := accountOf(t, ctx, st, "gina")
			if !d.Guest || d.SystemAdmin || len(d.SystemAdminSources) > 0 {
				t.Errorf("gina: guest %v, system admin %v %v", d.Guest, d.SystemAdmin, d.SystemAdminSources)
			}
			if got := teamSources(d); len(got) != 1 || !strings.HasPrefix(got[0], "partners=") {
				t.Errorf("gina's teams: %v", got)
			}
		},
	},
	{
		// An admin is a member: of the team for team_admin (not_team_member), of the
		// channel for channel_admin (not_member, in its team or not).
		name: "channel-admin-needs-the-membership",
		steps: []adminStep{
			step("user", "create", "--email", "erin@example.com", "--username", "erin", "--password", "Passw0rd!x"),
			step("team", "create", "design"),
			step("channel", "create", "design:reviews", "--private"),
			step("team", "admins", "add", "design", "erin").fails(store.CodeNotTeamMember, "design"),
			step("channel", "admins", "add", "design:reviews", "erin").fails(store.CodeNotMember, "design:reviews"),
			step("team", "users", "add", "design", "erin"),
			step("channel", "admins", "add", "design:reviews", "erin").fails(store.CodeNotMember, "reviews"),
			step("channel", "users", "add", "design:reviews", "erin"),
			step("channel", "admins", "add", "design/reviews", "erin").saying("made erin channel_admin of design:reviews"),
			step("channel", "admins", "add", "design:nope", "erin").fails(store.CodeNotFound, "nope"),
			step("channel", "admins", "remove", "design:town-square", "erin").fails(store.CodeNoRole, "erin"),
			step("user", "show", "erin").saying("channel_user channel_admin"),
		},
		check: func(t *testing.T, ctx context.Context, st store.Store) {
			wantAdmin(t, ctx, st, "erin", "design/reviews", true, "manual")
			wantAdmin(t, ctx, st, "erin", "design", false)
		},
	},
}

func init() { adminScenarios = append(adminScenarios, roleScenarios...) }
