package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
)

// eventsDB makes a SQLite database holding alice and bob, created by the token
// "okta-prod" in request "req-1", and returns its path and the open store.
func eventsDB(t *testing.T) (string, *sqlstore.Store) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "events.db")
	st, err := sqlstore.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := store.WithRequestID(store.WithActor(context.Background(), "okta-prod"), "req-1")
	for _, name := range []string{"alice", "bob"} {
		u := store.User{UserName: name, Active: true, Emails: []store.MultiValue{{Value: name + "@example.com", Primary: true}}}
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	return db, st
}

func TestEventsCommand(t *testing.T) {
	db, st := eventsDB(t)
	out, _, err := runCmd(t, "events", "--database", db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 11 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  okta-prod  channel\.joined  alice  everyone/town-square  team-join  req=req-1$`)
	if !line.MatchString(lines[5]) {
		t.Fatalf("line 6: %q", lines[5])
	}
	if !strings.Contains(lines[0], "  team.created  -  everyone  -  req=req-1") {
		t.Fatalf("line 1: %q", lines[0])
	}
	// --account by username or email, --after, --limit.
	for _, acc := range []string{"bob", "BOB@example.com"} {
		out, _, err := runCmd(t, "events", "--database", db, "--account", acc)
		if err != nil || strings.Count(out, "\n") != 4 || strings.Contains(out, "alice") {
			t.Fatalf("--account %s: %v\n%s", acc, err, out)
		}
	}
	es, err := st.Events(context.Background(), store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCmd(t, "events", "--database", db, "--after", fmt.Sprint(es[8].Cursor), "--limit", "1")
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, "channel.joined  bob  everyone/town-square") ||
		!strings.Contains(errOut, fmt.Sprintf("--after %d", es[9].Cursor)) {
		t.Fatalf("--after --limit 1: %v\n%s%s", err, out, errOut)
	}
	// --json: the API's objects, one a line.
	out, _, err = runCmd(t, "events", "--database", db, "--json", "--limit", "1000")
	if err != nil {
		t.Fatal(err)
	}
	jl := strings.Split(strings.TrimSpace(out), "\n")
	var created map[string]any // the 4th line: team.created and channel.created come first
	if err := json.Unmarshal([]byte(jl[3]), &created); err != nil || len(jl) != 11 {
		t.Fatalf("--json: %v, %d lines", err, len(jl))
	}
	if created["kind"] != "account.created" || created["actor"] != "okta-prod" || created["request_id"] != "req-1" ||
		created["cursor"] != float64(es[3].Cursor) || created["after"].(map[string]any)["email"] != "alice@example.com" {
		t.Fatalf("--json 4th line: %s", jl[3])
	}
	// Refusals.
	for _, args := range [][]string{
		{"--account", "nobody"}, {"--limit", "0"}, {"--limit", "1001"}, {"--after", "-1"}, {"extra"},
	} {
		if _, _, err := runCmd(t, append([]string{"events", "--database", db}, args...)...); err == nil {
			t.Errorf("events %q succeeded", args)
		}
	}
	if _, _, err := runCmd(t, "events", "--database", db, "--limit", "1000"); err != nil {
		t.Fatalf("--limit 1000: %v", err)
	}
}

func TestEventsFollow(t *testing.T) {
	db, st := eventsDB(t)
	defer func(d time.Duration) { followInterval = d }(followInterval)
	followInterval = 20 * time.Millisecond
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"events", "--database", db, "--follow", "--limit", "3"}, &out, io.Discard)
	}()
	waitFor := func(what string, cond func(string) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(out.String()); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s; printed:\n%s", what, out.String())
			}
		}
	}
	waitFor("the journal so far", func(s string) bool { return strings.Count(s, "\n") == 11 })
	u := store.User{UserName: "carol", Active: true}
	if err := st.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	waitFor("carol's entries", func(s string) bool {
		return strings.Count(s, "\n") == 15 && strings.Contains(s, "account.created  carol")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("interrupted --follow: %v", err)
	}
}

func TestPruneJournal(t *testing.T) {
	_, st := eventsDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		pruneJournal(ctx, st, time.Nanosecond, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		es, err := st.Events(context.Background(), store.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 4 && es[0].Username == "bob" && es[3].Username == "bob" { // all but the newest row: bob's create
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left", len(es))
		}
	}
	cancel()
	<-done
	if !strings.Contains(logs.String(), "change journal pruned") {
		t.Fatalf("log: %s", logs.String())
	}
}

func TestJournalRetentionFlag(t *testing.T) {
	for v, want := range map[string]time.Duration{"0": 0, "2160h": 2160 * time.Hour, " 1m ": time.Minute} {
		if d, err := journalRetention(v); err != nil || d != want {
			t.Errorf("%q: %v, %v", v, d, err)
		}
	}
	for _, v := range []string{"", "-1h", "90d", "x"} {
		if _, err := journalRetention(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
	if _, _, err := runCmd(t, "serve", "--journal-retention", "-1h", "--database", filepath.Join(t.TempDir(), "x.db")); err == nil ||
		!strings.Contains(err.Error(), "--journal-retention") {
		t.Fatalf("serve --journal-retention -1h: %v", err)
	}
}

// team.updated and channel.updated show the keys that changed, as account.updated does;
// role entries their role strings.
func TestEventLineShowsTeamAndChannelChanges(t *testing.T) {
	at := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		e    store.Event
		want string
	}{
		{store.Event{Time: at, Kind: store.EventTeamUpdated, Actor: "import", Team: "eng",
			Before: map[string]string{"type": "O"}, After: map[string]string{"type": "I"}},
			`2026-12-02T14:00:00Z  import  team.updated  -  eng  -  type: "O" → "I"`},
		{store.Event{Time: at, Kind: store.EventChannelUpdated, Actor: "import", Team: "eng", Channel: "backend",
			Before: map[string]string{"display_name": "Backend", "type": "O"}, After: map[string]string{"display_name": "Back end", "type": "P"}},
			`2026-12-02T14:00:00Z  import  channel.updated  -  eng/backend  -  display_name: "Backend" → "Back end"  type: "O" → "P"`},
		// Role entries show the role strings before and after (a demotion here).
		{store.Event{Time: at, Kind: store.EventAccountRoles, Actor: "okta", Username: "bob",
			Before: map[string]string{"roles": "system_admin system_user"}, After: map[string]string{"roles": "system_guest"}},
			`2026-12-02T14:00:00Z  okta  account.roles  bob  -  -  roles: "system_admin system_user" → "system_guest"`},
		{store.Event{Time: at, Kind: store.EventTeamRoles, Actor: "cli", Username: "ann", Team: "eng", Source: "manual",
			Before: map[string]string{"roles": "team_user"}, After: map[string]string{"roles": "team_user team_admin"}},
			`2026-12-02T14:00:00Z  cli  team.roles  ann  eng  manual  roles: "team_user" → "team_user team_admin"`},
	} {
		if got := eventLine(c.e); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}
