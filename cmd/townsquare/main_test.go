package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store/sqlstore"
)

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestTokenCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	secret, _, err := runCmd(t, "token", "create", "okta", "--database", db)
	if err != nil || !strings.HasPrefix(secret, "ts_") {
		t.Fatalf("create: %q %v", secret, err)
	}
	if _, _, err := runCmd(t, "token", "create", "okta", "--database", db); err == nil {
		t.Fatal("duplicate name accepted")
	}
	list, _, err := runCmd(t, "token", "list", "--database", db)
	if err != nil || !strings.Contains(list, "okta") || strings.Contains(list, strings.TrimSpace(secret)) {
		t.Fatalf("list: %q %v", list, err)
	}
	if _, _, err := runCmd(t, "token", "revoke", "okta", "--database", db); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, "token", "revoke", "okta", "--database", db); err == nil {
		t.Fatal("revoking twice succeeded")
	}
	if _, _, err := runCmd(t, "token", "create"); err == nil {
		t.Fatal("create without a name succeeded")
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	out, _, err := runCmd(t, "version")
	if err != nil || !strings.HasPrefix(out, "townsquare ") {
		t.Fatalf("version: %q %v", out, err)
	}
	if _, _, err := runCmd(t, "frobnicate"); err == nil {
		t.Fatal("unknown command accepted")
	}
}

func TestMigrate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	// Every embedded migration, however many there are by now.
	st, err := sqlstore.Connect(context.Background(), filepath.Join(t.TempDir(), "count.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	migs, err := st.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, "migrate", "--database", db)
	if err != nil || !strings.Contains(out, fmt.Sprintf("applied %d migration(s)", len(migs))) {
		t.Fatalf("first migrate: %q %v", out, err)
	}
	out, _, err = runCmd(t, "migrate", "--database", db)
	if err != nil || !strings.Contains(out, "applied 0 migration(s)") {
		t.Fatalf("second migrate: %q %v", out, err)
	}
}

func TestServeRejectsInvalidConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	if err := writeFile(cfg, "groups:\n  - match: {displayName: x}\n    teams: [\"Admin Team\"]\n"); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t, "serve", "--config", cfg, "--database", filepath.Join(t.TempDir(), "x.db"))
	if err == nil || !strings.Contains(err.Error(), "Admin Team") {
		t.Fatalf("invalid config: %v", err)
	}
}

// TestServeRejectsBadFlagValues: a flag value serve cannot use stops it at start, naming
// the flag, before anything listens.
func TestServeRejectsBadFlagValues(t *testing.T) {
	for _, c := range []struct{ args []string }{
		{[]string{"--request-timeout", "0"}},
		{[]string{"--request-timeout", "-1s"}},
		{[]string{"--request-timeout", "soon"}},
		{[]string{"--tls-cert", "cert.pem"}},
		{[]string{"--tls-key", "key.pem"}},
		{[]string{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"}},
	} {
		args := append([]string{"serve", "--database", filepath.Join(t.TempDir(), "x.db"), "--addr", "127.0.0.1:0"}, c.args...)
		_, _, err := runCmd(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.args[0]) {
			t.Errorf("serve %v: err = %v, want one naming %s", c.args, err, c.args[0])
		}
	}
}

// TestServeFirstRunPrintsTokenAndShutsDown starts serve on an empty database: it must
// print a first token that works, answer /readyz, and stop cleanly when cancelled.
func TestServeFirstRunPrintsTokenAndShutsDown(t *testing.T) {
	t.Setenv("TOWNSQUARE_TOKEN", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--database", filepath.Join(t.TempDir(), "s.db")}, &out, &errOut)
	}()
	var ready bool
	for i := 0; i < 100 && !ready; i++ {
		time.Sleep(50 * time.Millisecond)
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == 200
		}
	}
	if !ready {
		cancel()
		t.Fatalf("server not ready: %s", errOut.String())
	}
	var secret string
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, "ts_") {
			secret = f
		}
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/scim/v2/Users", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first token %q does not work: %v %v", secret, resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

func TestCheck(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	out, _, err := runCmd(t, "check", "--database", db)
	if err != nil || !strings.Contains(out, "all provisioning rules hold") {
		t.Fatalf("check on an empty database: %q %v", out, err)
	}
}
