package server_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// primaryOf lists the primary of each element of attr in a user body: true, false, or
// "-" where the element has none.
func primaryOf(t *testing.T, r response, attr string) string {
	t.Helper()
	l, _ := r.body[attr].([]any)
	var out []any
	for _, e := range l {
		p, ok := e.(map[string]any)["primary"]
		if !ok {
			p = "-"
		}
		out = append(out, p)
	}
	return fmt.Sprint(out)
}

// TestPrimaryFalseRoundTrip: a primary sent true, false or not at all on an email, a
// phone number or an address comes back as sent through POST, GET, PUT and PATCH (issue
// 15 item 8), and the list filters read a primary left out as false (RFC 7643 §2.4).
func TestPrimaryFalseRoundTrip(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		body := func(userName, emails, phones, addresses string) string {
			return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `",
				"emails":[` + emails + `],"phoneNumbers":[` + phones + `],"addresses":[` + addresses + `]}`
		}
		sent := body("pf@example.com",
			`{"value":"pf@work.example","type":"work","primary":true},{"value":"pf@home.example","type":"home","primary":false},{"value":"pf@other.example","type":"other"}`,
			`{"value":"+1 555","type":"work","primary":false},{"value":"+1 556","type":"mobile"}`,
			`{"locality":"Paris","type":"work","primary":false},{"locality":"Lyon","type":"home","primary":true}`)
		want := func(what string, r response, emails, phones, addresses string) {
			t.Helper()
			if r.status != 200 && r.status != 201 {
				t.Fatalf("%s: %d %s", what, r.status, r.raw)
			}
			for _, c := range [][2]string{{"emails", emails}, {"phoneNumbers", phones}, {"addresses", addresses}} {
				if got := primaryOf(t, r, c[0]); got != c[1] {
					t.Errorf("%s: %s primary %s, want %s\n%s", what, c[0], got, c[1], r.raw)
				}
			}
		}
		created := do(t, srv, "POST", "/scim/v2/Users", sent)
		want("POST", created, "[true false -]", "[false -]", "[false true]")
		id, _ := created.body["id"].(string)
		path := "/scim/v2/Users/" + id
		want("GET", do(t, srv, "GET", path, ""), "[true false -]", "[false -]", "[false true]")

		// PUT replaces: every element as the new body says.
		put := body("pf@example.com",
			`{"value":"pf@work.example","type":"work"},{"value":"pf@home.example","type":"home","primary":true}`,
			`{"value":"+1 555","type":"work","primary":"False"}`,
			`{"locality":"Paris","type":"work"}`)
		want("PUT", do(t, srv, "PUT", path, put), "[- true]", "[false]", "[-]")
		want("GET after PUT", do(t, srv, "GET", path, ""), "[- true]", "[false]", "[-]")

		// PATCH: replace with false, remove (left out again), and a new primary, which
		// sets the old one false (RFC 7644 §3.5.2).
		patch := func(op string) response { return do(t, srv, "PATCH", path, patchBody(op)) }
		want("PATCH replace work.primary false", patch(`{"op":"replace","path":"emails[type eq \"work\"].primary","value":false}`),
			"[false true]", "[false]", "[-]")
		want("PATCH remove phone primary", patch(`{"op":"remove","path":"phoneNumbers[type eq \"work\"].primary"}`),
			"[false true]", "[-]", "[-]")
		want("PATCH add address primary false", patch(`{"op":"add","path":"addresses[type eq \"work\"].primary","value":false}`),
			"[false true]", "[-]", "[false]")
		want("PATCH work primary true", patch(`{"op":"replace","path":"emails[type eq \"work\"].primary","value":true}`),
			"[true false]", "[-]", "[false]")
		want("GET after PATCH", do(t, srv, "GET", path, ""), "[true false]", "[-]", "[false]")

		// Filters: a primary left out is false, so both match primary eq false.
		other := do(t, srv, "POST", "/scim/v2/Users", body("pf2@example.com", `{"value":"pf2@x.example","type":"work"}`, ``, ``))
		want("POST another", other, "[-]", "[]", "[]")
		list := func(filter string) string {
			r := do(t, srv, "GET", "/scim/v2/Users?filter="+url.QueryEscape(filter+` and userName sw "pf"`), "")
			if r.status != 200 {
				t.Fatalf("%s: %d %s", filter, r.status, r.raw)
			}
			var names []string
			res, _ := r.body["Resources"].([]any)
			for _, u := range res {
				names = append(names, u.(map[string]any)["userName"].(string))
			}
			return fmt.Sprint(names)
		}
		for _, c := range [][2]string{
			{`emails[type eq "home" and primary eq false]`, "[pf@example.com]"},
			{`emails[type eq "work" and primary eq false]`, "[pf2@example.com]"},
			{`emails[type eq "work" and primary eq true]`, "[pf@example.com]"},
			{`addresses[primary eq false]`, "[pf@example.com]"},
			{`phoneNumbers[primary eq false]`, "[pf@example.com]"},
			{`phoneNumbers[primary eq true]`, "[]"},
		} {
			if got := list(c[0]); got != c[1] {
				t.Errorf("filter %s: %s, want %s", c[0], got, c[1])
			}
		}
	})
}
