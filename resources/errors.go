package resources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/store"
)

// badRequest is a 400 with a SCIM scimType. It returns the ScimError VALUE: the library
// recognises only that (a pointer would become a 500).
func badRequest(scimType scimerrors.ScimType, detail string) error {
	return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimType, Detail: detail}
}

// notFound is the 404 for a resource id.
func notFound(kind, id string) error {
	return scimerrors.ScimError{Status: http.StatusNotFound, Detail: fmt.Sprintf("%s %q not found", kind, id)}
}

// preconditionFailed is the 412 for an If-Match that no longer matches.
func preconditionFailed() error {
	return scimerrors.ScimError{Status: http.StatusPreconditionFailed, ScimType: "preconditionFailed",
		Detail: "the resource has changed since the version given in If-Match"}
}

// errInternal is what a client sees for a failure that is ours: the real error is
// logged, never sent (the library would put err.Error() in the body, DSNs and all).
var errInternal = scimerrors.ScimError{Status: http.StatusInternalServerError,
	Detail: "internal server error; the server log has the details"}

// storeError maps an error from the store to a SCIM error. Errors already in SCIM form
// pass through; anything unexpected is logged with ctx's request data and becomes a
// plain 500.
func storeError(ctx context.Context, log *slog.Logger, kind, id string, err error) error {
	var scimErr scimerrors.ScimError
	var unknown *store.UnknownMembersError
	var badFilter *store.FilterError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &scimErr):
		return scimErr
	case errors.As(err, &badFilter):
		return badRequest(scimerrors.ScimTypeInvalidFilter, badFilter.Error())
	case errors.Is(err, store.ErrNotFound):
		return notFound(kind, id)
	case errors.Is(err, store.ErrConflict):
		return scimerrors.ScimError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness,
			Detail: fmt.Sprintf("a %s with that %s already exists", kind, uniqueAttr(kind))}
	case errors.Is(err, store.ErrPrecondition):
		return preconditionFailed()
	case errors.As(err, &unknown):
		return badRequest(scimerrors.ScimTypeInvalidValue, "members: "+unknown.Error())
	case errors.Is(err, context.Canceled):
		return scimerrors.ScimError{Status: http.StatusBadRequest, Detail: "request cancelled"}
	}
	log.ErrorContext(ctx, "store operation failed", "resource", kind, "id", id, "err", err)
	return errInternal
}

func uniqueAttr(kind string) string {
	if kind == "User" {
		return "userName"
	}
	return "displayName"
}
