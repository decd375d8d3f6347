package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
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
	// A name the store refuses is refused with the rule, and no secret is printed.
	for _, bad := range []string{"okta prod", "bad\x01name", strings.Repeat("a", 65), "env:TOWNSQUARE_TOKEN"} {
		out, _, err := runCmd(t, "token", "create", bad, "--database", db)
		if err == nil || !strings.Contains(err.Error(), "token name") || out != "" {
			t.Errorf("create %q: out %q, err %v; want a refusal naming the token name", bad, out, err)
		}
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
		{[]string{"--request-timeout", "100001ms"}}, // server.MaxRequestTimeout is 100s
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

func TestTokenScopes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	for _, tc := range []struct {
		name   string
		args   []string
		scopes string // as token list shows them; "" when create must fail
		errHas string
	}{
		{"idp", nil, "scim", ""},
		{"reader", []string{"--scope", "admin:read"}, "admin:read", ""},
		{"ops", []string{"--scope", "admin:write,admin:read"}, "admin:read,admin:write", ""},
		{"both", []string{"--scope", "scim", "--scope", "admin:read"}, "scim,admin:read", ""},
		{"root", []string{"--scope", "scim,admin:read,admin:write"}, "scim,admin:read,admin:write", ""},
		{"bad", []string{"--scope", "admin"}, "", `invalid scope "admin"`},
		{"typo", []string{"--scope", "scim,admin-read"}, "", `invalid scope "admin-read"`},
		{"empty", []string{"--scope", ""}, "", "at least one scope"},
	} {
		args := append([]string{"token", "create", tc.name, "--database", db}, tc.args...)
		out, errOut, err := runCmd(t, args...)
		if tc.scopes == "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), "scim,admin:read,admin:write") {
				t.Errorf("create %s %v: err %v, want one naming %s and the known scopes", tc.name, tc.args, err, tc.errHas)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(out, "ts_") || !strings.Contains(errOut, "with scopes "+tc.scopes) {
			t.Errorf("create %s %v: %q %q %v", tc.name, tc.args, out, errOut, err)
		}
	}
	list, _, err := runCmd(t, "token", "list", "--database", db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAME CREATED SCOPES" {
		t.Fatalf("list header: %q", lines[0])
	}
	want := map[string]string{"both": "scim,admin:read", "idp": "scim", "ops": "admin:read,admin:write",
		"reader": "admin:read", "root": "scim,admin:read,admin:write"}
	if len(lines) != 1+len(want) {
		t.Fatalf("list:\n%s", list)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 3 || want[f[0]] != f[2] {
			t.Errorf("list line %q, want scopes %q", l, want[f[0]])
		}
	}
}

// The token a first start mints has every scope, and says so.
func TestServeFirstTokenHasEveryScope(t *testing.T) {
	t.Setenv("TOWNSQUARE_TOKEN", "")
	db := filepath.Join(t.TempDir(), "s.db")
	out, _ := serveBriefly(t, db, "127.0.0.1:0")
	if !strings.Contains(out, "scopes: scim,admin:read,admin:write") {
		t.Fatalf("first-run message: %q", out)
	}
	list, _, err := runCmd(t, "token", "list", "--database", db)
	if err != nil || !strings.Contains(list, "default") || !strings.Contains(list, "scim,admin:read,admin:write") {
		t.Fatalf("list: %q %v", list, err)
	}
}

// serveBriefly runs serve on addr until /readyz answers (or it returns), then stops it,
// and returns its stdout and stderr.
func serveBriefly(t *testing.T, db, addr string, extra ...string) (string, string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr, "--database", db}, extra...), &out, &errOut)
	}()
	for i := 0; i < 100; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve returned %v: %s", err, errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	return out.String(), errOut.String()
}

// A short TOWNSQUARE_TOKEN stops a server that would listen beyond loopback, before it
// opens anything; on loopback it is accepted with a warning. A long one is fine anywhere.
func TestBootstrapTokenLength(t *testing.T) {
	short := strings.Repeat("x", MinBootstrapToken-1)
	long := strings.Repeat("x", MinBootstrapToken)
	for _, tc := range []struct {
		token, addr string
		refused     bool
		warned      bool
	}{
		{short, "0.0.0.0:0", true, false},
		{short, ":0", true, false},
		{short, "[::]:0", true, false},
		{"t0ken", "192.0.2.1:8080", true, false}, // refused before it tries to listen
		{short, "127.0.0.1:0", false, true},
		{"t0ken", "127.0.0.1:0", false, true},
		{short, "[::1]:0", false, true},
		{short, "localhost:0", false, true},
		{long, "127.0.0.1:0", false, false},
		{"", "127.0.0.1:0", false, false},
	} {
		t.Run(fmt.Sprintf("%d chars on %s", len(tc.token), tc.addr), func(t *testing.T) {
			t.Setenv("TOWNSQUARE_TOKEN", tc.token)
			db := filepath.Join(t.TempDir(), "b.db")
			if tc.refused {
				_, _, err := runCmd(t, "serve", "--addr", tc.addr, "--database", db)
				if err == nil || !strings.Contains(err.Error(), "TOWNSQUARE_TOKEN") || !strings.Contains(err.Error(), "at least 32") {
					t.Fatalf("err %v, want a refusal naming TOWNSQUARE_TOKEN and the minimum", err)
				}
				if _, err := os.Stat(db); !os.IsNotExist(err) {
					t.Fatalf("the database was created before the refusal: %v", err)
				}
				return
			}
			if tc.addr == "[::1]:0" {
				if ln, err := net.Listen("tcp", tc.addr); err != nil {
					t.Skip("no IPv6 loopback here")
				} else {
					ln.Close()
				}
			}
			_, errOut := serveBriefly(t, db, tc.addr)
			if got := strings.Contains(errOut, "TOWNSQUARE_TOKEN is short"); got != tc.warned {
				t.Fatalf("warned %v, want %v; log: %s", got, tc.warned, errOut)
			}
		})
	}
}

func TestServeLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		env    [2]string
		errHas string
	}{
		{args: []string{"--rate-limit", "-1"}, errHas: "--rate-limit"},
		{args: []string{"--rate-limit", "NaN"}, errHas: "--rate-limit"},
		{args: []string{"--rate-burst", "-5"}, errHas: "--rate-burst"},
		{args: []string{"--auth-fail-limit", "-0.5"}, errHas: "--auth-fail-limit"},
		{args: []string{"--auth-fail-burst", "x"}, errHas: "auth-fail-burst"},
		{args: []string{"--max-conns", "-1"}, errHas: "--max-conns"},
		{env: [2]string{"TOWNSQUARE_RATE_LIMIT", "fast"}, errHas: "TOWNSQUARE_RATE_LIMIT"},
		{env: [2]string{"TOWNSQUARE_MAX_CONNS", "1e3"}, errHas: "TOWNSQUARE_MAX_CONNS"},
	} {
		if tc.env[0] != "" {
			t.Setenv(tc.env[0], tc.env[1])
		}
		args := append([]string{"serve", "--database", filepath.Join(t.TempDir(), "f.db")}, tc.args...)
		if _, _, err := runCmd(t, args...); err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%v %v: err %v, want one naming %s", tc.args, tc.env, err, tc.errHas)
		}
		if tc.env[0] != "" {
			os.Unsetenv(tc.env[0])
		}
	}
}

// Zero turns each limit off, and the environment twins set them: the server starts and
// serves with them.
func TestServeLimitsOff(t *testing.T) {
	t.Setenv("TOWNSQUARE_TOKEN", "")
	t.Setenv("TOWNSQUARE_AUTH_FAIL_BURST", "0")
	db := filepath.Join(t.TempDir(), "z.db")
	_, errOut := serveBriefly(t, db, "127.0.0.1:0", "--rate-limit", "0", "--rate-burst", "0", "--auth-fail-limit", "0", "--max-conns", "0")
	for _, want := range []string{"rate_limit=0", "rate_burst=0", "auth_fail_limit=0", "auth_fail_burst=0", "max_conns=0"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("start-up line lacks %s: %s", want, errOut)
		}
	}
}
