package main

// Fault drills for the Mattermost connector (issue 11 §3): the built server runs as a
// child process of the test binary (so it can be SIGKILLed), on a fresh database of each
// backend, against the Mattermost double (mmtest) running in the test. Each drill ends
// with the double equal to the desired state (drillConverged), no duplicate user and no
// lost change, and with every request the connector sent conformant to the OpenAPI
// subset (mmtest checks it at cleanup).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/server/mattermost/mmtest"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// envDrillChild makes the test binary run "townsquare" with the JSON-encoded arguments
// it holds instead of the tests: how a drill starts a server it can SIGKILL.
const envDrillChild = "TOWNSQUARE_DRILL_CHILD"

func TestMain(m *testing.M) {
	if raw := os.Getenv(envDrillChild); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, "drill child:", err)
			os.Exit(2)
		}
		if err := run(context.Background(), args, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "townsquare:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const drillToken = "drill-token-0123456789abcdef0123456789abcdef"

// drill is one drill's world: a database, the double, a mapping file and the servers.
type drill struct {
	t      *testing.T
	dsn    string
	mm     *mmtest.Server
	config string
	env    []string
}

// drillConfig is the mapping file of every drill: one group rule with a team and a
// channel, and the connector pointed at the double. extra is appended to its
// mattermost: block.
func newDrill(t *testing.T, b sqltest.Backend, mmOpts []mmtest.Option, extra string) *drill {
	t.Helper()
	mm := mmtest.New(t, mmOpts...)
	mm.SetMaxUsersPerTeam(100000)
	d := &drill{t: t, dsn: b.DSN(t), mm: mm}
	d.config = filepath.Join(t.TempDir(), "mapping.yaml")
	cfg := fmt.Sprintf(`groups:
  - match: {displayName: Engineering}
    teams: [engineering]
    channels: [engineering/backend]
  - match: {displayName: Staff}
    teams: [engineering]
mattermost:
  url: %s
  auth_service: saml
  auth_data: externalId
  adopt_by: [email, username]
  reconcile_every: 0
%s`, mm.URL(), extra)
	if err := os.WriteFile(d.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d.env = []string{
		"TOWNSQUARE_TOKEN=" + drillToken,
		"TOWNSQUARE_MATTERMOST_TOKEN=" + mm.AdminToken(),
		"TOWNSQUARE_MATTERMOST_LEASE_TTL=3s",
		"TOWNSQUARE_MATTERMOST_POLL=100ms",
		"TOWNSQUARE_MATTERMOST_BACKOFF_MAX=1s",
		"TOWNSQUARE_MATTERMOST_TIMEOUT=2s",
	}
	return d
}

// child is a "townsquare serve" process.
type child struct {
	cmd  *exec.Cmd
	base string // http://addr
	out  *syncBuffer
	done chan struct{}
}

// serve starts a server on the drill's database and waits until it is ready.
func (d *drill) serve() *child {
	t := d.t
	t.Helper()
	addr := freeAddr(t)
	args, _ := json.Marshal([]string{"serve", "--addr", addr, "--database", d.dsn, "--config", d.config})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envDrillChild+"="+string(args)), d.env...)
	c := &child{cmd: cmd, base: "http://" + addr, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("server %s log:\n%s", c.base, c.out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			t.Fatalf("server exited: %s", c.out.String())
		default:
		}
		if resp, err := http.Get(c.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready: %s", c.out.String())
	return nil
}

// kill SIGKILLs the server: no shutdown, no lease released.
func (c *child) kill(t *testing.T) {
	t.Helper()
	_ = c.cmd.Process.Kill()
	<-c.done
}

// call sends one request with the drill token and decodes a JSON answer into out (when
// not nil); it fails the test on a transport error or a status other than want.
//
// Like Okta and Entra, it waits out a 429 for its Retry-After and sends the request again:
// a drill that pushes faster than the token's rate limit (100/s after a burst of 500) is
// slowed down, not failed.
func (c *child) call(t *testing.T, method, path, body string, want int, out any) {
	t.Helper()
	var resp *http.Response
	var data []byte
	for try := 0; ; try++ {
		req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+drillToken)
		if body != "" {
			req.Header.Set("Content-Type", "application/scim+json")
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		data, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || try == 100 {
			break
		}
		wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || wait < 1 {
			t.Fatalf("%s %s: 429 without a Retry-After in seconds: %q", method, path, resp.Header.Get("Retry-After"))
		}
		time.Sleep(time.Duration(wait) * time.Second)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// createUser creates a SCIM user and returns its id.
func (c *child) createUser(t *testing.T, userName, externalID string) string {
	t.Helper()
	body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"externalId":%q,
"name":{"givenName":"Given","familyName":%q},"emails":[{"value":%q,"primary":true}],"active":true}`,
		userName, externalID, userName, userName)
	var u struct{ ID string }
	c.call(t, "POST", "/scim/v2/Users", body, 201, &u)
	return u.ID
}

// createGroup creates a SCIM group with members and returns its id.
func (c *child) createGroup(t *testing.T, name string, members ...string) string {
	t.Helper()
	var ms []string
	for _, m := range members {
		ms = append(ms, fmt.Sprintf(`{"value":%q}`, m))
	}
	body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":%q,"members":[%s]}`,
		name, strings.Join(ms, ","))
	var g struct{ ID string }
	c.call(t, "POST", "/scim/v2/Groups", body, 201, &g)
	return g.ID
}

// patchMembers adds or removes members of a group.
func (c *child) patchMembers(t *testing.T, groupID, op string, members ...string) {
	t.Helper()
	var ms []string
	for _, m := range members {
		ms = append(ms, fmt.Sprintf(`{"value":%q}`, m))
	}
	body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
"Operations":[{"op":%q,"path":"members","value":[%s]}]}`, op, strings.Join(ms, ","))
	if op == "remove" && len(members) == 1 {
		body = fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
"Operations":[{"op":"remove","path":"members[value eq \"%s\"]"}]}`, members[0])
	}
	c.call(t, "PATCH", "/scim/v2/Groups/"+groupID, body, 204, nil)
}

// setActive deactivates or reactivates a user.
func (c *child) setActive(t *testing.T, userID string, active bool) {
	t.Helper()
	body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
"Operations":[{"op":"replace","value":{"active":%t}}]}`, active)
	c.call(t, "PATCH", "/scim/v2/Users/"+userID, body, 200, nil)
}

// status reads GET /api/v1/mattermost/status.
func (c *child) status(t *testing.T) map[string]any {
	t.Helper()
	var s map[string]any
	c.call(t, "GET", "/api/v1/mattermost/status", "", 200, &s)
	return s
}

// chatState is the part of a chat both sides can be compared on: accounts by username
// and memberships as "team" or "team/channel" → sorted usernames of active accounts.
type chatState struct {
	Users   map[string]chatUser // by username
	Members map[string][]string
}

type chatUser struct {
	Email  string
	Active bool
}

// desiredState reads what Townsquare holds, through the store.
func (d *drill) desiredState() chatState {
	t := d.t
	t.Helper()
	st, err := sqlstore.Open(context.Background(), d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	cs := chatState{Users: map[string]chatUser{}, Members: map[string][]string{}}
	active := map[string]bool{}
	err = st.EachChatAccountState(ctx, func(a store.ChatAccountState) error {
		cs.Users[a.Username] = chatUser{Email: a.Email, Active: a.Active}
		active[a.Username] = a.Active
		if !a.Active {
			return nil
		}
		for _, tm := range a.Teams {
			cs.Members[tm] = append(cs.Members[tm], a.Username)
		}
		for _, ch := range a.Channels {
			k := ch.Team + "/" + ch.Channel
			cs.Members[k] = append(cs.Members[k], a.Username)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range cs.Members {
		sort.Strings(cs.Members[k])
	}
	return cs
}

// chatStateOf reads the double, leaving out the connector's bot, the teams and channels
// named in ignore (memberships the drill made by hand), and the memberships of
// deactivated users (Mattermost keeps them, as Townsquare does).
func chatStateOf(mm *mmtest.Server, ignore map[string]bool) chatState {
	snap := mm.Snapshot()
	cs := chatState{Users: map[string]chatUser{}, Members: map[string][]string{}}
	byID := map[string]string{}
	activeByID := map[string]bool{}
	for _, u := range snap.Users {
		if builtIn(u) {
			continue
		}
		byID[u.ID] = u.Username
		activeByID[u.ID] = u.DeleteAt == 0
		cs.Users[u.Username] = chatUser{Email: u.Email, Active: u.DeleteAt == 0}
	}
	add := func(key string, ids []string) {
		if ignore[key] {
			return
		}
		for _, id := range ids {
			if name, ok := byID[id]; ok && activeByID[id] {
				cs.Members[key] = append(cs.Members[key], name)
			}
		}
	}
	for team, ids := range snap.TeamMembers {
		add(team, ids)
	}
	for ch, ids := range snap.ChannelMembers {
		add(ch, ids)
	}
	for k, v := range cs.Members {
		if len(v) == 0 {
			delete(cs.Members, k)
			continue
		}
		sort.Strings(v)
	}
	return cs
}

// converged waits until the double holds the desired state (up to timeout) and fails
// the test with the difference otherwise. It also checks that no two Mattermost users
// carry one auth_data: a duplicate would be a user created twice.
func (d *drill) converged(timeout time.Duration) { d.t.Helper(); d.convergedIgnoring(timeout, nil) }

// convergedIgnoring is converged leaving out the teams and channels in ignore.
func (d *drill) convergedIgnoring(timeout time.Duration, ignore map[string]bool) {
	t := d.t
	t.Helper()
	deadline := time.Now().Add(timeout)
	var diff string
	for {
		want, got := d.desiredState(), chatStateOf(d.mm, ignore)
		diff = stateDiff(want, got)
		if diff == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Mattermost did not converge in %s:\n%s", timeout, diff)
		}
		time.Sleep(200 * time.Millisecond)
	}
	seen := map[string]string{}
	for _, u := range d.mm.Snapshot().Users {
		if u.AuthData == "" || builtIn(u) {
			continue
		}
		if other, dup := seen[u.AuthData]; dup {
			t.Fatalf("two Mattermost users with auth_data %q: %s and %s", u.AuthData, other, u.Username)
		}
		seen[u.AuthData] = u.Username
	}
}

// stateDiff describes how got differs from want ("" when equal).
func stateDiff(want, got chatState) string {
	var b bytes.Buffer
	for name, w := range want.Users {
		g, ok := got.Users[name]
		switch {
		case !ok && !w.Active: // never delivered while active: nothing to deactivate
		case !ok:
			fmt.Fprintf(&b, "user %s missing\n", name)
		case g != w:
			fmt.Fprintf(&b, "user %s: %+v, want %+v\n", name, g, w)
		}
	}
	for name, g := range got.Users {
		if _, ok := want.Users[name]; !ok && g.Active { // a purged account stays, deactivated
			fmt.Fprintf(&b, "active user %s in Mattermost only\n", name)
		}
	}
	keys := map[string]bool{}
	for k := range want.Members {
		keys[k] = true
	}
	for k := range got.Members {
		keys[k] = true
	}
	for k := range keys {
		if w, g := strings.Join(want.Members[k], ","), strings.Join(got.Members[k], ","); w != g {
			fmt.Fprintf(&b, "%s: members %s, want %s\n", k, g, w)
		}
	}
	return b.String()
}

// eachDrillBackend runs a drill on every backend of this run, in parallel with the
// other drills (each has its own database, double and servers).
func eachDrillBackend(t *testing.T, fn func(t *testing.T, b sqltest.Backend)) {
	if testing.Short() {
		t.Skip("drills start servers; skipped with -short")
	}
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { t.Parallel(); fn(t, b) })
	}
}

// builtIn reports the double's own accounts: the connector's bot and the non-admin user
// whose token tests the refusal of a token without rights.
func builtIn(u mattermost.User) bool { return u.IsBot || u.Username == "plain-user" }
