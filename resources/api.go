// Package resources is Townsquare's SCIM API (RFC 7644): it owns every endpoint below the
// SCIM root, from the request as it arrives to the answer's bytes. A request is decoded
// once into the store's types (users.go, groups.go), handed to the store.Store, and the
// result rendered (render.go, groupstream.go); every error leaves through WriteError.
//
// github.com/elimity-com/scim provides the schemas (schemas.go), their validation of
// POST and PUT bodies, and the ScimError type; github.com/scim2/filter-parser parses
// filters and PATCH paths. Neither serves a request: no endpoint has a second path.
package resources

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/elimity-com/scim/schema"
	"github.com/gorilla/mux"

	"github.com/townsquare/townsquare/store"
)

func init() {
	// Entra sends booleans as strings ("False") unless the tenant URL carries
	// aadOptscim062020; the schemas' validation accepts them everywhere. This is a
	// package-level switch of the library, set once here, where the library is used.
	schema.SetAllowStringValues(true)
}

// MaxPageSize is the most resources one list response holds (filter.maxResults in
// /ServiceProviderConfig). A request without count gets this many; a larger count is
// capped to it, as RFC 7644 §3.4.2.4 allows.
const MaxPageSize = 1000

// API serves SCIM. It holds no state of its own beyond documents built once.
type API struct {
	store   store.Store
	log     *slog.Logger
	baseURL string // public URL of the SCIM root, without a trailing slash
	// memberRefs start a member's $ref as a group answer writes it:
	// `"$ref":"<baseURL>/Users/` (or /Groups/), JSON-escaped, without the closing quote.
	memberRefs memberRefs
	docs       discovery
	onEvent    func(Event, int) // OnEvent; nil reports nothing
	ops        http.Handler     // the router bulk operations are served by (bulk.go)
	bulkSlots  bulkSlots        // the bulk requests each token runs (bulk.go)
	maxBulkOps int              // bulk.maxOperations: MaxBulkOperations unless LimitBulk lowers it
	chargeBulk ChargeFunc       // LimitBulk; nil charges nothing
}

// New builds the API on s. baseURL is the public URL of the SCIM root, e.g.
// https://chat.example.com/scim/v2; meta.location and Location are built from it.
func New(s store.Store, log *slog.Logger, baseURL string) (*API, error) {
	a := &API{store: s, log: log, baseURL: strings.TrimRight(baseURL, "/")}
	a.memberRefs = newMemberRefs(a.baseURL)
	a.maxBulkOps = MaxBulkOperations
	docs, err := buildDiscovery(a.baseURL, a.maxBulkOps)
	if err != nil {
		return nil, fmt.Errorf("build discovery documents: %w", err)
	}
	a.docs = docs
	a.ops = a.opsRouter()
	return a, nil
}

// endpointNames are the SCIM root's endpoint names as RFC 7644 spells them: the first
// segment of every path endpoints registers (TestEndpointNames).
var endpointNames = []string{"Users", "Groups", "Schemas", "ResourceTypes", "ServiceProviderConfig", "Bulk", "Me", ".search"}

// CanonicalPath respells a path below the SCIM root ("users/abc") as the API registers it:
// the endpoint name as RFC 7644 spells it, without a trailing slash. Microsoft's reference
// tests send GET /users and /Users/?filter=…; RFC 7644 paths are case-sensitive, so this
// is leniency, not a change of meaning, as no two endpoints differ only by case. An id
// (the segment after the endpoint) is left exactly as sent.
func CanonicalPath(p string) string {
	seg, tail, _ := strings.Cut(p, "/")
	for _, name := range endpointNames {
		if strings.EqualFold(seg, name) {
			seg = name
			break
		}
	}
	if tail == "" {
		return seg
	}
	return seg + "/" + tail
}

// endpoint is one path of the SCIM root and the handler of each method it serves.
type endpoint struct {
	path    string
	methods map[string]http.HandlerFunc
}

func (a *API) endpoints() []endpoint {
	get := func(h http.HandlerFunc) map[string]http.HandlerFunc {
		return map[string]http.HandlerFunc{http.MethodGet: h}
	}
	return []endpoint{
		{"/Users", map[string]http.HandlerFunc{http.MethodGet: a.listUsers, http.MethodPost: a.createUser}},
		{"/Users/.search", map[string]http.HandlerFunc{http.MethodPost: a.searchUsers}},
		{"/Users/{id}", map[string]http.HandlerFunc{http.MethodGet: a.getUser, http.MethodPut: a.replaceUser,
			http.MethodPatch: a.patchUser, http.MethodDelete: a.deleteUser}},
		{"/Groups", map[string]http.HandlerFunc{http.MethodGet: a.listGroups, http.MethodPost: a.createGroup}},
		{"/Groups/.search", map[string]http.HandlerFunc{http.MethodPost: a.searchGroups}},
		{"/Groups/{id}", map[string]http.HandlerFunc{http.MethodGet: a.getGroup, http.MethodPut: a.replaceGroup,
			http.MethodPatch: a.patchGroup, http.MethodDelete: a.deleteGroup}},
		{"/.search", map[string]http.HandlerFunc{http.MethodPost: a.searchAll}},
		{"/ServiceProviderConfig", get(a.serviceProviderConfig)},
		{"/Schemas", get(a.schemas)},
		{"/Schemas/{id}", get(a.schemas)},
		{"/ResourceTypes", get(a.resourceTypes)},
		{"/ResourceTypes/{id}", get(a.resourceTypes)},
		{"/Bulk", map[string]http.HandlerFunc{http.MethodPost: a.bulk}},
		{"/Me", anyMethod(a.notImplemented("/Me is not supported: the bearer token names an IdP connection, not a user"))},
	}
}

// anyMethod serves every method of RFC 7644 with h.
func anyMethod(h http.HandlerFunc) map[string]http.HandlerFunc {
	m := map[string]http.HandlerFunc{}
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		m[method] = h
	}
	return m
}

// Register mounts every SCIM endpoint on r, the router of the SCIM root: each path and
// method has exactly one handler, a known path with another method answers 405 with
// Allow, and any other path 404.
func (a *API) Register(r *mux.Router) {
	for _, e := range a.endpoints() {
		allowed := make([]string, 0, len(e.methods))
		for m, h := range e.methods {
			r.HandleFunc(e.path, h).Methods(m)
			allowed = append(allowed, m)
		}
		slices.SortFunc(allowed, func(x, y string) int { return methodRank(x) - methodRank(y) })
		r.Handle(e.path, methodNotAllowed(allowed))
	}
	r.PathPrefix("/").HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteError(w, errorf(http.StatusNotFound, "", "no SCIM endpoint at this path"))
	})
}

// methodRank orders Allow as RFC 7644 lists the methods.
func methodRank(m string) int {
	return slices.Index([]string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}, m)
}

func methodNotAllowed(methods []string) http.Handler {
	allow := strings.Join(methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		WriteError(w, errorf(http.StatusMethodNotAllowed, "", "%s is not allowed here; allowed: %s", r.Method, allow))
	})
}

func (a *API) notImplemented(detail string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		WriteError(w, errorf(http.StatusNotImplemented, "", "%s", detail))
	}
}

// location is meta.location (and Location) of a resource.
func (a *API) location(endpoint, id string) string {
	return a.baseURL + "/" + endpoint + "/" + url.PathEscape(id)
}
