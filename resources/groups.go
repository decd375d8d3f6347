package resources

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"

	"github.com/townsquare/townsquare/resources/patch"
	"github.com/townsquare/townsquare/store"
)

// Groups is the SCIM resource handler for /Groups. Members are read and written as
// deltas; no request loads a group's whole member list unless it asks to see it.
type Groups struct {
	Store store.Store
	Log   *slog.Logger
}

var _ scim.ResourceHandler = Groups{}

// groupFromAttributes reads displayName, externalId and member ids from a canonical map.
func groupFromAttributes(m map[string]any) (store.Group, []string, error) {
	r := attrReader{}
	g := store.Group{DisplayName: r.str(m, "displayName"), ExternalID: r.str(m, "externalId")}
	var ids []string
	for _, e := range r.list(m, "members") {
		if t, _ := e["type"].(string); strings.EqualFold(t, "Group") {
			return g, nil, badRequest(scimerrors.ScimTypeInvalidValue, "nested groups are not supported")
		}
		id := r.str(e, "value")
		if id == "" {
			return g, nil, badRequest(scimerrors.ScimTypeInvalidValue, "every member needs a value (the user's id)")
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

// Create handles POST /Groups.
func (h Groups) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	g, ids, err := groupFromAttributes(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	if err := h.Store.CreateGroup(r.Context(), &g, ids); err != nil {
		return scim.Resource{}, storeError(r.Context(), h.Log, "Group", g.DisplayName, err)
	}
	return h.resource(r, &g, parseProjection(r.URL.Query()))
}

// Get handles GET /Groups/{id}; excludedAttributes=members reads no member at all.
func (h Groups) Get(r *http.Request, id string) (scim.Resource, error) {
	g, err := h.Store.GetGroup(r.Context(), id)
	if err != nil {
		return scim.Resource{}, storeError(r.Context(), h.Log, "Group", id, err)
	}
	return h.resource(r, &g, parseProjection(r.URL.Query()))
}

// GetAll answers list requests that reach the library (see Users.GetAll).
func (h Groups) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	var f store.Filter
	if params.FilterValidator != nil {
		f = params.FilterValidator.GetFilter()
	}
	groups, total, err := h.Store.ListGroups(r.Context(), store.Query{Filter: f, StartIndex: params.StartIndex, Count: params.Count})
	if err != nil {
		return scim.Page{}, storeError(r.Context(), h.Log, "Group", "", err)
	}
	p := parseProjection(r.URL.Query())
	page := scim.Page{TotalResults: total, Resources: make([]scim.Resource, 0, len(groups))}
	for i := range groups {
		res, err := h.resource(r, &groups[i], p)
		if err != nil {
			return scim.Page{}, err
		}
		page.Resources = append(page.Resources, res)
	}
	return page, nil
}

// Replace handles PUT /Groups/{id}: displayName, externalId and the member list become
// what the body says.
func (h Groups) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ng, ids, err := groupFromAttributes(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	ifVersion, err := ifMatchVersion(r)
	if err != nil {
		return scim.Resource{}, err
	}
	g, err := h.Store.UpdateGroup(r.Context(), id, ifVersion, func(g *store.Group) error {
		g.DisplayName, g.ExternalID = ng.DisplayName, ng.ExternalID
		return nil
	}, []store.MemberOp{{Kind: store.ReplaceMembers, IDs: ids}})
	if err != nil {
		return scim.Resource{}, storeError(r.Context(), h.Log, "Group", id, err)
	}
	return h.resource(r, &g, parseProjection(r.URL.Query()))
}

// Patch handles PATCH /Groups/{id} for the library: see update. The server answers the
// shapes Okta and Entra send itself (Service.PatchGroup) with the same update.
func (h Groups) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	g, err := h.update(r, id, ops)
	if err != nil {
		return scim.Resource{}, err
	}
	q := r.URL.Query()
	if !wantsGroupBack(q) {
		return scim.Resource{ID: g.ID}, nil
	}
	return h.resource(r, &g, parseProjection(q))
}

// update applies a PATCH: member operations become deltas for the store, the rest is
// applied to the group's own attributes. Errors are SCIM errors.
func (h Groups) update(r *http.Request, id string, ops []scim.PatchOperation) (store.Group, error) {
	memberOps, rest, err := patch.SplitGroupOps(ops)
	if err != nil {
		return store.Group{}, err
	}
	ifVersion, err := ifMatchVersion(r)
	if err != nil {
		return store.Group{}, err
	}
	storeOps := make([]store.MemberOp, 0, len(memberOps))
	for _, op := range memberOps {
		storeOps = append(storeOps, store.MemberOp{Kind: memberOpKinds[op.Kind], IDs: op.IDs})
	}
	g, err := h.Store.UpdateGroup(r.Context(), id, ifVersion, func(g *store.Group) error {
		if len(rest) == 0 {
			return nil
		}
		attrs := map[string]any{"displayName": g.DisplayName}
		if g.ExternalID != "" {
			attrs["externalId"] = g.ExternalID
		}
		if err := patch.Apply(attrs, rest, groupSchema); err != nil {
			return err
		}
		ng, _, err := groupFromAttributes(attrs)
		if err != nil {
			return err
		}
		g.DisplayName, g.ExternalID = ng.DisplayName, ng.ExternalID
		return nil
	}, storeOps)
	if err != nil {
		return store.Group{}, storeError(r.Context(), h.Log, "Group", id, err)
	}
	return g, nil
}

// wantsGroupBack reports whether a group PATCH answers with the group. It answers 204
// No Content otherwise (RFC 7644 §3.5.2 allows it; Entra asks for it and Okta accepts
// it): rendering the members back would cost what the group's size costs. A client that
// wants the group back asks with attributes or excludedAttributes and gets 200 with the
// projected resource.
func wantsGroupBack(q url.Values) bool {
	return q.Has("attributes") || q.Has("excludedAttributes")
}

var memberOpKinds = map[patch.MemberOpKind]store.MemberOpKind{
	patch.AddMembers:       store.AddMembers,
	patch.RemoveMembers:    store.RemoveMembers,
	patch.ReplaceMembers:   store.ReplaceMembers,
	patch.RemoveAllMembers: store.RemoveAllMembers,
}

// Delete handles DELETE /Groups/{id}.
func (h Groups) Delete(r *http.Request, id string) error {
	ifVersion, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteGroup(r.Context(), id, ifVersion); err != nil {
		return storeError(r.Context(), h.Log, "Group", id, err)
	}
	return nil
}

// resource renders a group, reading its members only if the projection keeps them.
func (h Groups) resource(r *http.Request, g *store.Group, p projection) (scim.Resource, error) {
	attrs := map[string]any{"displayName": g.DisplayName}
	if !p.excludes("members") {
		members := []any{}
		err := h.Store.EachGroupMember(r.Context(), g.ID, func(m store.Member) error {
			members = append(members, map[string]any{"value": m.Value, "display": m.Display, "type": "User"})
			return nil
		})
		if err != nil {
			return scim.Resource{}, storeError(r.Context(), h.Log, "Group", g.ID, err)
		}
		attrs["members"] = members
	}
	p.apply(attrs)
	res := scim.Resource{ID: g.ID, Attributes: attrs, Meta: meta(g.Created, g.LastModified, g.Version)}
	if g.ExternalID != "" && p.wantsExternalID() {
		res.ExternalID = optional.NewString(g.ExternalID)
	}
	return res, nil
}
