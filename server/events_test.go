package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

type eventsPage struct {
	Events []server.EventJSON `json:"events"`
	Next   int64              `json:"next"`
}

func eventsOf(t *testing.T, r response) eventsPage {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("events: %d %s", r.status, r.raw)
	}
	var p eventsPage
	if err := json.Unmarshal([]byte(r.raw), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// GET /api/v1/events: the journal over HTTP, with the actor being the token's name and
// the request id the request's, the account named by id, username or email, and every
// parameter's edges.
func TestEventsAPI(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		idp := storedToken(t, s, "okta-prod", store.ScopeSCIM)
		reader := storedToken(t, s, "auditor", store.ScopeAdminRead)
		r := do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"alice@example.com","name":{"givenName":"Alice"},"emails":[{"value":"Alice@Example.com","primary":true}]}`,
			"Authorization", idp, "X-Request-Id", "req-42")
		alice := scimCreate(t, r)
		bob := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob"}`))

		all := eventsOf(t, do(t, srv, "GET", "/api/v1/events", "", "Authorization", reader))
		if len(all.Events) < 8 || all.Next != all.Events[len(all.Events)-1].Cursor {
			t.Fatalf("journal: %d entries, next %d", len(all.Events), all.Next)
		}
		// The first create made the default team: team.created and channel.created come
		// first, then the account's entries.
		var created server.EventJSON
		for _, e := range all.Events {
			if e.Kind == "account.created" {
				created = e
				break
			}
		}
		tm, err := time.Parse(time.RFC3339, created.Time)
		if created.Kind != "account.created" || created.Actor != "okta-prod" || created.RequestID != "req-42" ||
			created.Account != alice || created.Username != "alice" || err != nil || time.Since(tm) > time.Minute ||
			created.After["first_name"] != "Alice" || created.After["email"] != "alice@example.com" || created.Before == nil {
			t.Fatalf("first entry: %+v (time: %v)", created, err)
		}
		// The raw shape: snake_case keys, before/after objects.
		raw := do(t, srv, "GET", "/api/v1/events?limit=1&account=alice", "", "Authorization", reader).raw
		for _, key := range []string{`"cursor":`, `"time":"`, `"kind":"account.created"`, `"actor":"okta-prod"`, `"request_id":"req-42"`,
			`"account":"` + alice + `"`, `"username":"alice"`, `"team":""`, `"channel":""`, `"source":""`, `"before":{}`, `"after":{`, `"next":`} {
			if !strings.Contains(raw, key) {
				t.Fatalf("body %s lacks %s", raw, key)
			}
		}
		// The bootstrap token's requests are its own actor.
		for _, e := range all.Events {
			if e.Account == bob && e.Actor != server.BootstrapTokenName {
				t.Fatalf("bob's entry %s: actor %q", e.Kind, e.Actor)
			}
		}
		// Resuming: after each entry, limit 2.
		for i, e := range all.Events[:len(all.Events)-2] {
			p := eventsOf(t, do(t, srv, "GET", fmt.Sprintf("/api/v1/events?after=%d&limit=2", e.Cursor), "", "Authorization", reader))
			if len(p.Events) != 2 || p.Events[0].Cursor != all.Events[i+1].Cursor || p.Next != all.Events[i+2].Cursor {
				t.Fatalf("after entry %d: %+v", i, p)
			}
		}
		// Past the end: empty, next = after.
		end := all.Next
		p := eventsOf(t, do(t, srv, "GET", fmt.Sprintf("/api/v1/events?after=%d", end), "", "Authorization", reader))
		if len(p.Events) != 0 || p.Next != end || !strings.Contains(do(t, srv, "GET", fmt.Sprintf("/api/v1/events?after=%d", end), "").raw, `"events":[]`) {
			t.Fatalf("past the end: %+v", p)
		}
		// The account, by id, username and email (any case).
		for _, key := range []string{alice, "alice", "ALICE", "alice@example.com", "Alice@Example.COM"} {
			p := eventsOf(t, do(t, srv, "GET", "/api/v1/events?account="+key, ""))
			if len(p.Events) != 4 {
				t.Fatalf("account=%s: %d entries", key, len(p.Events))
			}
			for _, e := range p.Events {
				if e.Account != alice {
					t.Fatalf("account=%s: an entry of %s", key, e.Account)
				}
			}
		}
		wantAdminError(t, do(t, srv, "GET", "/api/v1/events?account=nobody", ""), 404, `no account with the id, username or email "nobody"`)
		wantAdminError(t, do(t, srv, "GET", "/api/v1/events?account="+strings.Repeat("x", store.MaxNameLength+1), ""), 400, "account")
		// Limits: 0 is the default page, 1 and 1000 are taken, 1001 is not.
		for _, c := range []struct {
			q    string
			want int
		}{{"limit=0", len(all.Events)}, {"limit=1", 1}, {"limit=1000", len(all.Events)}, {"after=0", len(all.Events)}, {"", len(all.Events)}} {
			if p := eventsOf(t, do(t, srv, "GET", "/api/v1/events?"+c.q, "")); len(p.Events) != c.want {
				t.Fatalf("%s: %d entries, want %d", c.q, len(p.Events), c.want)
			}
		}
		for _, q := range []string{"limit=1001", "limit=-1", "limit=x", "after=-1", "after=1.5", "after=99999999999999999999", "limit=1e3"} {
			wantAdminError(t, do(t, srv, "GET", "/api/v1/events?"+q, ""), 400, strings.Split(q, "=")[0]+" must be an integer")
		}
		// Auth and scopes.
		if r := do(t, srv, "GET", "/api/v1/events", "", "Authorization", ""); r.status != 401 {
			t.Fatalf("no token: %d", r.status)
		}
		wantAdminError(t, do(t, srv, "GET", "/api/v1/events", "", "Authorization", idp), 403, `lacks the scope "admin:read"`)
		wantAdminError(t, do(t, srv, "POST", "/api/v1/events", "", "Authorization", reader), 403, `lacks the scope "admin:write"`)
	})
}

// The default page is store.DefaultEventPage entries.
func TestEventsAPIDefaultPage(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		for i := range store.DefaultEventPage + 1 {
			if err := s.AppendEvent(t.Context(), store.Event{Kind: store.EventMattermostDryRun, Source: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if p := eventsOf(t, do(t, srv, "GET", "/api/v1/events", "")); len(p.Events) != store.DefaultEventPage {
			t.Fatalf("%d entries", len(p.Events))
		}
	})
}
