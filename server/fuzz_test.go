package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// FuzzRequest sends one request (a method, a request target with its query, a
// Content-Type, an If-Match, one more header line and a body) to the whole server
// (server.Handler) on every backend of the run, SQLite and PostgreSQL when
// TOWNSQUARE_TEST_DATABASE_URL is set, one store per backend for the whole run so that
// requests build on each other. It fails on any 5xx but 501 (what /Me answers by
// design), on a panic (recovered as a 500, or not), on backends answering
// differently, and on a provisioning rule broken after a write (CheckInvariants).
//
// In the target and the body, {user}, {group} and {other} stand for the ids of a user
// in a group, that group, and a user in none, made on each backend before the first
// request. The seed corpus holds every reproduction of issue 10's findings 1–6, so
// `make test` replays them; `make fuzz` searches further.
func FuzzRequest(f *testing.F) {
	for _, s := range requestSeeds() {
		f.Add(s.method, s.target, s.contentType, s.ifMatch, s.header, s.body)
	}
	type backend struct {
		name string
		h    http.Handler
		s    store.Store
		ids  *strings.Replacer
	}
	var backends []backend
	for _, b := range sqltest.Backends(f) {
		s := sqltest.Open(f, b)
		ctx := context.Background()
		u := store.User{UserName: "fuzz@example.com", ExternalID: "00ufuzz", Active: true,
			Emails: []store.MultiValue{{Value: "fuzz@example.com", Type: "work", Primary: true}}}
		other := store.User{UserName: "other@example.com", Active: true}
		for _, x := range []*store.User{&u, &other} {
			if err := s.CreateUser(ctx, x); err != nil {
				f.Fatal(err)
			}
		}
		g := store.Group{DisplayName: "Fuzzers", ExternalID: "00gfuzz"}
		if err := s.CreateGroup(ctx, &g, []string{u.ID}); err != nil {
			f.Fatal(err)
		}
		h, err := server.Handler(server.Config{Store: s, Log: slog.New(slog.DiscardHandler),
			BaseURL: "http://scim.test/scim/v2", BootstrapToken: token})
		if err != nil {
			f.Fatal(err)
		}
		backends = append(backends, backend{b.Name, h, s, strings.NewReplacer("{user}", u.ID, "{group}", g.ID, "{other}", other.ID)})
	}

	f.Fuzz(func(t *testing.T, method, target, contentType, ifMatch, header, body string) {
		var statuses []string
		for _, b := range backends {
			req, ok := rawRequest(method, b.ids.Replace(target), contentType, ifMatch, header, b.ids.Replace(body))
			if !ok {
				return // net/http would not have handed it to a handler
			}
			rec := httptest.NewRecorder()
			b.h.ServeHTTP(rec, req)
			if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
				t.Fatalf("%s: %s %.200q: %d %.300s", b.name, method, target, rec.Code, rec.Body.String())
			}
			statuses = append(statuses, fmt.Sprintf("%s %d", b.name, rec.Code))
			if req.Method != http.MethodGet && req.Method != http.MethodHead && rec.Code < 300 {
				v, err := b.s.CheckInvariants(context.Background())
				if err != nil || len(v) > 0 {
					t.Fatalf("%s: after %s %.200q (%d): invariants %v %v", b.name, method, target, rec.Code, v, err)
				}
			}
		}
		for _, s := range statuses[1:] {
			if s[strings.IndexByte(s, ' '):] != statuses[0][strings.IndexByte(statuses[0], ' '):] {
				t.Fatalf("%s %.200q: the backends answer differently: %v", method, target, statuses)
			}
		}
	})
}

// rawRequest reads the request as net/http's server does, from its bytes, and reports
// false for one the server would refuse before any handler ran.
func rawRequest(method, target, contentType, ifMatch, header, body string) (*http.Request, bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: scim.test\r\nAuthorization: Bearer %s\r\n", method, target, token)
	for _, h := range []struct{ name, value string }{{"Content-Type", contentType}, {"If-Match", ifMatch}} {
		if h.value != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
		}
	}
	if header != "" {
		b.WriteString(header + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	for _, part := range []string{method, target, contentType, ifMatch, header} {
		if strings.ContainsAny(part, "\r\n") {
			return nil, false // one request per input: no header or request smuggled in
		}
	}
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil {
		return nil, false
	}
	for _, vs := range req.Header {
		for _, v := range vs {
			if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
				return nil, false // net/http answers 400 to a header value with control bytes
			}
		}
	}
	if req.ContentLength != int64(len(body)) {
		return nil, false // the extra header line redefined the body's length
	}
	req.RemoteAddr = "192.0.2.1:4711"
	req.Body = io.NopCloser(strings.NewReader(body))
	return req, true
}

type requestSeed struct{ method, target, contentType, ifMatch, header, body string }

// requestSeeds are ordinary requests of every endpoint (the admin API's writes and
// login routes with their hostile inputs included), and every reproduction of issue 10's
// findings 1–6.
func requestSeeds() []requestSeed {
	const (
		ajson = "application/json"
		json  = "application/scim+json"
		user  = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"seed@example.com","name":{"givenName":"S"},"emails":[{"value":"seed@example.com","primary":true}]}`
		group = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Seeds","members":[{"value":"{other}"}]}`
	)
	patch := func(ops ...string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
	}
	list := func(n int, format string) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	deep := func(n int, f string) string { return strings.Repeat("(", n) + f + strings.Repeat(")", n) }
	bulk := func(members string, ops ...string) string {
		if members != "" {
			members += ","
		}
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],` + members + `"Operations":[` + strings.Join(ops, ",") + `]}`
	}
	seeds := []requestSeed{
		// Every endpoint, as IdPs use them.
		{"GET", "/scim/v2/Users?filter=userName%20eq%20%22fuzz@example.com%22", "", "", "", ""},
		{"GET", "/scim/v2/Users?startIndex=2&count=1&attributes=userName", "", "", "", ""},
		{"GET", "/scim/v2/Users/{user}", "", "", "", ""},
		{"POST", "/scim/v2/Users", json, "", "", user},
		{"PUT", "/scim/v2/Users/{other}", json, `W/"1"`, "", strings.Replace(user, "seed@", "other@", 1)},
		{"PATCH", "/scim/v2/Users/{user}", json, "", "", patch(`{"op":"replace","value":{"active":false}}`)},
		{"PATCH", "/scim/v2/Users/{user}", json, "", "", patch(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@example.com"}`)},
		{"DELETE", "/scim/v2/Users/{other}", "", "", "", ""},
		{"GET", "/scim/v2/Groups?filter=displayName%20eq%20%22Fuzzers%22&excludedAttributes=members", "", "", "", ""},
		{"POST", "/scim/v2/Users/.search", json, "", "", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName sw \"s\"","attributes":["userName"],"startIndex":1,"count":5}`},
		{"POST", "/scim/v2/Groups/.search", json, "", "", `{"filter":"members.value eq \"{user}\"","excludedAttributes":"members"}`},
		{"POST", "/scim/v2/.search", json, "", "", `{"filter":"externalId pr","startIndex":2,"count":1}`},
		{"GET", "/scim/v2/Users?cursor=AVUAAAAAAAAAAAE&count=1", "", "", "", ""},
		{"GET", "/scim/v2/Users?sortBy=name.familyName&sortOrder=descending&startIndex=2", "", "", "", ""},
		{"POST", "/scim/v2/.search", json, "", "", `{"cursor":"","count":1,"sortBy":"displayName"}`},
		{"GET", "/scim/v2/Groups/{group}", "", "", "", ""},
		{"POST", "/scim/v2/Groups", json, "", "", group},
		{"PUT", "/scim/v2/Groups/{group}", json, "", "", strings.Replace(group, "Seeds", "Fuzzers", 1)},
		{"PATCH", "/scim/v2/Groups/{group}", json, "", "", patch(`{"op":"add","path":"members","value":[{"value":"{other}"}]}`,
			`{"op":"remove","path":"members[value eq \"{user}\"]"}`)},
		// Nested groups: a group as a member (at creation, by PATCH, in a bulk request),
		// a group made a member of itself, and the filters over both kinds.
		{"POST", "/scim/v2/Groups", json, "", "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Nest","members":[{"value":"{group}","type":"Group"}]}`},
		{"PATCH", "/scim/v2/Groups/{group}", json, "", "", patch(`{"op":"add","path":"members","value":[{"value":"{group}","type":"Group"}]}`)},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk("", `{"method":"POST","path":"/Groups","bulkId":"p","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Parent","members":[{"value":"{group}","type":"Group"}]}}`,
			`{"method":"PATCH","path":"/Groups/{group}","data":`+patch(`{"op":"add","path":"members","value":[{"value":"bulkId:p","type":"Group"}]}`)+`}`,
			`{"method":"PATCH","path":"/Groups/bulkId:p","data":`+patch(`{"op":"remove","path":"members[value eq \"{group}\"]"}`)+`}`)},
		{"GET", "/scim/v2/Groups?filter=members%5Btype%20eq%20%22Group%22%5D", "", "", "", ""},
		{"GET", "/scim/v2/Users?filter=groups%5Btype%20eq%20%22indirect%22%5D&attributes=groups", "", "", "", ""},
		{"DELETE", "/scim/v2/Groups/{group}", "", "", "", ""},
		{"GET", "/scim/v2/ServiceProviderConfig", "", "", "", ""},
		{"GET", "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "", "", "", ""},
		{"GET", "/scim/v2/ResourceTypes", "", "", "", ""},
		{"POST", "/scim/v2/Bulk", json, "", "", `{}`},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk(`"failOnErrors":1`, `{"method":"POST","path":"/Users","bulkId":"u","data":`+user+`}`,
			`{"method":"POST","path":"/Groups","bulkId":"g","data":`+strings.Replace(group, "{other}", "bulkId:u", 1)+`}`,
			`{"method":"PATCH","path":"/Groups/bulkId:g","data":`+patch(`{"op":"add","path":"members","value":[{"value":"{user}"}]}`)+`}`,
			`{"method":"PUT","path":"/Users/bulkId:u","version":"W/\"1\"","data":`+user+`}`,
			`{"method":"DELETE","path":"/Groups/bulkId:g"}`)},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk("", `{"method":"PATCH","path":"/Users/{user}","version":"W/\"99\"","data":`+
			patch(`{"op":"replace","path":"title","value":"t"}`)+`}`, `{"method":"DELETE","path":"/Users/{other}"}`)},
		{"GET", "/api/v1/teams", "", "", "", ""},
		{"GET", "/api/v1/teams/everyone/members?limit=10&offset=0", "", "", "", ""},
		{"GET", "/api/v1/teams/everyone/channels/town-square/members", "", "", "", ""},
		{"GET", "/api/v1/accounts/{user}", "", "", "", ""},
		{"GET", "/healthz", "", "", "", ""},

		// The admin API's writes and the login routes (issue 13).
		{"GET", "/api/v1/accounts?term=fuzz&term=EXAMPLE&inactive=false&limit=5&offset=0", "", "", "", ""},
		{"POST", "/api/v1/accounts", ajson, "", "", `{"email":"seed2@example.com","username":"seed2","password":"Passw0rd!x","first_name":"S"}`},
		{"POST", "/api/v1/accounts", ajson, "", "", `{"email":"sso@example.com","username":"sso","auth_service":"saml","auth_data":"00usso"}`},
		{"GET", "/api/v1/accounts/seed2", "", "", "", ""},
		{"PATCH", "/api/v1/accounts/{other}", ajson, "", "", `{"nickname":"n","position":"p","auth_service":"saml","auth_data":"00uother"}`},
		{"PATCH", "/api/v1/accounts/sso@example.com", ajson, "", "", `{"username":"sso2","email":"sso2@example.com"}`},
		{"PUT", "/api/v1/accounts/{other}/active", ajson, "", "", `{"active":false}`},
		{"PUT", "/api/v1/accounts/{other}/active", ajson, "", "", `{"active":true}`},
		{"POST", "/api/v1/teams", ajson, "", "", `{"name":"seeds","display_name":"Seeds","private":true}`},
		{"POST", "/api/v1/teams", ajson, "", "", `{"name":"open-seeds"}`},
		{"POST", "/api/v1/teams/everyone/channels", ajson, "", "", `{"name":"seeds","private":true}`},
		{"POST", "/api/v1/teams/everyone/members", ajson, "", "", `{"account":"{user}"}`},
		{"POST", "/api/v1/teams/seeds/members", ajson, "", "", `{"account":"fuzz@example.com"}`},
		{"DELETE", "/api/v1/teams/seeds/members/fuzz?to_default=true", "", "", "", ""},
		{"DELETE", "/api/v1/teams/everyone/members/{user}", "", "", "", ""},
		{"POST", "/api/v1/teams/everyone/channels/seeds/members", ajson, "", "", `{"account":"{user}"}`},
		{"DELETE", "/api/v1/teams/everyone/channels/seeds/members/{user}", "", "", "", ""},
		{"DELETE", "/api/v1/teams/everyone/channels/town-square/members/{user}", "", "", "", ""},
		{"POST", "/api/v1/logins", ajson, "", "", `{"auth_service":"saml","auth_data":"00ufuzz","email":"fuzz@example.com","first_name":"F"}`},
		{"POST", "/api/v1/logins", ajson, "", "", `{"auth_service":"oidc","auth_data":"00unew","email":"new@example.com","groups":["x"]}`},
		{"POST", "/api/v1/accounts/{user}/teams/open-seeds", "", "", "", ""},
		{"POST", "/api/v1/accounts/{user}/teams/seeds", "", "", "", ""},
		{"PUT", "/api/v1/accounts/{user}/roles/system_admin", "", "", "", ""},
		{"DELETE", "/api/v1/accounts/{user}/roles/system_admin", "", "", "", ""},
		{"PUT", "/api/v1/accounts/{user}/roles/team_admin", "", "", "", ""},
		{"PUT", "/api/v1/teams/everyone/admins/{user}", ajson, "", "", `{}`},
		{"DELETE", "/api/v1/teams/everyone/admins/{user}", "", "", "", ""},
		{"PUT", "/api/v1/teams/everyone/channels/town-square/admins/{user}", "", "", "", ""},
		{"DELETE", "/api/v1/teams/everyone/channels/town-square/admins/fuzz@example.com", "", "", "", ""},
		{"PUT", "/api/v1/teams/everyone/admins/{user}", ajson, "", "", `{"role":"x"}`},
		{"DELETE", "/api/v1/accounts/seed2", "", "", "", ""},
		// Their hostile inputs: NUL, invalid UTF-8, long strings, numbers at the edge.
		{"GET", "/api/v1/accounts?term=%00", "", "", "", ""},
		{"GET", "/api/v1/accounts?term=%FF&team=%00", "", "", "", ""},
		{"GET", "/api/v1/accounts?term=" + strings.Repeat("a", 300), "", "", "", ""},
		{"GET", "/api/v1/accounts?" + strings.Repeat("term=a&", 11), "", "", "", ""},
		{"GET", "/api/v1/accounts?limit=99999999999999999999&offset=9223372036854775807", "", "", "", ""},
		{"GET", "/api/v1/accounts?offset=9223372036854775807", "", "", "", ""},
		{"POST", "/api/v1/accounts", ajson, "", "", `{"email":"a\u0000b@example.com","username":"nul","password":"Passw0rd!x"}`},
		{"POST", "/api/v1/accounts", ajson, "", "", "{\"email\":\"z@example.com\",\"username\":\"z\xff\",\"auth_service\":\"saml\",\"auth_data\":\"z\"}"},
		{"POST", "/api/v1/accounts", ajson, "", "", `{"email":"` + strings.Repeat("e", 300) + `@example.com","username":"long","auth_service":"s","auth_data":"` + strings.Repeat("d", 5000) + `"}`},
		{"POST", "/api/v1/teams", ajson, "", "", `{"name":"` + strings.Repeat("t", 300) + `","display_name":"\u0000"}`},
		{"POST", "/api/v1/teams/%FF/channels", ajson, "", "", `{"name":"c"}`},
		{"POST", "/api/v1/teams/everyone/channels", ajson, "", "", `{"name":"town-square"}`},
		{"PATCH", "/api/v1/accounts/%00", ajson, "", "", `{}`},
		{"PATCH", "/api/v1/accounts/{user}", ajson, "", "", `{"auth_data":"\u0000","username":"` + strings.Repeat("u", 100) + `"}`},
		{"POST", "/api/v1/teams/everyone/members", ajson, "", "", `{"account":"` + strings.Repeat("k", 5000) + `"}`},
		{"DELETE", "/api/v1/teams/%00/members/%FF", "", "", "", ""},
		{"POST", "/api/v1/logins", ajson, "", "", `{"auth_service":"saml","auth_data":"` + strings.Repeat("x", 5000) + `","email":"x@example.com"}`},
		{"POST", "/api/v1/logins", ajson, "", "", `{"auth_service":"saml","auth_data":"a\u0000","email":"\u0000"}`},
		{"POST", "/api/v1/accounts/%00/teams/%FF", "", "", "", ""},
		{"POST", "/api/v1/teams", "text/plain", "", "", `{"name":"x"}`},
		{"POST", "/api/v1/teams", ajson, "", "", `{"name":"x"}{"name":"y"}`},

		// Finding 1: filters nested until the parser overflowed the stack.
		{"GET", "/scim/v2/Users?filter=" + deep(100000, "userName%20pr"), "", "", "", ""},
		{"GET", "/scim/v2/Users?filter=" + deep(20000, "userName%20pr"), "", "", "", ""},
		{"GET", "/scim/v2/Groups?filter=" + deep(11, "displayName%20pr"), "", "", "", ""},
		{"GET", "/scim/v2/Users?filter=id%20eq%20%22x%22" + strings.Repeat("%20or%20id%20eq%20%22x%22", 100), "", "", "", ""},
		{"PATCH", "/scim/v2/Users/{user}", json, "", "", patch(`{"op":"replace","path":"emails[` + deep(100000, `type eq \"work\"`) + `].value","value":"x"}`)},
		{"PATCH", "/scim/v2/Groups/{group}", json, "", "", patch(`{"op":"remove","path":"members[` + deep(10, `value eq \"x\"`) + `]"}`)},

		// Finding 2: 10,000 email adds in one PATCH; 10,000 operations; Okta's 1,000 removes.
		{"PATCH", "/scim/v2/Users/{user}", json, "", "", patch(`{"op":"add","path":"emails","value":[` + list(10000, `{"value":"e%d@example.com"}`) + `]}`)},
		{"PATCH", "/scim/v2/Users/{user}", json, "", "", patch(list(10000, `{"op":"add","path":"emails","value":[{"value":"n%d@example.com"}]}`))},
		{"PATCH", "/scim/v2/Groups/{group}", json, "", "", patch(list(1000, `{"op":"remove","path":"members[value eq \"00000000-0000-0000-0000-%012d\"]"}`),
			`{"op":"add","path":"members","value":[{"value":"{other}"}]}`, `{"op":"replace","value":{"id":"{group}","displayName":"Fuzzers"}}`)},
		{"PATCH", "/scim/v2/Groups/{group}", json, "", "", patch(`{"op":"remove","path":"members","value":[` + list(10001, `{"value":"%d"}`) + `]}`)},

		// Finding 3: statements whose parameters grew with the input.
		{"POST", "/scim/v2/Users", json, "", "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"many@example.com","emails":[` +
			list(5000, `{"value":"m%d@example.com","type":"work"}`) + `]}`},
		{"GET", "/scim/v2/Users?filter=userName%20co%20%22" + strings.Repeat("%25", 60000) + "%22", "", "", "", ""},
		{"GET", "/scim/v2/Users?filter=userName%20co%20%22" + strings.Repeat("%25", 8178) + "%22", "", "", "", ""},

		// Finding 4: NUL, invalid UTF-8 and long strings in ids, strings and path segments.
		{"GET", "/scim/v2/Users/%00", "", "", "", ""},
		{"GET", "/scim/v2/Groups/%FF", "", "", "", ""},
		{"DELETE", "/scim/v2/Users/a%00b", "", "", "", ""},
		{"PATCH", "/scim/v2/Groups/%00", json, "", "", patch(`{"op":"remove","path":"members"}`)},
		{"POST", "/scim/v2/Users", json, "", "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a\u0000b"}`},
		{"POST", "/scim/v2/Users", json, "", "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + strings.Repeat("a", 2800) + `"}`},
		{"POST", "/scim/v2/Users", json, "", "", "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"a\xffb\"}"},
		{"PATCH", "/scim/v2/Users/{user}", json, "", "", patch(`{"op":"replace","path":"title","value":"\u0000"}`)},
		{"POST", "/scim/v2/Groups", json, "", "", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":[{"value":"\u0000"}]}`},
		{"PATCH", "/scim/v2/Groups/{group}", json, "", "", patch(`{"op":"add","path":"members","value":[{"value":"\u0000"}]}`)},
		{"PATCH", "/scim/v2/Groups/{group}", json, "", "", patch(`{"op":"remove","path":"members[value eq \"\u0000\"]"}`)},
		{"GET", "/scim/v2/Users?filter=userName%20eq%20%22a%00%22", "", "", "", ""},
		{"GET", "/scim/v2/Groups?filter=displayName%20sw%20%22%FF%22", "", "", "", ""},
		{"GET", "/api/v1/accounts/%00", "", "", "", ""},
		{"GET", "/api/v1/teams/%00/members", "", "", "", ""},
		{"GET", "/api/v1/teams/everyone/channels/%FF/members", "", "", "", ""},

		// Finding 5: trailing data; a body that is not JSON.
		{"POST", "/scim/v2/Users", json, "", "", user + `{}`},
		{"PATCH", "/scim/v2/Users/{user}", json, "", "", patch(`{"op":"replace","path":"title","value":"t"}`) + ` trailing`},
		{"POST", "/scim/v2/Users", "text/plain", "", "", user},
		{"PUT", "/scim/v2/Groups/{group}", "application/xml", "", "", group},

		// /Bulk (issue 15): references that resolve to nothing, forwards or in a circle,
		// operations the RFC does not allow, data of every shape, the limits' edges.
		{"POST", "/scim/v2/Bulk", json, "", "", bulk("",
			`{"method":"POST","path":"/Groups","bulkId":"a","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"A","members":[{"value":"bulkId:b"}]}}`,
			`{"method":"POST","path":"/Users","bulkId":"b","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"b@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"bulkId:b"}}}}`,
			`{"method":"DELETE","path":"/Users/bulkId:"}`, `{"method":"PUT","path":"/Users/bulkId:nope","data":{}}`,
			`{"method":"POST","path":"/Users","bulkId":"c","data":{"userName":"bulk\u0049d:a"}}`)},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk("",
			`{"method":"GET","path":"/Users"}`, `{"method":"POST","path":"/Bulk","bulkId":"x","data":{}}`,
			`{"method":"POST","path":"/Users/.search","bulkId":"s","data":{}}`, `{"method":"DELETE","path":"/Users/%00"}`,
			`{"method":"DELETE","path":"/Users/%zz"}`, `{"method":"DELETE","path":"/Users/a?b#c"}`, `{"method":"PATCH","path":"/Groups/{group}","data":null}`,
			`{"method":"POST","path":"/Users","bulkId":"n","data":[1,2]}`, `{"method":"POST","path":"/Users","bulkId":"`+strings.Repeat("i", 257)+`"}`,
			`{"method":"POST","path":"users","bulkId":"d","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+deep(1000, "x")+`"}}`)},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk(`"failOnErrors":1e99`)},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk(`"failOnErrors":1.5`)},
		{"POST", "/scim/v2/Bulk", json, "", "", `{"Operations":{}}`},
		{"POST", "/scim/v2/Bulk", json, "", "", `{"Operations":[null,1,"x",{"method":5}]}`},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk("", `{"method":"POST","path":"/Users","bulkId":"deep","data":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`}`)},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk("", list(1001, `{"method":"DELETE","path":"/Users/%d"}`))},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk("", list(1000, `{"method":"DELETE","path":"/Groups/%d"}`))},
		{"POST", "/scim/v2/Bulk", json, "", "", bulk("", list(50, `{"method":"POST","path":"/Users","bulkId":"u%[1]d","data":{"userName":"bulk%[1]d@example.com"}}`))},
		{"PUT", "/scim/v2/Bulk", json, "", "", bulk("")},

		// Finding 6: ids unescaped twice.
		{"GET", "/scim/v2/Groups/%2500", "", "", "", ""},
		{"PATCH", "/scim/v2/Groups/%2500", json, "", "", patch(`{"op":"remove","path":"members"}`)},
		{"DELETE", "/scim/v2/Users/%252500", "", "", "", ""},
	}
	return seeds
}
