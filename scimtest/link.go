package scimtest

import (
	"context"
	"net/http"

	"github.com/townsquare/townsquare/store"
)

// LinkChecks are the first sync of Okta and of Entra for a person who already has a user
// on the server (pre-provisioned by a bulk import, say), with that user's userName and
// externalId. Each looks the person up the way its IdP does before it would create one
// (Okta: userName eq; Entra: userName eq, and externalId eq for a group-less match), must
// find exactly that user, and then changes it the IdP's way (Okta: GET, then PUT of the
// full user with active and a password; Entra: PATCH with capitalised ops and string
// booleans), after which the lookups still find that one user: the IdP linked to it
// rather than making a duplicate. They create nothing, so they delete nothing.
func LinkChecks(userName, externalID string) []Check {
	vars := [][2]string{{"un", userName}, {"ext", externalID}}
	found := []Assert{Eq("totalResults", 1), NonEmpty("Resources[0].id")}
	capture := map[string]string{"u.id": "Resources[0].id"}
	return []Check{
		{Suite: "okta", Name: "link-pre-provisioned", Vars: vars, Steps: []Step{
			{Name: "existence check finds the user", Method: http.MethodGet, Status: http.StatusOK,
				Path: `/Users?filter=userName eq "${un}"&startIndex=1&count=100`, Want: found, Capture: capture},
			getStep("Okta GETs before it PUTs", "/Users/${u.id}", Eq("id", "${u.id}"), Eq("userName", "${un}")),
			{Name: "PUT the full user", Method: http.MethodPut, Path: "/Users/${u.id}",
				Body: `{"schemas":["` + store.UserSchema + `"],"id":"${u.id}","userName":"${un}",
					"name":{"givenName":"Okta","familyName":"Linked"},
					"emails":[{"primary":true,"value":"${un}","type":"work"}],
					"externalId":"${ext}","groups":[],"password":"1mz050nq","active":true}`,
				Status: http.StatusOK, Want: []Assert{Eq("id", "${u.id}"), Eq("name.givenName", "Okta"), Eq("active", true)}},
			getStep("still one user by userName", `/Users?filter=userName eq "${un}"&startIndex=1&count=100`, listOf("${u.id}")...),
			getStep("and by externalId", `/Users?filter=externalId eq "${ext}"`, listOf("${u.id}")...),
		}},
		{Suite: "entra", Name: "link-pre-provisioned", Vars: vars, Steps: []Step{
			{Name: "match by userName finds the user", Method: http.MethodGet, Status: http.StatusOK,
				Path: `/Users?filter=userName eq "${un}"`, Want: found, Capture: capture},
			getStep("match by externalId finds the same", `/Users?filter=externalId eq "${ext}"`, listOf("${u.id}")...),
			patchStep("Replace changed attributes", "/Users/${u.id}",
				`{"op":"Replace","path":"title","value":"Lead"},{"op":"Replace","path":"active","value":"True"}`),
			getStep("the user took them", "/Users/${u.id}", Eq("title", "Lead"), Eq("active", true), Eq("externalId", "${ext}")),
			getStep("still one user by userName", `/Users?filter=userName eq "${un}"`, listOf("${u.id}")...),
		}},
	}
}

// RunChecks runs the given checks as Run runs its own (cfg.Only is not used).
func RunChecks(ctx context.Context, cfg Config, checks []Check) []Result {
	return runChecks(ctx, cfg, checks)
}
