package resources

import (
	"net/http"
	"time"

	"github.com/townsquare/townsquare/store"
)

// Rendering: a resource is its canonical attribute map (usermap.go) projected as the
// request asks, plus what every resource carries: schemas, id, externalId and meta.

// resource is one rendered resource, ready to be encoded.
type resource map[string]any

// render completes attrs (already projected) into the resource rt's id with meta.
// externalID is returned when set and the projection keeps it.
func (a *API) render(rt resourceType, attrs map[string]any, id, externalID string, m meta, p projection) resource {
	res := resource(attrs)
	res["schemas"] = rt.schemaIDs()
	res["id"] = id
	if externalID != "" && p.wantsExternalID() {
		res["externalId"] = externalID
	}
	res["meta"] = map[string]any{
		"resourceType": rt.name,
		"created":      m.created.Format(time.RFC3339),
		"lastModified": m.lastModified.Format(time.RFC3339),
		"location":     a.location(rt.endpoint, id),
		"version":      etag(m.version),
	}
	return res
}

// meta is what a resource's meta is made of.
type meta struct {
	created, lastModified time.Time
	version               int64
}

// writeResource answers one resource with status, its ETag, and for a creation its
// Location.
func (a *API) writeResource(w http.ResponseWriter, status int, rt resourceType, res resource, version int64) {
	w.Header().Set("Etag", etag(version))
	if status == http.StatusCreated {
		w.Header().Set("Location", a.location(rt.endpoint, res["id"].(string)))
	}
	writeJSON(w, status, res)
}

// listResponse is RFC 7644 §3.4.2's envelope. itemsPerPage is the number of resources
// returned. A page by index has startIndex; a page by cursor has none, and nextCursor
// unless it is the last (RFC 9865 §2).
type listResponse struct {
	Schemas        []string   `json:"schemas"`
	TotalResults   int        `json:"totalResults"`
	ItemsPerPage   int        `json:"itemsPerPage"`
	StartIndex     int        `json:"startIndex,omitempty"`
	NextCursor     string     `json:"nextCursor,omitempty"`
	PreviousCursor string     `json:"previousCursor,omitempty"`
	Resources      []resource `json:"Resources"`
}

// listPage is where a list response's page is: startIndex (1-based) for a page by
// index, 0 for a page by cursor, which has nextCursor when more may follow and
// previousCursor when more may precede.
type listPage struct {
	startIndex     int
	nextCursor     string
	previousCursor string
}

// indexPage is the page of a list request paged by index.
func indexPage(start int) listPage { return listPage{startIndex: start} }

// writeList answers a page of resources.
func writeList(w http.ResponseWriter, page listPage, total int, resources []resource) {
	if resources == nil {
		resources = []resource{}
	}
	writeJSON(w, http.StatusOK, listResponse{Schemas: []string{store.ListResponseSchema}, TotalResults: total,
		ItemsPerPage: len(resources), StartIndex: page.startIndex, NextCursor: page.nextCursor, PreviousCursor: page.previousCursor, Resources: resources})
}
