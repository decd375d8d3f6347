package resources

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/townsquare/townsquare/store"
)

func init() {
	// Entra sends booleans as strings ("False") unless the tenant URL carries
	// aadOptscim062020; accept them everywhere. This is a package-level switch of the
	// library, so it is set once here, where the library is configured.
	schema.SetAllowStringValues(true)
}

// Service is the SCIM side of Townsquare: the library's server for single resources
// and discovery, and our own list endpoints.
type Service struct {
	Store   store.Store
	Log     *slog.Logger
	BaseURL string // public URL of /scim/v2, e.g. https://chat.example.com/scim/v2

	spcOnce sync.Once
	spc     []byte
}

// ResourceTypes lists the resource types served, User first.
func (s *Service) ResourceTypes() []scim.ResourceType {
	return []scim.ResourceType{
		{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Description: optional.NewString("User Account"),
			Schema:      userSchema,
			SchemaExtensions: []scim.SchemaExtension{
				{Schema: enterpriseUserSchema},
				{Schema: townsquareUserSchema},
			},
			Handler: Users{Store: s.Store, Log: s.Log},
		},
		{
			ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups",
			Description: optional.NewString("Group"),
			Schema:      groupSchema,
			Handler:     Groups{Store: s.Store, Log: s.Log},
		},
	}
}

// SCIMServer builds the library's server. It expects paths below /scim/v2 with that
// prefix stripped.
func (s *Service) SCIMServer() (http.Handler, error) {
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			DocumentationURI: optional.NewString("https://github.com/townsquare/townsquare#readme"),
			AuthenticationSchemes: []scim.AuthenticationScheme{{
				Type: scim.AuthenticationTypeOauthBearerToken, Name: "Bearer token",
				Description: "A token made with `townsquare token create NAME`, sent as Authorization: Bearer <token>.",
				Primary:     true,
			}},
			MaxResults:       MaxPageSize,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: s.ResourceTypes(),
	}, scim.WithBaseURL(strings.TrimSuffix(s.BaseURL, "/")), scim.WithLogger(slogAdapter{s.Log}))
	if err != nil {
		return nil, fmt.Errorf("build SCIM server: %w", err)
	}
	return srv, nil
}

// ListUsers serves GET /Users.
func (s *Service) ListUsers(w http.ResponseWriter, r *http.Request) {
	lr, err := parseListRequest(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	users, total, err := s.Store.ListUsers(r.Context(), lr.query)
	if err != nil {
		writeErr(w, storeError(r.Context(), s.Log, "User", "", err))
		return
	}
	schemas := []string{UserSchemaURN, EnterpriseUserURN, TownsquareUserURN}
	out := make([]map[string]any, len(users))
	for i := range users {
		out[i] = renderResource(userResource(&users[i], lr.proj), "User", schemas, s.location("Users", users[i].ID))
	}
	writeList(w, lr.query.StartIndex, total, out)
}

// ListGroups serves GET /Groups.
func (s *Service) ListGroups(w http.ResponseWriter, r *http.Request) {
	lr, err := parseListRequest(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	groups, total, err := s.Store.ListGroups(r.Context(), lr.query)
	if err != nil {
		writeErr(w, storeError(r.Context(), s.Log, "Group", "", err))
		return
	}
	h := Groups{Store: s.Store, Log: s.Log}
	schemas := []string{GroupSchemaURN}
	out := make([]map[string]any, len(groups))
	for i := range groups {
		res, err := h.resource(r, &groups[i], lr.proj)
		if err != nil {
			writeErr(w, err)
			return
		}
		out[i] = renderResource(res, "Group", schemas, s.location("Groups", groups[i].ID))
	}
	writeList(w, lr.query.StartIndex, total, out)
}

func (s *Service) location(endpoint, id string) string {
	return strings.TrimSuffix(s.BaseURL, "/") + "/" + endpoint + "/" + id
}

// slogAdapter lets the library log through slog: it passes a message and key/value pairs.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Error(args ...interface{}) {
	if len(args) == 0 {
		return
	}
	msg, ok := args[0].(string)
	if !ok {
		msg = fmt.Sprint(args[0])
	}
	a.log.Error("scim library: "+msg, args[1:]...)
}
