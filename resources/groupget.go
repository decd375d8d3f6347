package resources

import "net/http"

// GetGroup serves GET /Groups/{id} in front of the library, with the answer the library
// would give for Groups.Get (status, Content-Type, Etag, body bytes), except that the
// members are streamed from the store instead of being built into a list and marshalled
// with the rest: a full GET of a 50k-member group holds one 32 KB buffer, not the group.
// excludedAttributes=members (or attributes without members) reads no member at all.
// Like the library, it ignores If-None-Match. id is the id as the library would read it
// from the URL.
func (s *Service) GetGroup(w http.ResponseWriter, r *http.Request, id string) {
	w.Header().Set("Content-Type", scimContentType)
	g, err := s.Store.GetGroup(r.Context(), id)
	if err != nil {
		writeLibraryError(w, storeError(r.Context(), s.Log, "Group", id, err), http.MethodGet)
		return
	}
	view := viewGroup(parseProjection(r.URL.Query()), g.ExternalID != "")
	s.writeGroup(w, r, &g, view, id, http.MethodGet)
}
