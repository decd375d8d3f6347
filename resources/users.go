package resources

import (
	"context"
	"net/http"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/resources/patch"
	"github.com/townsquare/townsquare/store"
)

// /Users: each handler reads its request once into a store.User (or the store's updater
// closure), calls the store, and renders the user the store returns.

// listUsers serves GET /Users.
func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	lr, err := parseListRequest(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	a.writeUserList(w, r, lr)
}

// writeUserList answers the page of users lr selects (GET /Users, POST /Users/.search).
func (a *API) writeUserList(w http.ResponseWriter, r *http.Request, lr listRequest) {
	if lr.cursor != nil {
		_, ks, err := lr.cursor.keyset(lr.filterHash, cursorUsers)
		if err != nil {
			WriteError(w, err)
			return
		}
		lr.query.Keyset = ks
	}
	users, total, err := a.store.ListUsers(r.Context(), lr.query)
	if err != nil {
		a.fail(w, r, userKind, "", err)
		return
	}
	out := make([]resource, len(users))
	for i := range users {
		out[i] = a.renderUser(&users[i], lr.proj)
	}
	page := indexPage(lr.query.StartIndex)
	if lr.query.Keyset != nil {
		page = cursorPage(cursorUsers, lr.filterHash, lr.query.Count, lr.query.Keyset)
	}
	writeList(w, page, total, out)
}

// createUser serves POST /Users.
func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	u, err := decodeUser(r)
	if err != nil {
		a.fail(w, r, userKind, "", err)
		return
	}
	if err := a.store.CreateUser(r.Context(), &u.User); err != nil {
		a.fail(w, r, userKind, u.UserName, err)
		return
	}
	a.event(EventUserCreated, 1)
	a.writeResource(w, http.StatusCreated, userType, a.renderUser(&u.User, parseProjection(r.URL.Query())), u.Version)
}

// getUser serves GET /Users/{id}.
func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	id := resourceID(r)
	u, err := a.store.GetUser(r.Context(), id)
	if err != nil {
		a.fail(w, r, userKind, id, err)
		return
	}
	if readConditions(w, r, u.Version) {
		return
	}
	a.writeResource(w, http.StatusOK, userType, a.renderUser(&u, parseProjection(r.URL.Query())), u.Version)
}

// replaceUser serves PUT /Users/{id}: the body replaces the user. Two write-only or
// server-kept values survive a body that leaves them out: the password (an IdP cannot
// read it back to send it again) and active (Okta PUTs without it must not reactivate
// or deactivate anyone by accident).
func (a *API) replaceUser(w http.ResponseWriter, r *http.Request) {
	id := resourceID(r)
	nu, err := decodeUser(r)
	if err == nil {
		nu.ifVersion, err = a.writeVersion(r, userKind, id)
	}
	if err != nil {
		a.fail(w, r, userKind, id, err)
		return
	}
	var wasActive bool
	u, err := a.store.UpdateUser(r.Context(), id, nu.ifVersion, func(u *store.User) error {
		wasActive = u.Active
		next := nu.User
		if !nu.hasActive {
			next.Active = u.Active
		}
		if next.PasswordHash == "" {
			next.PasswordHash = u.PasswordHash
		}
		*u = next
		return nil
	})
	if err != nil {
		a.fail(w, r, userKind, id, err)
		return
	}
	a.activeChange(wasActive, u.Active)
	a.writeResource(w, http.StatusOK, userType, a.renderUser(&u, parseProjection(r.URL.Query())), u.Version)
}

// patchUser serves PATCH /Users/{id}: the operations are applied to the stored user
// inside the store's update, so a failing operation writes nothing. Everything that does
// not depend on the stored user (reading the request, resolving paths, coercing values,
// hashing a password it sets) is done before, outside the store's transaction. It
// answers 200 with the user.
func (a *API) patchUser(w http.ResponseWriter, r *http.Request) {
	id := resourceID(r)
	ops, err := decodePatch(r)
	var ifVersion int64
	if err == nil {
		ifVersion, err = a.writeVersion(r, userKind, id)
	}
	if err != nil {
		a.fail(w, r, userKind, id, err)
		return
	}
	var wasActive bool
	prog := patch.Compile(ops, userSchema, enterpriseUserSchema, townsquareUserSchema)
	// The stored user never holds a password, so the one the operations leave is known
	// now (patch.Program.LastSet), and is hashed before the transaction: a hash holds no
	// lock, and a transaction run again hashes nothing again. Only a non-empty string is
	// one (as setPassword has it).
	var pwHash string
	if pw, ok := prog.LastSet("password"); ok {
		if s, _ := pw.(string); s != "" {
			if pwHash, err = hashPassword(r.Context(), s); err != nil {
				a.fail(w, r, userKind, id, err)
				return
			}
		}
	}
	u, err := a.store.UpdateUser(r.Context(), id, ifVersion, func(u *store.User) error {
		wasActive = u.Active
		attrs := userToAttributes(u)
		if u.ExternalID != "" {
			attrs["externalId"] = u.ExternalID
		}
		if err := prog.Apply(r.Context(), attrs); err != nil {
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
		if pwHash != "" {
			nu.PasswordHash = pwHash
		}
		*u = nu
		return nil
	})
	if err != nil {
		a.fail(w, r, userKind, id, err)
		return
	}
	a.activeChange(wasActive, u.Active)
	a.writeResource(w, http.StatusOK, userType, a.renderUser(&u, parseProjection(r.URL.Query())), u.Version)
}

// deleteUser serves DELETE /Users/{id}.
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	id := resourceID(r)
	ifVersion, err := a.writeVersion(r, userKind, id)
	if err == nil {
		err = a.store.DeleteUser(r.Context(), id, ifVersion)
	}
	if err != nil {
		a.fail(w, r, userKind, id, err)
		return
	}
	a.event(EventUserDeleted, 1)
	w.WriteHeader(http.StatusNoContent)
}

// decodedUser is a POST or PUT body of /Users read into the store's type.
type decodedUser struct {
	store.User
	hasActive bool  // the body gave active (PUT keeps the stored value otherwise)
	ifVersion int64 // the version a PUT must find (writeVersion)
}

// decodeUser reads a POST or PUT body into a store.User, hashing a password it carries.
func decodeUser(r *http.Request) (decodedUser, error) {
	attrs, err := decodeResource(r, userType)
	if err != nil {
		return decodedUser{}, err
	}
	u, err := userFromAttributes(attrs)
	if err != nil {
		return decodedUser{}, err
	}
	if err := setPassword(r.Context(), &u, attrs); err != nil {
		return decodedUser{}, err
	}
	_, hasActive := attrs["active"]
	return decodedUser{User: u, hasActive: hasActive}, nil
}

// decodePatch reads a PATCH body.
func decodePatch(r *http.Request) ([]patch.Operation, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return patch.ParseRequest(body)
}

// setPassword hashes a password present in attrs into u.
func setPassword(ctx context.Context, u *store.User, attrs map[string]any) error {
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
	h, err := hashPassword(ctx, pw)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	return nil
}

// renderUser renders a stored user, projected by p.
func (a *API) renderUser(u *store.User, p projection) resource {
	attrs := userToAttributes(u)
	if groups, ok := attrs["groups"].([]any); ok {
		// RFC 7643 §4.1.2: groups[].$ref is the group's URI, absolute from the base URL.
		for i, g := range groups {
			if m, ok := g.(map[string]any); ok && i < len(u.Groups) {
				m["$ref"] = a.location("Groups", u.Groups[i].ID)
			}
		}
	}
	p.apply(attrs)
	return a.render(userType, attrs, u.ID, u.ExternalID, meta{u.Created, u.LastModified, u.Version}, p)
}
