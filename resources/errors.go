package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/store"
)

// A SCIM error is a scimerrors.ScimError value: what the patch applier and the schemas'
// validation return too. WriteError is the only writer of SCIM error answers; every
// other error reaches it through (*API).fail, which maps the store's errors.

// errorf is a SCIM error with a status, a scimType ("" for none) and a detail.
func errorf(status int, scimType scimerrors.ScimType, format string, args ...any) error {
	return scimerrors.ScimError{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// Error is a SCIM error for the server's middleware: errorf with a plain detail.
func Error(status int, scimType scimerrors.ScimType, detail string) error {
	return scimerrors.ScimError{Status: status, ScimType: scimType, Detail: detail}
}

// badRequest is a 400 with a scimType.
func badRequest(scimType scimerrors.ScimType, format string, args ...any) error {
	return errorf(http.StatusBadRequest, scimType, format, args...)
}

// errInternal is what a client sees of a failure that is ours; the real error is
// logged, never sent.
var errInternal = Error(http.StatusInternalServerError, "", "internal server error; the server log has the details")

// RetryAfter is what a 503 asks a client to wait before trying again (Retry-After, in
// seconds): long enough for a database restart or failover, short enough that an IdP's
// queue does not stall for long once it is back.
const RetryAfter = 10 * time.Second

// errUnavailable is the 503 of a store that cannot serve now; errTimeout the 503 of a
// request that ran out of its time. Neither says more: the cause is in the server log.
var (
	errUnavailable = Error(http.StatusServiceUnavailable, "", "the database is unavailable; try again later")
	errTimeout     = Error(http.StatusServiceUnavailable, "", "the request did not complete in the server's time limit; try again later")
)

// Unavailable reports whether err, returned while serving a request whose context is
// ctx, means "try again later" rather than anything about the request: the store cannot
// serve now (store.ErrUnavailable), or the request's deadline passed (the database did
// not answer in time).
func Unavailable(ctx context.Context, err error) bool {
	return errors.Is(err, store.ErrUnavailable) || timedOut(ctx, err)
}

func timedOut(ctx context.Context, err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// WriteError answers err as a SCIM error (RFC 7644 §3.12): a ScimError as it is (status
// as a string in the body, as the RFC's examples have it), anything else as a plain 500
// that reveals nothing. A 503 carries Retry-After (RetryAfter, unless the caller set
// one).
func WriteError(w http.ResponseWriter, err error) {
	var se scimerrors.ScimError
	if !errors.As(err, &se) || se.Status < 400 || se.Status > 599 {
		se = errInternal.(scimerrors.ScimError)
	}
	if se.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
	}
	body := struct {
		Schemas  []string `json:"schemas"`
		ScimType string   `json:"scimType,omitempty"`
		Detail   string   `json:"detail,omitempty"`
		Status   string   `json:"status"`
	}{[]string{store.ErrorSchema}, string(se.ScimType), se.Detail, strconv.Itoa(se.Status)}
	writeJSON(w, se.Status, body)
}

// fail answers a handler's error: SCIM errors as they are, the store's mapped to what
// they mean for resource kind (User, Group) with id, anything else logged and a 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, kind, id string, err error) {
	WriteError(w, a.scimError(r.Context(), kind, id, err))
}

func (a *API) scimError(ctx context.Context, kind, id string, err error) error {
	var (
		se        scimerrors.ScimError
		unknown   *store.UnknownMembersError
		badFilter *store.FilterError
		invalid   *store.InvalidError
	)
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &invalid):
		return badRequest(scimerrors.ScimTypeInvalidValue, "%s", invalid.Error())
	case errors.As(err, &badFilter):
		return badRequest(scimerrors.ScimTypeInvalidFilter, "%s", badFilter.Error())
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "", "%s %q not found", kind, id)
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, scimerrors.ScimTypeUniqueness, "a %s with that %s already exists", kind, uniqueAttr(kind))
	case errors.Is(err, store.ErrPrecondition):
		return errPrecondition
	case errors.As(err, &unknown):
		return badRequest(scimerrors.ScimTypeInvalidValue, "members: %s", unknown.Error())
	case errors.Is(err, store.ErrUnavailable):
		a.log.WarnContext(ctx, "the store is unavailable", "resource", kind, "id", id, "err", err)
		return errUnavailable
	case timedOut(ctx, err):
		a.log.WarnContext(ctx, "the request ran out of time", "resource", kind, "id", id, "err", err)
		return errTimeout
	case errors.Is(err, context.Canceled):
		return errorf(http.StatusBadRequest, "", "request cancelled")
	}
	a.log.ErrorContext(ctx, "store operation failed", "resource", kind, "id", id, "err", err)
	return errInternal
}

// errPrecondition is the 412 for an If-Match that no longer matches (RFC 7644 §3.14).
var errPrecondition = Error(http.StatusPreconditionFailed, "preconditionFailed",
	"the resource has changed since the version given in If-Match")

func uniqueAttr(kind string) string {
	if kind == userKind {
		return "userName"
	}
	return "displayName"
}

// writeJSON writes v as a SCIM JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // our own types and maps of JSON values: cannot happen
		status, body = http.StatusInternalServerError, []byte(`{"schemas":["`+store.ErrorSchema+`"],"status":"500"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// contentType is the media type of every SCIM answer (RFC 7644 §3.1).
const contentType = "application/scim+json"
