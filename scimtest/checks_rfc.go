package scimtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/townsquare/townsquare/store"
)

// The "rfc" suite: what RFC 7643 and RFC 7644 require of a service provider that serves
// Users (with the enterprise extension) and Groups.

func rfcChecks() []Check {
	var cs []Check
	add := func(c ...Check) {
		for i := range c {
			c[i].Suite = "rfc"
		}
		cs = append(cs, c...)
	}
	add(discoveryChecks()...)
	add(authChecks()...)
	add(userCRUDChecks()...)
	add(errorChecks()...)
	add(filterChecks()...)
	add(pagingChecks()...)
	add(projectionChecks()...)
	add(patchChecks()...)
	add(primaryChecks()...)
	add(etagChecks()...)
	add(groupChecks()...)
	add(searchChecks()...)
	add(cursorChecks()...)      // checks_cursor.go
	add(sortChecks()...)        // checks_sort.go
	add(nestedGroupChecks()...) // checks_nested.go
	add(bulkChecks()...)
	return cs
}

// ---- discovery (RFC 7644 §4, RFC 7643 §5–6) ----

func discoveryChecks() []Check {
	return []Check{
		{Name: "discovery-service-provider-config", Steps: []Step{
			getStep("GET /ServiceProviderConfig", "/ServiceProviderConfig",
				Contains("schemas", store.ServiceProviderConfigSchema),
				// RFC 7643 §5: each of these is REQUIRED.
				Exists("patch.supported"), Exists("bulk.supported"), Exists("filter.supported"),
				Exists("filter.maxResults"), Exists("changePassword.supported"), Exists("sort.supported"),
				Exists("etag.supported"), Exists("authenticationSchemes"),
				// This server implements PATCH and filtering, so it must say so.
				Eq("patch.supported", true), Eq("filter.supported", true),
			),
		}},
		{Name: "discovery-schemas", Steps: []Step{
			getStep("GET /Schemas", "/Schemas",
				Contains("schemas", store.ListResponseSchema),
				Contains("Resources[*].id", store.UserSchema),
				Contains("Resources[*].id", store.GroupSchema),
				Contains("Resources[*].id", store.EnterpriseUserSchema),
				Exists("Resources[id="+store.UserSchema+"].attributes[name=userName]"),
			),
			getStep("GET /Schemas/<User URN>", "/Schemas/"+store.UserSchema,
				Eq("id", store.UserSchema), Exists("attributes[name=userName]")),
		}},
		{Name: "discovery-townsquare-extension", Func: ifTownsquareExtension(func() []Step {
			attr := func(name, typ string, multi bool) []Assert {
				at := "attributes[name=" + name + "]."
				// RFC 7643 §7: what a client cannot change is readOnly, and what a plain
				// read returns is returned "default".
				return []Assert{Eq(at+"type", typ), Eq(at+"multiValued", multi), Eq(at+"mutability", "readOnly"),
					Eq(at+"returned", "default")}
			}
			return []Step{
				getStep("GET /Schemas/<Townsquare URN>: the roles attributes", "/Schemas/"+store.TownsquareUserSchema,
					All(attr("roles", "string", false), attr("guest", "boolean", false), attr("teamAdmin", "string", true),
						attr("channelAdmin", "string", true))...),
				createUser("u", simpleUser("${p}roles@example.com", "")),
				// RFC 7643 §3.3: the extension's attributes sit under its URN; a new user in
				// no group is a plain member.
				getStep("a user read shows its roles", "/Users/${u.id}",
					Contains("schemas", store.TownsquareUserSchema), Eq(tsExt+".roles", "system_user"), Eq(tsExt+".guest", false)),
			}
		}())},
		{Name: "discovery-resource-types", Steps: []Step{
			getStep("GET /ResourceTypes", "/ResourceTypes",
				Contains("schemas", store.ListResponseSchema),
				Contains("Resources[*].name", "User"),
				Contains("Resources[*].name", "Group"),
				Eq("Resources[name=User].endpoint", "/Users"),
				Eq("Resources[name=User].schema", store.UserSchema),
				Contains("Resources[name=User].schemaExtensions[*].schema", store.EnterpriseUserSchema),
				Eq("Resources[name=Group].endpoint", "/Groups"),
				Eq("Resources[name=Group].schema", store.GroupSchema),
			),
		}},
	}
}

// ifTownsquareExtension runs steps on a server whose /Schemas lists Townsquare's User
// extension (RFC 7643 §3.3: extensions are the server's own), and checks nothing on
// another.
func ifTownsquareExtension(steps []Step) func(ctx context.Context, s *Session) error {
	return func(ctx context.Context, s *Session) error {
		r, err := s.Do(ctx, getStep("GET /Schemas", "/Schemas"))
		if err != nil {
			return err
		}
		if _, ok := r.Get("Resources[id=" + store.TownsquareUserSchema + "].id"); !ok {
			return nil
		}
		for _, st := range steps {
			if _, err := s.Do(ctx, st); err != nil {
				return err
			}
		}
		return nil
	}
}

// ---- authentication (RFC 7644 §2, RFC 6750 §3) ----

func authChecks() []Check {
	unauthorized := withDetail(scimError(http.StatusUnauthorized, ""))
	unauthorized = append(unauthorized, HasHeader("WWW-Authenticate"))
	return []Check{
		{Name: "auth-missing-token", Steps: []Step{
			{Name: "GET /Users without a token", Path: "/Users", Auth: AuthNone, Status: 401, Want: unauthorized},
			{Name: "GET /Users/{id} without a token", Path: "/Users/${guid1}", Auth: AuthNone, Status: 401, Want: unauthorized},
			{Name: "POST /Users without a token", Method: http.MethodPost, Path: "/Users", Auth: AuthNone,
				Body: simpleUser("${p}noauth@example.com", ""), Status: 401, Want: unauthorized},
			getStep("the user was not created", `/Users?filter=userName eq "${p}noauth@example.com"`, listOf()...),
		}},
		{Name: "auth-wrong-token", Steps: []Step{
			{Name: "GET /Users with a wrong token", Path: "/Users", Auth: AuthWrong, Status: 401, Want: unauthorized},
			{Name: "POST /Users with a wrong token", Method: http.MethodPost, Path: "/Users", Auth: AuthWrong,
				Body: simpleUser("${p}badauth@example.com", ""), Status: 401, Want: unauthorized},
			getStep("the user was not created", `/Users?filter=userName eq "${p}badauth@example.com"`, listOf()...),
			{Name: "a non-Bearer scheme", Path: "/Users", Header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"},
				Auth: AuthNone, Status: 401, Want: unauthorized},
		}},
	}
}

// ---- users CRUD (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.6; RFC 7643 §3.1, §4.1) ----

const fullUserBody = `{
  "schemas": ["` + store.UserSchema + `", "` + store.EnterpriseUserSchema + `"],
  "userName": "${p}bjensen@example.com",
  "externalId": "${guid1}",
  "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane"},
  "displayName": "Babs Jensen",
  "nickName": "Babs",
  "title": "Tour Guide",
  "userType": "Employee",
  "preferredLanguage": "en-US",
  "locale": "en-US",
  "timezone": "America/Los_Angeles",
  "active": true,
  "password": "t1meMa$heen",
  "emails": [
    {"value": "${p}bjensen@example.com", "type": "work", "primary": true},
    {"value": "${p}babs@jensen.org", "type": "home"}
  ],
  "phoneNumbers": [
    {"value": "555-555-5555", "type": "work"},
    {"value": "555-555-4444", "type": "mobile"}
  ],
  "` + store.EnterpriseUserSchema + `": {
    "employeeNumber": "701984",
    "costCenter": "4130",
    "organization": "Universal Studios",
    "division": "Theme Park",
    "department": "Tour Operations",
    "manager": {"value": "${mgr.id}"}
  }
}`

// fullUserWant is what a response for fullUserBody must show.
var fullUserWant = []Assert{
	Contains("schemas", store.UserSchema), Contains("schemas", store.EnterpriseUserSchema),
	NonEmpty("id"),
	Eq("userName", "${p}bjensen@example.com"),
	Eq("externalId", "${guid1}"),
	Eq("name.formatted", "Ms. Barbara J Jensen III"),
	Eq("name.familyName", "Jensen"), Eq("name.givenName", "Barbara"), Eq("name.middleName", "Jane"),
	Eq("displayName", "Babs Jensen"), Eq("nickName", "Babs"), Eq("title", "Tour Guide"),
	Eq("userType", "Employee"), Eq("preferredLanguage", "en-US"), Eq("locale", "en-US"),
	Eq("timezone", "America/Los_Angeles"),
	Eq("active", true),
	Absent("password"), // returned: never (RFC 7643 §4.1.1)
	Len("emails", 2),
	Eq("emails[type=work].value", "${p}bjensen@example.com"), Eq("emails[type=work].primary", true),
	Eq("emails[type=home].value", "${p}babs@jensen.org"), OptEq("emails[type=home].primary", false),
	Len("phoneNumbers", 2),
	Eq("phoneNumbers[type=work].value", "555-555-5555"), Eq("phoneNumbers[type=mobile].value", "555-555-4444"),
	Eq(ent+".employeeNumber", "701984"), Eq(ent+".costCenter", "4130"),
	Eq(ent+".organization", "Universal Studios"), Eq(ent+".division", "Theme Park"),
	Eq(ent+".department", "Tour Operations"), Eq(ent+".manager.value", "${mgr.id}"),
	Eq("meta.resourceType", "User"),
	DateTime("meta.created"), DateTime("meta.lastModified"),
	NonEmpty("meta.version"), NonEmpty("meta.location"),
	HasHeader("ETag"),
}

const replacedUserBody = `{
  "schemas": ["` + store.UserSchema + `", "` + store.EnterpriseUserSchema + `"],
  "userName": "${p}bjensen@example.com",
  "externalId": "${guid1}",
  "name": {"familyName": "Jensen", "givenName": "Barbara"},
  "displayName": "Barbara Jensen",
  "active": true,
  "emails": [{"value": "${p}bjensen@example.com", "type": "work", "primary": true}],
  "` + store.EnterpriseUserSchema + `": {"employeeNumber": "701984", "department": "Tour Operations"}
}`

var replacedUserWant = []Assert{
	Eq("id", "${u.id}"),
	Eq("userName", "${p}bjensen@example.com"), Eq("externalId", "${guid1}"),
	Eq("name.givenName", "Barbara"), Eq("name.familyName", "Jensen"),
	Absent("name.middleName"), Absent("name.formatted"),
	Eq("displayName", "Barbara Jensen"),
	Absent("nickName"), Absent("title"), Absent("userType"), Absent("locale"), Absent("timezone"),
	Absent("phoneNumbers"),
	Len("emails", 1), Eq("emails[0].value", "${p}bjensen@example.com"),
	Eq(ent+".employeeNumber", "701984"), Eq(ent+".department", "Tour Operations"),
	Absent(ent + ".costCenter"), Absent(ent + ".manager"),
	Absent("password"),
	Eq("meta.created", "${u.created}"),
	Ne("meta.version", "${u.etag}"),
}

func userCRUDChecks() []Check {
	return []Check{
		{Name: "users-crud", Steps: []Step{
			createUser("mgr", simpleUser("${p}manager@example.com", `"name":{"givenName":"Mona","familyName":"Manager"}`)),
			{
				Name: "POST full user", Method: http.MethodPost, Path: "/Users", Body: fullUserBody, Status: http.StatusCreated,
				Capture: map[string]string{"u.id": "id", "u.loc": "header:Location", "u.etag": "header:ETag", "u.created": "meta.created"},
				Want: All(fullUserWant, []Assert{
					Eq("meta.location", "${u.loc}"), // RFC 7644 §3.1: Location is the resource URI
					Eq("meta.version", "${u.etag}"), // RFC 7644 §3.14: meta.version is the ETag
				}),
			},
			getStep("GET the user", "/Users/${u.id}", All(fullUserWant, []Assert{
				Eq("id", "${u.id}"), Eq("meta.location", "${u.loc}"), Eq("meta.created", "${u.created}"),
				HeaderEq("ETag", "${u.etag}"),
			})...),
			{Name: "PUT replaces the user", Method: http.MethodPut, Path: "/Users/${u.id}", Body: replacedUserBody,
				Status: http.StatusOK, Want: All(replacedUserWant, []Assert{HasHeader("ETag")})},
			getStep("GET shows the replacement", "/Users/${u.id}", replacedUserWant...),
			getStep("the user is found by filter", `/Users?filter=userName eq "${p}bjensen@example.com"`, listOf("${u.id}")...),
			{Name: "DELETE the user", Method: http.MethodDelete, Path: "/Users/${u.id}", Status: http.StatusNoContent},
			{Name: "GET after DELETE", Path: "/Users/${u.id}", Status: http.StatusNotFound,
				Want: withDetail(scimError(404, ""))},
			getStep("the filter no longer finds it", `/Users?filter=userName eq "${p}bjensen@example.com"`, listOf()...),
			{Name: "DELETE again", Method: http.MethodDelete, Path: "/Users/${u.id}", Status: http.StatusNotFound,
				Want: scimError(404, "")},
		}},
		{Name: "users-uniqueness", Vars: [][2]string{{"un", "${p}Dup.User@Example.com"}}, Steps: []Step{
			createUser("u1", simpleUser("${un}", "")),
			{Name: "POST the same userName in upper case", Method: http.MethodPost, Path: "/Users",
				Body: simpleUser("${un|upper}", ""), Status: http.StatusConflict, Want: scimError(409, "uniqueness")},
			{Name: "POST the same userName in lower case", Method: http.MethodPost, Path: "/Users",
				Body: simpleUser("${un|lower}", ""), Status: http.StatusConflict, Want: scimError(409, "uniqueness")},
			getStep("only the first exists", `/Users?filter=userName eq "${un}"`, listOf("${u1.id}")...),
			createUser("u2", simpleUser("${p}other@example.com", "")),
			{Name: "PUT another user to the taken userName", Method: http.MethodPut, Path: "/Users/${u2.id}",
				Body: simpleUser("${un|lower}", ""), Status: http.StatusConflict, Want: scimError(409, "uniqueness")},
			{Name: "PATCH another user to the taken userName", Method: http.MethodPatch, Path: "/Users/${u2.id}",
				Body:   patchBody(`{"op":"replace","path":"userName","value":"${un|upper}"}`),
				Status: http.StatusConflict, Want: scimError(409, "uniqueness")},
			getStep("the other user is unchanged", "/Users/${u2.id}", Eq("userName", "${p}other@example.com")),
		}},
	}
}

// ---- errors (RFC 7644 §3.12) ----

func errorChecks() []Check {
	return []Check{
		{Name: "errors-get-unknown-user", Steps: []Step{
			{Path: "/Users/${guid1}", Status: 404, Want: withDetail(scimError(404, ""))},
		}},
		{Name: "errors-get-unknown-group", Steps: []Step{
			{Path: "/Groups/${guid1}", Status: 404, Want: withDetail(scimError(404, ""))},
		}},
		{Name: "errors-write-unknown-user", Steps: []Step{
			{Name: "PUT", Method: http.MethodPut, Path: "/Users/${guid1}", Body: simpleUser("${p}ghost@example.com", ""),
				Status: 404, Want: scimError(404, "")},
			{Name: "PATCH", Method: http.MethodPatch, Path: "/Users/${guid1}",
				Body: patchBody(`{"op":"replace","path":"displayName","value":"Ghost"}`), Status: 404, Want: scimError(404, "")},
			{Name: "DELETE", Method: http.MethodDelete, Path: "/Users/${guid1}", Status: 404, Want: scimError(404, "")},
			getStep("nothing was created", `/Users?filter=userName eq "${p}ghost@example.com"`, listOf()...),
		}},
		{Name: "errors-malformed-json", Steps: []Step{
			{Method: http.MethodPost, Path: "/Users", Body: `{"schemas":["` + store.UserSchema + `"],"userName":"${p}broken@example.com",`,
				Status: 400, Want: append(scimError(400, ""), OptEq("scimType", "invalidSyntax"))},
		}},
		{Name: "errors-missing-username", Steps: []Step{
			{Method: http.MethodPost, Path: "/Users", Body: `{"schemas":["` + store.UserSchema + `"],"name":{"givenName":"No","familyName":"Name"}}`,
				Status: 400, Want: scimError(400, "")},
		}},
		{Name: "errors-empty-username", Steps: []Step{
			{Method: http.MethodPost, Path: "/Users", Body: simpleUser("", `"name":{"givenName":"Empty"}`),
				Status: 400, Want: scimError(400, "")},
		}},
		{Name: "errors-filter-unknown-attribute", Steps: []Step{
			{Path: `/Users?filter=nosuch eq "x"`, Status: 400, Want: scimError(400, "invalidFilter")},
		}},
		{Name: "errors-filter-syntax", Steps: []Step{
			{Name: "operator without a value", Path: `/Users?filter=userName eq`, Status: 400, Want: scimError(400, "invalidFilter")},
			{Name: "unbalanced parenthesis", Path: `/Users?filter=(userName eq "x"`, Status: 400, Want: scimError(400, "invalidFilter")},
		}},
		{Name: "errors-bad-paging-params", Steps: []Step{
			{Name: "count=abc", Path: "/Users?count=abc", Status: 400, Want: scimError(400, "")},
			{Name: "startIndex=abc", Path: "/Users?startIndex=abc", Status: 400, Want: scimError(400, "")},
		}},
	}
}

// ---- filters (RFC 7644 §3.4.2.2) ----

// The filter fixture: three users whose attributes tell the filters apart.
//
//	a: Alice Anderson, work+home email, title Engineer, active, employeeNumber 1001
//	b: Bob Baker, work email, no title, INACTIVE, employeeNumber 1002
//	c: Carol Andrews, home email only, title Manager, active, employeeNumber 1003
var filterFixture = []Step{
	createUser("a", `{"schemas":["`+store.UserSchema+`","`+store.EnterpriseUserSchema+`"],"userName":"${p}alice@example.com","externalId":"${guid1}",
		"name":{"givenName":"Alice","familyName":"Anderson"},"title":"Engineer","active":true,
		"emails":[{"value":"${p}alice@work.example.com","type":"work","primary":true},{"value":"${p}alice@home.example.org","type":"home"}],
		"`+store.EnterpriseUserSchema+`":{"employeeNumber":"1001"}}`),
	createUser("b", `{"schemas":["`+store.UserSchema+`","`+store.EnterpriseUserSchema+`"],"userName":"${p}bob@example.com","externalId":"${guid2}",
		"name":{"givenName":"Bob","familyName":"Baker"},"active":false,
		"emails":[{"value":"${p}bob@work.example.com","type":"work","primary":true}],
		"`+store.EnterpriseUserSchema+`":{"employeeNumber":"1002"}}`),
	createUser("c", `{"schemas":["`+store.UserSchema+`","`+store.EnterpriseUserSchema+`"],"userName":"${p}carol@example.com","externalId":"${guid3}",
		"name":{"givenName":"Carol","familyName":"Andrews"},"title":"Manager","active":true,
		"emails":[{"value":"${p}carol@home.example.org","type":"home"}],
		"`+store.EnterpriseUserSchema+`":{"employeeNumber":"1003"}}`),
}

// filterCases: each filter is scoped with `and userName sw "${p}"` and must return
// exactly the listed fixture users.
var filterCases = []struct {
	name, filter string
	want         []string // fixture names: a, b, c
}{
	{"username-eq-any-case", `userName eq "${p|upper}ALICE@EXAMPLE.COM"`, []string{"a"}},
	{"id-eq", `id eq "${b.id}"`, []string{"b"}},
	{"externalid-eq", `externalId eq "${guid2}"`, []string{"b"}},
	{"valuepath-and", `emails[type eq "work" and value co "alice"]`, []string{"a"}},
	// Both conditions must hold for the same email: Alice's home address contains "@home." but her work one does not.
	{"valuepath-same-element", `emails[type eq "work" and value co "@home."]`, nil},
	{"emails-value-eq", `emails.value eq "${p}carol@home.example.org"`, []string{"c"}},
	// Entra's matching attribute on a filtered email (idps-and-peers §2a.8): a value path
	// followed by a sub-attribute, which RFC 7644's grammar does not have.
	{"emails-work-value-eq", `emails[type eq "work"].value eq "${p}alice@work.example.com"`, []string{"a"}},
	{"emails-work-value-eq-home", `emails[type eq "work"].value eq "${p}alice@home.example.org"`, nil},
	{"employee-number-eq", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1002"`, []string{"b"}},
	{"emails-value-eq-any-case", `emails.value eq "${p|upper}CAROL@HOME.EXAMPLE.ORG"`, []string{"c"}},
	{"familyname-sw", `name.familyName sw "And"`, []string{"a", "c"}},
	{"givenname-ew", `name.givenName ew "ol"`, []string{"c"}},
	{"title-pr", `title pr`, []string{"a", "c"}},
	{"not-pr", `not (title pr)`, []string{"b"}},
	// b has no title: "title eq Engineer" is false for b, so not(...) is true (RFC 7644 §3.4.2.2).
	{"not-eq-unassigned", `not (title eq "Engineer")`, []string{"b", "c"}},
	{"ne-unassigned", `title ne "Engineer"`, []string{"b", "c"}},
	// "and" binds tighter than "or": B or (titled and active) = {a,b,c}; left-to-right would give {a,c}.
	{"precedence-or-and", `name.givenName eq "Bob" or title pr and active eq true`, []string{"a", "b", "c"}},
	// (active and Manager) or bob = {b,c}; right-to-left would give {c}.
	{"precedence-and-or", `active eq true and title eq "Manager" or userName eq "${p}bob@example.com"`, []string{"b", "c"}},
	{"parentheses", `(name.givenName eq "Bob" or title pr) and active eq true`, []string{"a", "c"}},
	{"active-eq-false", `active eq false`, []string{"b"}},
	{"meta-created-gt", `meta.created gt "2000-01-01T00:00:00Z"`, []string{"a", "b", "c"}},
	{"meta-created-lt", `meta.created lt "2000-01-01T00:00:00Z"`, nil},
	{"enterprise-employeenumber-eq", store.EnterpriseUserSchema + `:employeeNumber eq "1002"`, []string{"b"}},
	{"enterprise-employeenumber-ge", store.EnterpriseUserSchema + `:employeeNumber ge "1002"`, []string{"b", "c"}},
}

func filterChecks() []Check {
	var cs []Check
	for _, fc := range filterCases {
		ids := make([]string, len(fc.want))
		for i, n := range fc.want {
			ids[i] = "${" + n + ".id}"
		}
		steps := append(slices.Clone(filterFixture),
			getStep("filter "+fc.filter, `/Users?filter=(`+fc.filter+`) and userName sw "${p}"`, listOf(ids...)...))
		cs = append(cs, Check{Name: "filter-" + fc.name, Steps: steps})
	}
	cs = append(cs, Check{Name: "filter-random-guid-empty", Steps: []Step{
		getStep("userName eq <random GUID>", `/Users?filter=userName eq "${guid4}"`, emptyList()...),
		getStep("externalId eq <random GUID>", `/Users?filter=externalId eq "${guid5}"`, emptyList()...),
	}})
	return cs
}

// ---- paging (RFC 7644 §3.4.2.4) ----

func pagingChecks() []Check {
	return []Check{{Name: "paging", Steps: filterFixture, Func: pagingCheck}}
}

func pagingCheck(ctx context.Context, s *Session) error {
	want := []string{s.Vars["a.id"], s.Vars["b.id"], s.Vars["c.id"]}
	const scope = `filter=userName sw "${p}"`
	page := func(startIndex, count, n int) (*Response, error) {
		as := []Assert{
			Contains("schemas", store.ListResponseSchema),
			Eq("totalResults", 3),
			Eq("startIndex", startIndex),
		}
		if n == 0 {
			as = append(as, Absent("Resources"), OptEq("itemsPerPage", 0))
		} else {
			as = append(as, Len("Resources", n), Eq("itemsPerPage", n))
		}
		return s.Do(ctx, getStep(fmt.Sprintf("startIndex=%d count=%d", startIndex, count),
			fmt.Sprintf("/Users?%s&startIndex=%d&count=%d", scope, startIndex, count), as...))
	}
	walk := func() ([]string, error) {
		var seq []string
		for i := 1; i <= 3; i++ {
			r, err := page(i, 1, 1)
			if err != nil {
				return nil, err
			}
			seq = append(seq, r.GetString("Resources[0].id"))
		}
		return seq, nil
	}
	first, err := walk()
	if err != nil {
		return err
	}
	if missing, extra := diffMultiset(want, first); len(missing)+len(extra) > 0 {
		return fmt.Errorf("count=1 pages 1..3 returned %q; want each of %q exactly once (missing %q, repeated/unexpected %q)",
			first, want, missing, extra)
	}
	second, err := walk()
	if err != nil {
		return err
	}
	if !slices.Equal(first, second) {
		return fmt.Errorf("the order is not stable: the first walk gave %q, the second %q", first, second)
	}
	if _, err := page(4, 1, 0); err != nil { // past the end
		return err
	}
	r, err := page(1, 2, 2)
	if err != nil {
		return err
	}
	if got := []string{r.GetString("Resources[0].id"), r.GetString("Resources[1].id")}; !slices.Equal(got, first[:2]) {
		return fmt.Errorf("startIndex=1 count=2 gave %q; count=1 pages gave %q first (order must not depend on count)", got, first[:2])
	}
	r, err = page(3, 2, 1) // a short last page: itemsPerPage is what was returned
	if err != nil {
		return err
	}
	if got := r.GetString("Resources[0].id"); got != first[2] {
		return fmt.Errorf("startIndex=3 count=2 gave %q; want %q", got, first[2])
	}
	if _, err := page(1, 10, 3); err != nil { // count beyond the total
		return err
	}
	// count=0: only totalResults (RFC 7644 §3.4.2.4).
	_, err = page(1, 0, 0)
	return err
}

// ---- projection (RFC 7644 §3.4.2.5, §3.9) ----

const projectionUser = `{"schemas":["` + store.UserSchema + `","` + store.EnterpriseUserSchema + `"],"userName":"${p}proj@example.com",
	"name":{"givenName":"Pro","familyName":"Jection"},"title":"Projector","displayName":"Pro Jection",
	"emails":[{"value":"${p}proj@example.com","type":"work","primary":true}],
	"` + store.EnterpriseUserSchema + `":{"department":"Optics"}}`

func projectionChecks() []Check {
	return []Check{
		{Name: "projection-attributes", Steps: []Step{
			createUser("u", projectionUser),
			getStep("attributes=userName", "/Users/${u.id}?attributes=userName",
				Eq("id", "${u.id}"), Eq("userName", "${p}proj@example.com"),
				Absent("emails"), Absent("name"), Absent("title"), Absent("displayName"), Absent(ent)),
		}},
		{Name: "projection-excluded-attributes", Steps: []Step{
			createUser("u", projectionUser),
			getStep("excludedAttributes=emails", "/Users/${u.id}?excludedAttributes=emails",
				Eq("id", "${u.id}"), Absent("emails"), Eq("userName", "${p}proj@example.com"),
				Eq("name.givenName", "Pro"), Eq("title", "Projector")),
			// returned:"always" attributes cannot be excluded (RFC 7644 §3.4.2.5).
			getStep("excludedAttributes=id,emails keeps id", "/Users/${u.id}?excludedAttributes=id,emails",
				Eq("id", "${u.id}"), Absent("emails")),
		}},
		{Name: "projection-list-and-subattributes", Steps: []Step{
			createUser("u", projectionUser),
			getStep("list with attributes=userName,name.familyName",
				`/Users?filter=userName eq "${p}proj@example.com"&attributes=userName,name.familyName`,
				Eq("totalResults", 1), Eq("Resources[0].id", "${u.id}"),
				Eq("Resources[0].userName", "${p}proj@example.com"), Eq("Resources[0].name.familyName", "Jection"),
				Absent("Resources[0].name.givenName"), Absent("Resources[0].emails"), Absent("Resources[0].title")),
			getStep("list with excludedAttributes=emails,title",
				`/Users?filter=userName eq "${p}proj@example.com"&excludedAttributes=emails,title`,
				Eq("totalResults", 1), Eq("Resources[0].id", "${u.id}"), Eq("Resources[0].userName", "${p}proj@example.com"),
				Absent("Resources[0].emails"), Absent("Resources[0].title"), Eq("Resources[0].name.givenName", "Pro")),
			getStep("extension attribute by full name",
				"/Users/${u.id}?attributes="+store.EnterpriseUserSchema+":department",
				Eq("id", "${u.id}"), Eq(ent+".department", "Optics"), Absent("userName"), Absent("emails")),
		}},
	}
}

// ---- PATCH (RFC 7644 §3.5.2) ----

const patchUser = `{"schemas":["` + store.UserSchema + `"],"userName":"${p}patch@example.com","displayName":"Patch Me",
	"name":{"givenName":"Pat","familyName":"Original"},"title":"Tester",
	"emails":[{"value":"${p}patch@work.example.com","type":"work","primary":true}]}`

const patchUserTwoEmails = `{"schemas":["` + store.UserSchema + `"],"userName":"${p}patch@example.com","displayName":"Patch Me",
	"name":{"givenName":"Pat","familyName":"Original"},
	"emails":[{"value":"${p}patch@work.example.com","type":"work","primary":true},{"value":"${p}patch@home.example.org","type":"home"}]}`

func patchChecks() []Check {
	const entURN = store.EnterpriseUserSchema
	return []Check{
		{Name: "patch-extension-urn-path", Steps: []Step{
			// RFC 7644 §3.5.2 with §3.10: a path may name a schema extension by its URN, and
			// the value is then a set of the extension's attributes.
			createUser("u", `{"schemas":["`+store.UserSchema+`","`+entURN+`"],"userName":"${p}ext@example.com",
				"`+entURN+`":{"employeeNumber":"1","department":"Sales"}}`),
			// §3.5.2.3: a complex value replaces the sub-attributes it names, leaving the rest.
			patchStep("replace the extension", "/Users/${u.id}", `{"op":"replace","path":"`+entURN+`","value":{"employeeNumber":"2"}}`),
			getStep("only employeeNumber changed", "/Users/${u.id}", Eq(ent+".employeeNumber", "2"), Eq(ent+".department", "Sales")),
			patchStep("add to the extension", "/Users/${u.id}", `{"op":"add","path":"`+entURN+`","value":{"costCenter":"CC-9"}}`),
			getStep("costCenter added", "/Users/${u.id}", Eq(ent+".costCenter", "CC-9"), Eq(ent+".employeeNumber", "2")),
			// §3.5.2.2: removing the extension removes every attribute it holds.
			patchStep("remove the extension", "/Users/${u.id}", `{"op":"remove","path":"`+entURN+`"}`),
			getStep("the extension is gone", "/Users/${u.id}", Absent(ent)),
			// A read-only extension cannot be written (§3.5.2: mutability).
			{Name: "replace a read-only extension", Method: http.MethodPatch, Path: "/Users/${u.id}",
				Body:   patchBody(`{"op":"replace","path":"` + store.TownsquareUserSchema + `","value":{"username":"x"}}`),
				Status: http.StatusBadRequest, Want: scimError(http.StatusBadRequest, "mutability")},
			{Name: "remove a read-only extension", Method: http.MethodPatch, Path: "/Users/${u.id}",
				Body:   patchBody(`{"op":"remove","path":"` + store.TownsquareUserSchema + `"}`),
				Status: http.StatusBadRequest, Want: scimError(http.StatusBadRequest, "mutability")},
			getStep("/Schemas marks it read-only", "/Schemas/"+store.TownsquareUserSchema,
				Eq("attributes[name=username].mutability", "readOnly")),
		}},
		{Name: "patch-replace-subattribute", Steps: []Step{
			createUser("u", patchUser),
			patchStep("replace name.givenName", "/Users/${u.id}", `{"op":"replace","path":"name.givenName","value":"Patricia"}`,
				If200(Eq("name.givenName", "Patricia"), Eq("name.familyName", "Original"))),
			getStep("GET", "/Users/${u.id}", Eq("name.givenName", "Patricia"), Eq("name.familyName", "Original"),
				Eq("displayName", "Patch Me"), Eq("emails[type=work].value", "${p}patch@work.example.com")),
		}},
		{Name: "patch-replace-simple", Steps: []Step{
			createUser("u", patchUser),
			patchStep("replace active and title", "/Users/${u.id}",
				`{"op":"replace","path":"active","value":false},{"op":"replace","path":"title","value":"Lead"}`),
			getStep("GET", "/Users/${u.id}", Eq("active", false), Eq("title", "Lead"), Eq("displayName", "Patch Me")),
		}},
		{Name: "patch-add-filtered-creates", Steps: []Step{
			createUser("u", patchUser),
			patchStep(`add emails[type eq "home"].value`, "/Users/${u.id}",
				`{"op":"add","path":"emails[type eq \"home\"].value","value":"${p}patch@home.example.org"}`),
			getStep("GET", "/Users/${u.id}", Len("emails", 2),
				Eq("emails[type=home].value", "${p}patch@home.example.org"),
				Eq("emails[type=work].value", "${p}patch@work.example.com"), Eq("emails[type=work].primary", true)),
		}},
		{Name: "patch-add-multivalued-appends", Steps: []Step{
			createUser("u", patchUser),
			patchStep("add emails [other]", "/Users/${u.id}",
				`{"op":"add","path":"emails","value":[{"value":"${p}patch@other.example.net","type":"other"}]}`),
			getStep("GET", "/Users/${u.id}", Len("emails", 2),
				Eq("emails[type=other].value", "${p}patch@other.example.net"),
				Eq("emails[type=work].value", "${p}patch@work.example.com")),
		}},
		{Name: "patch-remove-filtered", Steps: []Step{
			createUser("u", patchUserTwoEmails),
			patchStep(`remove emails[type eq "home"]`, "/Users/${u.id}", `{"op":"remove","path":"emails[type eq \"home\"]"}`),
			getStep("GET", "/Users/${u.id}", Len("emails", 1), Absent("emails[type=home]"),
				Eq("emails[type=work].value", "${p}patch@work.example.com")),
		}},
		{Name: "patch-remove-attribute", Steps: []Step{
			createUser("u", patchUser),
			patchStep("remove title", "/Users/${u.id}", `{"op":"remove","path":"title"}`),
			getStep("GET", "/Users/${u.id}", Absent("title"), Eq("displayName", "Patch Me")),
		}},
		// RFC 7643 §4.1.1: the definitive meaning of active "is determined by the service
		// provider"; Townsquare's (README, "Lifecycle") is that removing it changes
		// nothing: an account is active or deactivated, and an IdP that drops the
		// attribute has asked for neither. Run where that extension says the server is one.
		{Name: "patch-remove-active", Func: ifTownsquareExtension([]Step{
			createUser("u", patchUser),
			patchStep("remove active from an active user", "/Users/${u.id}", `{"op":"remove","path":"active"}`),
			getStep("it stays active", "/Users/${u.id}", Eq("active", true)),
			patchStep("deactivate", "/Users/${u.id}", `{"op":"replace","path":"active","value":false}`),
			patchStep("remove active from a deactivated user", "/Users/${u.id}", `{"op":"remove","path":"active"}`),
			getStep("it stays deactivated", "/Users/${u.id}", Eq("active", false)),
		})},
		{Name: "patch-pathless-replace", Steps: []Step{
			createUser("u", patchUser),
			patchStep("replace {displayName, name.familyName}", "/Users/${u.id}",
				`{"op":"replace","value":{"displayName":"Patched Name","name.familyName":"Changed"}}`),
			getStep("GET", "/Users/${u.id}", Eq("displayName", "Patched Name"), Eq("name.familyName", "Changed"),
				Eq("name.givenName", "Pat"), Eq("title", "Tester")),
		}},
		{Name: "patch-ops-apply-in-order", Steps: []Step{
			createUser("u", patchUser),
			patchStep("replace title twice", "/Users/${u.id}",
				`{"op":"replace","path":"title","value":"First"},{"op":"replace","path":"title","value":"Second"}`),
			getStep("GET", "/Users/${u.id}", Eq("title", "Second")),
		}},
		{Name: "patch-remove-without-path", Steps: []Step{
			createUser("u", patchUser),
			{Method: http.MethodPatch, Path: "/Users/${u.id}", Body: patchBody(`{"op":"remove"}`),
				Status: 400, Want: scimError(400, "noTarget")},
		}},
		{Name: "patch-unknown-path", Steps: []Step{
			createUser("u", patchUser),
			{Method: http.MethodPatch, Path: "/Users/${u.id}", Body: patchBody(`{"op":"replace","path":"nosuchAttribute","value":"x"}`),
				Status: 400, Want: scimError(400, "invalidPath")},
		}},
		{Name: "patch-is-atomic", Steps: []Step{
			createUser("u", patchUser),
			{Name: "a valid op, then an invalid one", Method: http.MethodPatch, Path: "/Users/${u.id}",
				Body: patchBody(`{"op":"replace","path":"displayName","value":"Must Not Stick"},` +
					`{"op":"replace","path":"name.givenName","value":"Nope"},` +
					`{"op":"replace","path":"nosuchAttribute","value":"x"}`),
				Status: 400, Want: scimError(400, "")},
			getStep("nothing changed", "/Users/${u.id}", Eq("displayName", "Patch Me"), Eq("name.givenName", "Pat")),
		}},
	}
}

// ---- primary (RFC 7643 §2.4) ----

// primaryChecks: a primary sent false is returned false, one left out is not made up, and
// a filter reads one left out as false (§2.4: "If not specified, the value of "primary"
// SHALL be assumed to be "false"").
func primaryChecks() []Check {
	user := func(homePrimary string) string {
		return simpleUser("${p}primary@example.com", `"emails":[{"value":"${p}primary@work.example.com","type":"work","primary":true},
			{"value":"${p}primary@home.example.com","type":"home"`+homePrimary+`},{"value":"${p}primary@other.example.com","type":"other"}],
			"phoneNumbers":[{"value":"+1 555 0100","type":"work","primary":false}],
			"addresses":[{"locality":"Paris","type":"work","primary":false},{"locality":"Lyon","type":"home"}]`)
	}
	sent := []Assert{
		Eq("emails[type=work].primary", true), Eq("emails[type=home].primary", false),
		Eq("emails[type=other].value", "${p}primary@other.example.com"), Absent("emails[type=other].primary"),
		Eq("phoneNumbers[type=work].primary", false),
		Eq("addresses[type=work].primary", false), Eq("addresses[type=home].locality", "Lyon"), Absent("addresses[type=home].primary"),
	}
	return []Check{{Name: "primary-false-roundtrip", Steps: []Step{
		createUser("u", user(`,"primary":false`), sent...),
		getStep("GET returns each primary as sent", "/Users/${u.id}", sent...),
		// RFC 7644 §3.5.1: PUT replaces, so a primary left out now is left out.
		{Name: "PUT without the home email's primary", Method: http.MethodPut, Path: "/Users/${u.id}", Body: user(""),
			Status: http.StatusOK, Want: []Assert{Eq("emails[type=home].value", "${p}primary@home.example.com"), Absent("emails[type=home].primary"),
				Eq("phoneNumbers[type=work].primary", false)}},
		patchStep("PATCH replace the other email's primary with false", "/Users/${u.id}",
			`{"op":"replace","path":"emails[type eq \"other\"].primary","value":false}`),
		getStep("the other email's primary is false", "/Users/${u.id}", Eq("emails[type=other].primary", false),
			Absent("emails[type=home].primary"), Eq("emails[type=work].primary", true)),
		// §3.5.2.2: remove makes it unassigned.
		patchStep("PATCH remove the phone number's primary", "/Users/${u.id}",
			`{"op":"remove","path":"phoneNumbers[type eq \"work\"].primary"}`),
		getStep("the phone number's primary is absent", "/Users/${u.id}",
			Eq("phoneNumbers[type=work].value", "+1 555 0100"), Absent("phoneNumbers[type=work].primary")),
		getStep("a primary left out matches primary eq false",
			`/Users?filter=userName eq "${p}primary@example.com" and emails[type eq "home" and primary eq false]`, listOf("${u.id}")...),
		getStep("a primary false does not match primary eq true",
			`/Users?filter=userName eq "${p}primary@example.com" and emails[type eq "other" and primary eq true]`, listOf()...),
	}}}
}

// ---- ETags (RFC 7644 §3.14) ----

func etagChecks() []Check {
	stale := `W/"999999"`
	return []Check{{Name: "etag-advertised", Steps: []Step{
		// A server that sends ETags and honours If-Match must say so (RFC 7643 §5,
		// RFC 7644 §3.14: "support for ETags is indicated by etag.supported").
		createUser("u", patchUser),
		{Name: "the server sends an ETag", Path: "/Users/${u.id}", Status: 200, Want: []Assert{HasHeader("ETag")}},
		getStep("so /ServiceProviderConfig must advertise it", "/ServiceProviderConfig", Eq("etag.supported", true)),
	}}, {Name: "etag-if-match", Steps: []Step{
		createUser("u", patchUser),
		{Name: "GET the ETag", Path: "/Users/${u.id}", Status: 200, Capture: map[string]string{"u.etag": "header:ETag"},
			Want: []Assert{Eq("meta.version", "${u.etag}")}},
		{Name: "PUT with a stale If-Match", Method: http.MethodPut, Path: "/Users/${u.id}",
			Header: map[string]string{"If-Match": stale},
			Body:   simpleUser("${p}patch@example.com", `"displayName":"Stale Write"`),
			Status: http.StatusPreconditionFailed, Want: scimError(412, "")},
		getStep("the stale PUT changed nothing", "/Users/${u.id}", Eq("displayName", "Patch Me"), HeaderEq("ETag", "${u.etag}")),
		{Name: "PUT with the current If-Match", Method: http.MethodPut, Path: "/Users/${u.id}",
			Header: map[string]string{"If-Match": "${u.etag}"},
			Body:   simpleUser("${p}patch@example.com", `"displayName":"Fresh Write"`),
			Status: http.StatusOK, Want: []Assert{Eq("displayName", "Fresh Write"), HeaderNe("ETag", "${u.etag}")},
			Capture: map[string]string{"u.etag2": "header:ETag"}},
		{Name: "PUT with the now outdated ETag", Method: http.MethodPut, Path: "/Users/${u.id}",
			Header: map[string]string{"If-Match": "${u.etag}"},
			Body:   simpleUser("${p}patch@example.com", `"displayName":"Lost Update"`),
			Status: http.StatusPreconditionFailed, Want: scimError(412, "")},
		{Name: "PATCH with the outdated ETag", Method: http.MethodPatch, Path: "/Users/${u.id}",
			Header: map[string]string{"If-Match": "${u.etag}"},
			Body:   patchBody(`{"op":"replace","path":"displayName","value":"Lost Update"}`),
			Status: http.StatusPreconditionFailed, Want: scimError(412, "")},
		{Name: "DELETE with the outdated ETag", Method: http.MethodDelete, Path: "/Users/${u.id}",
			Header: map[string]string{"If-Match": "${u.etag}"},
			Status: http.StatusPreconditionFailed, Want: scimError(412, "")},
		getStep("still the fresh write", "/Users/${u.id}", Eq("displayName", "Fresh Write")),
		{Name: "PATCH with the current ETag", Method: http.MethodPatch, Path: "/Users/${u.id}",
			Header:   map[string]string{"If-Match": "${u.etag2}"},
			Body:     patchBody(`{"op":"replace","path":"displayName","value":"Patched"}`),
			Statuses: []int{200, 204}},
		{Name: "If-Match: * matches any version", Method: http.MethodPatch, Path: "/Users/${u.id}",
			Header:   map[string]string{"If-Match": "*"},
			Body:     patchBody(`{"op":"replace","path":"title","value":"Star"}`),
			Statuses: []int{200, 204}},
		getStep("GET", "/Users/${u.id}", Eq("displayName", "Patched"), Eq("title", "Star")),
	}}, {Name: "etag-if-none-match", Steps: []Step{
		// RFC 7644 §3.14: a GET whose If-None-Match names the version it would return is
		// answered "an empty body with a 304 (Not Modified) response code". RFC 9110
		// §13.1.2: the same condition on a write is 412 and applies nothing.
		createUser("u", simpleUser("${p}etag-inm@example.com", "")),
		{Name: "GET the ETag", Path: "/Users/${u.id}", Status: 200, Capture: map[string]string{"u.etag": "header:ETag"}},
		{Name: "GET with If-None-Match the current version", Path: "/Users/${u.id}",
			Header: map[string]string{"If-None-Match": "${u.etag}"}, Status: http.StatusNotModified,
			Want: []Assert{HeaderEq("ETag", "${u.etag}")}},
		{Name: "GET with If-None-Match another version", Path: "/Users/${u.id}",
			Header: map[string]string{"If-None-Match": stale}, Status: 200, Want: []Assert{Eq("id", "${u.id}")}},
		{Name: "PATCH with If-None-Match the current version", Method: http.MethodPatch, Path: "/Users/${u.id}",
			Header: map[string]string{"If-None-Match": "${u.etag}"},
			Body:   patchBody(`{"op":"replace","path":"title","value":"Not Applied"}`),
			Status: http.StatusPreconditionFailed, Want: scimError(412, "")},
		{Name: "DELETE with If-None-Match: *", Method: http.MethodDelete, Path: "/Users/${u.id}",
			Header: map[string]string{"If-None-Match": "*"},
			Status: http.StatusPreconditionFailed, Want: scimError(412, "")},
		getStep("neither write applied", "/Users/${u.id}", Absent("title"), HeaderEq("ETag", "${u.etag}")),
	}}, {Name: "etag-group-patch-204", Steps: []Step{
		// RFC 7644 §3.14: every answer about a versioned resource carries its ETag, a 204 to
		// a group's members PATCH included, so the next If-Match needs no GET.
		createUser("u", simpleUser("${p}etag-member@example.com", "")),
		{Name: "POST a group", Method: http.MethodPost, Path: "/Groups",
			Body:   `{"schemas":["` + store.GroupSchema + `"],"displayName":"${p}ETag Group"}`,
			Status: http.StatusCreated, Capture: map[string]string{"g.id": "id", "g.etag": "header:ETag"}},
		{Name: "PATCH its members with If-Match", Method: http.MethodPatch, Path: "/Groups/${g.id}",
			Header:   map[string]string{"If-Match": "${g.etag}"},
			Body:     patchBody(`{"op":"add","path":"members","value":[{"value":"${u.id}"}]}`),
			Statuses: []int{200, 204}, Want: []Assert{HasHeader("ETag"), HeaderNe("ETag", "${g.etag}")},
			Capture: map[string]string{"g.etag2": "header:ETag"}},
		{Name: "the answer's ETag is the group's version", Path: "/Groups/${g.id}?excludedAttributes=members", Status: 200,
			Want: []Assert{HeaderEq("ETag", "${g.etag2}"), Eq("meta.version", "${g.etag2}")}},
		{Name: "and the next If-Match takes it", Method: http.MethodPatch, Path: "/Groups/${g.id}",
			Header: map[string]string{"If-Match": "${g.etag2}"},
			Body:   patchBody(`{"op":"remove","path":"members[value eq \"${u.id}\"]"}`), Statuses: []int{200, 204}},
	}}}
}

// ---- groups (RFC 7643 §4.2) ----

func groupChecks() []Check {
	return []Check{
		{Name: "groups-crud", Steps: []Step{
			createUser("u1", simpleUser("${p}member1@example.com", "")),
			createUser("u2", simpleUser("${p}member2@example.com", "")),
			createGroup("g", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}Group","members":[{"value":"${u1.id}"}]}`,
				Contains("schemas", store.GroupSchema), Eq("displayName", "${p}Group"), Set("members[*].value", "${u1.id}"),
				Eq("meta.resourceType", "Group"), DateTime("meta.created"), HasHeader("Location")),
			getStep("GET the group", "/Groups/${g.id}", Eq("id", "${g.id}"), Eq("displayName", "${p}Group"),
				Set("members[*].value", "${u1.id}")),
			getStep("filter by displayName", `/Groups?filter=displayName eq "${p}Group"`, listOf("${g.id}")...),
			{Name: "PUT replaces the members", Method: http.MethodPut, Path: "/Groups/${g.id}",
				Body:   `{"schemas":["` + store.GroupSchema + `"],"displayName":"${p}Group Renamed","members":[{"value":"${u2.id}"}]}`,
				Status: 200, Want: []Assert{Eq("displayName", "${p}Group Renamed"), Set("members[*].value", "${u2.id}")}},
			getStep("GET after PUT", "/Groups/${g.id}", Eq("displayName", "${p}Group Renamed"), Set("members[*].value", "${u2.id}")),
			{Name: "DELETE the group", Method: http.MethodDelete, Path: "/Groups/${g.id}", Status: http.StatusNoContent},
			{Name: "GET after DELETE", Path: "/Groups/${g.id}", Status: http.StatusNotFound, Want: scimError(404, "")},
			getStep("the members still exist", "/Users/${u2.id}", Eq("id", "${u2.id}")),
		}},
		{Name: "groups-displayname-unique", Steps: []Step{
			// RFC 7644 §3.3: a POST that would break a uniqueness rule is 409 uniqueness;
			// two groups of one name would map to one team.
			createGroup("g", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}Unique"}`),
			{Name: "POST the same name in another case", Method: http.MethodPost, Path: "/Groups",
				Body:   `{"schemas":["` + store.GroupSchema + `"],"displayName":"${p|upper}UNIQUE"}`,
				Status: http.StatusConflict, Want: scimError(http.StatusConflict, "uniqueness")},
			createGroup("h", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}Other"}`),
			{Name: "rename onto the first name", Method: http.MethodPatch, Path: "/Groups/${h.id}",
				Body:   patchBody(`{"op":"replace","path":"displayName","value":"${p}unique"}`),
				Status: http.StatusConflict, Want: scimError(http.StatusConflict, "uniqueness")},
			getStep("the refused rename changed nothing", "/Groups/${h.id}", Eq("displayName", "${p}Other")),
		}},
		{Name: "groups-refs", Steps: []Step{
			// RFC 7643 §4.2: members[].$ref is the URI of the member; §4.1.2: groups[].$ref
			// the URI of the group. Both are the resources' meta.location.
			{Name: "POST a user", Method: http.MethodPost, Path: "/Users", Body: simpleUser("${p}ref@example.com", ""),
				Status: http.StatusCreated, Capture: map[string]string{"u.id": "id", "u.loc": "meta.location"}},
			{Name: "POST a group with the user", Method: http.MethodPost, Path: "/Groups",
				Body:   `{"schemas":["` + store.GroupSchema + `"],"displayName":"${p}Refs","members":[{"value":"${u.id}"}]}`,
				Status: http.StatusCreated, Capture: map[string]string{"g.id": "id", "g.loc": "meta.location"},
				Want: []Assert{Eq("members[0].$ref", "${u.loc}"), Eq("members[0].type", "User")}},
			getStep("GET the group", "/Groups/${g.id}", Eq("members[0].$ref", "${u.loc}"), Eq("members[0].value", "${u.id}")),
			getStep("GET the user", "/Users/${u.id}", Eq("groups[0].$ref", "${g.loc}"), Eq("groups[0].value", "${g.id}")),
		}},
		{Name: "groups-filter-members-value", Steps: []Step{
			createUser("u1", simpleUser("${p}member1@example.com", "")),
			createUser("u2", simpleUser("${p}member2@example.com", "")),
			createGroup("g1", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}G1","members":[{"value":"${u1.id}"}]}`),
			createGroup("g2", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}G2","members":[{"value":"${u2.id}"}]}`),
			getStep("members.value eq", `/Groups?filter=members.value eq "${u1.id}" and displayName sw "${p}"`, listOf("${g1.id}")...),
			getStep("members[value eq]", `/Groups?filter=members[value eq "${u2.id}"] and displayName sw "${p}"`, listOf("${g2.id}")...),
		}},
	}
}

// ---- searching with POST (RFC 7644 §3.4.3) ----

// searchBody is a SearchRequest (RFC 7644 §3.4.3) with the given members.
func searchBody(members string) string {
	return `{"schemas":["` + store.SearchRequestSchema + `"],` + members + `}`
}

func searchStep(name, path, members string, want ...Assert) Step {
	return Step{Name: name, Method: http.MethodPost, Path: path, Body: searchBody(members), Status: http.StatusOK, Want: want}
}

func searchChecks() []Check {
	scoped := `"filter":"userName sw \"${p}\" and name.familyName sw \"And\""`
	return []Check{
		{Name: "search-users", Steps: append(slices.Clone(filterFixture),
			// §3.4.3: the same filter, projection and paging as a GET, from the body.
			searchStep("POST /Users/.search", "/Users/.search", scoped+`,"attributes":["userName"],"startIndex":1,"count":10`,
				append(listOf("${a.id}", "${c.id}"), Absent("Resources[0].name"), Absent("Resources[1].title"),
					Exists("Resources[0].userName"))...),
			searchStep("excludedAttributes", "/Users/.search", scoped+`,"excludedAttributes":["name","emails"]`,
				append(listOf("${a.id}", "${c.id}"), Absent("Resources[0].name"), Absent("Resources[0].emails"))...),
			searchStep("count pages the result", "/Users/.search", scoped+`,"startIndex":2,"count":1`,
				Eq("totalResults", 2), Eq("startIndex", 2), Eq("itemsPerPage", 1), Len("Resources", 1)),
		)},
		{Name: "search-groups", Steps: []Step{
			createUser("u", simpleUser("${p}searched@example.com", "")),
			createGroup("g", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}Searched","members":[{"value":"${u.id}"}]}`),
			searchStep("POST /Groups/.search", "/Groups/.search", `"filter":"displayName eq \"${p}Searched\""`,
				append(listOf("${g.id}"), Set("Resources[0].members[*].value", "${u.id}"))...),
			searchStep("excludedAttributes members", "/Groups/.search",
				`"filter":"displayName eq \"${p}Searched\"","excludedAttributes":["members"]`,
				append(listOf("${g.id}"), Absent("Resources[0].members"))...),
		}},
		{Name: "search-root", Steps: []Step{
			// §3.4.3: a search at the root covers every resource type.
			createUser("u", simpleUser("${p}root@example.com", `"externalId":"${guid1}"`)),
			createGroup("g", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}Root","externalId":"${guid2}"}`),
			searchStep("POST /.search", "/.search", `"filter":"externalId eq \"${guid1}\" or externalId eq \"${guid2}\""`,
				listOf("${u.id}", "${g.id}")...),
			searchStep("paged across both types", "/.search",
				`"filter":"externalId eq \"${guid1}\" or externalId eq \"${guid2}\"","startIndex":2,"count":1`,
				Eq("totalResults", 2), Eq("itemsPerPage", 1), Len("Resources", 1), Eq("Resources[0].id", "${g.id}")),
			searchStep("an attribute of one type selects only that type", "/.search", `"filter":"userName eq \"${p}root@example.com\""`,
				listOf("${u.id}")...),
		}},
		{Name: "search-errors", Steps: []Step{
			{Name: "a body that is not a SearchRequest", Method: http.MethodPost, Path: "/Users/.search", Body: `{"count":"many"}`,
				Status: http.StatusBadRequest, Want: scimError(http.StatusBadRequest, "invalidSyntax")},
			{Name: "schemas naming another message", Method: http.MethodPost, Path: "/Users/.search",
				Body: `{"schemas":["` + store.ListResponseSchema + `"]}`, Status: http.StatusBadRequest, Want: scimError(http.StatusBadRequest, "invalidSyntax")},
			{Name: "an invalid filter", Method: http.MethodPost, Path: "/Groups/.search", Body: searchBody(`"filter":"displayName xx \"a\""`),
				Status: http.StatusBadRequest, Want: scimError(http.StatusBadRequest, "invalidFilter")},
			{Name: "a root filter no resource type can run", Method: http.MethodPost, Path: "/.search",
				Body:   searchBody(`"filter":"members.value eq \"x\" and userName eq \"y\""`),
				Status: http.StatusBadRequest, Want: scimError(http.StatusBadRequest, "invalidFilter")},
			{Name: "attributes as a comma-separated string, as in a URL", Method: http.MethodPost, Path: "/Users/.search",
				Body: searchBody(`"filter":"userName eq \"${p}nobody\"","attributes":"userName,emails"`), Status: http.StatusOK,
				Want: emptyList()},
		}},
	}
}

// ---- bulk operations (RFC 7644 §3.7) ----

// The URNs of the bulk messages (RFC 7644 §3.7).
const (
	bulkRequestSchema  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponseSchema = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
)

// bulkBody is a BulkRequest with the given operations (a JSON array's elements) and
// other members (may be empty).
func bulkBody(members, ops string) string {
	if members != "" {
		members += ","
	}
	return `{"schemas":["` + bulkRequestSchema + `"],` + members + `"Operations":[` + ops + `]}`
}

// bulkStep POSTs a BulkRequest and wants 200 with a BulkResponse (§3.7: 200 when the
// bulk request was processed, whatever its operations answered).
func bulkStep(name, members, ops string, want ...Assert) Step {
	return Step{Name: name, Method: http.MethodPost, Path: "/Bulk", Body: bulkBody(members, ops), Status: http.StatusOK,
		Want: append([]Assert{Contains("schemas", bulkResponseSchema)}, want...)}
}

// bulkPostUser is a POST /Users operation with a bulkId.
func bulkPostUser(bulkID, userName, extra string) string {
	return `{"method":"POST","path":"/Users","bulkId":"` + bulkID + `","data":` + simpleUser(userName, extra) + `}`
}

// opStatus wants the status of the operation at path to be one of codes: a string in the
// RFC's examples (§3.7.3), accepted as a number too.
func opStatus(path string, codes ...int) Assert {
	return Func(fmt.Sprintf("%s.status in %v", path, codes), func(r *Response) error {
		v, ok := r.Get(path + ".status")
		for _, c := range codes {
			if ok && fmt.Sprint(v) == fmt.Sprint(c) {
				return nil
			}
		}
		return fmt.Errorf("%s.status: want one of %v, got %s", path, codes, show(v, ok))
	})
}

// bulkSupport reads bulk of /ServiceProviderConfig (RFC 7643 §5). Bulk is optional
// (§3.7): the bulk checks check nothing on a server that says it does not support it.
func bulkSupport(ctx context.Context, s *Session) (supported bool, maxOps, maxPayload int, err error) {
	r, err := s.Do(ctx, getStep("GET /ServiceProviderConfig", "/ServiceProviderConfig"))
	if err != nil {
		return false, 0, 0, err
	}
	if v, _ := r.Get("bulk.supported"); v != true {
		return false, 0, 0, nil
	}
	ops, _ := r.Get("bulk.maxOperations")
	size, _ := r.Get("bulk.maxPayloadSize")
	o, _ := ops.(float64)
	p, _ := size.(float64)
	if o < 1 || p < 1 {
		// §3.7.4: the service provider MUST define both limits.
		return true, 0, 0, r.Errorf("bulk.supported is true, so bulk.maxOperations and bulk.maxPayloadSize must be positive (RFC 7644 §3.7.4)")
	}
	return true, int(o), int(p), nil
}

// ifBulk runs steps, then more (when set), on a server that supports bulk.
func ifBulk(steps []Step, more func(ctx context.Context, s *Session, maxOps, maxPayload int) error) func(ctx context.Context, s *Session) error {
	return func(ctx context.Context, s *Session) error {
		ok, maxOps, maxPayload, err := bulkSupport(ctx, s)
		if err != nil || !ok {
			return err
		}
		for _, st := range steps {
			if _, err := s.Do(ctx, st); err != nil {
				return err
			}
		}
		if more != nil {
			return more(ctx, s, maxOps, maxPayload)
		}
		return nil
	}
}

// idsFromLocations sets "<name>.id" to the id each "<name>.loc" location ends with.
func idsFromLocations(s *Session, names ...string) {
	for _, n := range names {
		loc := s.Vars[n+".loc"]
		id := loc[strings.LastIndexByte(loc, '/')+1:]
		if u, err := url.PathUnescape(id); err == nil {
			id = u
		}
		s.Vars[n+".id"] = id
	}
}

func bulkChecks() []Check {
	group := func(bulkID, name, members string) string {
		return `{"method":"POST","path":"/Groups","bulkId":"` + bulkID + `","data":{"schemas":["` + store.GroupSchema +
			`"],"displayName":"` + name + `","members":[` + members + `]}}`
	}
	return []Check{
		{Name: "bulk-bulkid-references", Func: ifBulk([]Step{
			// §3.7.2: a group created in the request names the users created before it
			// by "bulkId:"; the answer lists each operation in order (§3.7.3).
			func() Step {
				st := bulkStep("users, then a group naming them by bulkId", "",
					bulkPostUser("u1", "${p}bulk1@example.com", "")+","+bulkPostUser("u2", "${p}bulk2@example.com", "")+","+
						group("g", "${p}Bulk", `{"value":"bulkId:u1"},{"value":"bulkId:u2"}`),
					Len("Operations", 3),
					Eq("Operations[0].method", "POST"), Eq("Operations[0].bulkId", "u1"), opStatus("Operations[0]", 201),
					Eq("Operations[1].bulkId", "u2"), opStatus("Operations[1]", 201),
					Eq("Operations[2].bulkId", "g"), opStatus("Operations[2]", 201),
					NonEmpty("Operations[0].version"))
				st.Capture = map[string]string{"u1.loc": "Operations[0].location", "u2.loc": "Operations[1].location", "g.loc": "Operations[2].location"}
				return st
			}(),
		}, func(ctx context.Context, s *Session, _, _ int) error {
			idsFromLocations(s, "u1", "u2", "g")
			for _, st := range []Step{
				getStep("the group has both users", "/Groups/${g.id}", Eq("displayName", "${p}Bulk"), Set("members[*].value", "${u1.id}", "${u2.id}")),
				getStep("the user is at its location", "/Users/${u1.id}", Eq("userName", "${p}bulk1@example.com")),
				bulkStep("PATCH and DELETE through a reference to the path", "",
					bulkPostUser("u3", "${p}bulk3@example.com", "")+
						`,{"method":"PATCH","path":"/Users/bulkId:u3","data":`+patchBody(`{"op":"replace","path":"title","value":"Referenced"}`)+`}`+
						`,{"method":"DELETE","path":"/Users/bulkId:u3"}`,
					Len("Operations", 3), opStatus("Operations[0]", 201), opStatus("Operations[1]", 200, 204), opStatus("Operations[2]", 204)),
			} {
				if _, err := s.Do(ctx, st); err != nil {
					return err
				}
			}
			return nil
		})},
		{Name: "bulk-errors-continue", Func: ifBulk([]Step{
			// §3.7: the service provider continues after an operation fails, and the
			// failed operation's response is its SCIM error (§3.7.3, §3.12).
			createUser("u", simpleUser("${p}bulktaken@example.com", "")),
			bulkStep("a duplicate userName among new users", "",
				bulkPostUser("dup", "${p}bulktaken@example.com", "")+","+bulkPostUser("ok", "${p}bulkafter@example.com", ""),
				Len("Operations", 2), opStatus("Operations[0]", 409), Eq("Operations[0].response.scimType", "uniqueness"),
				Contains("Operations[0].response.schemas", store.ErrorSchema), opStatus("Operations[1]", 201)),
			getStep("the operation after the failure ran", `/Users?filter=userName eq "${p}bulkafter@example.com"`,
				Eq("totalResults", 1)),
		}, nil)},
		{Name: "bulk-fail-on-errors", Func: ifBulk([]Step{
			// §3.7: failOnErrors is the number of errors accepted before the rest is not
			// run; the answer lists what ran (§3.7.3).
			bulkStep("failOnErrors 1", `"failOnErrors":1`,
				bulkPostUser("bad", "", "")+","+bulkPostUser("never", "${p}bulknever@example.com", ""),
				Len("Operations", 1), opStatus("Operations[0]", 400)),
			getStep("the operation after the error did not run", `/Users?filter=userName eq "${p}bulknever@example.com"`, listOf()...),
		}, nil)},
		{Name: "bulk-version", Func: ifBulk([]Step{
			// §3.7: an operation's version is its If-Match (§3.14); the RFC's own
			// example answers a stale one 412 in the operation.
			{Name: "create", Method: http.MethodPost, Path: "/Users", Body: simpleUser("${p}bulkversion@example.com", ""),
				Status: http.StatusCreated, Capture: map[string]string{"u.id": "id", "u.etag": "header:ETag"}},
			bulkStep("a stale version, then the current one", "",
				`{"method":"PATCH","path":"/Users/${u.id}","version":"W/\"999999\"","data":`+
					patchBody(`{"op":"replace","path":"title","value":"Stale"}`)+`},`+
					`{"method":"PATCH","path":"/Users/${u.id}","version":"${u.etag}","data":`+
					patchBody(`{"op":"replace","path":"title","value":"Fresh"}`)+`}`,
				Len("Operations", 2), opStatus("Operations[0]", 412), opStatus("Operations[1]", 200, 204),
				Ne("Operations[1].version", "${u.etag}")),
			getStep("only the current version wrote", "/Users/${u.id}", Eq("title", "Fresh")),
		}, nil)},
		{Name: "bulk-unresolved-reference", Func: ifBulk([]Step{
			// §3.7.2: "bulkId:" names an operation of the same request; one that names
			// none cannot be resolved, and is that operation's error (§3.7.1: 409).
			bulkStep("a member naming no operation", "",
				group("g", "${p}Unresolved", `{"value":"bulkId:${rand}"}`),
				Len("Operations", 1), opStatus("Operations[0]", 400, 409)),
			getStep("no group was made", `/Groups?filter=displayName eq "${p}Unresolved"`, listOf()...),
		}, nil)},
		{Name: "bulk-limits", Func: ifBulk(nil, func(ctx context.Context, s *Session, maxOps, maxPayload int) error {
			// §3.7.4: beyond maxOperations or maxPayloadSize, 413 naming the limit. The
			// kit sends at most 10,000 operations and 16 MiB.
			tooLarge := withDetail(scimError(http.StatusRequestEntityTooLarge, ""))
			if maxOps <= 10000 {
				op := `{"method":"DELETE","path":"/Users/${guid1}"}`
				ops := strings.TrimSuffix(strings.Repeat(op+",", maxOps+1), ",")
				if _, err := s.Do(ctx, Step{Name: "maxOperations + 1", Method: http.MethodPost, Path: "/Bulk",
					Body: bulkBody("", ops), Status: http.StatusRequestEntityTooLarge, Want: tooLarge}); err != nil {
					return err
				}
			}
			if maxPayload <= 16<<20 {
				body := bulkBody("", bulkPostUser("big", "${p}bulkbig@example.com", ""))
				body += strings.Repeat(" ", max(maxPayload+1-len(body), 0))
				if _, err := s.Do(ctx, Step{Name: "maxPayloadSize + 1 bytes", Method: http.MethodPost, Path: "/Bulk",
					Body: body, Status: http.StatusRequestEntityTooLarge, Want: tooLarge}); err != nil {
					return err
				}
				if _, err := s.Do(ctx, getStep("nothing was created", `/Users?filter=userName eq "${p}bulkbig@example.com"`, listOf()...)); err != nil {
					return err
				}
			}
			return nil
		})},
	}
}
