package server

import "testing"

// One owner per endpoint: no method and path of the admin API has two handlers (the
// router would serve the first and hide the second).
func TestAdminRoutesHaveOneOwner(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range adminRoutes {
		key := rt.method + " " + rt.path
		if seen[key] {
			t.Errorf("%s has two handlers", key)
		}
		seen[key] = true
		if rt.h == nil {
			t.Errorf("%s has no handler", key)
		}
	}
}
