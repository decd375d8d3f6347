package resources

import (
	"net/http"
	"net/url"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/resources/patch"
	"github.com/townsquare/townsquare/store"
)

// /Groups: members are read and written as deltas, and rendered by streaming them from
// the store (groupstream.go), so that no request costs what a large group's size costs
// unless it asks to see every member.

// listGroups serves GET /Groups, streaming each group's members.
func (a *API) listGroups(w http.ResponseWriter, r *http.Request) {
	lr, err := parseListRequest(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	a.writeGroupList(w, r, lr)
}

// writeGroupList answers the page of groups lr selects (GET /Groups, POST
// /Groups/.search).
func (a *API) writeGroupList(w http.ResponseWriter, r *http.Request, lr listRequest) {
	if lr.cursor != nil {
		_, ks, err := lr.cursor.keyset(lr.filterHash, cursorGroups)
		if err != nil {
			WriteError(w, err)
			return
		}
		lr.query.Keyset = ks
	}
	groups, total, err := a.store.ListGroups(r.Context(), lr.query)
	if err != nil {
		a.fail(w, r, groupKind, "", err)
		return
	}
	page := indexPage(lr.query.StartIndex)
	if lr.query.Keyset != nil {
		page = cursorPage(cursorGroups, lr.filterHash, lr.query.Count, lr.query.Keyset)
	}
	a.writeGroups(w, r, page, total, nil, groups, lr.proj)
}

// createGroup serves POST /Groups.
func (a *API) createGroup(w http.ResponseWriter, r *http.Request) {
	g, ids, err := decodeGroup(r)
	if err != nil {
		a.fail(w, r, groupKind, "", err)
		return
	}
	if err := a.store.CreateGroup(r.Context(), &g, ids); err != nil {
		a.fail(w, r, groupKind, g.DisplayName, err)
		return
	}
	a.event(EventGroupCreated, 1)
	a.event(EventMemberAdded, len(ids))
	a.writeGroup(w, r, http.StatusCreated, &g, parseProjection(r.URL.Query()))
}

// getGroup serves GET /Groups/{id}; excludedAttributes=members reads no member at all.
func (a *API) getGroup(w http.ResponseWriter, r *http.Request) {
	id := resourceID(r)
	g, err := a.store.GetGroup(r.Context(), id)
	if err != nil {
		a.fail(w, r, groupKind, id, err)
		return
	}
	if readConditions(w, r, g.Version) { // before any member is read
		return
	}
	a.writeGroup(w, r, http.StatusOK, &g, parseProjection(r.URL.Query()))
}

// replaceGroup serves PUT /Groups/{id}: displayName, externalId and the member list
// become what the body says.
func (a *API) replaceGroup(w http.ResponseWriter, r *http.Request) {
	id := resourceID(r)
	ng, ids, err := decodeGroup(r)
	var ifVersion int64
	if err == nil {
		ifVersion, err = a.writeVersion(r, groupKind, id)
	}
	if err != nil {
		a.fail(w, r, groupKind, id, err)
		return
	}
	replace := []store.MemberOp{{Kind: store.ReplaceMembers, IDs: ids}}
	g, err := a.store.UpdateGroup(r.Context(), id, ifVersion, func(g *store.Group) error {
		g.DisplayName, g.ExternalID = ng.DisplayName, ng.ExternalID
		return nil
	}, replace)
	if err != nil {
		a.fail(w, r, groupKind, id, err)
		return
	}
	a.memberEvents(replace)
	a.writeGroup(w, r, http.StatusOK, &g, parseProjection(r.URL.Query()))
}

// patchGroup serves PATCH /Groups/{id}: operations on members go to the store as member
// operations, the others are applied to the group's own attributes, all in one update.
// It answers 204 No Content (RFC 7644 §3.5.2 allows it; Entra asks for it and Okta
// accepts it), as rendering the members back would cost what the group's size costs; a
// client that asks with attributes or excludedAttributes gets 200 with the projected
// group.
func (a *API) patchGroup(w http.ResponseWriter, r *http.Request) {
	id := resourceID(r)
	ops, err := decodePatch(r)
	var ifVersion int64
	if err == nil {
		ifVersion, err = a.writeVersion(r, groupKind, id)
	}
	if err != nil {
		a.fail(w, r, groupKind, id, err)
		return
	}
	memberOps, rest, err := patch.SplitGroupOps(ops)
	if err != nil {
		a.fail(w, r, groupKind, id, err)
		return
	}
	prog := patch.Compile(rest, groupSchema) // before the store's transaction, as for users
	g, err := a.store.UpdateGroup(r.Context(), id, ifVersion, func(g *store.Group) error {
		if len(rest) == 0 {
			return nil
		}
		attrs := map[string]any{"displayName": g.DisplayName}
		if g.ExternalID != "" {
			attrs["externalId"] = g.ExternalID
		}
		if err := prog.Apply(r.Context(), attrs); err != nil {
			return err
		}
		ng, _, err := groupFromAttributes(attrs)
		if err != nil {
			return err
		}
		g.DisplayName, g.ExternalID = ng.DisplayName, ng.ExternalID
		return nil
	}, memberOps)
	if err != nil {
		a.fail(w, r, groupKind, id, err)
		return
	}
	a.memberEvents(memberOps)
	if q := r.URL.Query(); wantsGroupBack(q) {
		a.writeGroup(w, r, http.StatusOK, &g, parseProjection(q))
		return
	}
	w.Header().Set("Etag", etag(g.Version))
	w.WriteHeader(http.StatusNoContent)
}

// wantsGroupBack reports whether a group PATCH answers with the group.
func wantsGroupBack(q url.Values) bool {
	return q.Has("attributes") || q.Has("excludedAttributes")
}

// deleteGroup serves DELETE /Groups/{id}.
func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) {
	id := resourceID(r)
	ifVersion, err := a.writeVersion(r, groupKind, id)
	if err == nil {
		err = a.store.DeleteGroup(r.Context(), id, ifVersion)
	}
	if err != nil {
		a.fail(w, r, groupKind, id, err)
		return
	}
	a.event(EventGroupDeleted, 1)
	w.WriteHeader(http.StatusNoContent)
}

// decodeGroup reads a POST or PUT body of /Groups.
func decodeGroup(r *http.Request) (store.Group, []string, error) {
	attrs, err := decodeResource(r, groupType)
	if err != nil {
		return store.Group{}, nil, err
	}
	return groupFromAttributes(attrs)
}

// groupFromAttributes reads displayName, externalId and member ids from a canonical map.
func groupFromAttributes(m map[string]any) (store.Group, []string, error) {
	r := attrReader{}
	g := store.Group{DisplayName: r.str(m, "displayName"), ExternalID: r.str(m, "externalId")}
	var ids []string
	// A member's value is a user's id or a group's (nested groups): the store tells which.
	// Its type, display and $ref describe it and are ignored (RFC 7643 §4.2: type is
	// immutable, and the id alone names the resource).
	for _, e := range r.list(m, "members") {
		id := r.str(e, "value")
		if id == "" {
			return g, nil, badRequest(scimerrors.ScimTypeInvalidValue, "every member needs a value (the id of a user or a group)")
		}
		ids = append(ids, id)
	}
	if r.err != nil {
		return g, nil, r.err
	}
	if strings.TrimSpace(g.DisplayName) == "" {
		return g, nil, badRequest(scimerrors.ScimTypeInvalidValue, "displayName is required and must not be empty")
	}
	return g, ids, nil
}
