package scimtest

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/townsquare/townsquare/store"
)

// ---- sorting (RFC 7644 §3.4.2.3) ----

// inOrder wants a ListResponse of exactly these resource ids (templates), in this order.
func inOrder(ids ...string) []Assert {
	as := []Assert{Contains("schemas", store.ListResponseSchema), Eq("totalResults", len(ids)), Len("Resources", len(ids))}
	for i, id := range ids {
		as = append(as, Eq(fmt.Sprintf("Resources[%d].id", i), id))
	}
	return as
}

func sortChecks() []Check {
	scope := `/Users?filter=userName sw "${p}"`
	return []Check{
		{Name: "sort-config", Steps: []Step{
			getStep("GET /ServiceProviderConfig", "/ServiceProviderConfig", Eq("sort.supported", true)),
		}},
		{Name: "sort-users", Steps: append(slices.Clone(filterFixture),
			// §3.4.2.3: ascending by default; strings that are not caseExact sort without
			// regard to case.
			getStep("sortBy=name.familyName", scope+"&sortBy=name.familyName", inOrder("${a.id}", "${c.id}", "${b.id}")...),
			getStep("sortOrder=descending", scope+"&sortBy=name.familyName&sortOrder=descending",
				inOrder("${b.id}", "${c.id}", "${a.id}")...),
			getStep("sortBy=userName", scope+"&sortBy=userName", inOrder("${a.id}", "${b.id}", "${c.id}")...),
			getStep("a sorted page", scope+"&sortBy=userName&sortOrder=descending&startIndex=2&count=1",
				Eq("totalResults", 3), Len("Resources", 1), Eq("Resources[0].id", "${b.id}")),
			// §3.4.3: the same in a SearchRequest.
			searchStep("POST /Users/.search", "/Users/.search",
				`"filter":"userName sw \"${p}\"","sortBy":"name.givenName","sortOrder":"descending"`,
				inOrder("${c.id}", "${b.id}", "${a.id}")...),
		)},
		{Name: "sort-groups", Steps: []Step{
			createGroup("b", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}Beta"}`),
			createGroup("a", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}alpha"}`),
			createGroup("c", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}Gamma"}`),
			getStep("sortBy=displayName", `/Groups?filter=displayName sw "${p}"&sortBy=displayName&excludedAttributes=members`,
				inOrder("${a.id}", "${b.id}", "${c.id}")...),
			getStep("descending", `/Groups?filter=displayName sw "${p}"&sortBy=displayName&sortOrder=descending&excludedAttributes=members`,
				inOrder("${c.id}", "${b.id}", "${a.id}")...),
		}},
		{Name: "sort-errors", Steps: []Step{
			{Name: "a sortOrder that is neither", Path: "/Users?sortBy=userName&sortOrder=sideways", Status: http.StatusBadRequest,
				Want: scimError(http.StatusBadRequest, "invalidValue")},
			{Name: "an attribute that does not exist", Path: "/Users?sortBy=noSuchAttribute", Status: http.StatusBadRequest,
				Want: scimError(http.StatusBadRequest, "invalidValue")},
		}},
	}
}
