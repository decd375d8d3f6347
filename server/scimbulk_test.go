package server_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// bulkBody is a BulkRequest with the given operations (JSON objects) and members.
func bulkBody(extra string, ops ...string) string {
	if extra != "" {
		extra += ","
	}
	return `{"schemas":["` + resources.BulkRequestSchema + `"],` + extra + `"Operations":[` + strings.Join(ops, ",") + `]}`
}

func postUserOp(bulkID, userName, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"method":"POST","path":"/Users","bulkId":"` + bulkID + `","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `"` + extra + `}}`
}

// bulkResults are the Operations of a BulkResponse, after checking its envelope.
func bulkResults(t *testing.T, r response) []map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("bulk: %d %s", r.status, r.raw)
	}
	if s, _ := r.body["schemas"].([]any); len(s) != 1 || s[0] != resources.BulkResponseSchema {
		t.Fatalf("BulkResponse schemas: %s", r.raw)
	}
	var out []map[string]any
	ops, ok := r.body["Operations"].([]any)
	if !ok {
		t.Fatalf("no Operations: %s", r.raw)
	}
	for _, o := range ops {
		out = append(out, o.(map[string]any))
	}
	return out
}

// wantStatuses checks each result's status (a string, as in RFC 7644's examples) and,
// for a failure, that its response is a SCIM error of the same status.
func wantStatuses(t *testing.T, res []map[string]any, raw string, want ...string) {
	t.Helper()
	if len(res) != len(want) {
		t.Fatalf("%d results, want %d: %s", len(res), len(want), raw)
	}
	for i, w := range want {
		st, _ := res[i]["status"].(string)
		if st != w {
			t.Errorf("operation %d: status %v, want %s: %s", i+1, res[i]["status"], w, raw)
			continue
		}
		resp, _ := res[i]["response"].(map[string]any)
		if w[0] >= '4' {
			if resp == nil || resp["status"] != w || resp["detail"] == nil {
				t.Errorf("operation %d: response %v is not the SCIM error %s", i+1, res[i]["response"], w)
			}
		} else if resp != nil {
			t.Errorf("operation %d: a success carries a response: %v", i+1, resp)
		}
	}
}

func scimTypeOf(res map[string]any) string {
	resp, _ := res["response"].(map[string]any)
	s, _ := resp["scimType"].(string)
	return s
}

func detailOf(res map[string]any) string {
	resp, _ := res["response"].(map[string]any)
	s, _ := resp["detail"].(string)
	return s
}

func TestBulk(t *testing.T) {
	type env struct {
		t   *testing.T
		srv *httptest.Server
		s   *sqlstore.Store
	}
	bulk := func(e env, body string) []map[string]any {
		e.t.Helper()
		r := do(e.t, e.srv, "POST", "/scim/v2/Bulk", body)
		res := bulkResults(e.t, r)
		return res
	}
	createUser := func(e env, name string) (id, version string) {
		e.t.Helper()
		r := do(e.t, e.srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`"}`)
		if r.status != 201 {
			e.t.Fatalf("create %s: %d %s", name, r.status, r.raw)
		}
		return r.body["id"].(string), r.header.Get("ETag")
	}
	userExists := func(e env, name string) bool {
		e.t.Helper()
		r := do(e.t, e.srv, "GET", `/scim/v2/Users?filter=userName%20eq%20%22`+name+`%22`, "")
		return r.body["totalResults"] == 1.0
	}
	cases := []struct {
		name string
		run  func(e env)
	}{
		{"a user→group chain resolves bulkIds in data and path", func(e env) {
			res := bulkResults(e.t, do(e.t, e.srv, "POST", "/scim/v2/Bulk", bulkBody("",
				postUserOp("u1", "chain1@example.com", `"password":"s3cret!"`),
				postUserOp("u2", "chain2@example.com", ""),
				`{"method":"POST","path":"/Groups","bulkId":"g","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
				  "displayName":"Chained","members":[{"value":"bulkId:u1"},{"value":"bulkId:u2"}]}}`,
				`{"method":"PATCH","path":"/Groups/bulkId:g","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				  "Operations":[{"op":"remove","path":"members","value":[{"value":"bulkId:u2"}]},{"op":"replace","path":"displayName","value":"Chained Renamed"}]}}`,
				`{"method":"PUT","path":"/Users/bulkId:u2","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"chain2@example.com","title":"Put"}}`,
			), server.RequestIDHeader, "bulk-chain-1"))
			raw := fmt.Sprint(res)
			wantStatuses(e.t, res, raw, "201", "201", "201", "204", "200")
			var ids []string
			for i, r := range res[:3] {
				loc, _ := r["location"].(string)
				if r["method"] != "POST" || r["bulkId"] == nil || !strings.HasPrefix(loc, e.srv.URL+"/scim/v2/") || r["version"] != `W/"1"` {
					e.t.Fatalf("result %d: %v", i+1, r)
				}
				ids = append(ids, loc[strings.LastIndexByte(loc, '/')+1:])
			}
			if res[3]["location"] != e.srv.URL+"/scim/v2/Groups/"+ids[2] || res[4]["location"] != e.srv.URL+"/scim/v2/Users/"+ids[1] {
				e.t.Fatalf("locations of the operations on references: %v", raw)
			}
			if res[3]["version"] != `W/"2"` || res[4]["version"] != `W/"2"` {
				e.t.Fatalf("versions after PATCH and PUT: %v", raw)
			}
			g := do(e.t, e.srv, "GET", "/scim/v2/Groups/"+ids[2], "")
			members, _ := g.body["members"].([]any)
			if g.body["displayName"] != "Chained Renamed" || len(members) != 1 || members[0].(map[string]any)["value"] != ids[0] {
				e.t.Fatalf("the group the chain made: %s", g.raw)
			}
			if u := do(e.t, e.srv, "GET", "/scim/v2/Users/"+ids[1], ""); u.body["title"] != "Put" {
				e.t.Fatalf("PUT through a reference: %s", u.raw)
			}
			// The operations ran with the bulk request's context: its token and request id
			// are in the journal's entries of what they did.
			events, err := e.s.Events(e.t.Context(), store.EventQuery{Limit: store.MaxEventPage, Account: ids[0]})
			created := 0
			for _, ev := range events {
				if ev.Account == ids[0] && ev.Kind == store.EventAccountCreated {
					created++
					if ev.Actor != server.BootstrapTokenName || ev.RequestID != "bulk-chain-1" {
						e.t.Errorf("journal entry of a bulk operation: actor %q, request id %q", ev.Actor, ev.RequestID)
					}
				}
			}
			if err != nil || created != 1 {
				e.t.Fatalf("%d account.created entries for the bulk-created user: %v", created, err)
			}
			// The single request's rules held: the password is kept as an argon2id hash.
			var hash string
			if err := e.s.DB().Get(&hash, e.s.DB().Rebind(`SELECT password_hash FROM users WHERE id = ?`), ids[0]); err != nil || !strings.HasPrefix(hash, "$argon2id$") {
				e.t.Fatalf("password of a bulk-created user: %q %v", hash, err)
			}
		}},
		{"a failing operation among successes; the others commit", func(e env) {
			createUser(e, "taken@example.com")
			res := bulk(e, bulkBody("",
				postUserOp("a", "ok1@example.com", ""),
				postUserOp("b", "TAKEN@example.com", ""),
				postUserOp("c", "ok2@example.com", ""),
				`{"method":"DELETE","path":"/Users/no-such-id"}`,
			))
			wantStatuses(e.t, res, fmt.Sprint(res), "201", "409", "201", "404")
			if scimTypeOf(res[1]) != "uniqueness" || res[1]["location"] != nil || res[1]["bulkId"] != "b" {
				e.t.Fatalf("the failed POST: %v", res[1])
			}
			if res[3]["location"] == nil {
				e.t.Fatalf("a failed DELETE still has its location (RFC 7644 §3.7): %v", res[3])
			}
			if !userExists(e, "ok1@example.com") || !userExists(e, "ok2@example.com") {
				e.t.Fatal("the operations around the failure did not commit")
			}
		}},
		{"failOnErrors=1 stops at the first error", func(e env) {
			res := bulk(e, bulkBody(`"failOnErrors":1`,
				postUserOp("a", "first@example.com", ""),
				postUserOp("b", "", ""),
				postUserOp("c", "never@example.com", ""),
			))
			wantStatuses(e.t, res, fmt.Sprint(res), "201", "400")
			if userExists(e, "never@example.com") {
				e.t.Fatal("an operation after failOnErrors was reached ran")
			}
		}},
		{"failOnErrors=2 accepts one error, stops at the second", func(e env) {
			res := bulk(e, bulkBody(`"failOnErrors":2`,
				postUserOp("a", "", ""),
				postUserOp("b", "second@example.com", ""),
				`{"method":"DELETE","path":"/Users/nope"}`,
				postUserOp("c", "never2@example.com", ""),
			))
			wantStatuses(e.t, res, fmt.Sprint(res), "400", "201", "404")
			if userExists(e, "never2@example.com") {
				e.t.Fatal("an operation after failOnErrors was reached ran")
			}
		}},
		{"unresolved, forward, failed and circular references", func(e env) {
			group := func(bulkID, member string) string {
				return `{"method":"POST","path":"/Groups","bulkId":"` + bulkID + `","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"` +
					bulkID + `","members":[{"value":"bulkId:` + member + `"}]}}`
			}
			manager := func(bulkID, name, mgr string) string {
				return postUserOp(bulkID, name, `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"bulkId:`+mgr+`"}}`)
			}
			res := bulk(e, bulkBody("",
				group("g1", "nobody"), // no such bulkId
				group("g2", "later"),  // defined later
				postUserOp("later", "later@example.com", ""),
				postUserOp("bad", "", ""),             // fails
				group("g3", "bad"),                    // refers to the failure
				manager("m1", "m1@example.com", "m2"), // m1 → m2 → m1
				manager("m2", "m2@example.com", "m1"),
				manager("self", "self@example.com", "self"),
				`{"method":"DELETE","path":"/Groups/bulkId:nobody"}`,
			))
			raw := fmt.Sprint(res)
			wantStatuses(e.t, res, raw, "400", "409", "201", "400", "409", "409", "409", "409", "400")
			for i, want := range map[int]string{0: "names no POST", 1: "comes later", 4: "failed", 5: "circular", 6: "failed", 7: "circular"} {
				if !strings.Contains(detailOf(res[i]), want) {
					e.t.Errorf("operation %d: detail %q, want %q", i+1, detailOf(res[i]), want)
				}
			}
			for _, name := range []string{"m1@example.com", "m2@example.com", "self@example.com"} {
				if userExists(e, name) {
					e.t.Errorf("%s was created despite its unresolved reference", name)
				}
			}
		}},
		{"version is the operation's If-Match", func(e env) {
			id, etag := createUser(e, "versioned@example.com")
			patch := func(version, title string) string {
				return `{"method":"PATCH","path":"/Users/` + id + `","version":` + version + `,"data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				  "Operations":[{"op":"replace","path":"title","value":"` + title + `"}]}}`
			}
			q, _ := json.Marshal(etag)
			res := bulk(e, bulkBody("", patch(`"W/\"99\""`, "Stale"), patch(string(q), "Fresh"), patch(string(q), "Lost"),
				`{"method":"DELETE","path":"/Users/`+id+`","version":`+string(q)+`}`))
			wantStatuses(e.t, res, fmt.Sprint(res), "412", "200", "412", "412")
			if res[1]["version"] != `W/"2"` || scimTypeOf(res[0]) != "preconditionFailed" {
				e.t.Fatalf("%v", res)
			}
			if u := do(e.t, e.srv, "GET", "/scim/v2/Users/"+id, ""); u.body["title"] != "Fresh" {
				e.t.Fatalf("after the versioned PATCHes: %s", u.raw)
			}
		}},
		{"each operation's method, path, bulkId and data are checked", func(e env) {
			id, _ := createUser(e, "target@example.com")
			res := bulk(e, bulkBody("",
				`{"method":"GET","path":"/Users/`+id+`"}`,
				`{"method":"POST","path":"/Schemas","bulkId":"s","data":{}}`,
				`{"method":"POST","path":"/Bulk","bulkId":"b","data":{}}`,
				`{"method":"POST","path":"/Users/.search","bulkId":"q","data":{}}`,
				`{"method":"DELETE","path":"/Users/`+id+`/extra"}`,
				`{"method":"DELETE","path":"/Users/`+id+`?x=1"}`,
				`{"method":"POST","path":"/Users","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"nobulkid@example.com"}}`,
				`{"method":"POST","path":"/Users/`+id+`","bulkId":"p","data":{}}`,
				`{"method":"PUT","path":"/Users","data":{}}`,
				`{"method":"PATCH","path":"/Users/`+id+`"}`,
				`{"method":"POST","path":"/Users","bulkId":"big","data":{"userName":"`+strings.Repeat("x", resources.MaxBulkOperationBytes)+`"}}`,
				`{"method":"delete","path":"users/`+id+`"}`,
			))
			raw := fmt.Sprint(res)
			wantStatuses(e.t, res, raw, "400", "400", "400", "400", "400", "400", "400", "405", "405", "400", "413", "204")
			if res[11]["method"] != "DELETE" {
				e.t.Fatalf("the method is answered as RFC 7644 spells it: %v", res[11])
			}
			if userExists(e, "nobulkid@example.com") {
				e.t.Fatal("a POST without bulkId ran")
			}
		}},
		{"an operation's data at the single request's limit is not 413", func(e env) {
			data := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"edge@example.com","title":"`
			data += strings.Repeat("t", resources.MaxBulkOperationBytes-len(data)-2) + `"}`
			res := bulk(e, bulkBody("", `{"method":"POST","path":"/Users","bulkId":"e","data":`+data+`}`))
			if len(data) != resources.MaxBulkOperationBytes || len(res) != 1 || res[0]["status"] == "413" {
				e.t.Fatalf("%d bytes: %v", len(data), res)
			}
		}},
		{"the request as a whole", func(e env) {
			wantError(e.t, do(e.t, e.srv, "POST", "/scim/v2/Bulk", `{"Operations":`), 400, "invalidSyntax")
			wantError(e.t, do(e.t, e.srv, "POST", "/scim/v2/Bulk", `{"schemas":["`+resources.BulkResponseSchema+`"],"Operations":[]}`), 400, "invalidSyntax")
			wantError(e.t, do(e.t, e.srv, "POST", "/scim/v2/Bulk", `{"schemas":["`+resources.BulkRequestSchema+`"]}`), 400, "invalidSyntax")
			wantError(e.t, do(e.t, e.srv, "POST", "/scim/v2/Bulk", bulkBody(`"failOnErrors":-1`)), 400, "invalidValue")
			wantError(e.t, do(e.t, e.srv, "POST", "/scim/v2/Bulk", bulkBody(`"failOnErrors":"x"`)), 400, "invalidSyntax")
			wantError(e.t, do(e.t, e.srv, "POST", "/scim/v2/Bulk", bulkBody("",
				postUserOp("same", "d1@example.com", ""), postUserOp("same", "d2@example.com", ""))), 400, "uniqueness")
			wantError(e.t, do(e.t, e.srv, "POST", "/scim/v2/Bulk", bulkBody("",
				postUserOp(strings.Repeat("b", resources.MaxBulkIDLength+1), "long@example.com", ""))), 400, "invalidValue")
			wantStatuses(e.t, bulk(e, bulkBody("", postUserOp(strings.Repeat("b", resources.MaxBulkIDLength), "long@example.com", ""))), "", "201")
			wantError(e.t, do(e.t, e.srv, "GET", "/scim/v2/Bulk", ""), 405, "")
			if userExists(e, "d1@example.com") {
				e.t.Fatal("a refused request ran an operation")
			}
			// An empty bulkId is none: two of them are not a duplicate.
			wantStatuses(e.t, bulk(e, bulkBody("", `{"method":"DELETE","bulkId":"","path":"/Users/x"}`,
				`{"method":"DELETE","bulkId":"","path":"/Users/y","data":{"members":[{"value":"bulkId:unread"}]}}`)), "", "404", "404")
			// Lower-case member names are read too (RFC 7643 §2.1), and no schemas.
			wantStatuses(e.t, bulk(e, `{"operations":[{"method":"DELETE","path":"/Groups/nope"}]}`), "", "404")
		}},
		{"maxOperations without a rate limit: 1000 pass, 1001 are 413", func(e env) {
			srv, _ := testServerWith(e.t, server.Config{Store: e.s}) // no limits
			op := `{"method":"DELETE","path":"/Users/none"}`
			ops := strings.Repeat(op+",", resources.MaxBulkOperations)
			ops = ops[:len(ops)-1]
			res := bulkResults(e.t, do(e.t, srv, "POST", "/scim/v2/Bulk", bulkBody("", ops)))
			if len(res) != resources.MaxBulkOperations || res[999]["status"] != "404" {
				e.t.Fatalf("%d results", len(res))
			}
			r := do(e.t, srv, "POST", "/scim/v2/Bulk", bulkBody("", ops+","+op))
			wantError(e.t, r, 413, "")
			if !strings.Contains(r.body["detail"].(string), "maxOperations (1000)") {
				e.t.Fatalf("the 413 must name the limit (RFC 7644 §3.7.4): %s", r.raw)
			}
		}},
		{"maxPayloadSize: its own limit, above the single request's", func(e env) {
			pad := func(body string, size int) string { return body + strings.Repeat(" ", size-len(body)) }
			body := bulkBody("", postUserOp("big", "bigbody@example.com", ""))
			res := bulkResults(e.t, do(e.t, e.srv, "POST", "/scim/v2/Bulk", pad(body, resources.MaxBulkPayloadBytes)))
			wantStatuses(e.t, res, "", "201")
			r := do(e.t, e.srv, "POST", "/scim/v2/Bulk", pad(body, resources.MaxBulkPayloadBytes+1))
			wantError(e.t, r, 413, "")
			if !strings.Contains(r.body["detail"].(string), fmt.Sprintf("maxPayloadSize (%d bytes)", resources.MaxBulkPayloadBytes)) {
				e.t.Fatalf("the 413 must name the limit (RFC 7644 §3.7.4): %s", r.raw)
			}
			// Every other path keeps the single request's limit.
			user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"single@example.com"}`
			wantError(e.t, do(e.t, e.srv, "POST", "/scim/v2/Users", pad(user, server.DefaultMaxBodyBytes+1)), 413, "")
		}},
		{"the discovery document advertises the limits", func(e env) {
			r := do(e.t, e.srv, "GET", "/scim/v2/ServiceProviderConfig", "")
			b, _ := r.body["bulk"].(map[string]any)
			// The default token burst (500) is below MaxBulkOperations: no bulk request
			// may cost more than a token can ever hold (TestBulkRateLimit).
			if b["supported"] != true || b["maxOperations"] != float64(server.DefaultLimits().TokenBurst) || b["maxPayloadSize"] != float64(resources.MaxBulkPayloadBytes) {
				e.t.Fatalf("bulk: %s", r.raw)
			}
			srv, _ := testServerWith(e.t, server.Config{Store: e.s}) // no limits
			b, _ = do(e.t, srv, "GET", "/scim/v2/ServiceProviderConfig", "").body["bulk"].(map[string]any)
			if b["maxOperations"] != float64(resources.MaxBulkOperations) {
				e.t.Fatalf("without a rate limit, bulk: %v", b)
			}
		}},
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				srv, _ := testServer(t, s)
				c.run(env{t, srv, s})
				if v, err := s.CheckInvariants(t.Context()); err != nil || len(v) > 0 {
					t.Fatalf("invariants: %v %v", v, err)
				}
			})
		}
	})
}

func TestBulkOperationLimitIsTheSingleRequestLimit(t *testing.T) {
	if resources.MaxBulkOperationBytes != server.DefaultMaxBodyBytes {
		t.Fatalf("an operation's data may hold %d bytes, a single request %d", resources.MaxBulkOperationBytes, server.DefaultMaxBodyBytes)
	}
}
