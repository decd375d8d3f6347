package resources

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// NormalizeBody rewrites, before the library validates them, the request bodies that
// real IdPs send in shapes the library rejects but RFC 7643's intent allows:
//
//   - Entra sends the enterprise manager as a bare string ("manager": "271", or a PATCH
//     value "271" on path ...:manager); it means {"value": "271"}.
//   - An extension object keyed by its URN in another case (attribute names are
//     case-insensitive, RFC 7643 §2.1) would be dropped silently by the library, which
//     looks the key up exactly; the key is respelt as the URN.
//
// Everything else passes through untouched, byte for byte.
func NormalizeBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || (r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err == nil {
			if out, changed := normalizeJSON(body, r.Method == http.MethodPatch); changed {
				body = out
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

var managerPath = strings.ToLower(EnterpriseUserURN + ":manager")

// normalizeJSON returns the rewritten body and whether anything changed. A body that is
// not a JSON object is left for the library to reject.
func normalizeJSON(body []byte, isPatch bool) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return body, false
	}
	changed := false
	if isPatch {
		for k, v := range doc {
			if !strings.EqualFold(k, "Operations") {
				continue
			}
			ops, _ := v.([]any)
			for _, o := range ops {
				op, ok := o.(map[string]any)
				if !ok {
					continue
				}
				_, path := keyFold(op, "path")
				valKey, val := keyFold(op, "value")
				if p, _ := path.(string); strings.ToLower(strings.TrimSpace(p)) == managerPath {
					if s, ok := val.(string); ok {
						op[valKey] = map[string]any{"value": s}
						changed = true
					}
				} else if path == nil {
					if m, ok := val.(map[string]any); ok && wrapManager(m) {
						changed = true
					}
				}
			}
		}
	} else {
		for k, v := range doc {
			if k != EnterpriseUserURN && strings.EqualFold(k, EnterpriseUserURN) {
				if _, clash := doc[EnterpriseUserURN]; !clash {
					delete(doc, k)
					doc[EnterpriseUserURN] = v
					changed = true
				}
			}
		}
		if wrapManager(doc) {
			changed = true
		}
	}
	if !changed {
		return body, false
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return body, false
	}
	return out, true
}

// wrapManager fixes a bare-string manager in an attribute map, given either as the
// URN-qualified key or inside the enterprise extension object.
func wrapManager(m map[string]any) bool {
	changed := false
	for k, v := range m {
		lk := strings.ToLower(k)
		switch {
		case lk == managerPath:
			if s, ok := v.(string); ok {
				m[k] = map[string]any{"value": s}
				changed = true
			}
		case lk == strings.ToLower(EnterpriseUserURN):
			if ext, ok := v.(map[string]any); ok {
				if mk, mv := keyFold(ext, "manager"); mk != "" {
					if s, ok := mv.(string); ok {
						ext[mk] = map[string]any{"value": s}
						changed = true
					}
				}
			}
		}
	}
	return changed
}

// keyFold finds a key without regard to case, returning it as spelt and its value.
func keyFold(m map[string]any, name string) (string, any) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v
		}
	}
	return "", nil
}
