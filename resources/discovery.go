package resources

import (
	"encoding/json"
	"net/http"
	"strings"
)

// ServiceProviderConfig serves /ServiceProviderConfig. The library's own answer
// hard-codes etag and changePassword as unsupported; Townsquare supports both (ETags
// with If-Match on every resource, passwords accepted by POST/PUT/PATCH and kept hashed),
// and says so. The document is built once: it never changes while the server runs.
func (s *Service) ServiceProviderConfig(w http.ResponseWriter, _ *http.Request) {
	s.spcOnce.Do(func() {
		doc := map[string]any{
			"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
			"documentationUri": "https://github.com/townsquare/townsquare#readme",
			"patch":            map[string]any{"supported": true},
			"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
			"filter":           map[string]any{"supported": true, "maxResults": MaxPageSize},
			"changePassword":   map[string]any{"supported": true},
			"sort":             map[string]any{"supported": false},
			"etag":             map[string]any{"supported": true},
			"authenticationSchemes": []any{map[string]any{
				"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
				"description": "A token made with `townsquare token create NAME`, sent as Authorization: Bearer <token>.",
			}},
			"meta": map[string]any{
				"resourceType": "ServiceProviderConfig",
				"location":     strings.TrimSuffix(s.BaseURL, "/") + "/ServiceProviderConfig",
			},
		}
		s.spc, _ = json.Marshal(doc)
	})
	w.Header().Set("Content-Type", "application/scim+json")
	_, _ = w.Write(s.spc)
}
