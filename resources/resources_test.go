package resources

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/store"
)

func TestUserMappingRoundTrip(t *testing.T) {
	u := store.User{
		UserName: "a@x", ExternalID: "e", Active: false, DisplayName: "A", Title: "T",
		Name:         store.Name{GivenName: "G", FamilyName: "F"},
		Emails:       []store.MultiValue{{Value: "a@x", Type: "work", Primary: true}, {Value: "b@x", Type: "home"}},
		PhoneNumbers: []store.MultiValue{{Value: "1", Type: "mobile"}},
		Addresses:    []store.Address{{Locality: "L", Type: "work", Primary: true}},
		Enterprise:   store.Enterprise{Department: "D", Manager: store.Manager{Value: "m"}},
	}
	m := userToAttributes(&u)
	m["externalId"] = u.ExternalID
	got, err := userFromAttributes(m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, u)
	}
}

func TestUserFromAttributesRejects(t *testing.T) {
	for name, m := range map[string]map[string]any{
		"empty userName":  {"userName": " "},
		"two primaries":   {"userName": "a", "emails": []any{map[string]any{"value": "x", "primary": true}, map[string]any{"value": "y", "primary": true}}},
		"number as name":  {"userName": 5.0},
		"bad active":      {"userName": "a", "active": "maybe"},
		"email not a map": {"userName": "a", "emails": []any{"x"}},
	} {
		if _, err := userFromAttributes(m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	u, err := userFromAttributes(map[string]any{"userName": "a", "emails": map[string]any{"value": "x", "primary": "True"}})
	if err != nil || len(u.Emails) != 1 || !u.Emails[0].Primary || !u.Active {
		t.Fatalf("single object as list, string boolean, default active: %+v %v", u, err)
	}
}

func TestProjection(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"userName": "a", "active": true,
			"name":                     map[string]any{"givenName": "G", "familyName": "F"},
			"emails":                   []any{map[string]any{"value": "a@x", "type": "work"}},
			store.EnterpriseUserSchema: map[string]any{"department": "D", "costCenter": "C"},
		}
	}
	cases := []struct {
		query string
		want  map[string]any
	}{
		{"attributes=userName", map[string]any{"userName": "a"}},
		{"attributes=USERNAME,name.givenName", map[string]any{"userName": "a", "name": map[string]any{"givenName": "G"}}},
		{"attributes=emails.value", map[string]any{"emails": []any{map[string]any{"value": "a@x"}}}},
		{"attributes=" + store.EnterpriseUserSchema + ":department", map[string]any{store.EnterpriseUserSchema: map[string]any{"department": "D"}}},
		{"excludedAttributes=emails,name.familyName," + store.EnterpriseUserSchema, map[string]any{"userName": "a", "active": true, "name": map[string]any{"givenName": "G"}}},
		{"excludedAttributes=nosuch", base()},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.query)
		m := base()
		parseProjection(q).apply(m)
		if !reflect.DeepEqual(m, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.query, m, c.want)
		}
	}
	q, _ := url.ParseQuery("excludedAttributes=members")
	if !parseProjection(q).excludes("members") || parseProjection(url.Values{}).excludes("members") {
		t.Fatal("excludes(members)")
	}
	q, _ = url.ParseQuery("attributes=displayName")
	if !parseProjection(q).excludes("members") || parseProjection(q).wantsExternalID() {
		t.Fatal("attributes=displayName must leave out members and externalId")
	}
}

func TestNormalizeResource(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"userName":"a","URN:IETF:params:scim:schemas:extension:enterprise:2.0:user":{"department":"D"}}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"},"userName":"a"}`},
		{`{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Manager":"7"}}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Manager":{"value":"7"}},"userName":"a"}`},
		{`{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":{"manager":"7"}}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"7"}},"userName":"a"}`},
		// Left alone: a manager object, a clash of two spellings, a manager outside the extension.
		{`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"1"}}}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"1"}}}`},
		{`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{},"URN:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"x":1}}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{},"URN:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"x":1}}`},
		{`{"manager":"1"}`, `{"manager":"1"}`},
	}
	for _, c := range cases {
		var doc, want map[string]any
		if err := json.Unmarshal([]byte(c.in), &doc); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(c.want), &want)
		normalizeResource(doc)
		if !reflect.DeepEqual(doc, want) {
			t.Errorf("%s:\n got %v\nwant %v", c.in, doc, want)
		}
	}
}

func TestIfMatchVersion(t *testing.T) {
	for h, want := range map[string]int64{"": 0, "*": 0, `W/"3"`: 3, `"12"`: 12, `W/"x", W/"5"`: 5} {
		r := httptest.NewRequest("PUT", "/", nil)
		if h != "" {
			r.Header.Set("If-Match", h)
		}
		got, err := ifMatchVersion(r)
		if err != nil || got != want {
			t.Errorf("If-Match %q: %d %v, want %d", h, got, err, want)
		}
	}
	r := httptest.NewRequest("PUT", "/", nil)
	r.Header.Set("If-Match", `W/"abc"`)
	if _, err := ifMatchVersion(r); err == nil {
		t.Error("a foreign ETag must fail the precondition")
	}
}

func TestQuoteBareValues(t *testing.T) {
	for in, want := range map[string]string{
		`userName sw O`:        `userName sw "O"`,
		`externalId eq jyoung`: `externalId eq "jyoung"`,
		`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`:                                            `meta.Created gt "2015-10-10T14:38:21.8617979-07:00"`,
		`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`: `name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org")`,
		`emails[type eq work]`: `emails[type eq "work"]`,
	} {
		got, ok := quoteBareValues(in)
		if !ok || got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
	for _, in := range []string{`userName eq "x y"`, `active eq true`, `x eq null`, `n gt 5`, `a pr`} {
		if got, ok := quoteBareValues(in); ok || got != in {
			t.Errorf("%s changed to %s", in, got)
		}
	}
}

func FuzzQuoteBareValues(f *testing.F) {
	for _, s := range []string{`userName sw O`, `a eq "b" and c co d`, `x[y eq z].w eq "v"`, `"unterminated`, `eq eq eq`, `not (a eq b)`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := quoteBareValues(in)
		if !ok && out != in {
			t.Fatalf("reported no change but changed %q into %q", in, out)
		}
		if _, err := fp.ParseFilter([]byte(in)); err == nil {
			// quoteBareValues is only called when parsing failed, but it must still not
			// break a valid filter's bare tokens such as true/false/null/numbers.
			_ = out
		}
	})
}

func TestParseSimpleEqMatchesTheParser(t *testing.T) {
	for _, f := range []string{`userName eq "alice@example.com"`, `UserName EQ "x"`, `externalId eq "0a1b-2c"`,
		`displayName eq "Engineering Team"`, `emails.value eq "a@b"`, `name.givenName eq ""`} {
		fast, ok := parseSimpleEq(f)
		if !ok {
			t.Errorf("%s: not recognised", f)
			continue
		}
		slow, err := fp.ParseFilter([]byte(f))
		if err != nil || !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s:\n fast %#v\n slow %#v (%v)", f, fast, slow, err)
		}
	}
	for _, f := range []string{`userName eq "a\"b"`, `userName eq "a" and x eq "y"`, `userName sw "a"`, `userName eq x`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"`, `emails[type eq "work"]`, `a.b.c eq "x"`, `1a eq "x"`, ` id  eq  "z" `} {
		if _, ok := parseSimpleEq(f); ok {
			t.Errorf("%s: taken by the fast path", f)
		}
	}
}

// FuzzParseSimpleEq: whatever the fast path accepts, the parser must parse to the same tree.
func FuzzParseSimpleEq(f *testing.F) {
	for _, s := range []string{`userName eq "a"`, `a.b eq "c"`, `x eq ""`, `x  eq "y z"`, `é eq "x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		fast, ok := parseSimpleEq(in)
		if !ok {
			return
		}
		slow, err := fp.ParseFilter([]byte(in))
		if err != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %#v, parser %#v (%v)", in, fast, slow, err)
		}
	})
}

func BenchmarkParseFilterEq(b *testing.B) {
	for _, c := range []struct{ name, f string }{{"fast path", `userName eq "alice@example.com"`}, {"parser", `userName eq "alice@example.com" and active eq true`}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := parseFilter(c.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEndpointNames: CanonicalPath knows every endpoint the API registers, and only those.
func TestEndpointNames(t *testing.T) {
	registered := map[string]bool{}
	for _, e := range (&API{}).endpoints() {
		seg, _, _ := strings.Cut(strings.TrimPrefix(e.path, "/"), "/")
		registered[seg] = true
	}
	for _, name := range endpointNames {
		if !registered[name] {
			t.Errorf("%s is in endpointNames but registers no endpoint", name)
		}
		delete(registered, name)
	}
	if len(registered) > 0 {
		t.Errorf("endpoints missing from endpointNames: %v", registered)
	}
	for in, want := range map[string]string{"users": "Users", "Users/": "Users", "GROUPS/AbC": "Groups/AbC",
		"serviceproviderconfig": "ServiceProviderConfig", "Users/a/": "Users/a/", "nope/x": "nope/x"} {
		if got := CanonicalPath(in); got != want {
			t.Errorf("CanonicalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAppendMemberRef: a member's $ref is the base URL, /Users/ (or /Groups/ for a
// group) and the path-escaped id, the whole JSON-escaped, whatever the id and base hold;
// its type is the store's.
func TestAppendMemberRef(t *testing.T) {
	for _, c := range []struct{ base, id, typ, endpoint string }{
		{"https://chat.example.com/scim/v2", "2819c223-7f76-453a-919d-413861904646", store.MemberTypeUser, "Users"},
		{"https://chat.example.com/scim/v2", "2819c223-7f76-453a-919d-413861904646", store.MemberTypeGroup, "Groups"},
		{"https://chat.example.com/scim/v2", `a/b "c" ü`, store.MemberTypeUser, "Users"},
		{"https://chat.example.com/scim/v2", `a/b "c" ü`, store.MemberTypeGroup, "Groups"},
		{`http://h/<x>&"y"`, "id", store.MemberTypeGroup, "Groups"},
		{"", "x", store.MemberTypeUser, "Users"},
		{"", "x", "", "Users"}, // no type: a user, as before nested groups
	} {
		a, err := New(nil, nil, c.base)
		if err != nil {
			t.Fatal(err)
		}
		got := appendMember(nil, store.Member{Value: c.id, Display: "d", Type: c.typ}, memberKeys{ref: true, value: true, typ: true}, a.memberRefs)
		var m map[string]string
		if err := json.Unmarshal(got, &m); err != nil {
			t.Fatalf("%q: %v: %s", c.id, err, got)
		}
		wantType := strings.TrimSuffix(c.endpoint, "s")
		if want := a.location(c.endpoint, c.id); m["$ref"] != want || m["value"] != c.id || m["type"] != wantType {
			t.Errorf("%q %s: $ref %q, value %q, type %q; want %q, %s", c.id, c.typ, m["$ref"], m["value"], m["type"], want, wantType)
		}
	}
}

func TestMergeValuePathSubAttr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`emails[type eq "work"].value eq "a@b.c"`, `emails[type eq "work" and value eq "a@b.c"]`},
		{`emails[type eq "work"].value pr`, `emails[type eq "work" and value pr]`},
		{`emails[type eq "work"].value eq a@b.c and userName sw "x"`, `emails[type eq "work" and value eq a@b.c] and userName sw "x"`},
		{`(emails[type eq "w]."].value co "x")`, `(emails[type eq "w]." and value co "x"])`},
		{`emails[type eq "work"].value EQ "x\"y"`, `emails[type eq "work" and value EQ "x\"y"]`},
		{`emails[type eq "work"]`, ``},
		{`emails[type eq "work"].value xx "x"`, ``},
		{`emails[type eq "work"].value eq`, ``},
		{`userName eq "a].b eq c"`, ``},
	} {
		got, ok := mergeValuePathSubAttr(c.in)
		if !ok {
			got = ""
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.in, got, c.want)
		}
	}
	// The merged form parses to what the RFC form would.
	e, err := parseFilter(`emails[type eq "work"].value eq "a@b.c"`)
	want, _ := parseFilter(`emails[type eq "work" and value eq "a@b.c"]`)
	if err != nil || fmt.Sprint(e) != fmt.Sprint(want) {
		t.Errorf("parse: %v %v, want %v", e, err, want)
	}
}

// FuzzMergeValuePathSubAttr: no panic; unchanged when it says so; what it adds is bounded
// (" and " per value path), so a filter limits.CheckFilter bounded stays bounded.
func FuzzMergeValuePathSubAttr(f *testing.F) {
	for _, s := range []string{`emails[type eq "work"].value eq "a"`, `a[b eq "c"].d pr`, `x[y eq "]."].z eq w`, `]].a eq`, `"]".a eq "b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := mergeValuePathSubAttr(in)
		if !ok && out != in {
			t.Fatalf("reported no change but changed %q into %q", in, out)
		}
		if len(out) > len(in)+len(" and ")*strings.Count(in, "]") {
			t.Fatalf("%q grew to %q", in, out)
		}
	})
}
