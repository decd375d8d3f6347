package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/townsquare/townsquare/server/connector"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// MattermostStatusPath is the connector's status in the admin API (scope admin:read).
const MattermostStatusPath = AdminPrefix + "/mattermost/status"

// registerMattermostStatus mounts GET /api/v1/mattermost/status before the admin API's
// catch-all, behind the same middleware: the connector's state, lag, failures, dead
// letters and breaker (connector.Report), read from the database, so every replica
// answers it, whichever holds the connector's lease. settings is the mapping file's
// mattermost: block, nil when the connector is not configured.
func registerMattermostStatus(r *mux.Router, s store.Store, settings *rules.Mattermost, auth *authenticator, log *slog.Logger) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", http.MethodGet)
			writeAdminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here; allowed: GET", r.Method))
			return
		}
		rep, err := connector.Status(r.Context(), s, settings, time.Now())
		if err != nil {
			adminStoreError(w, r, err, "")
			return
		}
		writeAdminJSON(w, http.StatusOK, rep)
	})
	r.Handle(MattermostStatusPath, recoverPanics(log, writeAdminError)(auth.require(adminScope, writeAdminError)(h)))
}
