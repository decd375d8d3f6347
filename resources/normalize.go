package resources

import (
	"strings"

	"github.com/townsquare/townsquare/store"
)

// normalizeResource rewrites, in a decoded POST or PUT body, the shapes real IdPs send
// that the schemas' validation would reject or drop although RFC 7643's intent allows
// them:
//
//   - Entra sends the enterprise manager as a bare string ("manager": "271"); it means
//     {"value": "271"}.
//   - An extension object keyed by its URN in another case (attribute names are
//     case-insensitive, RFC 7643 §2.1) would be dropped, as validation looks the key up
//     exactly; the key is respelt as the URN.
//
// PATCH needs neither: the applier resolves names in any case and reads a bare manager
// as its value.
func normalizeResource(doc map[string]any) {
	for k, v := range doc {
		if k != store.EnterpriseUserSchema && strings.EqualFold(k, store.EnterpriseUserSchema) {
			if _, clash := doc[store.EnterpriseUserSchema]; !clash {
				delete(doc, k)
				doc[store.EnterpriseUserSchema] = v
			}
		}
	}
	if ext, ok := doc[store.EnterpriseUserSchema].(map[string]any); ok {
		for k, v := range ext {
			if s, ok := v.(string); ok && strings.EqualFold(k, "manager") {
				ext[k] = map[string]any{"value": s}
			}
		}
	}
}
