package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// logLines parses a JSON log.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// accessLines returns the access log's lines.
func accessLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range logLines(t, log) {
		if l["msg"] == "request" {
			out = append(out, l)
		}
	}
	return out
}

// TestRequestID: a request's X-Request-Id is honoured when it is short and of safe
// characters, replaced by a new one otherwise; either way it is echoed in the answer and
// logged with the client's address.
func TestRequestID(t *testing.T) {
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		for _, c := range []struct {
			name, sent string
			kept       bool
		}{
			{"none", "", false},
			{"safe", "okta-req_1.2:3", true},
			{"64 characters", strings.Repeat("a", 64), true},
			{"65 characters", strings.Repeat("a", 65), false},
			{"space", "a b", false},
			{"markup", "<script>", false},
			{"newline", "a\nrequest", false},
		} {
			t.Run(c.name, func(t *testing.T) {
				srv, logs := testServer(t, s)
				req, _ := http.NewRequest("GET", srv.URL+"/scim/v2/Users", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				if c.sent != "" {
					req.Header[server.RequestIDHeader] = []string{c.sent}
				}
				resp, err := srv.Client().Do(req)
				if c.name == "newline" && err != nil {
					return // the client refuses to send it: nothing to check
				}
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				got := resp.Header.Get(server.RequestIDHeader)
				if c.kept && got != c.sent {
					t.Fatalf("X-Request-Id %q, want the one sent, %q", got, c.sent)
				}
				if !c.kept && !generated.MatchString(got) {
					t.Fatalf("X-Request-Id %q, want a new 32-hex id (sent %q)", got, c.sent)
				}
				lines := accessLines(t, logs.String())
				if len(lines) != 1 || lines[0]["request_id"] != got {
					t.Fatalf("access log %v lacks request_id %q", lines, got)
				}
				if client, _ := lines[0]["client"].(string); !strings.HasPrefix(client, "127.0.0.1:") {
					t.Fatalf("access log client %q, want the peer's address", client)
				}
				if lines[0]["route"] != "/scim/v2/Users" {
					t.Fatalf("access log route %v", lines[0]["route"])
				}
			})
		}
	})
}

// TestEveryAnswerHasSecurityHeaders: SCIM, admin, health and unmatched answers, errors
// included, are not to be cached or sniffed.
func TestEveryAnswerHasSecurityHeaders(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		for _, c := range []struct{ method, path, auth string }{
			{"GET", "/scim/v2/Users", "Bearer " + token},
			{"GET", "/scim/v2/Users/nope", "Bearer " + token},
			{"GET", "/scim/v2/Groups", "Bearer " + token},
			{"GET", "/scim/v2/ServiceProviderConfig", "Bearer " + token},
			{"POST", "/scim/v2/Users", "Bearer " + token},
			{"GET", "/scim/v2/Users", ""},
			{"GET", "/api/v1/teams", "Bearer " + token},
			{"GET", "/api/v1/teams", ""},
			{"GET", "/healthz", ""},
			{"GET", "/readyz", ""},
			{"GET", "/elsewhere", ""},
		} {
			r := do(t, srv, c.method, c.path, "", "Authorization", c.auth)
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s (%d): Cache-Control %q, X-Content-Type-Options %q", c.method, c.path, r.status,
					r.header.Get("Cache-Control"), r.header.Get("X-Content-Type-Options"))
			}
		}
	})
}

// TestLogLinesAreBounded: a value a client chooses reaches the log cut to
// server.MaxLogValue: here a 100 KB path in the access log, and a 1 KiB userName in the
// error the store's failure logs. (TestBoundedHandler checks the cut itself.)
func TestLogLinesAreBounded(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, logs := testServer(t, s)
		if _, err := s.DB().Exec(`DROP TABLE user_emails`); err != nil { // reads of users fail, naming the id
			t.Fatal(err)
		}
		wantError(t, do(t, srv, "GET", "/scim/v2/Users/"+strings.Repeat("p", 100_000), ""), 404, "")
		// The longest userName there is (store.MaxNameLength characters) of 4-byte characters: 1 KiB in
		// the store's error, which names it.
		long := strings.Repeat("𝔭", store.MaxNameLength)
		wantError(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"`+long+`","emails":[{"value":"p@example.com"}]}`), 503, "")
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		cut := 0
		for _, l := range lines {
			if len(l) > 2048 {
				t.Errorf("a log line of %d bytes: %.300s…", len(l), l)
			}
			if strings.Contains(l, "bytes cut]") {
				cut++
			}
		}
		if cut != 2 {
			t.Fatalf("%d lines cut, want the access line and the store's error: %s", cut, logs.String())
		}
	})
}

// scrape reads the metrics m serves.
func scrape(t *testing.T, m *server.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(server.MetricsHandler(m))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	if other, err := http.Get(srv.URL + "/scim/v2/Users"); err != nil || other.StatusCode != 404 {
		t.Fatalf("the metrics listener serves more than /metrics: %v %v", other, err)
	}
	return string(body)
}

// TestMetrics: requests by route template, method and status with their latency, auth
// failures, rate-limit rejections, provisioning events and the pool's statistics.
func TestMetrics(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		m := server.NewMetrics()
		m.WatchDB(s.DB().DB, s.Backend())
		srv, _ := testServerWith(t, server.Config{Store: s, Metrics: m})
		alice := do(t, srv, "POST", "/scim/v2/Users", aliceJSON)
		bob := do(t, srv, "POST", "/scim/v2/Users", strings.Replace(aliceJSON, "Alice@", "Bob@", 1))
		if alice.status != 201 || bob.status != 201 {
			t.Fatalf("creates: %d %d", alice.status, bob.status)
		}
		aliceID, bobID := alice.body["id"].(string), bob.body["id"].(string)
		do(t, srv, "GET", "/scim/v2/Users/nope-1", "")
		do(t, srv, "GET", "/scim/v2/Users/nope-2", "")
		do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", "")
		do(t, srv, "GET", "/scim/v2/Users", "", "Authorization", "Bearer wrong")
		deactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
		if r := do(t, srv, "PATCH", "/scim/v2/Users/"+aliceID, deactivate); r.status != 200 {
			t.Fatalf("deactivate: %d %s", r.status, r.raw)
		}
		do(t, srv, "PATCH", "/scim/v2/Users/"+aliceID, deactivate) // already inactive: no event
		if r := do(t, srv, "PUT", "/scim/v2/Users/"+aliceID, strings.Replace(aliceJSON, `"active":true`, `"active":"True"`, 1)); r.status != 200 {
			t.Fatalf("reactivate: %d %s", r.status, r.raw)
		}
		g := do(t, srv, "POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng","members":[{"value":"`+aliceID+`"}]}`)
		if g.status != 201 {
			t.Fatalf("group: %d %s", g.status, g.raw)
		}
		gid := g.body["id"].(string)
		if r := do(t, srv, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"add","path":"members","value":[{"value":"`+bobID+`"}]},{"op":"remove","path":"members[value eq \"`+aliceID+`\"]"}]}`); r.status != 204 {
			t.Fatalf("member patch: %d %s", r.status, r.raw)
		}
		if r := do(t, srv, "PUT", "/scim/v2/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng","members":[]}`); r.status != 200 {
			t.Fatalf("group put: %d %s", r.status, r.raw)
		}
		do(t, srv, "DELETE", "/scim/v2/Groups/"+gid, "")
		do(t, srv, "DELETE", "/scim/v2/Users/"+bobID, "")
		do(t, srv, "GET", "/elsewhere/"+aliceID, "")
		m.RateLimited("token")

		out := scrape(t, m)
		for _, want := range []string{
			`townsquare_http_requests_total{method="POST",route="/scim/v2/Users",status="201"} 2`,
			`townsquare_http_requests_total{method="GET",route="/scim/v2/Users/{id}",status="404"} 2`,
			`townsquare_http_requests_total{method="GET",route="/scim/v2/Users",status="401"} 2`,
			`townsquare_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`townsquare_http_request_duration_seconds_count{method="GET",route="/scim/v2/Users/{id}"} 2`,
			`townsquare_auth_failures_total{reason="missing"} 1`,
			`townsquare_auth_failures_total{reason="invalid"} 1`,
			`townsquare_rate_limited_total{limit="token"} 1`,
			`townsquare_provisioning_events_total{event="user_created"} 2`,
			`townsquare_provisioning_events_total{event="user_deactivated"} 1`,
			`townsquare_provisioning_events_total{event="user_reactivated"} 1`,
			`townsquare_provisioning_events_total{event="user_deleted"} 1`,
			`townsquare_provisioning_events_total{event="group_created"} 1`,
			`townsquare_provisioning_events_total{event="group_deleted"} 1`,
			`townsquare_provisioning_events_total{event="member_added"} 2`,
			`townsquare_provisioning_events_total{event="member_removed"} 1`,
			`townsquare_provisioning_events_total{event="members_replaced"} 1`,
			`go_sql_open_connections{db_name="` + s.Backend() + `"}`,
			`go_sql_wait_count_total{db_name="` + s.Backend() + `"}`,
			`go_goroutines `,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(out, aliceID) || strings.Contains(out, "nope-1") {
			t.Error("a raw path is a label value")
		}
	})
}
