package scimtest

import (
	"context"
	"fmt"
	"net/http"

	"github.com/townsquare/townsquare/store"
)

// The "okta" suite: the requests Okta's SCIM 2.0 client sends (okta-developer-docs
// scim-20 reference, FAQ, and Okta-SCIM-20-SPEC-Test.json). Requests carry Okta's
// User-Agent and Content-Type application/json.

// oktaUser is the create body from Okta's SCIM 2.0 reference ("Create the user"),
// groups:[] and password included. ${un} is the userName, mixed case as provisioned.
const oktaUser = `{"schemas":["` + store.UserSchema + `"],"userName":"${un}",
	"name":{"givenName":"Test","familyName":"User"},
	"emails":[{"primary":true,"value":"${un}","type":"work"}],
	"displayName":"Test User","locale":"en-US","externalId":"00u${rand}h7",
	"groups":[],"password":"1mz050nq","active":true}`

var oktaUserWant = []Assert{
	NonEmpty("id"),
	Eq("userName", "${un}"),
	Eq("name.givenName", "Test"), Eq("name.familyName", "User"),
	Eq("emails[type=work].value", "${un}"), Eq("emails[type=work].primary", true),
	Eq("displayName", "Test User"), Eq("locale", "en-US"), Eq("externalId", "00u${rand}h7"),
	Eq("active", true),
	Absent("password"),
}

// oktaUserVars gives each Okta check a mixed-case userName.
var oktaUserVars = [][2]string{{"un", "${p}Test.User@Okta.local"}}

func oktaChecks() []Check {
	cs := []Check{
		{Name: "create-user", Vars: oktaUserVars, Steps: []Step{
			getStep("existence check before create", `/Users?filter=userName eq "${un}"&startIndex=1&count=100`,
				Contains("schemas", store.ListResponseSchema), Eq("totalResults", 0)),
			createUser("u", oktaUser, oktaUserWant...),
			getStep("GET /Users/{id}", "/Users/${u.id}", All(oktaUserWant, []Assert{Eq("id", "${u.id}")})...),
			getStep("the existence check now finds it", `/Users?filter=userName eq "${un}"&startIndex=1&count=100`,
				append(listOf("${u.id}"), Eq("Resources[0].userName", "${un}"))...),
		}},
		{Name: "username-case-insensitive", Vars: oktaUserVars, Steps: []Step{
			createUser("u", oktaUser),
			getStep("filter userName eq <ALL CAPS>", `/Users?filter=userName eq "${un|upper}"&startIndex=1&count=100`,
				append(listOf("${u.id}"), Eq("Resources[0].userName", "${un}"))...), // returned as provisioned
		}},
		{Name: "duplicate-user-409", Vars: oktaUserVars, Steps: []Step{
			createUser("u", oktaUser),
			{Name: "create it again", Method: http.MethodPost, Path: "/Users", Body: oktaUser,
				Status: http.StatusConflict, Want: scimError(409, "")},
		}},
		{Name: "unknown-user-404", Steps: []Step{
			{Path: "/Users/${guid1}", Status: http.StatusNotFound, Want: withDetail(scimError(404, ""))},
		}},
		{Name: "deactivate-by-patch", Vars: oktaUserVars, Steps: []Step{
			createUser("u", oktaUser),
			{Name: "PATCH replace {active:false}", Method: http.MethodPatch, Path: "/Users/${u.id}",
				Body:   patchBody(`{"op":"replace","value":{"active":false}}`),
				Status: http.StatusOK, Want: []Assert{Eq("id", "${u.id}"), Eq("active", false), Eq("userName", "${un}")}},
			getStep("a deactivated user is still readable", "/Users/${u.id}", Eq("active", false), Eq("userName", "${un}"),
				Eq("emails[type=work].value", "${un}")),
			getStep("and still found by filter", `/Users?filter=userName eq "${un}"&startIndex=1&count=100`,
				append(listOf("${u.id}"), Eq("Resources[0].active", false))...),
			{Name: "PATCH replace {active:true} reactivates", Method: http.MethodPatch, Path: "/Users/${u.id}",
				Body:   patchBody(`{"op":"replace","value":{"active":true}}`),
				Status: http.StatusOK, Want: []Assert{Eq("active", true)}},
		}},
		{Name: "update-by-put", Vars: oktaUserVars, Steps: []Step{
			createUser("u", oktaUser),
			getStep("Okta GETs before it PUTs", "/Users/${u.id}", Eq("id", "${u.id}")),
			{Name: "PUT the full user with a new givenName", Method: http.MethodPut, Path: "/Users/${u.id}",
				Body: `{"schemas":["` + store.UserSchema + `"],"id":"${u.id}","userName":"${un}",
					"name":{"givenName":"Changed","familyName":"User"},
					"emails":[{"primary":true,"value":"${un}","type":"work"}],
					"displayName":"Test User","locale":"en-US","externalId":"00u${rand}h7","groups":[],"active":true}`,
				Status: http.StatusOK, Want: keepOktaValues("Changed", true)},
			getStep("GET shows the update and keeps the rest", "/Users/${u.id}", keepOktaValues("Changed", true)...),
			// App Integration Wizard apps deactivate with PUT, active:false.
			{Name: "PUT with active:false deactivates", Method: http.MethodPut, Path: "/Users/${u.id}",
				Body: `{"schemas":["` + store.UserSchema + `"],"id":"${u.id}","userName":"${un}",
					"name":{"givenName":"Changed","familyName":"User"},
					"emails":[{"primary":true,"value":"${un}","type":"work"}],
					"displayName":"Test User","locale":"en-US","externalId":"00u${rand}h7","groups":[],"active":false}`,
				Status: http.StatusOK, Want: keepOktaValues("Changed", false)},
			getStep("the deactivated user is still readable", "/Users/${u.id}", keepOktaValues("Changed", false)...),
		}},
		{Name: "group-push", Vars: [][2]string{{"gname", "${p}Okta Group"}}, Steps: []Step{
			createUser("u1", simpleUser("${p}push1@okta.local", `"name":{"givenName":"Push","familyName":"One"}`)),
			createUser("u2", simpleUser("${p}push2@okta.local", `"name":{"givenName":"Push","familyName":"Two"}`)),
			getStep("existence check before push", `/Groups?filter=displayName eq "${gname}"&startIndex=1&count=100`,
				Contains("schemas", store.ListResponseSchema), Eq("totalResults", 0)),
			createGroup("g", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${gname}","members":[]}`,
				Eq("displayName", "${gname}"), Absent("members")),
			patchStep("add the first member", "/Groups/${g.id}",
				`{"op":"add","path":"members","value":[{"value":"${u1.id}","display":"${p}push1@okta.local"}]}`),
			getStep("GET shows it", "/Groups/${g.id}", Set("members[*].value", "${u1.id}")),
			patchStep("remove one member and add another in one PATCH", "/Groups/${g.id}",
				`{"op":"remove","path":"members[value eq \"${u1.id}\"]"},`+
					`{"op":"add","path":"members","value":[{"value":"${u2.id}","display":"${p}push2@okta.local"}]}`),
			// Okta sends this after every membership update.
			patchStep("the rename PATCH with the same name", "/Groups/${g.id}",
				`{"op":"replace","value":{"id":"${g.id}","displayName":"${gname}"}}`),
			getStep("GET /Groups/{id} shows the new membership", "/Groups/${g.id}",
				Eq("id", "${g.id}"), Eq("displayName", "${gname}"), Set("members[*].value", "${u2.id}")),
		}},
		{Name: "group-rename", Vars: [][2]string{{"gname", "${p}Okta Group"}}, Steps: []Step{
			createUser("u1", simpleUser("${p}push1@okta.local", "")),
			createGroup("g", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${gname}","members":[{"value":"${u1.id}"}]}`),
			patchStep("rename", "/Groups/${g.id}", `{"op":"replace","value":{"id":"${g.id}","displayName":"${gname} Renamed"}}`),
			getStep("GET", "/Groups/${g.id}", Eq("displayName", "${gname} Renamed"), Set("members[*].value", "${u1.id}")),
		}},
		{Name: "group-replace-members", Vars: [][2]string{{"gname", "${p}Okta Group"}}, Steps: []Step{
			createUser("u1", simpleUser("${p}push1@okta.local", "")),
			createUser("u2", simpleUser("${p}push2@okta.local", "")),
			createUser("u3", simpleUser("${p}push3@okta.local", "")),
			createGroup("g", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${gname}","members":[{"value":"${u1.id}"}]}`),
			patchStep("full push: replace members", "/Groups/${g.id}",
				`{"op":"replace","path":"members","value":[{"value":"${u2.id}","display":"two"},{"value":"${u3.id}","display":"three"}]}`),
			getStep("GET", "/Groups/${g.id}", Set("members[*].value", "${u2.id}", "${u3.id}")),
			patchStep("push of an empty group: replace members []", "/Groups/${g.id}",
				`{"op":"replace","path":"members","value":[]}`),
			getStep("GET", "/Groups/${g.id}", Absent("members"), Eq("displayName", "${gname}")),
		}},
		{Name: "import-paging", Vars: oktaUserVars, Steps: []Step{
			createUser("u", oktaUser),
			createGroup("g", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}Okta Import","members":[]}`),
		}, Func: oktaImportPaging},
	}
	for i := range cs {
		cs[i].Suite = "okta"
	}
	return cs
}

func keepOktaValues(givenName string, active bool) []Assert {
	return []Assert{
		Eq("id", "${u.id}"), Eq("userName", "${un}"),
		Eq("name.givenName", givenName), Eq("name.familyName", "User"),
		Eq("emails[type=work].value", "${un}"), Eq("emails[type=work].primary", true),
		Eq("displayName", "Test User"), Eq("locale", "en-US"), Eq("externalId", "00u${rand}h7"),
		Eq("active", active), Absent("password"),
	}
}

// oktaImportPaging walks /Users and /Groups the way Okta imports: count=100,
// startIndex 1, 101, … The paging numbers must be integers, itemsPerPage must be the
// number of Resources on the page, and the resources this check created must appear
// exactly once.
func oktaImportPaging(ctx context.Context, s *Session) error {
	for _, c := range []struct{ endpoint, id string }{{"/Users", s.Vars["u.id"]}, {"/Groups", s.Vars["g.id"]}} {
		seen := map[string]int{}
		total, capped := -1, false
		for start := 1; ; start += 100 {
			if start > 100*100 { // a big server: stop after 100 pages and check what was seen
				capped = true
				break
			}
			r, err := s.Do(ctx, getStep(fmt.Sprintf("import %s from %d", c.endpoint, start),
				fmt.Sprintf("%s?startIndex=%d&count=100", c.endpoint, start),
				Contains("schemas", store.ListResponseSchema), Eq("startIndex", start), Func("paging numbers", pageNumbers(100))))
			if err != nil {
				return err
			}
			t, _ := r.Get("totalResults")
			tf, _ := t.(float64)
			if total >= 0 && int(tf) != total {
				// Other clients may be writing; say so rather than fail obscurely.
				return r.Errorf("totalResults changed during the walk from %d to %d", total, int(tf))
			}
			total = int(tf)
			ids, _ := r.Get("Resources[*].id")
			list, _ := ids.([]any)
			for _, id := range list {
				seen[scalarString(id)]++
			}
			if len(list) == 0 || start+len(list) > total {
				break
			}
		}
		for id, n := range seen {
			if n > 1 {
				return fmt.Errorf("import of %s returned %s %d times (unstable order across pages)", c.endpoint, id, n)
			}
		}
		if capped {
			continue
		}
		if seen[c.id] != 1 {
			return fmt.Errorf("import of %s saw the resource created by this check (%s) %d times, want once", c.endpoint, c.id, seen[c.id])
		}
		if len(seen) != total {
			return fmt.Errorf("import of %s returned %d distinct resources, totalResults said %d", c.endpoint, len(seen), total)
		}
	}
	return nil
}

// pageNumbers checks a ListResponse's paging numbers: integers (Okta requires it), and
// itemsPerPage equal to the number of Resources and at most count.
func pageNumbers(count int) func(r *Response) error {
	return func(r *Response) error {
		nums := map[string]int{}
		for _, k := range []string{"totalResults", "itemsPerPage", "startIndex"} {
			v, ok := r.Get(k)
			f, isNum := v.(float64)
			if !ok || !isNum || f != float64(int(f)) || f < 0 {
				return fmt.Errorf("%s: want a non-negative integer, got %s", k, show(v, ok))
			}
			nums[k] = int(f)
		}
		res, _ := r.Get("Resources")
		list, _ := res.([]any)
		if nums["itemsPerPage"] != len(list) {
			return fmt.Errorf("itemsPerPage is %d but %d Resources were returned", nums["itemsPerPage"], len(list))
		}
		if len(list) > count {
			return fmt.Errorf("%d Resources returned for count=%d", len(list), count)
		}
		if nums["totalResults"] < len(list) {
			return fmt.Errorf("totalResults %d is less than the %d Resources returned", nums["totalResults"], len(list))
		}
		return nil
	}
}
