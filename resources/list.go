package resources

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/store"
)

// MaxPageSize is the most resources one list response holds (filter.maxResults in
// /ServiceProviderConfig). A request without count gets this many; a larger count is
// capped to it, as RFC 7644 §3.4.2.4 allows.
const MaxPageSize = 1000

func meta(created, modified time.Time, version int64) scim.Meta {
	return scim.Meta{Created: &created, LastModified: &modified, Version: etag(version)}
}

// listRequest is a parsed GET on a resource collection.
type listRequest struct {
	query store.Query
	proj  projection
}

// parseListRequest reads filter, startIndex, count, attributes and excludedAttributes
// (RFC 7644 §3.4.2). Unknown parameters are ignored, as IdPs send some.
func parseListRequest(r *http.Request) (listRequest, error) {
	q := r.URL.Query()
	lr := listRequest{query: store.Query{StartIndex: 1, Count: MaxPageSize}, proj: parseProjection(q)}
	for name, dst := range map[string]*int{"startIndex": &lr.query.StartIndex, "count": &lr.query.Count} {
		raw := strings.TrimSpace(q.Get(name))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return lr, badRequest(scimerrors.ScimTypeInvalidValue, name+" must be an integer")
		}
		*dst = n
	}
	lr.query.StartIndex = max(lr.query.StartIndex, 1)
	lr.query.Count = min(max(lr.query.Count, 0), MaxPageSize)
	if raw := strings.TrimSpace(q.Get("filter")); raw != "" {
		expr, err := parseFilter(raw)
		if err != nil {
			return lr, badRequest(scimerrors.ScimTypeInvalidFilter, "the filter is not valid RFC 7644 §3.4.2.2 syntax")
		}
		lr.query.Filter = expr
	}
	return lr, nil
}

// listResponse is RFC 7644 §3.4.2's envelope. itemsPerPage is the number of resources
// actually returned (the library would report the requested count).
type listResponse struct {
	Schemas      []string         `json:"schemas"`
	TotalResults int              `json:"totalResults"`
	ItemsPerPage int              `json:"itemsPerPage"`
	StartIndex   int              `json:"startIndex"`
	Resources    []map[string]any `json:"Resources"`
}

// renderResource builds the JSON object of one resource as the library does for single
// resources: the attribute map plus schemas, id, externalId and meta.
func renderResource(res scim.Resource, resourceType string, schemas []string, location string) map[string]any {
	m := make(map[string]any, len(res.Attributes)+4)
	for k, v := range res.Attributes {
		m[k] = v
	}
	m["schemas"] = schemas
	m["id"] = res.ID
	if res.ExternalID.Present() {
		m["externalId"] = res.ExternalID.Value()
	}
	meta := map[string]any{"resourceType": resourceType, "location": location, "version": res.Meta.Version}
	if res.Meta.Created != nil {
		meta["created"] = res.Meta.Created.Format(time.RFC3339)
	}
	if res.Meta.LastModified != nil {
		meta["lastModified"] = res.Meta.LastModified.Format(time.RFC3339)
	}
	m["meta"] = meta
	return m
}

// writeList writes a list response with application/scim+json.
func writeList(w http.ResponseWriter, start, total int, resources []map[string]any) {
	if resources == nil {
		resources = []map[string]any{}
	}
	body := listResponse{Schemas: []string{ListResponseURN}, TotalResults: total,
		ItemsPerPage: len(resources), StartIndex: start, Resources: resources}
	WriteJSON(w, http.StatusOK, body)
}

// WriteJSON writes v as a SCIM JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes a SCIM error response (RFC 7644 §3.12). status is a string in the
// body, as the RFC's examples and Okta's tests have it.
func WriteError(w http.ResponseWriter, status int, scimType, detail string) {
	body := map[string]any{"schemas": []string{ErrorURN}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		body["scimType"] = scimType
	}
	WriteJSON(w, status, body)
}

// writeErr writes err as a SCIM error: a ScimError as it is, anything else as a 500.
func writeErr(w http.ResponseWriter, err error) {
	var se scimerrors.ScimError
	if !errors.As(err, &se) {
		se = errInternal
	}
	WriteError(w, se.Status, string(se.ScimType), se.Detail)
}
