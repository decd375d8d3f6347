package server_test

import (
	"testing"
	"time"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/server/connector"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// GET /api/v1/mattermost/status: the connector's status as the database holds it, for
// admin:read; the admin API's one error shape otherwise.
func TestMattermostStatusEndpoint(t *testing.T) {
	cfg, err := rules.Parse([]byte("mattermost:\n  url: https://chat.example.com\n  max_deactivations_per_hour: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		srv, _ := testServerWith(t, server.Config{Store: s, Limits: server.DefaultLimits(), Mattermost: cfg.Mattermost})
		if err := s.SetMMStatus(ctx, map[string]string{"state": "running", "holder": "replica-a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddDeadLetter(ctx, store.DeadLetter{AccountID: "acc-1", Call: "POST /api/v4/users", Status: 400,
			ErrorID: "app.user.save.email_exists.app_error", Message: "taken"}); err != nil {
			t.Fatal(err)
		}
		if err := s.HoldDeactivation(ctx, store.HeldDeactivation{AccountID: "acc-2", Username: "bob"}); err != nil {
			t.Fatal(err)
		}
		r := do(t, srv, "GET", server.MattermostStatusPath, "")
		if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d %s", r.status, r.raw)
		}
		if r.body["configured"] != true || r.body["state"] != "running" || r.body["holder"] != "replica-a" {
			t.Fatalf("body %s", r.raw)
		}
		dl := r.body["dead_letters"].(map[string]any)
		first := dl["first"].([]any)[0].(map[string]any)
		if dl["count"] != 1.0 || first["error_id"] != "app.user.save.email_exists.app_error" {
			t.Fatalf("dead letters %v", dl)
		}
		br := r.body["breaker"].(map[string]any)
		if br["limit"] != 3.0 || br["held"] != 1.0 || br["sent_last_hour"] != 0.0 {
			t.Fatalf("breaker %v", br)
		}
		if lag := r.body["lag"].(map[string]any); lag["entries"] != 0.0 {
			t.Fatalf("lag %v", lag)
		}

		// A holder whose heartbeat is old is shown stalled; a recent one, running.
		for _, c := range []struct {
			age  time.Duration
			want string
		}{{time.Second, "running"}, {connector.StallAfter + time.Second, "stalled"}} {
			if err := s.SetMMStatus(ctx, map[string]string{"heartbeat": time.Now().Add(-c.age).UTC().Format(time.RFC3339Nano)}); err != nil {
				t.Fatal(err)
			}
			if r := do(t, srv, "GET", server.MattermostStatusPath, ""); r.body["state"] != c.want {
				t.Fatalf("heartbeat %s ago: %s", c.age, r.raw)
			}
		}

		wantAdminError(t, do(t, srv, "POST", server.MattermostStatusPath, ""), 405, "allowed: GET")
		scimOnly := storedToken(t, s, "okta", store.ScopeSCIM)
		wantAdminError(t, do(t, srv, "GET", server.MattermostStatusPath, "", "Authorization", scimOnly), 403, "admin:read")
		wantAdminError(t, do(t, srv, "GET", server.MattermostStatusPath, "", "Authorization", ""), 401, "")
		reader := storedToken(t, s, "reader", store.ScopeAdminRead)
		if r := do(t, srv, "GET", server.MattermostStatusPath, "", "Authorization", reader); r.status != 200 {
			t.Fatalf("admin:read: %d %s", r.status, r.raw)
		}
		// Not configured: said so, with whatever an earlier run left.
		if err := s.CreateUser(ctx, &store.User{UserName: "lag@example.com", Active: true}); err != nil {
			t.Fatal(err) // entries in the journal that no connector delivers
		}
		srv2, _ := testServerWith(t, server.Config{Store: s, Limits: server.DefaultLimits()})
		r = do(t, srv2, "GET", server.MattermostStatusPath, "")
		if r.status != 200 || r.body["configured"] != false || r.body["state"] != "not_configured" {
			t.Fatalf("not configured: %d %s", r.status, r.raw)
		}
		// Nothing is delivered, so nothing lags, however long the journal.
		if lag := r.body["lag"].(map[string]any); lag["entries"] != 0.0 {
			t.Fatalf("not configured, yet a lag: %s", r.raw)
		}
	})
}
