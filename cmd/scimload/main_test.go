package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store/sqlstore"
)

// TestRunAgainstTownsquare runs every phase at small sizes against the real handler on
// SQLite, with the trivial handler as the ceiling, and checks the JSON report.
func TestRunAgainstTownsquare(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,020 users")
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "load.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	defer srv.Close()
	h, err := server.Handler(server.Config{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseURL: srv.URL + "/scim/v2", BootstrapToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	ceil := httptest.NewServer(trivialHandler())
	defer ceil.Close()

	var out, errOut bytes.Buffer
	code, err := run(ctx, []string{"--url", srv.URL + "/scim/v2", "--token", "tok", "--users", "1020", "--groups", "3",
		"--members", "20", "--single", "3", "--batch-size", "10", "--big", "250", "--big-batch-size", "30",
		"--lookups", "100", "--excluded-gets", "20", "--full-gets", "2", "--concurrency", "4",
		"--ceiling", ceil.URL, "--json"}, &out, &errOut)
	if err != nil || code != 0 {
		t.Fatalf("exit %d, err %v\n%s\n%s", code, err, out.String(), errOut.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, out.String())
	}
	if !rep.Passed {
		t.Fatalf("report not passed: %s", out.String())
	}
	want := map[string]int{"a.create-users": 1020, "b.userName-eq@1k": 100, "ceiling": 100, "b.userName-eq": 100,
		"c.externalId-eq": 100, "d.create-groups": 5, "e1.add-1": 9, "e2.add-10": 6, "f.first100": 100,
		"e3.add-30": 2, "f.last100": 100, "g.excl-big": 20, "g.excl-empty": 20, "g.full-big": 2, "h.deactivate": 102,
		"i.page-users": 11}
	for name, n := range want {
		p := rep.phase(name)
		if p == nil || p.Skipped != "" || p.Requests != n || p.Errors != 0 {
			t.Errorf("phase %s: %+v, want %d requests and no error", name, p, n)
		}
	}
	if len(rep.Checks) < 4 {
		t.Errorf("checks: %+v", rep.Checks)
	}
	for _, c := range rep.Checks {
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
}

// TestWrongAnswersAreErrors runs phase a and b against a server that answers every
// request with the trivial list response: creates fail (status 200, not 201).
func TestWrongAnswersAreErrors(t *testing.T) {
	srv := httptest.NewServer(trivialHandler())
	defer srv.Close()
	var out, errOut bytes.Buffer
	code, err := run(context.Background(), []string{"--url", srv.URL, "--users", "20", "--phases", "a,b", "--concurrency", "2"}, &out, &errOut)
	if err != nil || code != 1 {
		t.Fatalf("exit %d, err %v, want 1\n%s", code, err, out.String())
	}
	if !strings.Contains(out.String(), "status 200, want [201]") || !strings.Contains(out.String(), "FAILED") {
		t.Fatalf("report does not show the wrong status:\n%s", out.String())
	}
}

func TestOnlyLoopback(t *testing.T) {
	for _, u := range []string{"http://example.com/scim/v2", "http://10.0.0.1:8080/scim/v2", "http://[2001:db8::1]/scim/v2", "ftp://127.0.0.1/"} {
		if _, err := checkLoopbackURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8080/scim/v2", "http://localhost:1/x", "http://[::1]:80/", "https://127.1.2.3/"} {
		if _, err := checkLoopbackURL(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	if err := loopbackOnly("tcp", "93.184.216.34:80", nil); err == nil {
		t.Error("dialer accepts a public address")
	}
	var out, errOut bytes.Buffer
	if code, err := run(context.Background(), []string{"--url", "http://example.com/scim/v2"}, &out, &errOut); err == nil || code != 2 {
		t.Errorf("run with a public URL: exit %d, err %v", code, err)
	}
}
