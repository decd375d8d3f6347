package resources

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
)

// The handlers that serve group requests in front of the library answer as the library
// would: these are its error answer and its meta.location, repeated.

// scimContentType is the content type the library sets on every answer.
const scimContentType = "application/scim+json"

// writeLibraryError answers a handler error as the library does for method: a status
// SCIM does not allow for the method becomes a 500 (errors.CheckScimError), and the body
// is the ScimError's own JSON.
func writeLibraryError(w http.ResponseWriter, err error, method string) {
	se := scimerrors.CheckScimError(err, method)
	raw, mErr := json.Marshal(se)
	if mErr != nil {
		// ScimError marshals a fixed struct of strings; this cannot fail.
		raw = []byte(`{"schemas":["` + ErrorURN + `"],"status":"500"}`)
		se.Status = http.StatusInternalServerError
	}
	w.WriteHeader(se.Status)
	_, _ = w.Write(raw)
}

// libraryLocation is meta.location as the library's resourceLocation builds it from
// the base URL it was given (WithBaseURL trims trailing slashes) and the id of the
// request URL.
func libraryLocation(baseURL, endpoint, id string) string {
	baseURL = strings.TrimRight(baseURL, "/")
	rel := endpoint + "/" + url.PathEscape(id)
	if baseURL == "" {
		return rel
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return rel
	}
	u.Path = u.Path + "/" + rel
	return u.String()
}
