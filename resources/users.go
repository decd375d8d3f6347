package resources

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"

	"github.com/townsquare/townsquare/resources/patch"
	"github.com/townsquare/townsquare/store"
)

// Users is the SCIM resource handler for /Users.
type Users struct {
	Store store.Store
	Log   *slog.Logger
}

var _ scim.ResourceHandler = Users{}

// Create handles POST /Users.
func (h Users) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	u, err := userFromAttributes(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	if err := setPassword(&u, attrs); err != nil {
		return scim.Resource{}, storeError(r.Context(), h.Log, "User", "", err)
	}
	if err := h.Store.CreateUser(r.Context(), &u); err != nil {
		return scim.Resource{}, storeError(r.Context(), h.Log, "User", u.UserName, err)
	}
	return userResource(&u, parseProjection(r.URL.Query())), nil
}

// Get handles GET /Users/{id}.
func (h Users) Get(r *http.Request, id string) (scim.Resource, error) {
	u, err := h.Store.GetUser(r.Context(), id)
	if err != nil {
		return scim.Resource{}, storeError(r.Context(), h.Log, "User", id, err)
	}
	return userResource(&u, parseProjection(r.URL.Query())), nil
}

// GetAll answers list requests that reach the library. The server routes GET /Users to
// List instead, which renders the list envelope itself; this stays correct for any
// other path the library may send here.
func (h Users) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	var f store.Filter
	if params.FilterValidator != nil {
		f = params.FilterValidator.GetFilter()
	}
	users, total, err := h.Store.ListUsers(r.Context(), store.Query{Filter: f, StartIndex: params.StartIndex, Count: params.Count})
	if err != nil {
		return scim.Page{}, storeError(r.Context(), h.Log, "User", "", err)
	}
	p := parseProjection(r.URL.Query())
	page := scim.Page{TotalResults: total, Resources: make([]scim.Resource, 0, len(users))}
	for i := range users {
		page.Resources = append(page.Resources, userResource(&users[i], p))
	}
	return page, nil
}

// Replace handles PUT /Users/{id}: the body replaces the user. Two write-only or
// server-kept values survive a body that leaves them out: the password (an IdP cannot
// read it back to send it again) and active (Okta PUTs without it must not reactivate
// or deactivate anyone by accident).
func (h Users) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	nu, err := userFromAttributes(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	_, hasActive := attrs["active"]
	if err := setPassword(&nu, attrs); err != nil {
		return scim.Resource{}, storeError(r.Context(), h.Log, "User", id, err)
	}
	ifVersion, err := ifMatchVersion(r)
	if err != nil {
		return scim.Resource{}, err
	}
	u, err := h.Store.UpdateUser(r.Context(), id, ifVersion, func(u *store.User) error {
		if !hasActive {
			nu.Active = u.Active
		}
		if nu.PasswordHash == "" {
			nu.PasswordHash = u.PasswordHash
		}
		*u = nu
		return nil
	})
	if err != nil {
		return scim.Resource{}, storeError(r.Context(), h.Log, "User", id, err)
	}
	return userResource(&u, parseProjection(r.URL.Query())), nil
}

// Patch handles PATCH /Users/{id}: the operations are applied to the stored user inside
// the store's transaction, so a failing operation writes nothing.
func (h Users) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	ifVersion, err := ifMatchVersion(r)
	if err != nil {
		return scim.Resource{}, err
	}
	u, err := h.Store.UpdateUser(r.Context(), id, ifVersion, func(u *store.User) error {
		attrs := userToAttributes(u)
		if u.ExternalID != "" {
			attrs["externalId"] = u.ExternalID
		}
		if err := patch.Apply(attrs, ops, userSchema, enterpriseUserSchema, townsquareUserSchema); err != nil {
			return err
		}
		nu, err := userFromAttributes(attrs)
		if err != nil {
			return err
		}
		if _, _, ok := lookup(attrs, "active"); !ok {
			// "remove active" leaves active unassigned; that must not reactivate a
			// deactivated user (absent active means true on create only).
			nu.Active = u.Active
		}
		nu.PasswordHash = u.PasswordHash
		if err := setPassword(&nu, attrs); err != nil {
			return err
		}
		*u = nu
		return nil
	})
	if err != nil {
		return scim.Resource{}, storeError(r.Context(), h.Log, "User", id, err)
	}
	return userResource(&u, parseProjection(r.URL.Query())), nil
}

// Delete handles DELETE /Users/{id}.
func (h Users) Delete(r *http.Request, id string) error {
	ifVersion, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteUser(r.Context(), id, ifVersion); err != nil {
		return storeError(r.Context(), h.Log, "User", id, err)
	}
	return nil
}

// setPassword hashes a password present in attrs into u.
func setPassword(u *store.User, attrs map[string]any) error {
	_, v, ok := lookup(attrs, "password")
	if !ok || v == nil {
		return nil
	}
	pw, isString := v.(string)
	if !isString {
		return badRequest(scimerrors.ScimTypeInvalidValue, "password must be a string")
	}
	if pw == "" {
		return nil
	}
	h, err := hashPassword(pw)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	return nil
}

// userResource renders a stored user for the library, projected as the request asks.
func userResource(u *store.User, p projection) scim.Resource {
	attrs := userToAttributes(u)
	p.apply(attrs)
	res := scim.Resource{ID: u.ID, Attributes: attrs, Meta: meta(u.Created, u.LastModified, u.Version)}
	if u.ExternalID != "" && p.wantsExternalID() {
		res.ExternalID = optional.NewString(u.ExternalID)
	}
	return res
}

// ifMatchVersion reads If-Match (RFC 7644 §3.14). It returns 0 when the header is
// absent or "*"; an ETag that is not one of ours cannot match, so it is a 412.
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
	return 0, preconditionFailed()
}

// etag renders a version as the weak ETag the server sends and accepts.
func etag(version int64) string { return fmt.Sprintf(`W/"%d"`, version) }
