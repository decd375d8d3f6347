package resources

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/gorilla/mux"

	"github.com/townsquare/townsquare/resources/limits"
	"github.com/townsquare/townsquare/store"
)

// Reading a request: each part is read once, here, into what the handlers and the store
// take.

// resourceID is the {id} of the request's path.
func resourceID(r *http.Request) string { return mux.Vars(r)["id"] }

// readBody reads the whole request body (the server has already bounded its size). A
// body is JSON (RFC 7644 §3.1): a Content-Type other than application/scim+json or
// application/json is 415, as is a charset other than UTF-8; parameters are otherwise
// ignored, and a request without Content-Type is read as JSON (some clients send none).
func readBody(r *http.Request) ([]byte, error) {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, badRequest(scimerrors.ScimTypeInvalidSyntax, "could not read the request body")
	}
	return b, nil
}

// checkContentType accepts a request body's media type (see readBody).
func checkContentType(ct string) error {
	switch ct {
	case "", "application/scim+json", "application/json": // what IdPs send, read without parsing
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/scim+json" && mt != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, "",
			"the request body must be application/scim+json or application/json (RFC 7644 §3.1), not %.100q", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return errorf(http.StatusUnsupportedMediaType, "", "the request body must be UTF-8, not %.100q", cs)
	}
	return nil
}

// MediaTypeProblem says why a non-empty Content-Type is not a JSON media type as SCIM
// reads one (application/json or application/scim+json, UTF-8), and "" when it is one:
// the admin API (package server) takes the same media types for its bodies.
func MediaTypeProblem(ct string) string {
	if err := checkContentType(ct); err != nil {
		var se scimerrors.ScimError
		if errors.As(err, &se) {
			return se.Detail
		}
		return err.Error()
	}
	return ""
}

// decodeJSON decodes body, which must be exactly one JSON value (whitespace aside),
// into v, keeping numbers as json.Number. ok is false for anything else: trailing data
// after the value is refused rather than ignored.
func decodeJSON(body []byte, v any) (ok bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(v) != nil {
		return false
	}
	_, err := d.Token()
	return err == io.EOF
}

// decodeResource reads a POST or PUT body of a resource type: one JSON value (numbers
// kept as json.Number), an object whose "schemas" holds the core schema, validated
// against the core schema with the common attributes and against each extension's
// schema. The result is the canonical attribute map: names as the schemas spell them,
// values of the schemas' types, unknown and readOnly attributes dropped, each
// extension's attributes under its URN.
func decodeResource(r *http.Request, rt resourceType) (map[string]any, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if !decodeJSON(body, &doc) || doc == nil {
		return nil, badRequest(scimerrors.ScimTypeInvalidSyntax, "the request body is not one JSON object")
	}
	normalizeResource(doc)
	attrs, scimErr := rt.withCommon.Validate(doc)
	if scimErr != nil {
		return nil, *scimErr
	}
	for _, ext := range rt.extensions {
		v := doc[ext.ID]
		if v == nil {
			continue
		}
		ea, scimErr := ext.ValidateExtension(v)
		if scimErr != nil {
			return nil, *scimErr
		}
		attrs[ext.ID] = ea
	}
	return attrs, nil
}

// ifMatchVersion reads If-Match (RFC 7644 §3.14). It returns 0 when the header is absent
// or "*"; an ETag that is not one of ours cannot match, so it is a 412.
func ifMatchVersion(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimSpace(tag)
		tag = strings.TrimPrefix(tag, "W/")
		tag = strings.Trim(tag, `"`)
		if v, err := strconv.ParseInt(tag, 10, 64); err == nil && v > 0 {
			return v, nil // several tags: the first of ours decides
		}
	}
	return 0, errPrecondition
}

// tagsMatch reports whether an If-Match or If-None-Match value names version: "*" names
// any version, and each listed entity-tag is compared weakly (RFC 9110 §8.8.3.2: the
// opaque tags are equal, with or without W/), as SCIM's ETags are weak (RFC 7644 §3.14).
func tagsMatch(h string, version int64) bool {
	want := strconv.FormatInt(version, 10)
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || (len(tag) >= 2 && tag[0] == '"' && tag[len(tag)-1] == '"' && tag[1:len(tag)-1] == want) {
			return true
		}
	}
	return false
}

// errModifiedSince is the 412 of a write whose If-None-Match names the resource as it
// is (RFC 9110 §13.1.2: the condition is false, and a method other than GET or HEAD
// answers 412).
var errModifiedSince = Error(http.StatusPreconditionFailed, "preconditionFailed",
	"If-None-Match names the resource as it is, so the request is not applied")

// readConditions evaluates a GET's If-Match and If-None-Match against the resource's
// version, in RFC 9110 §13.2.2's order, and answers when one decides: an If-Match that
// names another version is 412; an If-None-Match that names this one (or "*") is 304 Not
// Modified with the ETag and no body (RFC 7644 §3.14: "the service provider simply
// returns an empty body with a 304 (Not Modified) response code"; RFC 9110 §15.4.5). It
// reports whether it answered.
func readConditions(w http.ResponseWriter, r *http.Request, version int64) bool {
	if h := strings.TrimSpace(r.Header.Get("If-Match")); h != "" && !tagsMatch(h, version) {
		WriteError(w, errPrecondition)
		return true
	}
	if h := strings.TrimSpace(r.Header.Get("If-None-Match")); h != "" && tagsMatch(h, version) {
		w.Header().Set("Etag", etag(version))
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

// writeVersion is the version a PUT, PATCH or DELETE of the resource at id must find
// (0: any), from If-Match (ifMatchVersion) and If-None-Match (RFC 9110 §13.1.2). A write
// whose If-None-Match names the current version, or is "*" (the resource exists), is
// 412. That needs the current version, read before the write's transaction: the version
// read becomes the one the write must find, so a change between the read and the write
// is a 412 too, never a write past a condition that no longer holds. Without
// If-None-Match nothing is read.
func (a *API) writeVersion(r *http.Request, kind, id string) (int64, error) {
	v, err := ifMatchVersion(r)
	h := strings.TrimSpace(r.Header.Get("If-None-Match"))
	if err != nil || h == "" {
		return v, err
	}
	var cur int64
	if kind == userKind {
		u, err := a.store.GetUser(r.Context(), id)
		if err != nil {
			return 0, err
		}
		cur = u.Version
	} else {
		g, err := a.store.GetGroup(r.Context(), id)
		if err != nil {
			return 0, err
		}
		cur = g.Version
	}
	switch {
	case v != 0 && v != cur: // If-Match is evaluated first (RFC 9110 §13.2.2)
		return 0, errPrecondition
	case tagsMatch(h, cur):
		return 0, errModifiedSince
	}
	return cur, nil
}

// etag renders a version as the weak ETag the server sends and accepts.
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// listRequest is a parsed list request: a GET on a resource collection, or a POST
// .search (RFC 7644 §3.4.3), which asks the same with a body.
type listRequest struct {
	query store.Query
	proj  projection
	// cursor is the request's cursor (RFC 9865), nil when it pages by index; the
	// handler turns it into query.Keyset, as only it knows which list it pages.
	cursor     *cursorRequest
	filterHash [filterHashLen]byte // of query.Filter, which a cursor must match
}

// listParams are a list request's parameters as sent: from the URL query of a GET or
// from the SearchRequest body of a POST .search. Empty strings are absent parameters;
// cursor is nil when absent, as an empty cursor asks for the first page.
type listParams struct {
	filter, startIndex, count      string
	attributes, excludedAttributes string // comma-separated
	sortBy, sortOrder              string
	cursor                         *string
}

// parseListRequest reads filter, sortBy, sortOrder, startIndex, count, cursor,
// attributes and excludedAttributes from a GET's query (RFC 7644 §3.4.2, RFC 9865 §2).
// Unknown parameters are ignored, as IdPs send some.
func parseListRequest(r *http.Request) (listRequest, error) {
	q := r.URL.Query()
	p := listParams{filter: q.Get("filter"), startIndex: q.Get("startIndex"), count: q.Get("count"),
		attributes: q.Get("attributes"), excludedAttributes: q.Get("excludedAttributes"),
		sortBy: q.Get("sortBy"), sortOrder: q.Get("sortOrder")}
	if c, ok := q["cursor"]; ok {
		p.cursor = &c[0]
	}
	return p.parse()
}

// parse turns the parameters into the store's query and the projection: startIndex
// below 1 is 1, count is 0 to MaxPageSize (default MaxPageSize), and the filter is
// bounded (limits.CheckFilter) before it is parsed. A cursor is decoded (decodeCursor);
// a cursor with a startIndex asks for both pagination methods at once and is refused,
// as is a cursor with sortBy: cursors page in creation order. sortBy is the store's to
// resolve; sortOrder is "ascending" (the default) or "descending", in any case, and
// means nothing without sortBy (RFC 7644 §3.4.2.3).
func (p listParams) parse() (listRequest, error) {
	lr := listRequest{query: store.Query{StartIndex: 1, Count: MaxPageSize, SortBy: strings.TrimSpace(p.sortBy)},
		proj: projection{include: parseAttrList(p.attributes), exclude: parseAttrList(p.excludedAttributes)}}
	switch order := strings.TrimSpace(p.sortOrder); {
	case order == "" || strings.EqualFold(order, "ascending"):
	case strings.EqualFold(order, "descending"):
		lr.query.SortDescending = lr.query.SortBy != ""
	default:
		return lr, badRequest(scimerrors.ScimTypeInvalidValue, `sortOrder must be "ascending" or "descending" (RFC 7644 §3.4.2.3)`)
	}
	if p.cursor != nil && lr.query.SortBy != "" {
		return lr, badRequest(scimerrors.ScimTypeInvalidValue,
			"sortBy and cursor: cursors page in creation order; sort with startIndex paging")
	}
	if p.cursor != nil {
		if strings.TrimSpace(p.startIndex) != "" {
			return lr, badRequest(scimerrors.ScimTypeInvalidValue,
				"startIndex and cursor ask for index and cursor pagination at once: send one (RFC 9865 §2.4)")
		}
		lr.cursor = &cursorRequest{first: *p.cursor == ""}
		if !lr.cursor.first {
			c, err := decodeCursor(*p.cursor)
			if err != nil {
				return lr, err
			}
			lr.cursor.at = c
		}
	}
	for _, f := range []struct {
		name, raw string
		dst       *int
	}{{"startIndex", p.startIndex, &lr.query.StartIndex}, {"count", p.count, &lr.query.Count}} {
		raw := strings.TrimSpace(f.raw)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return lr, badRequest(scimerrors.ScimTypeInvalidValue, "%s must be an integer", f.name)
		}
		*f.dst = n
	}
	lr.query.StartIndex = max(lr.query.StartIndex, 1)
	lr.query.Count = min(max(lr.query.Count, 0), MaxPageSize)
	if raw := strings.TrimSpace(p.filter); raw != "" {
		if err := limits.CheckFilter(raw); err != nil {
			return lr, badRequest(scimerrors.ScimTypeInvalidFilter, "the filter is %v", err)
		}
		expr, err := parseFilter(raw)
		if err != nil {
			return lr, badRequest(scimerrors.ScimTypeInvalidFilter, "the filter is not valid RFC 7644 §3.4.2.2 syntax")
		}
		lr.query.Filter = expr
		lr.filterHash = filterHash(expr)
	}
	return lr, nil
}

// resourceType is what decoding and rendering need to know of a resource type.
type resourceType struct {
	name        string // "User", "Group": meta.resourceType
	description string
	endpoint    string          // "Users", "Groups"
	core        schema.Schema   // the core schema as advertised
	withCommon  schema.Schema   // core plus externalId, which POST and PUT may set
	extensions  []schema.Schema // in the order of the resource's "schemas"
}

// schemaIDs is a resource's "schemas": the core schema, then every extension.
func (rt resourceType) schemaIDs() []string {
	ids := []string{rt.core.ID}
	for _, e := range rt.extensions {
		ids = append(ids, e.ID)
	}
	return ids
}
