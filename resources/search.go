package resources

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/store"
)

// POST .search (RFC 7644 §3.4.3): the query of a GET list sent as a SearchRequest body,
// for filters too long or too private for a URL. /Users/.search and /Groups/.search
// answer exactly what the GET on their collection answers; /.search answers the users
// that match, then the groups, as one list paged across both, by index or by cursor.

// searchRequest is the body of a POST .search. Attribute names are matched without
// regard to case (encoding/json does, as RFC 7643 §2.1 asks). attributes and
// excludedAttributes are arrays of strings (§3.4.3); a single comma-separated string,
// as in a URL, is read too.
type searchRequest struct {
	Schemas            []string    `json:"schemas"`
	Attributes         attrNames   `json:"attributes"`
	ExcludedAttributes attrNames   `json:"excludedAttributes"`
	Filter             string      `json:"filter"`
	SortBy             string      `json:"sortBy"`
	SortOrder          string      `json:"sortOrder"`
	StartIndex         json.Number `json:"startIndex"`
	Count              json.Number `json:"count"`
	Cursor             *string     `json:"cursor"` // RFC 9865 §3; "" asks for the first page
}

// attrNames is attributes or excludedAttributes of a SearchRequest, comma-joined.
type attrNames string

func (a *attrNames) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*a = attrNames(strings.Join(list, ","))
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return errors.New("must be an array of attribute names")
	}
	*a = attrNames(one)
	return nil
}

// decodeSearch reads a POST .search body into the list request a GET would make. The
// body is one JSON object; its schemas, when sent, must name the SearchRequest schema.
func decodeSearch(r *http.Request) (listRequest, error) {
	body, err := readBody(r)
	if err != nil {
		return listRequest{}, err
	}
	var sr searchRequest
	if !decodeJSON(body, &sr) {
		return listRequest{}, badRequest(scimerrors.ScimTypeInvalidSyntax,
			"the request body is not one SearchRequest object (RFC 7644 §3.4.3): attributes are arrays of strings, startIndex and count integers")
	}
	if sr.Schemas != nil && !slices.Contains(sr.Schemas, store.SearchRequestSchema) {
		return listRequest{}, badRequest(scimerrors.ScimTypeInvalidSyntax, "schemas must be [%q]", store.SearchRequestSchema)
	}
	return listParams{filter: sr.Filter, startIndex: sr.StartIndex.String(), count: sr.Count.String(),
		attributes: string(sr.Attributes), excludedAttributes: string(sr.ExcludedAttributes),
		sortBy: sr.SortBy, sortOrder: sr.SortOrder, cursor: sr.Cursor}.parse()
}

// searchUsers serves POST /Users/.search.
func (a *API) searchUsers(w http.ResponseWriter, r *http.Request) {
	lr, err := decodeSearch(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	a.writeUserList(w, r, lr)
}

// searchGroups serves POST /Groups/.search.
func (a *API) searchGroups(w http.ResponseWriter, r *http.Request) {
	lr, err := decodeSearch(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	a.writeGroupList(w, r, lr)
}

// searchAll serves POST /.search: the users the query selects, then the groups, paged as
// one list (totalResults counts both), unsorted: sortBy is refused, as one attribute
// sorting both types would interleave them. A filter one type cannot run (it names an
// attribute only the other has) selects none of that type; one neither can run is 400.
func (a *API) searchAll(w http.ResponseWriter, r *http.Request) {
	lr, err := decodeSearch(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	if lr.query.SortBy != "" {
		WriteError(w, badRequest(scimerrors.ScimTypeInvalidValue,
			"sortBy at the root: its list is the users, then the groups; sort a search of /Users/.search or /Groups/.search"))
		return
	}
	if lr.cursor != nil {
		a.searchAllByCursor(w, r, lr)
		return
	}
	ctx := r.Context()
	users, userTotal, userErr := a.store.ListUsers(ctx, lr.query)
	if a.rootListFailed(w, r, userErr, nil) {
		return
	}
	// The groups' part of the page starts where the users' total ends.
	gq := lr.query
	gq.Count = max(lr.query.Count-len(users), 0)
	gq.StartIndex = max(lr.query.StartIndex-userTotal, 1)
	groups, groupTotal, groupErr := a.store.ListGroups(ctx, gq)
	if a.rootListFailed(w, r, userErr, groupErr) {
		return
	}
	rendered := make([]resource, len(users))
	for i := range users {
		rendered[i] = a.renderUser(&users[i], lr.proj)
	}
	a.writeGroups(w, r, indexPage(lr.query.StartIndex), userTotal+groupTotal, rendered, groups, lr.proj)
}

// searchAllByCursor is searchAll paged by cursor: the same list, users then groups,
// walked as two keyset walks one after the other. Its cursors say which of the two
// they are in (cursorRootUsers, cursorRootGroups), so that a page may end among the
// users, or among the groups, or at the last user with the groups' first page next.
// A page before a position (a previousCursor) is searchAllBefore.
func (a *API) searchAllByCursor(w http.ResponseWriter, r *http.Request, lr listRequest) {
	kind, ks, err := lr.cursor.keyset(lr.filterHash, cursorRootUsers, cursorRootGroups)
	if err != nil {
		WriteError(w, err)
		return
	}
	if ks.Before > 0 {
		a.searchAllBefore(w, r, lr, kind, ks)
		return
	}
	ctx := r.Context()
	uq := lr.query
	if kind == cursorRootUsers {
		uq.Keyset = ks
	} else { // past every user: their total alone
		uq.Count = 0
	}
	users, userTotal, userErr := a.store.ListUsers(ctx, uq)
	if a.rootListFailed(w, r, userErr, nil) {
		return
	}
	gq := lr.query
	moreUsers := userErr == nil && uq.Keyset != nil && uq.Keyset.More
	if moreUsers { // the page ends among the users: the groups' total alone
		gq.Count = 0
	} else {
		gq.Count = max(lr.query.Count-len(users), 0)
		gq.Keyset = &store.Keyset{}
		if kind == cursorRootGroups {
			gq.Keyset.After = ks.After
		}
	}
	groups, groupTotal, groupErr := a.store.ListGroups(ctx, gq)
	if a.rootListFailed(w, r, userErr, groupErr) {
		return
	}
	var page listPage
	switch {
	case moreUsers:
		page = cursorPage(cursorRootUsers, lr.filterHash, lr.query.Count, uq.Keyset)
	case groupErr == nil:
		page = cursorPage(cursorRootGroups, lr.filterHash, lr.query.Count, gq.Keyset)
		page.previousCursor = ""
	}
	// The page begins among the users when its cursor is theirs: what precedes it is
	// theirs to say. A page beginning among the groups follows every user.
	switch {
	case kind == cursorRootUsers && userErr == nil:
		page.previousCursor = cursorPage(cursorRootUsers, lr.filterHash, lr.query.Count, uq.Keyset).previousCursor
	case kind == cursorRootGroups && groupErr == nil && (gq.Keyset.Earlier || userTotal > 0):
		gq.Keyset.Earlier = true
		page.previousCursor = cursorPage(cursorRootGroups, lr.filterHash, lr.query.Count, gq.Keyset).previousCursor
	}
	rendered := make([]resource, len(users))
	for i := range users {
		rendered[i] = a.renderUser(&users[i], lr.proj)
	}
	a.writeGroups(w, r, page, userTotal+groupTotal, rendered, groups, lr.proj)
}

// searchAllBefore is the page of POST /.search before a position (a previousCursor):
// among the users, the users before it; among the groups, the groups before it, after
// the last users when fewer groups than count precede it. Its nextCursor and
// previousCursor are those of its last and first resources.
func (a *API) searchAllBefore(w http.ResponseWriter, r *http.Request, lr listRequest, kind cursorKind, ks *store.Keyset) {
	ctx := r.Context()
	count := lr.query.Count
	gq, uq := lr.query, lr.query
	if kind == cursorRootGroups {
		gq.Keyset = ks
	} else { // before a user: the groups' total alone
		gq.Count = 0
	}
	groups, groupTotal, groupErr := a.store.ListGroups(ctx, gq)
	if a.rootListFailed(w, r, nil, groupErr) {
		return
	}
	switch {
	case kind == cursorRootUsers:
		uq.Keyset = ks
	case groupErr != nil || (len(groups) < count && !gq.Keyset.Earlier): // the last users too
		uq.Keyset = &store.Keyset{Before: 1 << 62}
		uq.Count = count - len(groups)
	default: // the users' total alone
		uq.Count = 0
	}
	users, userTotal, userErr := a.store.ListUsers(ctx, uq)
	if a.rootListFailed(w, r, userErr, groupErr) {
		return
	}
	var page listPage
	if len(groups) > 0 || (kind == cursorRootGroups && uq.Keyset == nil) {
		page.nextCursor = cursorPage(cursorRootGroups, lr.filterHash, count, gq.Keyset).nextCursor
	} else if uq.Keyset != nil && userErr == nil {
		page.nextCursor = cursorPage(cursorRootUsers, lr.filterHash, count, uq.Keyset).nextCursor
	}
	switch {
	case uq.Keyset != nil && userErr == nil: // the page begins among the users
		page.previousCursor = cursorPage(cursorRootUsers, lr.filterHash, count, uq.Keyset).previousCursor
	case gq.Keyset != nil && groupErr == nil && (gq.Keyset.Earlier || userTotal > 0):
		gq.Keyset.Earlier = true
		page.previousCursor = cursorPage(cursorRootGroups, lr.filterHash, count, gq.Keyset).previousCursor
	}
	rendered := make([]resource, len(users))
	for i := range users {
		rendered[i] = a.renderUser(&users[i], lr.proj)
	}
	a.writeGroups(w, r, page, userTotal+groupTotal, rendered, groups, lr.proj)
}

// rootListFailed answers a root search whose lists stop it, and reports whether it did:
// either list failing otherwise than by an invalid filter, or both by one (a filter no
// resource type can run). A filter only one type cannot run selects none of that type.
// A list not read yet is passed as nil.
func (a *API) rootListFailed(w http.ResponseWriter, r *http.Request, userErr, groupErr error) bool {
	switch {
	case userErr != nil && !errors.Is(userErr, store.ErrInvalidFilter):
		a.fail(w, r, userKind, "", userErr)
	case groupErr != nil && !errors.Is(groupErr, store.ErrInvalidFilter):
		a.fail(w, r, groupKind, "", groupErr)
	case userErr != nil && groupErr != nil:
		a.fail(w, r, userKind, "", userErr)
	default:
		return false
	}
	return true
}
