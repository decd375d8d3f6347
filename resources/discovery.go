package resources

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
)

// ServiceProviderConfig serves /ServiceProviderConfig. The library's own answer
// hard-codes etag and changePassword as unsupported; Townsquare supports both (ETags
// with If-Match on every resource, passwords accepted by POST/PUT/PATCH and kept hashed),
// and says so. The document is built once: it never changes while the server runs.
func (s *Service) ServiceProviderConfig(w http.ResponseWriter, _ *http.Request) {
	s.spcOnce.Do(func() {
		doc := map[string]any{
			"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
			"documentationUri": "https://github.com/townsquare/townsquare#readme",
			"patch":            map[string]any{"supported": true},
			"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
			"filter":           map[string]any{"supported": true, "maxResults": MaxPageSize},
			"changePassword":   map[string]any{"supported": true},
			"sort":             map[string]any{"supported": false},
			"etag":             map[string]any{"supported": true},
			"authenticationSchemes": []any{map[string]any{
				"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
				"description": "A token made with `townsquare token create NAME`, sent as Authorization: Bearer <token>.",
			}},
			"meta": map[string]any{
				"resourceType": "ServiceProviderConfig",
				"location":     strings.TrimSuffix(s.BaseURL, "/") + "/ServiceProviderConfig",
			},
		}
		s.spc, _ = json.Marshal(doc)
	})
	w.Header().Set("Content-Type", "application/scim+json")
	_, _ = w.Write(s.spc)
}

// discovery holds the /Schemas and /ResourceTypes documents. The library rebuilds them on
// every request (milliseconds and thousands of allocations each, a regexp compile per
// attribute), reports itemsPerPage wrongly and leaves out meta; they never change while
// the server runs, so they are built once from the library's output, completed, and
// served as bytes.
type discovery struct {
	schemas       []byte
	schemaByID    map[string][]byte
	resourceTypes []byte
	typeByID      map[string][]byte
}

// schemaOrder puts the resource schemas first, User first, as clients list them to admins.
var schemaOrder = []string{UserSchemaURN, EnterpriseUserURN, TownsquareUserURN, GroupSchemaURN}

func (s *Service) buildDiscovery(lib http.Handler) (*discovery, error) {
	base := strings.TrimSuffix(s.BaseURL, "/")
	get := func(path string) ([]map[string]any, error) {
		rec := httptest.NewRecorder()
		lib.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			return nil, fmt.Errorf("library answered %d for %s", rec.Code, path)
		}
		var lr struct {
			Resources []map[string]any `json:"Resources"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &lr); err != nil {
			return nil, fmt.Errorf("decode %s: %w", path, err)
		}
		return lr.Resources, nil
	}
	d := &discovery{schemaByID: map[string][]byte{}, typeByID: map[string][]byte{}}
	schemas, err := get("/Schemas")
	if err != nil {
		return nil, err
	}
	rank := func(id string) int {
		for i, u := range schemaOrder {
			if u == id {
				return i
			}
		}
		return len(schemaOrder)
	}
	sort.SliceStable(schemas, func(i, j int) bool {
		return rank(fmt.Sprint(schemas[i]["id"])) < rank(fmt.Sprint(schemas[j]["id"]))
	})
	for _, sc := range schemas {
		id := fmt.Sprint(sc["id"])
		sc["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"}
		sc["meta"] = map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + id}
		if d.schemaByID[id], err = json.Marshal(sc); err != nil {
			return nil, err
		}
	}
	types, err := get("/ResourceTypes")
	if err != nil {
		return nil, err
	}
	for _, rt := range types {
		id := fmt.Sprint(rt["id"])
		rt["meta"] = map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/" + id}
		if d.typeByID[id], err = json.Marshal(rt); err != nil {
			return nil, err
		}
	}
	list := func(items []map[string]any) ([]byte, error) {
		return json.Marshal(listResponse{Schemas: []string{ListResponseURN}, TotalResults: len(items),
			ItemsPerPage: len(items), StartIndex: 1, Resources: items})
	}
	if d.schemas, err = list(schemas); err != nil {
		return nil, err
	}
	if d.resourceTypes, err = list(types); err != nil {
		return nil, err
	}
	return d, nil
}

// Discovery serves GET /Schemas, /Schemas/{id}, /ResourceTypes and /ResourceTypes/{id}
// (paths below the SCIM root) from documents built once from lib.
func (s *Service) Discovery(lib http.Handler) http.Handler {
	var (
		once sync.Once
		d    *discovery
		err  error
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { d, err = s.buildDiscovery(lib) })
		if err != nil {
			s.Log.ErrorContext(r.Context(), "build discovery documents", "err", err)
			writeErr(w, errInternal)
			return
		}
		kind, id, _ := strings.Cut(strings.Trim(r.URL.Path, "/"), "/")
		var body []byte
		switch {
		case kind == "Schemas" && id == "":
			body = d.schemas
		case kind == "Schemas":
			body = d.schemaByID[id]
		case kind == "ResourceTypes" && id == "":
			body = d.resourceTypes
		case kind == "ResourceTypes":
			body = d.typeByID[id]
		}
		if body == nil {
			WriteError(w, http.StatusNotFound, "", fmt.Sprintf("%s %q not found", strings.TrimSuffix(kind, "s"), id))
			return
		}
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(body)
	})
}
