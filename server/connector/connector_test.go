package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server/connector"
	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/server/mattermost/mmtest"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// mappingFile maps the group Engineering to the team engineering with the channel
// backend, and to the channel eng-news of the default team everyone.
const mappingFile = `
default_team: everyone
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend, everyone/eng-news]
mattermost:
  url: http://127.0.0.1:1
  reconcile_every: "0"
`

type harness struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	mm  *mmtest.Server
	e   *connector.Engine
	cfg rules.Config
}

// each runs fn on every backend with a fresh store, a fresh double and an engine;
// tweak edits the mapping file's settings first.
func each(t *testing.T, tweak func(c *rules.Config), fn func(t *testing.T, h *harness), opts ...mmtest.Option) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := sqltest.Open(t, b)
			fn(t, newHarness(t, st, tweak, opts...))
		})
	}
}

func newHarness(t *testing.T, st store.Store, tweak func(c *rules.Config), opts ...mmtest.Option) *harness {
	t.Helper()
	return newHarnessFor(t, st, mappingFile, tweak, opts...)
}

// newHarnessFor is newHarness with another mapping file.
func newHarnessFor(t *testing.T, st store.Store, mapping string, tweak func(c *rules.Config), opts ...mmtest.Option) *harness {
	t.Helper()
	cfg, err := rules.Parse([]byte(mapping))
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(&cfg)
	}
	st.SetRules(cfg)
	mm := mmtest.New(t, opts...)
	h := &harness{t: t, ctx: context.Background(), st: st, mm: mm, cfg: cfg}
	h.e = h.engine(mm.AdminToken(), "first")
	return h
}

func (h *harness) engine(token, holder string) *connector.Engine {
	h.t.Helper()
	return h.engineOn(h.st, token, holder)
}

func (h *harness) engineOn(st store.Store, token, holder string) *connector.Engine {
	h.t.Helper()
	client, err := mattermost.New(mattermost.Config{URL: h.mm.URL(), Token: token, Timeout: 2 * time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	e, err := connector.New(connector.Config{Settings: *h.cfg.Mattermost, DeleteMode: h.cfg.DeleteMode, Store: st,
		Client: client, Holder: holder, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		LeaseTTL: time.Second, Poll: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

// deliver runs the engine's steps, holding the lease, until the journal is delivered.
func (h *harness) deliver() {
	h.t.Helper()
	if ok, err := h.st.AcquireLease(h.ctx, connector.LeaseName, h.e.Holder(), time.Minute); err != nil || !ok {
		h.t.Fatalf("lease: %v %v", ok, err)
	}
	for i := 0; ; i++ {
		n, err := h.e.Step(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if i > 100 {
			h.t.Fatal("delivery does not end")
		}
	}
}

func (h *harness) user(userName, externalID string, active bool) store.User {
	h.t.Helper()
	u := store.User{UserName: userName, ExternalID: externalID, Active: active, Name: store.Name{GivenName: "Given", FamilyName: "Family"},
		Title: "Engineer", Emails: []store.MultiValue{{Value: userName, Primary: true}}}
	if err := h.st.CreateUser(h.ctx, &u); err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) group(name string, members ...string) store.Group {
	h.t.Helper()
	g := store.Group{DisplayName: name}
	if err := h.st.CreateGroup(h.ctx, &g, members); err != nil {
		h.t.Fatal(err)
	}
	return g
}

func (h *harness) update(id string, fn func(u *store.User)) {
	h.t.Helper()
	if _, err := h.st.UpdateUser(h.ctx, id, 0, func(u *store.User) error { fn(u); return nil }); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) members(gid string, kind store.MemberOpKind, ids ...string) {
	h.t.Helper()
	if _, err := h.st.UpdateGroup(h.ctx, gid, 0, nil, []store.MemberOp{{Kind: kind, IDs: ids}}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) mmUser(username string) mattermost.User {
	h.t.Helper()
	u, ok := h.mm.UserByUsername(username)
	if !ok {
		h.t.Fatalf("no Mattermost user %q", username)
	}
	return u
}

// writes lists the requests that are not GETs, as "METHOD path".
func (h *harness) writes() []string {
	var out []string
	for _, r := range h.mm.Requests() {
		if r.Method != "GET" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func (h *harness) status() connector.Report {
	h.t.Helper()
	r, err := connector.Status(h.ctx, h.st, h.cfg.Mattermost, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func has(list []string, s string) bool { return slices.Contains(list, s) }

func TestCreateWithAuthFieldsAndNoPassword(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.deliver()
		u := h.mmUser("ann")
		if u.Email != "ann@example.com" || u.FirstName != "Given" || u.LastName != "Family" || u.Position != "Engineer" ||
			u.AuthService != "saml" || u.AuthData != "00uA" || u.DeleteAt != 0 {
			t.Fatalf("created user: %+v", u)
		}
		for _, r := range h.mm.Requests() {
			if r.Method == "POST" && r.Path == "/api/v4/users" {
				var body map[string]any
				if err := json.Unmarshal(r.Body, &body); err != nil {
					t.Fatal(err)
				}
				if _, ok := body["password"]; ok {
					t.Fatalf("a password was sent: %s", r.Body)
				}
			}
		}
		snap := h.mm.Snapshot()
		for _, team := range []string{"everyone", "engineering"} {
			if !has(snap.TeamMembers[team], u.ID) {
				t.Errorf("not in team %s: %v", team, snap.TeamMembers)
			}
		}
		for _, ch := range []string{"engineering/backend", "everyone/eng-news", "everyone/town-square", "everyone/off-topic", "engineering/town-square"} {
			if !has(snap.ChannelMembers[ch], u.ID) {
				t.Errorf("not in channel %s", ch)
			}
		}
		link, err := h.st.MMUser(h.ctx, ann.ID)
		if err != nil || link.MMUserID != u.ID || link.Origin != store.MMOriginCreated || link.AuthData != "00uA" {
			t.Fatalf("link: %+v %v", link, err)
		}
		if n := h.mm.Count("POST", "/api/v4/users"); n != 1 {
			t.Fatalf("%d creates", n)
		}
		// An inactive account nobody has in Mattermost is not created.
		h.user("zed@example.com", "00uZ", false)
		h.deliver()
		if _, ok := h.mm.UserByUsername("zed"); ok {
			t.Fatal("an inactive account was created")
		}
	})
}

func TestAdoptionByEmailThenUsername(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		byEmail := h.mm.SeedUser(mattermost.User{Username: "annie", Email: "ann@example.com"})
		byName := h.mm.SeedUser(mattermost.User{Username: "bob", Email: "robert@old.example.com"})
		h.mm.SeedUser(mattermost.User{Username: "cid", Email: "cid@example.com", IsBot: true})
		ann := h.user("ann@example.com", "00uA", true)
		bob := h.user("bob@example.com", "00uB", true)
		h.user("cid@example.com", "00uC", true)
		h.deliver()
		if n := h.mm.Count("POST", "/api/v4/users"); n != 1 { // cid only: bots are never adopted
			t.Fatalf("%d creates, want 1 (the bot's namesake)", n)
		}
		for _, c := range []struct {
			acc, mmID, authData string
		}{{ann.ID, byEmail, "00uA"}, {bob.ID, byName, "00uB"}} {
			l, err := h.st.MMUser(h.ctx, c.acc)
			if err != nil || l.MMUserID != c.mmID || l.Origin != store.MMOriginAdopted {
				t.Fatalf("link of %s: %+v %v", c.acc, l, err)
			}
		}
		snap := h.mm.Snapshot()
		for _, u := range snap.Users {
			switch u.ID {
			case byEmail:
				// Adopted, bound (PUT auth), and its attributes made Townsquare's; its
				// username is not renamed (an SSO user's: Mattermost refuses, 409).
				if u.AuthService != "saml" || u.AuthData != "00uA" || u.FirstName != "Given" {
					t.Fatalf("adopted by email: %+v", u)
				}
			case byName:
				if u.AuthData != "00uB" || u.Email != "bob@example.com" {
					t.Fatalf("adopted by username: %+v", u)
				}
			}
		}
		if n := h.mm.Count("PUT", "/api/v4/users/{id}/auth"); n != 2 {
			t.Fatalf("%d PUT auth, want 2", n)
		}
	})
}

// adopt_by: [] never adopts: a create into a taken username is a dead letter. (A test
// of its own: a second "sqlite" subtest would be "sqlite#01", and sqltest's SQLite DSN
// is a URI, where "#" starts a fragment.)
func TestNoAdoption(t *testing.T) {
	each(t, func(c *rules.Config) { c.Mattermost.AdoptBy = nil }, func(t *testing.T, h *harness) {
		h.mm.SeedUser(mattermost.User{Username: "ann", Email: "other@example.com"})
		ann := h.user("ann@example.com", "00uA", true)
		h.deliver()
		if _, err := h.st.MMUser(h.ctx, ann.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("linked without adoption: %v", err)
		}
		r := h.status()
		if r.DeadLetters.Count != 1 || r.DeadLetters.First[0].ErrorID != mattermost.ErrUsernameExists {
			t.Fatalf("dead letters: %+v", r.DeadLetters)
		}
	})
}

func TestRedeliveryChangesNothing(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.deliver()
		before, writes := h.mm.Snapshot(), len(h.writes())
		for range 2 {
			if err := h.e.SyncAccountForTest(h.ctx, ann.ID); err != nil {
				t.Fatal(err)
			}
		}
		if after := h.mm.Snapshot(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("a second delivery changed Mattermost:\n%+v\n%+v", before, after)
		}
		if w := h.writes(); len(w) != writes {
			t.Fatalf("a second delivery wrote: %v", w[writes:])
		}
	})
}

func TestAttributeChanges(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.deliver()
		mmID := h.mmUser("ann").ID
		base := len(h.mm.Requests())
		// An email change is one PATCH, without the username.
		h.update(ann.ID, func(u *store.User) { u.Emails = []store.MultiValue{{Value: "ann@new.example.com", Primary: true}} })
		h.deliver()
		var patches []string
		for _, r := range h.mm.Requests()[base:] {
			if r.Method == "PUT" && strings.HasSuffix(r.Path, "/patch") {
				patches = append(patches, string(r.Body))
			}
		}
		if len(patches) != 1 || !strings.Contains(patches[0], `"email":"ann@new.example.com"`) || strings.Contains(patches[0], "username") {
			t.Fatalf("email change sent as %q", patches)
		}
		// A username change goes alone; Mattermost refuses it for an SSO user (409): the
		// refusal is recorded and shown, and not sent again.
		h.update(ann.ID, func(u *store.User) { u.UserName = "annabel@new.example.com"; u.NickName = "Bel" })
		h.deliver()
		var renames, others int
		for _, r := range h.mm.Requests()[base:] {
			if r.Method == "PUT" && strings.HasSuffix(r.Path, "/patch") {
				if strings.Contains(string(r.Body), "username") {
					renames++
					if strings.Contains(string(r.Body), "nickname") || r.Status != 409 {
						t.Fatalf("rename bundled or not refused: %d %s", r.Status, r.Body)
					}
				} else {
					others++
				}
			}
		}
		if renames != 1 || others != 2 {
			t.Fatalf("%d renames, %d other patches", renames, others)
		}
		r := h.status()
		if len(r.RecentFailures) == 0 || r.RecentFailures[0].ErrorID != mattermost.ErrLoginProviderAttr || r.DeadLetters.Count != 0 || len(r.Hints) == 0 {
			t.Fatalf("status after the refusal: %+v", r)
		}
		if err := h.e.SyncAccountForTest(h.ctx, ann.ID); err != nil {
			t.Fatal(err)
		}
		if n := h.mm.Count("PUT", "/api/v4/users/{id}/patch"); n != 3 {
			t.Fatalf("%d patches after a retry, want 3 (the refused rename not sent again)", n)
		}
		if u := h.mmUser("ann"); u.ID != mmID || u.Nickname != "Bel" {
			t.Fatalf("user after the changes: %+v", u)
		}
		// A new externalId re-binds the login (auth_data is never read back).
		h.update(ann.ID, func(u *store.User) { u.ExternalID = "00uA2" })
		h.deliver()
		if u := h.mmUser("ann"); u.AuthData != "00uA2" {
			t.Fatalf("auth_data %q", u.AuthData)
		}
	})
}

func TestDeactivationAndReactivationOrder(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		eng := h.group("Engineering")
		h.deliver()
		base := len(h.mm.Requests())
		h.update(ann.ID, func(u *store.User) { u.Active = false })
		h.deliver()
		if w := h.writes(); len(w) == 0 || !strings.HasSuffix(w[len(w)-1], "/active") {
			t.Fatalf("writes: %v", w)
		}
		mm := h.mmUser("ann")
		if mm.DeleteAt == 0 || !has(h.mm.Snapshot().TeamMembers["everyone"], mm.ID) {
			t.Fatalf("deactivated user: %+v; memberships kept", mm)
		}
		// Reactivated and added to a group at once: the reactivation goes first, then the
		// memberships (a deactivated user cannot join a channel).
		h.update(ann.ID, func(u *store.User) { u.Active = true })
		h.members(eng.ID, store.AddMembers, ann.ID)
		h.deliver()
		var order []string
		for _, r := range h.mm.Requests()[base:] {
			if r.Method != "GET" {
				order = append(order, r.Method+" "+r.Path)
			}
		}
		act := 1 + slices.IndexFunc(order[1:], func(s string) bool { return strings.HasSuffix(s, "/active") })
		chAdd := slices.IndexFunc(order, func(s string) bool { return strings.HasPrefix(s, "POST /api/v4/channels/") })
		if act < 1 || chAdd < 0 || act > chAdd {
			t.Fatalf("order: %v", order)
		}
		if h.mmUser("ann").DeleteAt != 0 || !has(h.mm.Snapshot().ChannelMembers["engineering/backend"], mm.ID) {
			t.Fatal("not reactivated with its new memberships")
		}
		if r := h.status(); r.DeadLetters.Count != 0 {
			t.Fatalf("dead letters: %+v", r.DeadLetters)
		}
	})
}

func TestOnlyOwnedMembershipsAreRemoved(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.user("bob@example.com", "00uB", true)
		eng := h.group("Engineering", ann.ID)
		h.deliver()
		annID, bobID := h.mmUser("ann").ID, h.mmUser("bob").ID
		// By hand in Mattermost: ann joins a channel Townsquare does not know, bob the
		// channel Engineering maps to.
		h.mm.SeedChannel("everyone", "random", "Random", "O")
		h.mm.SeedChannelMember("everyone", "random", annID)
		h.mm.SeedChannelMember("everyone", "eng-news", bobID)
		h.members(eng.ID, store.RemoveMembers, ann.ID)
		h.deliver() // the journal's team.left and channel.left entries name ann
		snap := h.mm.Snapshot()
		if has(snap.ChannelMembers["everyone/eng-news"], annID) || has(snap.TeamMembers["engineering"], annID) {
			t.Fatalf("ann keeps what the group granted: %v %v", snap.ChannelMembers["everyone/eng-news"], snap.TeamMembers["engineering"])
		}
		if !has(snap.ChannelMembers["everyone/random"], annID) || !has(snap.ChannelMembers["everyone/eng-news"], bobID) {
			t.Fatal("a membership made by hand was removed")
		}
		if !has(snap.ChannelMembers["everyone/town-square"], annID) {
			t.Fatal("ann left town-square")
		}
		for _, r := range h.mm.Requests() {
			if r.Method == "DELETE" && strings.Contains(r.Path, "/channels/") {
				for _, c := range snap.Channels {
					if c.Name == rules.TownSquare && strings.Contains(r.Path, c.ID) {
						t.Fatalf("asked to remove from town-square: %s", r.Path)
					}
				}
			}
		}
	})
}

func TestDeadLetterAndRetry(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		h.user("bob@example.com", "00uB", true) // creates the default team
		h.deliver()
		ann := h.user("ann@example.com", "00uA", true)
		h.mm.FailNext(1, 400) // the first call: ann's lookup by email
		h.deliver()
		r := h.status()
		if r.DeadLetters.Count != 1 || r.DeadLetters.First[0].Account != ann.ID || r.DeadLetters.First[0].Status != 400 || r.Lag.Entries != 0 {
			t.Fatalf("status: %+v", r)
		}
		evs, err := h.st.Events(h.ctx, store.EventQuery{Account: ann.ID, Limit: 100})
		if err != nil || !slices.ContainsFunc(evs, func(e store.Event) bool { return e.Kind == store.EventMattermostDeadLetter }) {
			t.Fatalf("no dead-letter entry in the journal: %v", err)
		}
		if _, ok := h.mm.UserByUsername("ann"); ok {
			t.Fatal("created despite the dead letter")
		}
		if n, err := h.st.RequeueDeadLetters(h.ctx, nil, true); err != nil || n != 1 {
			t.Fatalf("requeue: %d %v", n, err)
		}
		h.deliver()
		if _, ok := h.mm.UserByUsername("ann"); !ok {
			t.Fatal("retry did not deliver")
		}
		if r := h.status(); r.DeadLetters.Count != 0 {
			t.Fatalf("dead letters after the retry: %+v", r.DeadLetters)
		}
	})
}

func TestTeamCapIsADeadLetterWithAHint(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		h.mm.SetMaxUsersPerTeam(2) // the bot that creates the team joins it
		h.user("ann@example.com", "00uA", true)
		h.user("bob@example.com", "00uB", true)
		h.deliver()
		r := h.status()
		if r.DeadLetters.Count != 1 || r.DeadLetters.First[0].ErrorID != mattermost.ErrMaxTeamAccounts ||
			!slices.ContainsFunc(r.Hints, func(s string) bool { return strings.Contains(s, "MaxUsersPerTeam") }) {
			t.Fatalf("status: %+v", r)
		}
	})
}

func TestBreakerHoldsAndReleaseSends(t *testing.T) {
	each(t, func(c *rules.Config) { c.Mattermost.MaxDeactivationsPerHour = 2 }, func(t *testing.T, h *harness) {
		var ids []string
		for _, n := range []string{"ann", "bob", "cid", "dan"} {
			ids = append(ids, h.user(n+"@example.com", "00u"+n, true).ID)
		}
		h.deliver()
		for _, id := range ids {
			h.update(id, func(u *store.User) { u.Active = false })
		}
		h.deliver()
		deactivated := func() int {
			n := 0
			for _, u := range h.mm.Snapshot().Users {
				if u.DeleteAt != 0 {
					n++
				}
			}
			return n
		}
		if n := deactivated(); n != 2 {
			t.Fatalf("%d deactivated, want 2", n)
		}
		r := h.status()
		if r.Breaker.Held != 2 || r.Breaker.SentLastHour != 2 || r.Breaker.Limit != 2 {
			t.Fatalf("breaker: %+v", r.Breaker)
		}
		if n, err := h.st.ReleaseHeld(h.ctx, nil, true); err != nil || n != 2 {
			t.Fatalf("release: %d %v", n, err)
		}
		h.deliver()
		if n := deactivated(); n != 4 {
			t.Fatalf("%d deactivated after release, want 4", n)
		}
		if r := h.status(); r.Breaker.Held != 0 {
			t.Fatalf("still held: %+v", r.Breaker)
		}
	})
}

func TestTransientFailuresConverge(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.mm.FailNext(3, 500)
		h.mm.FailNextRaw(1, 502, "<html>bad gateway</html>")
		h.deliver()
		h.mm.RateLimitNext(1, time.Second)
		bob := h.user("bob@example.com", "00uB", true)
		start := time.Now()
		h.deliver()
		if time.Since(start) < time.Second {
			t.Fatal("Retry-After not honoured")
		}
		h.mm.RefuseConnections(300 * time.Millisecond)
		h.update(bob.ID, func(u *store.User) { u.NickName = "Bobby" })
		h.deliver()
		if h.mmUser("bob").Nickname != "Bobby" || !has(h.mm.Snapshot().ChannelMembers["engineering/backend"], h.mmUser("ann").ID) {
			t.Fatal("did not converge")
		}
		statuses := map[int]bool{}
		for _, f := range h.status().RecentFailures {
			statuses[f.Status/100*100] = true // 5xx as 500
			if f.Status == 429 {
				statuses[429] = true
			}
		}
		if !statuses[500] || !statuses[429] || !statuses[0] { // 0: a refused connection
			t.Fatalf("retried failures not in status: %v", statuses)
		}
		if r := h.status(); r.DeadLetters.Count != 0 {
			t.Fatalf("dead letters: %+v", r.DeadLetters)
		}
		if n := h.mm.Count("POST", "/api/v4/users"); n > 2+3 {
			t.Fatalf("%d creates", n)
		}
		n := 0
		for _, u := range h.mm.Snapshot().Users {
			if strings.HasSuffix(u.Email, "@example.com") {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d users of ours, want 2 (no duplicate): %+v", n, h.mm.Snapshot().Users)
		}
	})
}

func TestDryRunSendsNoWrite(t *testing.T) {
	each(t, func(c *rules.Config) { c.Mattermost.DryRun = true; c.Mattermost.ReconcileEvery = time.Hour }, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.deliver()
		if w := h.writes(); len(w) != 0 {
			t.Fatalf("a dry run wrote: %v", w)
		}
		// Its reconcile ran once (none had run), and not again within reconcile_every,
		// though it records no reconcile time in the database.
		lookups := h.mm.Count("GET", "/api/v4/users/email/{email}")
		h.deliver()
		if n := h.mm.Count("GET", "/api/v4/users/email/{email}"); n != lookups || lookups != 2 {
			t.Fatalf("lookups by email: %d, then %d; want 2 (delivery, reconcile) and no more", lookups, n)
		}
		evs, err := h.st.Events(h.ctx, store.EventQuery{Account: ann.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var calls []string
		for _, e := range evs {
			if e.Kind == store.EventMattermostDryRun {
				calls = append(calls, e.Source)
				if e.Actor != connector.Actor {
					t.Fatalf("actor %q", e.Actor)
				}
			}
		}
		if !has(calls, "POST /api/v4/users") || !slices.ContainsFunc(calls, func(s string) bool { return strings.HasPrefix(s, "POST /api/v4/teams") }) {
			t.Fatalf("journaled calls: %v", calls)
		}
		if r := h.status(); r.Lag.Entries > int64(len(calls))+2 || !r.DryRun {
			t.Fatalf("cursor did not advance: %+v", r.Lag)
		}
		plan, err := h.e.Reconcile(h.ctx)
		if err != nil || plan.Counts["user.created"] != 1 || len(plan.Changes) == 0 || !strings.Contains(plan.String(), "POST /api/v4/users") {
			t.Fatalf("plan: %+v %v", plan, err)
		}
		if w := h.writes(); len(w) != 0 {
			t.Fatalf("a dry-run reconcile wrote: %v", w)
		}
	})
}

func TestWrongTokenIsRefused(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		for _, token := range []string{h.mm.UserToken(), "not-a-token"} {
			e := h.engine(token, "x")
			if err := e.Run(h.ctx); !errors.Is(err, connector.ErrRefused) {
				t.Fatalf("token %q: %v, want ErrRefused", token, err)
			}
			if r := h.status(); r.State != connector.StateRefused || r.Reason == "" {
				t.Fatalf("status: %+v", r)
			}
		}
		if w := h.writes(); len(w) != 0 {
			t.Fatalf("a refused connector wrote: %v", w)
		}
	})
}

func TestReconcileRepairsDrift(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		// Existing users before the connector ever ran: adopted, not duplicated.
		h.mm.SeedUser(mattermost.User{Username: "bob", Email: "bob@example.com"})
		bob := h.user("bob@example.com", "00uB", true)
		h.deliver()
		annID := h.mmUser("ann").ID
		// Drift by hand: ann removed from backend, her nickname changed, bob deactivated.
		chans := h.mm.Snapshot().Channels
		var backend string
		for _, c := range chans {
			if c.Name == "backend" {
				backend = c.ID
			}
		}
		client, _ := mattermost.New(mattermost.Config{URL: h.mm.URL(), Token: h.mm.AdminToken()})
		if err := client.RemoveChannelMember(h.ctx, backend, annID); err != nil {
			t.Fatal(err)
		}
		if _, err := client.PatchUser(h.ctx, annID, mattermost.UserPatch{Nickname: ptr("Drifted")}); err != nil {
			t.Fatal(err)
		}
		if err := client.UpdateUserActive(h.ctx, h.mmUser("bob").ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := h.e.Reconcile(h.ctx); err != nil {
			t.Fatal(err)
		}
		snap := h.mm.Snapshot()
		if !has(snap.ChannelMembers["engineering/backend"], annID) || h.mmUser("ann").Nickname != "" || h.mmUser("bob").DeleteAt != 0 {
			t.Fatalf("drift not repaired: %v %+v %+v", snap.ChannelMembers["engineering/backend"], h.mmUser("ann"), h.mmUser("bob"))
		}
		if l, err := h.st.MMUser(h.ctx, bob.ID); err != nil || l.Origin != store.MMOriginAdopted {
			t.Fatalf("bob: %+v %v", l, err)
		}
		if r := h.status(); r.LastReconcile == "" {
			t.Fatal("last reconcile not recorded")
		}
	})
}

func ptr(s string) *string { return &s }

// Two engines on one database, each with a store of its own (two replicas): one
// delivers; when it dies without releasing its lease, the other takes over once the
// lease expires (1 s here, 15 s by default: within 30 s).
func TestLeaseOneDeliversAnotherTakesOver(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			open := func() store.Store {
				s, err := sqlstore.Open(context.Background(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			h := newHarness(t, open(), nil)
			st2 := open()
			st2.SetRules(h.cfg)
			h.e.DieWithoutReleaseForTest()
			ctx1, stop1 := context.WithCancel(context.Background())
			ctx2, stop2 := context.WithCancel(context.Background())
			defer stop2()
			done1 := make(chan struct{})
			go func() { defer close(done1); _ = h.e.Run(ctx1) }()
			waitFor(t, 5*time.Second, func() bool { r := h.status(); return r.Holder == "first" && r.State == connector.StateRunning })
			e2 := h.engineOn(st2, h.mm.AdminToken(), "second")
			done2 := make(chan struct{})
			go func() { defer close(done2); _ = e2.Run(ctx2) }()
			ann := h.user("ann@example.com", "00uA", true)
			waitFor(t, 5*time.Second, func() bool { _, ok := h.mm.UserByUsername("ann"); return ok })
			time.Sleep(500 * time.Millisecond) // the second keeps trying the lease meanwhile
			if r := h.status(); r.Holder != "first" {
				t.Fatalf("holder %q: the second took a held lease", r.Holder)
			}
			stop1() // dies: the lease is not released, only no longer renewed
			<-done1
			died := time.Now()
			h.update(ann.ID, func(u *store.User) { u.NickName = "after" })
			waitFor(t, 30*time.Second, func() bool { u, _ := h.mm.UserByUsername("ann"); return u.Nickname == "after" })
			if r := h.status(); r.Holder != "second" {
				t.Fatalf("holder after the take-over %q", r.Holder)
			}
			if took := time.Since(died); took < 500*time.Millisecond {
				t.Fatalf("taken over in %s, before the dead holder's lease expired", took)
			}
			if n := h.mm.Count("POST", "/api/v4/users"); n != 1 {
				t.Fatalf("%d creates", n)
			}
			stop2()
			<-done2
		})
	}
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A purged account's user is deactivated, or deleted permanently only with
// delete_mode: purge and allow_permanent_delete: true; either goes through the breaker.
func TestPurgedAccounts(t *testing.T) {
	purge := func(allow bool) func(c *rules.Config) {
		return func(c *rules.Config) { c.DeleteMode = rules.DeletePurge; c.Mattermost.AllowPermanentDelete = allow }
	}
	run := func(t *testing.T, h *harness) (mattermost.User, bool) {
		ann := h.user("ann@example.com", "00uA", true)
		h.deliver()
		id := h.mmUser("ann").ID
		if err := h.st.DeleteUser(h.ctx, ann.ID, 0); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		for _, u := range h.mm.Snapshot().Users {
			if u.ID == id {
				return u, true
			}
		}
		return mattermost.User{}, false
	}
	// Subtests, each with its backends below it: two "sqlite" subtests of one test
	// would make "sqlite#01", and sqltest's SQLite DSN is a URI ("#" starts a fragment).
	t.Run("deactivate", func(t *testing.T) {
		each(t, purge(false), func(t *testing.T, h *harness) {
			u, ok := run(t, h)
			if !ok || u.DeleteAt == 0 || h.mm.Count("DELETE", "/api/v4/users/{id}") != 0 {
				t.Fatalf("without allow_permanent_delete: %+v %v", u, ok)
			}
		}, mmtest.WithAPIUserDeletion())
	})
	t.Run("permanent", func(t *testing.T) {
		each(t, purge(true), func(t *testing.T, h *harness) {
			if _, ok := run(t, h); ok || h.mm.Count("DELETE", "/api/v4/users/{id}") != 1 {
				t.Fatal("not deleted permanently")
			}
			// A reconcile finds the link of the purged account, and the user gone: no
			// second delete, and nothing counted by the breaker.
			if _, err := h.e.Reconcile(h.ctx); err != nil {
				t.Fatal(err)
			}
			if r := h.status(); h.mm.Count("DELETE", "/api/v4/users/{id}") != 1 || r.Breaker.SentLastHour != 1 {
				t.Fatalf("after a reconcile: %d deletes, breaker %+v", h.mm.Count("DELETE", "/api/v4/users/{id}"), r.Breaker)
			}
		}, mmtest.WithAPIUserDeletion())
	})
}

func TestPurgedAccountsBreaker(t *testing.T) {
	each(t, func(c *rules.Config) {
		c.DeleteMode = rules.DeletePurge
		c.Mattermost.AllowPermanentDelete = true
		c.Mattermost.MaxDeactivationsPerHour = 1
	}, func(t *testing.T, h *harness) {
		a, b := h.user("ann@example.com", "00uA", true), h.user("bob@example.com", "00uB", true)
		h.deliver()
		for _, id := range []string{a.ID, b.ID} {
			if err := h.st.DeleteUser(h.ctx, id, 0); err != nil {
				t.Fatal(err)
			}
		}
		h.deliver()
		if r := h.status(); h.mm.Count("DELETE", "/api/v4/users/{id}") != 1 || r.Breaker.Held != 1 || !r.Breaker.FirstHeld[0].Permanent {
			t.Fatalf("breaker: %+v", r.Breaker)
		}
	}, mmtest.WithAPIUserDeletion())
}

// Entries of one account delivered in one batch or several end in its latest state.
func TestPerAccountOrder(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		for _, nick := range []string{"one", "two", "three"} {
			h.update(ann.ID, func(u *store.User) { u.NickName = nick })
		}
		h.update(ann.ID, func(u *store.User) { u.Active = false })
		h.update(ann.ID, func(u *store.User) { u.Active = true; u.NickName = "last" })
		h.deliver()
		if u := h.mmUser("ann"); u.Nickname != "last" || u.DeleteAt != 0 {
			t.Fatalf("after the batch: %+v", u)
		}
		for _, active := range []bool{false, true, false} {
			h.update(ann.ID, func(u *store.User) { u.Active = active })
			h.deliver()
		}
		if u := h.mmUser("ann"); u.DeleteAt == 0 {
			t.Fatalf("after three batches: %+v", u)
		}
	})
}

// An account whose match is another account's user is a dead letter, and that user is
// not touched (no PUT auth rebinding it).
func TestAdoptionNeverTakesALinkedUser(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		h.user("ann@example.com", "00uA", true)
		h.deliver()
		binds := h.mm.Count("PUT", "/api/v4/users/{id}/auth")
		twin := store.User{UserName: "ann.other@example.com", ExternalID: "00uX", Active: true,
			Emails: []store.MultiValue{{Value: "ann@example.com", Primary: true}}}
		if err := h.st.CreateUser(h.ctx, &twin); err != nil {
			t.Skipf("the store refuses a second account with one email: %v", err)
		}
		h.deliver()
		if n := h.mm.Count("PUT", "/api/v4/users/{id}/auth"); n != binds {
			t.Fatalf("ann's user was re-bound: %d PUT auth", n-binds)
		}
		if u := h.mmUser("ann"); u.AuthData != "00uA" {
			t.Fatalf("ann's user: %+v", u)
		}
		if r := h.status(); r.DeadLetters.Count != 1 || r.DeadLetters.First[0].Account != twin.ID {
			t.Fatalf("dead letters: %+v", r.DeadLetters)
		}
	})
}

// A call Mattermost never answers times out (the client's per-call timeout) and is
// retried.
func TestHungCallIsRetried(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		h.user("ann@example.com", "00uA", true)
		h.mm.HangNext(1)
		start := time.Now()
		h.deliver()
		if _, ok := h.mm.UserByUsername("ann"); !ok || time.Since(start) < 2*time.Second {
			t.Fatalf("delivered %v after %s", ok, time.Since(start))
		}
		if r := h.status(); r.DeadLetters.Count != 0 {
			t.Fatalf("dead letters: %+v", r.DeadLetters)
		}
	})
}

// Lag counts the entries after the cursor (cursors are positions, not counts), and the
// age of the oldest.
func TestStatusLag(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		evs, err := h.st.Events(h.ctx, store.EventQuery{Limit: store.MaxEventPage})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		r := h.status()
		if r.Lag.Entries != int64(len(evs)) || r.Lag.AtLeast || r.Lag.Seconds < 0.05 {
			t.Fatalf("lag %+v, want %d entries", r.Lag, len(evs))
		}
		h.deliver()
		if r := h.status(); r.Lag.Entries != 0 || r.Lag.Seconds != 0 || r.LastSuccess == "" {
			t.Fatalf("after delivery: %+v", r)
		}
		// The connector's own entries (a dead letter here) are no lag.
		h.mm.FailNext(1, 400)
		h.update(ann.ID, func(u *store.User) { u.NickName = "x" })
		h.deliver()
		if r := h.status(); r.Lag.Entries != 0 || r.DeadLetters.Count != 1 {
			t.Fatalf("after a dead letter: %+v", r)
		}
	})
}

// An existing Mattermost with 1,000 users (100 under -race): every account is adopted (half by email,
// half by username), none created, none left unlinked, and a reconcile after changes
// nothing.
func TestThousandExistingUsersAdopted(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 accounts")
	}
	each(t, nil, func(t *testing.T, h *harness) {
		n := 1000
		if raceEnabled {
			n = 100 // the race detector makes 1,000 take half a minute
		}
		h.mm.SetMaxUsersPerTeam(n + 10)
		ids := make([]string, n)
		for i := range n {
			name := fmt.Sprintf("user%04d", i)
			email := name + "@example.com"
			if i%2 == 1 {
				email = name + "@old.example.com" // found by username
			}
			h.mm.SeedUser(mattermost.User{Username: name, Email: email})
			ids[i] = h.user(name+"@example.com", fmt.Sprintf("ext%04d", i), true).ID
		}
		h.deliver()
		if c := h.mm.Count("POST", "/api/v4/users"); c != 0 {
			t.Fatalf("%d users created, want 0", c)
		}
		for _, id := range ids {
			if l, err := h.st.MMUser(h.ctx, id); err != nil || l.Origin != store.MMOriginAdopted {
				t.Fatalf("account %s: %+v %v", id, l, err)
			}
		}
		users := h.mm.Snapshot().Users
		bound := 0
		for _, u := range users {
			if strings.HasPrefix(u.AuthData, "ext") {
				bound++
			}
		}
		if bound != n || len(users) != n+2 { // and the bot and the plain user of the double
			t.Fatalf("%d bound of %d users", bound, len(users))
		}
		writes := len(h.writes())
		plan, err := h.e.Reconcile(h.ctx)
		if err != nil || len(plan.Counts) != 0 || len(h.writes()) != writes {
			t.Fatalf("reconcile after adoption: %v %v, %d writes", plan.Counts, err, len(h.writes())-writes)
		}
	})
}

// crashAfterCreates is a client that "crashes" the delivery (cancels its context) as
// soon as Mattermost has created the n-th user, before the connector can record it.
type crashAfterCreates struct {
	connector.Client
	mu      sync.Mutex
	n       int
	cancel  context.CancelFunc
	created int
}

func (c *crashAfterCreates) CreateUser(ctx context.Context, u mattermost.User) (mattermost.User, error) {
	out, err := c.Client.CreateUser(ctx, u)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		if c.created++; c.created == c.n {
			c.cancel()
		}
	}
	return out, err
}

// Delivery stopped mid-batch (a crash, a lost lease) leaves the cursor where it was;
// the next run delivers the batch again and converges, without a duplicate user (users
// created but not yet linked are found and adopted).
func TestInterruptedDeliveryConverges(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		const n = 40
		for i := range n {
			h.user(fmt.Sprintf("user%02d@example.com", i), fmt.Sprintf("ext%02d", i), true)
		}
		ctx, cancel := context.WithCancel(h.ctx)
		defer cancel()
		client, _ := mattermost.New(mattermost.Config{URL: h.mm.URL(), Token: h.mm.AdminToken()})
		crashing, err := connector.New(connector.Config{Settings: *h.cfg.Mattermost, Store: h.st, Holder: "crashing",
			Client: &crashAfterCreates{Client: client, n: 10, cancel: cancel}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := h.st.AcquireLease(h.ctx, connector.LeaseName, "crashing", time.Minute); err != nil || !ok {
			t.Fatal(ok, err)
		}
		if _, err := crashing.Step(ctx); err == nil {
			t.Fatal("the interrupted step reported success")
		}
		if cur, err := h.st.Cursor(h.ctx, connector.ConsumerName); err != nil || cur != 0 {
			t.Fatalf("cursor %d after an interrupted batch (%v)", cur, err)
		}
		created := 0
		for _, u := range h.mm.Snapshot().Users {
			if strings.HasSuffix(u.Email, "@example.com") {
				created++
			}
		}
		if created < 10 || created == n {
			t.Fatalf("interrupted after %d of %d users, want a partial batch of at least 10", created, n)
		}
		// The dead holder's lease expires (here: is released), and a new process runs.
		if err := h.st.ReleaseLease(h.ctx, connector.LeaseName, "crashing"); err != nil {
			t.Fatal(err)
		}
		h.e = h.engine(h.mm.AdminToken(), "restarted")
		h.deliver()
		seen := map[string]int{}
		for _, u := range h.mm.Snapshot().Users {
			seen[u.Email]++
		}
		for i := range n {
			if e := fmt.Sprintf("user%02d@example.com", i); seen[e] != 1 {
				t.Fatalf("%s: %d users", e, seen[e])
			}
		}
		if r := h.status(); r.DeadLetters.Count != 0 || r.Lag.Entries != 0 {
			t.Fatalf("status: %+v", r)
		}
		adopted := 0
		if err := h.st.EachMMUser(h.ctx, func(l store.MMUserLink) error {
			if l.Origin == store.MMOriginAdopted {
				adopted++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if adopted == 0 {
			t.Fatal("the user created before the crash was not adopted (created again, or never linked)")
		}
	})
}

// A recorded team or channel id Mattermost no longer knows (the team was deleted and
// made again by hand, say) is looked up by name again, and the membership added.
func TestStaleIDsAreResolvedAgain(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		bob := h.user("bob@example.com", "00uB", true)
		eng := h.group("Engineering", bob.ID)
		h.deliver()
		const gone = "zzzzzzzzzzzzzzzzzzzzzzzzzz" // a well-formed id of nothing
		if err := h.st.SetMMTeamID(h.ctx, "engineering", gone); err != nil {
			t.Fatal(err)
		}
		if err := h.st.SetMMChannelID(h.ctx, "everyone", "eng-news", gone); err != nil {
			t.Fatal(err)
		}
		h.members(eng.ID, store.AddMembers, ann.ID)
		h.deliver()
		snap, id := h.mm.Snapshot(), h.mmUser("ann").ID
		if !has(snap.TeamMembers["engineering"], id) || !has(snap.ChannelMembers["everyone/eng-news"], id) {
			t.Fatalf("not added: %v %v", snap.TeamMembers["engineering"], snap.ChannelMembers["everyone/eng-news"])
		}
		if r := h.status(); r.DeadLetters.Count != 0 {
			t.Fatalf("dead letters: %+v", r.DeadLetters)
		}
		if tid, _ := h.st.MMTeamID(h.ctx, "engineering"); tid == gone {
			t.Fatal("the stale id is still recorded")
		}
		// A reconcile meeting a stale id skips that team's member list, and converges.
		if err := h.st.SetMMTeamID(h.ctx, "engineering", gone); err != nil {
			t.Fatal(err)
		}
		if _, err := h.e.Reconcile(h.ctx); err != nil {
			t.Fatalf("reconcile with a stale team id: %v", err)
		}
	})
}

// A linked user deleted in Mattermost by hand: an active account gets a user again,
// with its memberships (what was recorded of the old one is dropped).
func TestUserDeletedByHandIsMadeAgain(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		h.deliver()
		old := h.mmUser("ann").ID
		client, _ := mattermost.New(mattermost.Config{URL: h.mm.URL(), Token: h.mm.AdminToken()})
		if err := client.DeleteUserPermanently(h.ctx, old); err != nil {
			t.Fatal(err)
		}
		h.update(ann.ID, func(u *store.User) { u.NickName = "back" })
		h.deliver()
		u := h.mmUser("ann")
		snap := h.mm.Snapshot()
		if u.ID == old || u.Nickname != "back" || !has(snap.ChannelMembers["engineering/backend"], u.ID) {
			t.Fatalf("user %+v; backend %v", u, snap.ChannelMembers["engineering/backend"])
		}
		if r := h.status(); r.DeadLetters.Count != 0 {
			t.Fatalf("dead letters: %+v", r.DeadLetters)
		}
	}, mmtest.WithAPIUserDeletion())
}

// Mattermost unreachable at start: status says so, the check is retried, and delivery
// starts once it answers.
func TestUnreachableAtStartIsRetried(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		h.user("ann@example.com", "00uA", true)
		h.mm.RefuseConnections(time.Second)
		ctx, stop := context.WithCancel(h.ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = h.e.Run(ctx) }()
		waitFor(t, 5*time.Second, func() bool { return h.status().State == connector.StateUnreachable })
		waitFor(t, 10*time.Second, func() bool { _, ok := h.mm.UserByUsername("ann"); return ok })
		if r := h.status(); r.State != connector.StateRunning || r.Reason != "" {
			t.Fatalf("status: %+v", r)
		}
		stop()
		<-done
	})
}

func TestConfigFromEnv(t *testing.T) {
	for _, c := range []struct {
		ttl, poll, backoff, timeout string
		ok                          bool
	}{
		{"", "", "", "", true},
		{"2s", "10ms", "1s", "2s", true},
		{"1h", "1ns", "1h", "1h", true},
		{"61m", "", "", "", false},
		{"", "0s", "", "", false},
		{"", "", "-1s", "", false},
		{"soon", "", "", "", false},
		{"", "", "", "61m", false},
		{"", "", "", "0s", false},
	} {
		t.Setenv("TOWNSQUARE_MATTERMOST_LEASE_TTL", c.ttl)
		t.Setenv("TOWNSQUARE_MATTERMOST_POLL", c.poll)
		t.Setenv("TOWNSQUARE_MATTERMOST_BACKOFF_MAX", c.backoff)
		t.Setenv("TOWNSQUARE_MATTERMOST_TIMEOUT", c.timeout)
		var cfg connector.Config
		var timeout time.Duration
		err := connector.ConfigFromEnv(&cfg, &timeout)
		if (err == nil) != c.ok {
			t.Fatalf("%+v: %v", c, err)
		}
		parse := func(s string) time.Duration { d, _ := time.ParseDuration(s); return d }
		if c.ok && cfg.LeaseTTL != parse(c.ttl) {
			t.Fatalf("%+v: lease ttl %s", c, cfg.LeaseTTL)
		}
		if c.ok && timeout != parse(c.timeout) {
			t.Fatalf("%+v: call timeout %s", c, timeout)
		}
	}
}

// Teams reach Mattermost with Townsquare's type: a team the rules made is open, one
// imported as invite only (a bulk team line of type I) is invite only.
func TestTeamsAreCreatedWithTheirType(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		ann := h.user("ann@example.com", "00uA", true)
		h.group("Engineering", ann.ID)
		if _, err := h.st.ImportChat(h.ctx, store.ImportBatch{
			Teams: []store.ImportTeam{{Line: 2, Name: "partners", DisplayName: "Partners", Type: store.TeamInviteOnly}},
			Users: []store.ImportUser{{Line: 3, Username: "bob", Email: "bob@example.com", ExternalID: "00uB",
				Teams: []store.ImportTeamMembership{{Name: "partners"}}}},
		}, store.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		types := map[string]string{}
		for _, tm := range h.mm.Snapshot().Teams {
			types[tm.Name] = tm.Type
		}
		for team, want := range map[string]string{"engineering": "O", "everyone": "O", "partners": "I"} {
			if types[team] != want {
				t.Errorf("team %s has type %q, want %q (all: %v)", team, types[team], want, types)
			}
		}
	})
}

// team.updated and channel.updated reach Mattermost: a changed display name is a PUT
// …/patch, a changed type a PUT …/privacy; a channel declared private is created
// private; the entries become no dead letters, and delivering them again sends nothing.
func TestTeamAndChannelUpdatesAreDelivered(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		b := store.ImportBatch{
			Teams: []store.ImportTeam{{Line: 2, Name: "partners", DisplayName: "Partners", Type: store.TeamOpen}},
			Channels: []store.ImportChannel{{Line: 3, Team: "partners", Name: "deals", DisplayName: "Deals", Type: store.ChannelOpen},
				{Line: 4, Team: "partners", Name: "board", DisplayName: "Board", Type: store.ChannelPrivate}},
		}
		if _, err := h.st.ImportChat(h.ctx, b, store.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		check := func(team, teamDisplay, teamType string, chans map[string][2]string) {
			t.Helper()
			snap := h.mm.Snapshot()
			var teamID string
			for _, tm := range snap.Teams {
				if tm.Name == team {
					teamID = tm.ID
					if tm.DisplayName != teamDisplay || tm.Type != teamType {
						t.Errorf("team %s: %q %q, want %q %q", team, tm.DisplayName, tm.Type, teamDisplay, teamType)
					}
				}
			}
			for _, c := range snap.Channels {
				if want, ok := chans[c.Name]; ok && c.TeamID == teamID && (c.DisplayName != want[0] || c.Type != want[1]) {
					t.Errorf("channel %s: %q %q, want %q", c.Name, c.DisplayName, c.Type, want)
				}
			}
		}
		check("partners", "Partners", "O", map[string][2]string{"deals": {"Deals", "O"}, "board": {"Board", "P"}})
		before := len(h.writes())
		b.Teams[0].DisplayName, b.Teams[0].Type = "Our partners", store.TeamInviteOnly
		b.Channels[0].DisplayName, b.Channels[0].Type = "Deal flow", store.ChannelPrivate
		if rep, err := h.st.ImportChat(h.ctx, b, store.ImportOptions{}); err != nil || rep.TeamsUpdated != 1 || rep.ChannelsUpdated != 1 {
			t.Fatalf("%+v %v", rep, err)
		}
		evs, err := h.st.Events(h.ctx, store.EventQuery{Limit: store.MaxEventPage})
		if err != nil || len(evs) < 2 || evs[len(evs)-2].Kind != store.EventTeamUpdated || evs[len(evs)-1].Kind != store.EventChannelUpdated {
			t.Fatalf("journal: %v %v", evs, err)
		}
		h.deliver()
		w := h.writes()[before:]
		for _, want := range []string{"PUT /api/v4/teams/{id}/patch", "PUT /api/v4/teams/{id}/privacy",
			"PUT /api/v4/channels/{id}/patch", "PUT /api/v4/channels/{id}/privacy"} {
			if !matchAny(w, want) {
				t.Errorf("no %s among %v", want, w)
			}
		}
		if len(w) != 4 {
			t.Errorf("the updates made %d calls: %v", len(w), w)
		}
		check("partners", "Our partners", "I", map[string][2]string{"deals": {"Deal flow", "P"}, "board": {"Board", "P"}})
		if r := h.status(); r.DeadLetters.Count != 0 || r.Lag.Entries != 0 {
			t.Fatalf("dead letters %+v, lag %+v", r.DeadLetters, r.Lag)
		}
		// The same import again changes nothing in Townsquare, so nothing is sent.
		before = len(h.writes())
		if _, err := h.st.ImportChat(h.ctx, b, store.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		if w := h.writes()[before:]; len(w) != 0 {
			t.Errorf("a second import sent %v", w)
		}
	})
}
