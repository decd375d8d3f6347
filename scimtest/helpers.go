package scimtest

import (
	"fmt"
	"net/http"
	"time"

	"github.com/townsquare/townsquare/store"
)

// URNEntraGroup is the extra schema Entra puts on group creates; SCIM's own URNs are
// store's (store/schema.go).
const URNEntraGroup = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

// ent prefixes a path into the enterprise extension: ent + ".department".
const ent = `["` + store.EnterpriseUserSchema + `"]`

// tsExt prefixes a path into Townsquare's read-only User extension: tsExt + ".roles".
const tsExt = `["` + store.TownsquareUserSchema + `"]`

// scimError wants an RFC 7644 §3.12 error body: the Error schema, "status" as a JSON
// string, and scimType when one is given.
func scimError(status int, scimType string) []Assert {
	a := []Assert{Contains("schemas", store.ErrorSchema), Eq("status", fmt.Sprint(status))}
	if scimType != "" {
		a = append(a, Eq("scimType", scimType))
	}
	return a
}

// withDetail adds a non-empty "detail" (Okta's SPEC test asserts it on 404s).
func withDetail(a []Assert) []Assert { return append(a, NonEmpty("detail")) }

// listOf wants a ListResponse with exactly these resource ids (templates).
func listOf(ids ...string) []Assert {
	return []Assert{
		Contains("schemas", store.ListResponseSchema),
		Eq("totalResults", len(ids)),
		Set("Resources[*].id", ids...),
	}
}

// emptyList wants a ListResponse with no results and "Resources": [] (what Entra's
// Test Connection expects for a lookup of a random GUID).
func emptyList() []Assert {
	return []Assert{Contains("schemas", store.ListResponseSchema), Eq("totalResults", 0), Eq("Resources", []any{})}
}

// DateTime wants an RFC 3339 date-time string at path (RFC 7643 §2.3.5).
func DateTime(path string) Assert {
	return Func(path+" is a dateTime", func(r *Response) error {
		v, ok := r.Get(path)
		s, isStr := v.(string)
		if !ok || !isStr {
			return fmt.Errorf("%s: want a dateTime string, got %s", path, show(v, ok))
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%s: %q is not an xsd:dateTime with a zone: %v", path, s, err)
		}
		return nil
	})
}

// If200 applies asserts only when the response is a 200 with a body (PATCH may answer
// 200 with the resource or 204 without one, RFC 7644 §3.5.2).
func If200(asserts ...Assert) Assert {
	return Assert{desc: "if 200", fn: func(r *Response, v vars) error {
		if r.Status != http.StatusOK || r.JSON == nil {
			return nil
		}
		for _, a := range asserts {
			if err := a.fn(r, v); err != nil {
				return err
			}
		}
		return nil
	}}
}

// createStep POSTs body to collection (/Users or /Groups), wants 201 and captures the
// id as "<name>.id".
func createStep(name, collection, body string, want ...Assert) Step {
	return Step{
		Name: "create " + name, Method: http.MethodPost, Path: collection, Body: body,
		Status: http.StatusCreated, Capture: map[string]string{name + ".id": "id"},
		Want: want,
	}
}

func createUser(name, body string, want ...Assert) Step {
	return createStep(name, "/Users", body, want...)
}

func createGroup(name, body string, want ...Assert) Step {
	return createStep(name, "/Groups", body, want...)
}

// simpleUser is a user body with the given userName and extra JSON members (which may
// be empty, or start with a comma-free list of "key": value pairs).
func simpleUser(userName, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"schemas":["` + store.UserSchema + `"],"userName":"` + userName + `"` + extra + `}`
}

// patchBody wraps operations (a JSON array body without brackets) in a PatchOp message.
func patchBody(ops string) string {
	return `{"schemas":["` + store.PatchOpSchema + `"],"Operations":[` + ops + `]}`
}

// patchStep sends a PatchOp and accepts 200 (with the resource) or 204.
func patchStep(name, path, ops string, want ...Assert) Step {
	return Step{
		Name: name, Method: http.MethodPatch, Path: path, Body: patchBody(ops),
		Statuses: []int{http.StatusOK, http.StatusNoContent}, Want: want,
	}
}

// getStep GETs path and wants 200.
func getStep(name, path string, want ...Assert) Step {
	return Step{Name: name, Method: http.MethodGet, Path: path, Status: http.StatusOK, Want: want}
}
