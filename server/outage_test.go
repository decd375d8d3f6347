package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// wantUnavailable checks a 503 that asks the client to come back: Retry-After, and the
// API's own error shape (a SCIM error, or {"error": …} below /api/v1), revealing no
// database error.
func wantUnavailable(t *testing.T, r response) {
	t.Helper()
	if r.status != 503 {
		t.Fatalf("status %d, want 503; body %s", r.status, r.raw)
	}
	if r.header.Get("Retry-After") != "10" {
		t.Errorf("Retry-After %q, want 10", r.header.Get("Retry-After"))
	}
	for _, leak := range []string{"pq:", "SQL", "sql:", "relation", "table", "permission", "database \\\""} {
		if strings.Contains(r.raw, leak) {
			t.Errorf("the answer reveals the database's error (%q): %s", leak, r.raw)
		}
	}
}

// TestStoreUnavailableIs503: a store that cannot serve (here its tables are gone) makes
// every API answer 503 with Retry-After in its own error shape, a stored token's check
// included, while /healthz stays 200 and /readyz says 503.
func TestStoreUnavailableIs503(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		secret, _ := server.NewTokenSecret()
		if err := s.CreateToken(t.Context(), "okta", server.HashToken(secret), []store.Scope{store.ScopeSCIM}); err != nil {
			t.Fatal(err)
		}
		r := do(t, srv, "POST", "/scim/v2/Users", aliceJSON)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		id := r.body["id"].(string)
		if _, err := s.DB().Exec(`DROP VIEW user_groups`); err != nil { // reads group_members and group_ancestors
			t.Fatal(err)
		}
		for _, table := range []string{"group_ancestors", "group_groups", "channel_admins", "team_admins", "system_admins", "group_channel_admins", "group_team_admins",
			"settings", "group_channels", "group_teams", "channel_members", "team_members",
			"channels", "teams", "api_tokens", "group_members", "groups", "user_addresses", "user_phone_numbers",
			"user_emails", "users", "schema_migrations"} {
			if _, err := s.DB().Exec(`DROP TABLE ` + table); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/scim/v2/Users/" + id, ""},
			{"GET", "/scim/v2/Users?filter=userName%20eq%20%22a%22", ""},
			{"POST", "/scim/v2/Users", aliceJSON},
			{"PATCH", "/scim/v2/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`},
			{"DELETE", "/scim/v2/Users/" + id, ""},
			{"GET", "/scim/v2/Groups", ""},
			{"POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g"}`},
		} {
			r := do(t, srv, c.method, c.path, c.body)
			wantError(t, r, 503, "")
			wantUnavailable(t, r)
		}
		r = do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", "Bearer "+secret)
		wantError(t, r, 503, "")
		wantUnavailable(t, r)
		for _, path := range []string{"/api/v1/teams", "/api/v1/accounts/" + id, "/api/v1/teams/everyone/members"} {
			r := do(t, srv, "GET", path, "")
			wantUnavailable(t, r)
			if r.body["error"] == nil {
				t.Errorf("%s: not the admin error shape: %s", path, r.raw)
			}
		}
		r = do(t, srv, "GET", "/api/v1/teams", "", "Authorization", "Bearer "+secret)
		wantUnavailable(t, r)
		if r.body["error"] == nil {
			t.Errorf("admin token check: not the admin error shape: %s", r.raw)
		}
		wantUnavailable(t, do(t, srv, "GET", "/readyz", "", "Authorization", ""))
		if r := do(t, srv, "GET", "/healthz", "", "Authorization", ""); r.status != 200 {
			t.Fatalf("healthz %d: the process is alive", r.status)
		}
	})
}

// TestRequestDeadline: a request whose statement waits past the request timeout (here
// for a row another transaction holds) is answered 503 with Retry-After soon after the
// timeout, and the server works on once the lock is gone.
func TestRequestDeadline(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		const timeout = 300 * time.Millisecond
		// The user is made through a server without the short deadline: on a fresh
		// database the first create also makes the default team and its channels, which
		// a loaded machine running -race can take longer than the deadline over.
		setup, _ := testServerWith(t, server.Config{Store: s})
		r := do(t, setup, "POST", "/scim/v2/Users", aliceJSON)
		srv, _ := testServerWith(t, server.Config{Store: s, RequestTimeout: timeout})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		id := r.body["id"].(string)
		blocker, err := s.DB().Beginx()
		if err != nil {
			t.Fatal(err)
		}
		defer blocker.Rollback() //nolint:errcheck
		// The row's lock on PostgreSQL, the write lock on SQLite: either blocks the PATCH.
		if _, err := blocker.Exec(`UPDATE users SET title = 'blocker'`); err != nil {
			t.Fatal(err)
		}
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`
		start := time.Now()
		r = do(t, srv, "PATCH", "/scim/v2/Users/"+id, patch)
		took := time.Since(start)
		wantError(t, r, 503, "")
		wantUnavailable(t, r)
		if took > timeout+2*time.Second {
			t.Errorf("answered after %v with a request timeout of %v", took, timeout)
		}
		if err := blocker.Rollback(); err != nil {
			t.Fatal(err)
		}
		if r := do(t, srv, "PATCH", "/scim/v2/Users/"+id, patch); r.status != 200 {
			t.Fatalf("after the lock: %d %s", r.status, r.raw)
		}
	})
}

// TestPostgresOutage runs a server on a PostgreSQL database of its own, connected as a
// role of its own, and takes the database away from under it in the ways an operator's
// bad day does: a lock held too long, privileges revoked, the database dropped and
// recreated empty. Each time requests answer 503 with Retry-After within the request
// timeout and /readyz says 503; each time the server recovers without a restart once the
// database is back (after a recreation, once "townsquare migrate" has run: the server
// does not re-create a schema that vanished, see README).
func TestPostgresOutage(t *testing.T) {
	base := os.Getenv(sqltest.EnvPostgres)
	if base == "" {
		t.Skip(sqltest.EnvPostgres + " is not set")
	}
	ctx := context.Background()
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() }) // after the drops below, which cleanups run first
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ts_outage_" + hex.EncodeToString(b[:]) // the database's and the role's: ours, not input
	exec := func(q string) {
		t.Helper()
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE ROLE ` + name + ` LOGIN`)
	exec(`CREATE DATABASE ` + name + ` OWNER ` + name)
	t.Cleanup(func() {
		_, _ = admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
		_, _ = admin.Exec(`DROP ROLE IF EXISTS ` + name)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User, u.Path = url.User(name), "/"+name
	dsn := u.String()
	u.User = url.User("postgres")
	asSuperuser, err := sqlx.Open("postgres", u.String()) // in the new database, to lock and revoke
	if err != nil {
		t.Fatal(err)
	}
	defer asSuperuser.Close()

	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const timeout = 500 * time.Millisecond
	srv, _ := testServerWith(t, server.Config{Store: st, RequestTimeout: timeout})

	created := do(t, srv, "POST", "/scim/v2/Users", aliceJSON)
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	id := created.body["id"].(string)
	serving := func(step string) {
		t.Helper()
		if r := do(t, srv, "GET", "/scim/v2/Users/"+id, ""); r.status != 200 {
			t.Fatalf("%s: GET %d %s", step, r.status, r.raw)
		}
		if r := do(t, srv, "GET", "/readyz", ""); r.status != 200 {
			t.Fatalf("%s: readyz %d %s", step, r.status, r.raw)
		}
	}
	// unavailable checks that reads, writes, the admin API and /readyz answer 503 in
	// time, and /healthz 200.
	unavailable := func(step string, srv *httptest.Server) {
		t.Helper()
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/scim/v2/Users/" + id, ""},
			{"GET", "/scim/v2/Users?filter=userName%20eq%20%22alice@example.com%22", ""},
			{"POST", "/scim/v2/Users", strings.Replace(aliceJSON, "Alice@", "Bob@", 1)},
			{"GET", "/api/v1/accounts/" + id, ""},
			{"GET", "/readyz", ""},
		} {
			start := time.Now()
			r := do(t, srv, c.method, c.path, c.body)
			if took := time.Since(start); took > 2*time.Second+timeout {
				t.Errorf("%s: %s %s took %v", step, c.method, c.path, took)
			}
			if r.status != 503 || r.header.Get("Retry-After") == "" {
				t.Fatalf("%s: %s %s: %d (Retry-After %q) %s, want 503 with Retry-After", step, c.method, c.path,
					r.status, r.header.Get("Retry-After"), r.raw)
			}
		}
		if r := do(t, srv, "GET", "/healthz", ""); r.status != 200 {
			t.Fatalf("%s: healthz %d", step, r.status)
		}
	}
	serving("before")

	// 1. A transaction holds the users table past the request timeout.
	blocker, err := asSuperuser.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(`LOCK TABLE users IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	unavailable("table locked", srv)
	if r := do(t, srv, "GET", "/readyz", ""); !strings.Contains(r.raw, "did not answer in time") {
		t.Errorf("readyz behind a lock: %s", r.raw)
	}
	if err := blocker.Rollback(); err != nil {
		t.Fatal(err)
	}
	serving("lock released")

	// 2. The server's role loses its privileges on the tables.
	revoke := func(q string) {
		t.Helper()
		if _, err := asSuperuser.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	revoke(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ` + name)
	unavailable("privileges revoked", srv)
	revoke(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + name)
	serving("privileges granted again")

	// 3. The database is dropped (its connections terminated), then recreated empty.
	asSuperuser.Close()
	exec(`DROP DATABASE ` + name + ` WITH (FORCE)`)
	unavailable("database dropped", srv)
	exec(`CREATE DATABASE ` + name + ` OWNER ` + name)
	unavailable("database recreated empty", srv)
	if r := do(t, srv, "GET", "/readyz", ""); !strings.Contains(r.raw, "unavailable") {
		t.Errorf("readyz of an empty database: %s", r.raw)
	}
	// "townsquare migrate", from another process.
	mig, err := sqlstore.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := mig.MigrateCount(ctx); err != nil || n == 0 {
		t.Fatalf("migrate: %d, %v", n, err)
	}
	mig.Close()
	if r := do(t, srv, "GET", "/readyz", ""); r.status != 200 {
		t.Fatalf("readyz after migrate: %d %s", r.status, r.raw)
	}
	// The data is gone, which the IdP learns by 404, and provisioning starts again.
	wantError(t, do(t, srv, "GET", "/scim/v2/Users/"+id, ""), 404, "")
	if r := do(t, srv, "POST", "/scim/v2/Users", aliceJSON); r.status != 201 {
		t.Fatalf("create after recovery: %d %s", r.status, r.raw)
	}
	if r := do(t, srv, "GET", "/api/v1/teams", ""); r.status != 200 || !strings.Contains(r.raw, `"everyone"`) && !strings.Contains(r.raw, `"member_count":1`) {
		t.Fatalf("teams after recovery: %d %s", r.status, r.raw)
	}
	if v, err := st.CheckInvariants(ctx); err != nil || len(v) > 0 {
		t.Fatalf("invariants after recovery: %v %v", v, err)
	}
}

// The request deadline must end before the server's WriteTimeout cuts an answer off, so
// Handler takes MaxRequestTimeout and refuses anything longer.
func TestRequestTimeoutBound(t *testing.T) {
	s := sqltest.Open(t, sqltest.Backends(t)[0])
	for _, c := range []struct {
		timeout time.Duration
		ok      bool
	}{
		{server.MaxRequestTimeout, true},
		{server.MaxRequestTimeout + time.Nanosecond, false},
	} {
		_, err := server.Handler(server.Config{Store: s, RequestTimeout: c.timeout})
		if (err == nil) != c.ok {
			t.Errorf("RequestTimeout %s: err %v, want ok %v", c.timeout, err, c.ok)
		}
	}
	if server.MaxRequestTimeout >= server.WriteTimeout {
		t.Fatalf("MaxRequestTimeout %s must be below WriteTimeout %s", server.MaxRequestTimeout, server.WriteTimeout)
	}
}
