package connector_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/server/mattermost/mmtest"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// roleStore is a real store whose accounts' role fields (store.ChatAccountState's
// Guest, SystemAdmin, TeamAdmin, ChannelWithType.Admin) a test sets, as issue 14's
// contract states them (store/roles.go), and whose journal shows an account's entries
// as account.roles entries while marked: the connector's side of roles is tested
// against the contract, whatever the store's side does.
type roleStore struct {
	store.Store
	mu    sync.Mutex
	roles map[string]func(*store.ChatAccountState)
	mark  map[string]bool // accounts whose entries read as account.roles
}

func (r *roleStore) set(id string, fn func(*store.ChatAccountState)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.roles[id] = fn
	r.mark[id] = true
}

func (r *roleStore) apply(st *store.ChatAccountState) {
	r.mu.Lock()
	fn := r.roles[st.ID]
	r.mu.Unlock()
	if fn != nil {
		fn(st)
	}
}

func (r *roleStore) ChatAccountState(ctx context.Context, id string) (store.ChatAccountState, error) {
	st, err := r.Store.ChatAccountState(ctx, id)
	if err == nil {
		r.apply(&st)
	}
	return st, err
}

func (r *roleStore) EachChatAccountState(ctx context.Context, fn func(store.ChatAccountState) error) error {
	return r.Store.EachChatAccountState(ctx, func(st store.ChatAccountState) error {
		r.apply(&st)
		return fn(st)
	})
}

func (r *roleStore) Events(ctx context.Context, q store.EventQuery) ([]store.Event, error) {
	evs, err := r.Store.Events(ctx, q)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range evs {
		if r.mark[evs[i].Account] && !strings.HasPrefix(string(evs[i].Kind), store.MattermostEventPrefix) {
			evs[i].Kind = store.EventAccountRoles
		}
	}
	return evs, err
}

// eachRoles is each with a roleStore.
func eachRoles(t *testing.T, tweak func(c *rules.Config), fn func(t *testing.T, h *harness, rs *roleStore), opts ...mmtest.Option) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			rs := &roleStore{Store: sqltest.Open(t, b), roles: map[string]func(*store.ChatAccountState){}, mark: map[string]bool{}}
			fn(t, newHarness(t, rs, tweak, opts...), rs)
		})
	}
}

// role states of ann, a member of Engineering (teams engineering and everyone; channels
// engineering/backend and everyone/eng-news, and what the team joins add).
var (
	asMember       = func(*store.ChatAccountState) {}
	asAdmin        = func(st *store.ChatAccountState) { st.SystemAdmin = true }
	asTeamAdmin    = func(st *store.ChatAccountState) { st.TeamAdmin = []string{"engineering"} }
	asChannelAdmin = func(st *store.ChatAccountState) {
		for i := range st.Channels {
			if st.Channels[i].Team == "engineering" && st.Channels[i].Channel == "backend" {
				st.Channels[i].Admin = true
			}
		}
	}
	// asGuest: a guest in engineering/backend only (and so in engineering).
	asGuest = func(st *store.ChatAccountState) {
		st.Guest, st.SystemAdmin, st.TeamAdmin = true, false, nil
		st.Teams = []string{"engineering"}
		st.Channels = []store.ChannelWithType{{Team: "engineering", Channel: "backend", Type: "O"}}
	}
)

// roleCheck is what Mattermost must show of ann after a transition.
type roleCheck struct {
	roles         string   // her system roles
	teamAdmin     []string // teams she is a scheme admin of
	channelAdmin  []string // "team/channel" she is a scheme admin of
	in, notIn     []string // "team/channel" she is (not) a member of
	teams, noTeam []string
}

var memberChannels = []string{"engineering/backend", "engineering/town-square", "engineering/off-topic", "everyone/eng-news", "everyone/town-square"}

// Each role transition, delivered as the journal announces it (an account.roles entry)
// and converged against the double: the calls Mattermost needs, in an order it accepts,
// then nothing more on a second delivery or a reconcile.
func TestRoleTransitions(t *testing.T) {
	cases := []struct {
		name     string
		from, to func(*store.ChatAccountState)
		want     roleCheck
		calls    []string // calls (method and path pattern) the transition must make
	}{
		{"system admin on", asMember, asAdmin,
			roleCheck{roles: "system_admin system_user", in: memberChannels}, []string{"PUT /api/v4/users/{id}/roles"}},
		{"system admin off", asAdmin, asMember,
			roleCheck{roles: "system_user", in: memberChannels}, []string{"PUT /api/v4/users/{id}/roles"}},
		{"team admin on", asMember, asTeamAdmin,
			roleCheck{roles: "system_user", teamAdmin: []string{"engineering"}}, []string{"PUT /api/v4/teams/{id}/members/{id}/schemeRoles"}},
		{"team admin off", asTeamAdmin, asMember,
			roleCheck{roles: "system_user"}, []string{"PUT /api/v4/teams/{id}/members/{id}/schemeRoles"}},
		{"channel admin on", asMember, asChannelAdmin,
			roleCheck{roles: "system_user", channelAdmin: []string{"engineering/backend"}}, []string{"PUT /api/v4/channels/{id}/members/{id}/schemeRoles"}},
		{"channel admin off", asChannelAdmin, asMember,
			roleCheck{roles: "system_user"}, []string{"PUT /api/v4/channels/{id}/members/{id}/schemeRoles"}},
		{"member to guest", asMember, asGuest,
			roleCheck{roles: "system_guest", in: []string{"engineering/backend"},
				notIn: []string{"engineering/town-square", "engineering/off-topic"}, teams: []string{"engineering"}, noTeam: []string{"everyone"}},
			[]string{"POST /api/v4/users/{id}/demote", "DELETE /api/v4/teams/{id}/members/{id}"}},
		{"admin to guest", func(st *store.ChatAccountState) { asAdmin(st); asTeamAdmin(st); asChannelAdmin(st) }, asGuest,
			roleCheck{roles: "system_guest", in: []string{"engineering/backend"}, notIn: []string{"engineering/town-square"}, noTeam: []string{"everyone"}},
			[]string{"POST /api/v4/users/{id}/demote"}},
		{"guest to member", asGuest, asMember,
			roleCheck{roles: "system_user", in: memberChannels, teams: []string{"engineering", "everyone"}},
			[]string{"POST /api/v4/users/{id}/promote", "POST /api/v4/teams/{id}/members"}},
		{"guest to team admin", asGuest, func(st *store.ChatAccountState) { asTeamAdmin(st); asChannelAdmin(st) },
			roleCheck{roles: "system_user", teamAdmin: []string{"engineering"}, channelAdmin: []string{"engineering/backend"}, in: memberChannels},
			[]string{"POST /api/v4/users/{id}/promote", "PUT /api/v4/teams/{id}/members/{id}/schemeRoles"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachRoles(t, nil, func(t *testing.T, h *harness, rs *roleStore) {
				ann := h.user("ann@example.com", "00uA", true)
				h.group("Engineering", ann.ID)
				rs.set(ann.ID, c.from)
				h.deliver()
				before := len(h.mm.Requests())

				rs.set(ann.ID, c.to)
				h.update(ann.ID, func(u *store.User) { u.Title = "Lead" }) // an entry naming her
				h.deliver()
				var made []string
				for _, r := range h.mm.Requests()[before:] {
					made = append(made, r.Method+" "+r.Path)
				}
				for _, call := range c.calls {
					if !matchAny(made, call) {
						t.Errorf("no %s among %v", call, made)
					}
				}
				checkRoles(t, h, "ann", c.want)

				// Converged: a second delivery of the same state and a reconcile send nothing.
				writes := len(h.writes())
				h.update(ann.ID, func(u *store.User) { u.Title = "Lead again" })
				h.deliver()
				if w := h.writes()[writes:]; len(w) != 1 { // the title's patch only
					t.Errorf("redelivery wrote %v", w)
				}
				writes = len(h.writes())
				if _, err := h.e.Reconcile(h.ctx); err != nil {
					t.Fatal(err)
				}
				if w := h.writes()[writes:]; len(w) != 0 {
					t.Errorf("reconcile wrote %v", w)
				}
				checkRoles(t, h, "ann", c.want)
				if r := h.status(); r.DeadLetters.Count != 0 {
					t.Fatalf("dead letters: %+v", r.DeadLetters)
				}
			})
		})
	}
}

func matchAny(calls []string, pattern string) bool {
	pm, pp, _ := strings.Cut(pattern, " ")
	want := strings.Split(pp, "/")
	for _, c := range calls {
		m, p, _ := strings.Cut(c, " ")
		got := strings.Split(p, "/")
		if m != pm || len(got) != len(want) {
			continue
		}
		ok := true
		for i := range want {
			if want[i] != "{id}" && want[i] != got[i] {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func checkRoles(t *testing.T, h *harness, username string, w roleCheck) {
	t.Helper()
	u := h.mmUser(username)
	if u.Roles != w.roles {
		t.Errorf("roles %q, want %q", u.Roles, w.roles)
	}
	snap := h.mm.Snapshot()
	for team, ids := range snap.TeamAdmins {
		if got, want := slices.Contains(ids, u.ID), slices.Contains(w.teamAdmin, team); got != want {
			t.Errorf("team admin of %s: %v, want %v", team, got, want)
		}
	}
	for ch, ids := range snap.ChannelAdmins {
		if got, want := slices.Contains(ids, u.ID), slices.Contains(w.channelAdmin, ch); got != want {
			t.Errorf("channel admin of %s: %v, want %v", ch, got, want)
		}
	}
	for _, ch := range w.in {
		if !slices.Contains(snap.ChannelMembers[ch], u.ID) {
			t.Errorf("not in %s", ch)
		}
	}
	for _, ch := range w.notIn {
		if slices.Contains(snap.ChannelMembers[ch], u.ID) {
			t.Errorf("in %s", ch)
		}
	}
	for _, team := range w.teams {
		if !slices.Contains(snap.TeamMembers[team], u.ID) {
			t.Errorf("not in team %s", team)
		}
	}
	for _, team := range w.noTeam {
		if slices.Contains(snap.TeamMembers[team], u.ID) {
			t.Errorf("in team %s", team)
		}
	}
	if hasRole := strings.Contains(u.Roles, "system_guest"); hasRole {
		// A guest's every membership is a guest membership (Mattermost rejects mixed ones).
		for ch, ids := range snap.ChannelAdmins {
			if slices.Contains(ids, u.ID) {
				t.Errorf("a guest is admin of %s", ch)
			}
		}
	}
}

// A guest from the start is created, demoted, then added to its team and channel: it
// is never in town-square, and nothing had to take it out of it.
func TestGuestNeverInTownSquare(t *testing.T) {
	eachRoles(t, nil, func(t *testing.T, h *harness, rs *roleStore) {
		ann := h.user("ann@example.com", "00uA", true)
		rs.set(ann.ID, asGuest)
		h.group("Engineering", ann.ID)
		h.deliver()
		checkRoles(t, h, "ann", roleCheck{roles: "system_guest", in: []string{"engineering/backend"},
			notIn: []string{"engineering/town-square", "engineering/off-topic"}, teams: []string{"engineering"}, noTeam: []string{"everyone"}})
		if n := h.mm.Count("DELETE", "/api/v4/channels/{id}/members/{id}"); n != 0 {
			t.Errorf("%d channel removals: the guest was put where it does not belong", n)
		}
		var order []string
		for _, r := range h.mm.Requests() {
			if r.Method != "GET" {
				order = append(order, r.Method+" "+r.Path)
			}
		}
		demote := slices.IndexFunc(order, func(s string) bool { return strings.HasSuffix(s, "/demote") })
		join := slices.IndexFunc(order, func(s string) bool {
			return strings.HasPrefix(s, "POST /api/v4/teams/") && strings.HasSuffix(s, "/members")
		})
		if demote < 0 || join < 0 || demote > join {
			t.Fatalf("demote at %d, first team join at %d: %v", demote, join, order)
		}
	})
}

// An unlicensed server answers a demotion 501: a dead letter carrying Mattermost's error
// id, not an endless retry; the rest of the batch is delivered.
func TestRefusedDemotionIsADeadLetter(t *testing.T) {
	eachRoles(t, nil, func(t *testing.T, h *harness, rs *roleStore) {
		ann := h.user("ann@example.com", "00uA", true)
		bob := h.user("bob@example.com", "00uB", true)
		h.group("Engineering", ann.ID, bob.ID)
		h.deliver()
		rs.set(ann.ID, asGuest)
		h.update(ann.ID, func(u *store.User) { u.Title = "Partner" })
		h.update(bob.ID, func(u *store.User) { u.Title = "Lead" })
		h.deliver()
		r := h.status()
		if r.DeadLetters.Count != 1 || r.DeadLetters.First[0].ErrorID != "api.team.demote_user_to_guest.license.error" ||
			r.DeadLetters.First[0].Status != 501 || r.DeadLetters.First[0].Account != ann.ID {
			t.Fatalf("dead letters %+v", r.DeadLetters)
		}
		if n := h.mm.Count("POST", "/api/v4/users/{id}/demote"); n != 1 {
			t.Fatalf("%d demotions sent: a 501 is not retried", n)
		}
		if h.mmUser("bob").Position != "Lead" {
			t.Fatal("the rest of the batch was not delivered")
		}
	}, mmtest.Unlicensed())
}

// A plain change of a member who holds no role reads no membership: roles cost calls
// only where they may differ.
func TestNoRoleReadsWithoutRoles(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.deliver()
		h.update(ann.ID, func(u *store.User) { u.Title = "Lead" })
		h.deliver()
		if _, err := h.e.Reconcile(h.ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/api/v4/teams/{id}/members/{id}", "/api/v4/channels/{id}/members/{id}"} {
			if n := h.mm.Count("GET", p); n != 0 {
				t.Errorf("%d GET %s", n, p)
			}
		}
		if n := h.mm.Count("PUT", "/api/v4/users/{id}/roles"); n != 0 {
			t.Errorf("%d role calls for a plain member", n)
		}
	})
}

// A team admin made by hand in Mattermost, on a membership the connector manages and
// without the role in Townsquare, is seen by a reconcile's member lists and revoked.
func TestReconcileRevokesAdminDrift(t *testing.T) {
	eachRoles(t, nil, func(t *testing.T, h *harness, rs *roleStore) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		rs.set(ann.ID, asTeamAdmin)
		h.deliver()
		checkRoles(t, h, "ann", roleCheck{roles: "system_user", teamAdmin: []string{"engineering"}})
		rs.mu.Lock()
		rs.roles[ann.ID] = asMember // no entry: only a reconcile can see the drift
		rs.mu.Unlock()
		if _, err := h.e.Reconcile(h.ctx); err != nil {
			t.Fatal(err)
		}
		checkRoles(t, h, "ann", roleCheck{roles: "system_user"})
	})
}

// A dry run reports the role calls it would make and sends none.
func TestDryRunReportsRoleCalls(t *testing.T) {
	eachRoles(t, nil, func(t *testing.T, h *harness, rs *roleStore) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.deliver()
		rs.set(ann.ID, func(st *store.ChatAccountState) { asAdmin(st); asTeamAdmin(st); asChannelAdmin(st) })
		h.cfg.Mattermost.DryRun = true
		dry := h.engine(h.mm.AdminToken(), "dry")
		writes := len(h.writes())
		plan, err := dry.Reconcile(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if w := h.writes()[writes:]; len(w) != 0 {
			t.Fatalf("a dry run wrote %v", w)
		}
		var calls []string
		for _, c := range plan.Changes {
			calls = append(calls, c.Call)
		}
		for _, want := range []string{"PUT /api/v4/users/{id}/roles", "PUT /api/v4/teams/{id}/members/{id}/schemeRoles",
			"PUT /api/v4/channels/{id}/members/{id}/schemeRoles"} {
			if !matchAny(calls, want) {
				t.Errorf("the plan lacks %s: %v", want, calls)
			}
		}
		if plan.Counts["user.admin_granted"] != 1 || plan.Counts["team.admin_granted"] != 1 || plan.Counts["channel.admin_granted"] != 1 {
			t.Errorf("counts %v", plan.Counts)
		}
	})
}

// An existing Mattermost system admin that is adopted keeps system_admin through
// delivery and reconcile (no lock-out on the first sync); only a change of the
// account's system roles in Townsquare (an account.roles entry) takes it away.
func TestAdoptedSystemAdminKeepsTheRole(t *testing.T) {
	eachRoles(t, nil, func(t *testing.T, h *harness, rs *roleStore) {
		h.mm.SeedUser(mattermost.User{Username: "ann", Email: "ann@example.com", Roles: "system_admin system_user"})
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.deliver()
		if _, err := h.e.Reconcile(h.ctx); err != nil {
			t.Fatal(err)
		}
		if u := h.mmUser("ann"); u.Roles != "system_admin system_user" || h.mm.Count("PUT", "/api/v4/users/{id}/roles") != 0 {
			t.Fatalf("adopted admin: roles %q, %d role calls", u.Roles, h.mm.Count("PUT", "/api/v4/users/{id}/roles"))
		}
		rs.set(ann.ID, asMember) // her entries now read as account.roles
		h.update(ann.ID, func(u *store.User) { u.Title = "Lead" })
		h.deliver()
		if u := h.mmUser("ann"); u.Roles != "system_user" {
			t.Fatalf("after an account.roles entry: roles %q", u.Roles)
		}
	})
}

// A revocation of system_admin whose delivery failed is sent when the dead letter is
// retried: the journal says Townsquare manages the account's system roles.
func TestRetriedRevocationIsSent(t *testing.T) {
	eachE2E(t, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		admins := h.group("Chat Admins", ann.ID)
		h.deliver()
		if u := h.mmUser("ann"); u.Roles != "system_admin system_user" {
			t.Fatalf("roles %q", u.Roles)
		}
		// The revocation is refused once (a 403, say a proxy's), parking the account.
		h.members(admins.ID, store.RemoveMembers, ann.ID)
		h.mm.FailNext(1, 403)
		h.deliver()
		if r := h.status(); r.DeadLetters.Count != 1 {
			t.Fatalf("dead letters %+v", r.DeadLetters)
		}
		if u := h.mmUser("ann"); u.Roles != "system_admin system_user" {
			t.Fatalf("roles %q before the retry", u.Roles)
		}
		if _, err := h.st.RequeueDeadLetters(h.ctx, nil, true); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		if _, err := h.e.Step(h.ctx); err != nil {
			t.Fatal(err)
		}
		if u := h.mmUser("ann"); u.Roles != "system_user" {
			t.Fatalf("roles %q after the retry", u.Roles)
		}
		h.converged()
	})
}
