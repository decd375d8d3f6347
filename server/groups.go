package server

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"
)

// groupRoute serves a request for one group (/Groups/{id}) with serve, given the id as
// the library reads it from the URL (the path segment, unescaped once more). The paths
// the library reads as something else, or not at all, go to library: /Groups/.search
// (its 405) and ids that do not unescape (its 404).
func groupRoute(library http.Handler, serve func(w http.ResponseWriter, r *http.Request, id string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := mux.Vars(r)["id"]
		id, err := url.PathUnescape(raw)
		if err != nil || raw == ".search" {
			library.ServeHTTP(w, r)
			return
		}
		serve(w, r, id)
	})
}
