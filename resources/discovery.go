package resources

import (
	"encoding/json"
	"net/http"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/gorilla/mux"
	"github.com/townsquare/townsquare/store"
)

// Discovery (RFC 7644 §4): /ServiceProviderConfig, /Schemas and /ResourceTypes. They never
// change while the server runs, so they are built once, as bytes.
type discovery struct {
	serviceProviderConfig []byte
	schemas               []byte
	schemaByID            map[string][]byte
	resourceTypes         []byte
	typeByID              map[string][]byte
}

// discoverySchemaNames name the schemas of discovery itself as the resources they
// describe are named, the resourceType of their meta and their endpoint (RFC 7644 §4),
// which is how clients (python-scim's scim2-tester among them) look them up; the
// library names the Schema schema "Schema" already. RFC 7643 §7 leaves a schema's name
// to the service provider ("the schema's human-readable name"); its §8.7.2 example names
// the ResourceType schema "ResourceType" too.
var discoverySchemaNames = map[string]string{
	store.ResourceTypeSchema:          "ResourceType",
	store.ServiceProviderConfigSchema: "ServiceProviderConfig",
}

// resourceTypes lists the resource types served, User first, as clients list them to
// admins.
var resourceTypes = []resourceType{userType, groupType}

func buildDiscovery(baseURL string, maxBulkOps int) (discovery, error) {
	d := discovery{schemaByID: map[string][]byte{}, typeByID: map[string][]byte{}}
	var err error
	// Townsquare supports ETags (If-Match on every resource), password changes
	// (POST/PUT/PATCH, kept hashed), /Bulk with its limits (bulk.go, LimitBulk) and sorting
	// (store.Query.SortBy), and says so. It pages by index (the default, as RFC 9865 §2.4 asks
	// of a server that paged by index before) and by cursor (cursor.go); cursors never
	// expire, which an absent cursorTimeout says (RFC 9865 §4).
	if d.serviceProviderConfig, err = json.Marshal(map[string]any{
		"schemas":          []string{store.ServiceProviderConfigSchema},
		"documentationUri": "https://github.com/townsquare/townsquare#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": true, "maxOperations": maxBulkOps, "maxPayloadSize": MaxBulkPayloadBytes},
		"filter":           map[string]any{"supported": true, "maxResults": MaxPageSize},
		"changePassword":   map[string]any{"supported": true},
		"sort":             map[string]any{"supported": true},
		"pagination": map[string]any{"cursor": true, "index": true, "defaultPaginationMethod": "index",
			"defaultPageSize": MaxPageSize, "maxPageSize": MaxPageSize},
		"etag": map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
			"description": "A token made with `townsquare token create NAME`, sent as Authorization: Bearer <token>.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": baseURL + "/ServiceProviderConfig"},
	}); err != nil {
		return d, err
	}

	// The resource schemas first, User first, then those of discovery itself.
	var schemas []map[string]any
	for _, s := range []schema.Schema{userSchema, enterpriseUserSchema, townsquareUserSchema, groupSchema,
		schema.Definition(), schema.ResourceTypeSchema(), schema.ServiceProviderConfigSchema()} {
		if name, ok := discoverySchemaNames[s.ID]; ok {
			s.Name = optional.NewString(name)
		}
		m := s.ToMap()
		m["meta"] = map[string]any{"resourceType": "Schema", "location": baseURL + "/Schemas/" + s.ID}
		if d.schemaByID[s.ID], err = json.Marshal(m); err != nil {
			return d, err
		}
		schemas = append(schemas, m)
	}
	if d.schemas, err = json.Marshal(discoveryList(schemas)); err != nil {
		return d, err
	}

	var types []map[string]any
	for _, rt := range resourceTypes {
		exts := []map[string]any{}
		for _, e := range rt.extensions {
			exts = append(exts, map[string]any{"schema": e.ID, "required": false})
		}
		m := map[string]any{
			"schemas":          []string{store.ResourceTypeSchema},
			"id":               rt.name,
			"name":             rt.name,
			"description":      rt.description,
			"endpoint":         "/" + rt.endpoint,
			"schema":           rt.core.ID,
			"schemaExtensions": exts,
			"meta":             map[string]any{"resourceType": "ResourceType", "location": baseURL + "/ResourceTypes/" + rt.name},
		}
		if d.typeByID[rt.name], err = json.Marshal(m); err != nil {
			return d, err
		}
		types = append(types, m)
	}
	d.resourceTypes, err = json.Marshal(discoveryList(types))
	return d, err
}

// discoveryList is the list envelope of every item of a discovery endpoint.
func discoveryList(items []map[string]any) map[string]any {
	return map[string]any{"schemas": []string{store.ListResponseSchema}, "totalResults": len(items),
		"itemsPerPage": len(items), "startIndex": 1, "Resources": items}
}

// serviceProviderConfig serves GET /ServiceProviderConfig.
func (a *API) serviceProviderConfig(w http.ResponseWriter, _ *http.Request) {
	writeBytes(w, a.docs.serviceProviderConfig)
}

// schemas serves GET /Schemas and /Schemas/{id}.
func (a *API) schemas(w http.ResponseWriter, r *http.Request) {
	a.discoveryDoc(w, r, "Schema", a.docs.schemas, a.docs.schemaByID)
}

// resourceTypes serves GET /ResourceTypes and /ResourceTypes/{id}.
func (a *API) resourceTypes(w http.ResponseWriter, r *http.Request) {
	a.discoveryDoc(w, r, "ResourceType", a.docs.resourceTypes, a.docs.typeByID)
}

func (a *API) discoveryDoc(w http.ResponseWriter, r *http.Request, kind string, all []byte, byID map[string][]byte) {
	id, one := mux.Vars(r)["id"]
	if !one {
		writeBytes(w, all)
		return
	}
	body, ok := byID[id]
	if !ok {
		WriteError(w, errorf(http.StatusNotFound, "", "%s %q not found", kind, id))
		return
	}
	writeBytes(w, body)
}

func writeBytes(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(b)
}
