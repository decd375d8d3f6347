package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server/mattermost/mmtest"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
)

func TestMattermostCommands(t *testing.T) {
	mm := mmtest.New(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "t.db")
	cfg := filepath.Join(dir, "mapping.yaml")
	if err := writeFile(cfg, "mattermost:\n  url: "+mm.URL()+"\n"); err != nil {
		t.Fatal(err)
	}
	noBlock := filepath.Join(dir, "plain.yaml")
	if err := writeFile(noBlock, "default_team: everyone\n"); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{UserName: "ann@example.com", ExternalID: "00uA", Active: true, Emails: []store.MultiValue{{Value: "ann@example.com", Primary: true}}}
	if err := st.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	st.Close()
	flags := []string{"--database", db, "--config", cfg}

	// No token: sync says what is missing, and sends nothing.
	t.Setenv(MattermostTokenEnv, "")
	if _, _, err := runCmd(t, append([]string{"mattermost", "sync"}, flags...)...); err == nil || !strings.Contains(err.Error(), MattermostTokenEnv) {
		t.Fatalf("sync without a token: %v", err)
	}
	t.Setenv(MattermostTokenEnv, mm.UserToken())
	if _, _, err := runCmd(t, append([]string{"mattermost", "sync"}, flags...)...); err == nil || !strings.Contains(err.Error(), "system_admin") {
		t.Fatalf("sync with a user's token: %v", err)
	}
	t.Setenv(MattermostTokenEnv, mm.AdminToken())
	if _, _, err := runCmd(t, "mattermost", "sync", "--database", db, "--config", noBlock); err == nil || !strings.Contains(err.Error(), "no mattermost: block") {
		t.Fatalf("sync without a block: %v", err)
	}

	// A dry run prints the plan and sends no write.
	out, _, err := runCmd(t, append([]string{"mattermost", "sync", "--dry-run"}, flags...)...)
	if err != nil || !strings.Contains(out, "dry run: nothing was sent") || !strings.Contains(out, "user.created") ||
		!strings.Contains(out, `POST /api/v4/users (account `+u.ID+`)`) {
		t.Fatalf("dry run: %q %v", out, err)
	}
	for _, r := range mm.Requests() {
		if r.Method != "GET" {
			t.Fatalf("a dry run sent %s %s", r.Method, r.Path)
		}
	}
	// A running connector's lease: sync waits for no one, and says so.
	st, err = sqlstore.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := st.AcquireLease(context.Background(), "mattermost", "a-server", time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, _, err := runCmd(t, append([]string{"mattermost", "sync"}, flags...)...); err == nil || !strings.Contains(err.Error(), "holds the lease") {
		t.Fatalf("sync beside a running connector: %v", err)
	}
	if err := st.ReleaseLease(context.Background(), "mattermost", "a-server"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, _, err = runCmd(t, append([]string{"mattermost", "sync"}, flags...)...)
	if _, ok := mm.UserByUsername("ann"); err != nil || !ok {
		t.Fatalf("sync: %q %v; ann in Mattermost: %v", out, err, ok)
	}

	out, _, err = runCmd(t, append([]string{"mattermost", "status", "--json"}, flags...)...)
	var rep map[string]any
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep["configured"] != true || rep["last_reconcile"] == nil {
		t.Fatalf("status --json: %q %v", out, err)
	}
	if out, _, err = runCmd(t, append([]string{"mattermost", "status"}, flags...)...); err != nil || !strings.Contains(out, "last reconcile") {
		t.Fatalf("status: %q %v", out, err)
	}

	// retry and release: names or --all, never both nor neither; ids are numbers; at
	// most maxCLIArgs names.
	for _, args := range [][]string{{"retry"}, {"retry", "--all", "1"}, {"retry", "x"}, {"retry", "0"}, {"release"}, {"release", "--all", "acc"}} {
		if _, _, err := runCmd(t, append(append([]string{"mattermost"}, flags...), args...)...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	many := make([]string, maxCLIArgs+1)
	for i := range many {
		many[i] = fmt.Sprint(i + 1)
	}
	if _, _, err := runCmd(t, append(append([]string{"mattermost", "retry"}, flags...), many...)...); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("%d ids: %v", len(many), err)
	}
	if out, _, err := runCmd(t, append(append([]string{"mattermost", "retry"}, flags...), many[:maxCLIArgs]...)...); err != nil || !strings.HasPrefix(out, "0 dead letters") {
		t.Fatalf("%d ids: %q %v", maxCLIArgs, out, err)
	}
	if out, _, err := runCmd(t, append([]string{"mattermost", "release", "--all"}, flags...)...); err != nil || !strings.HasPrefix(out, "0 held") {
		t.Fatalf("release --all: %q %v", out, err)
	}
	if _, _, err := runCmd(t, "mattermost", "frobnicate"); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
}

// serve starts the connector when the mapping file has a mattermost: block: it
// delivers a SCIM create to Mattermost, and status says it runs. Without a token it
// refuses, in status, while SCIM and /readyz serve on.
func TestServeRunsTheConnector(t *testing.T) {
	for _, withToken := range []bool{true, false} {
		t.Run(fmt.Sprint("token=", withToken), func(t *testing.T) {
			mm := mmtest.New(t)
			const bootstrap = "serve-test-token-0123456789abcdef"
			t.Setenv("TOWNSQUARE_TOKEN", bootstrap)
			t.Setenv("TOWNSQUARE_MATTERMOST_POLL", "20ms")
			if withToken {
				t.Setenv(MattermostTokenEnv, mm.AdminToken())
			} else {
				t.Setenv(MattermostTokenEnv, "")
			}
			dir := t.TempDir()
			cfg := filepath.Join(dir, "mapping.yaml")
			if err := writeFile(cfg, "mattermost:\n  url: "+mm.URL()+"\n  reconcile_every: \"0\"\n"); err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errOut syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"serve", "--addr", addr, "--database", filepath.Join(dir, "s.db"), "--config", cfg}, &out, &errOut)
			}()
			call := func(method, path, body string) (int, string) {
				req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+bootstrap)
				req.Header.Set("Content-Type", "application/scim+json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return 0, err.Error()
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			eventually := func(what string, ok func() bool) {
				t.Helper()
				for i := 0; i < 200; i++ {
					if ok() {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				t.Fatalf("%s: not within 10 s; log %s", what, errOut.String())
			}
			eventually("ready", func() bool { s, _ := call("GET", "/readyz", ""); return s == 200 })
			if s, b := call("POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","externalId":"00uA","emails":[{"value":"ann@example.com","primary":true}]}`); s != 201 {
				t.Fatalf("create: %d %s", s, b)
			}
			if withToken {
				eventually("delivered", func() bool { _, ok := mm.UserByUsername("ann"); return ok })
				eventually("running", func() bool {
					_, b := call("GET", "/api/v1/mattermost/status", "")
					return strings.Contains(b, `"state":"running"`)
				})
			} else {
				eventually("refused", func() bool {
					_, b := call("GET", "/api/v1/mattermost/status", "")
					return strings.Contains(b, `"state":"refused"`) && strings.Contains(b, MattermostTokenEnv)
				})
				if s, _ := call("GET", "/readyz", ""); s != 200 {
					t.Fatalf("readyz %d", s)
				}
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not stop")
			}
			if withToken { // a replica that stops says so
				out, _, err := runCmd(t, "mattermost", "status", "--json", "--database", filepath.Join(dir, "s.db"), "--config", cfg)
				if err != nil || !strings.Contains(out, `"state": "stopped"`) {
					t.Fatalf("status after serve stopped: %s %v", out, err)
				}
			}
		})
	}
}
