package server_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/townsquare/townsquare/scimtest"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestConformanceKit runs every scimtest check (rfc, okta, entra) against the real
// handler on each backend, with the limits serve applies by default: the kit that anyone
// can aim at a URL, aimed at ourselves.
func TestConformanceKit(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		results := scimtest.Run(context.Background(), scimtest.Config{BaseURL: srv.URL + "/scim/v2", Token: token, Client: srv.Client()})
		var out bytes.Buffer
		if failed := scimtest.Report(&out, results); failed > 0 || len(results) == 0 {
			t.Fatalf("%d of %d conformance checks failed:\n%s", failed, len(results), out.String())
		}
		if v, err := s.CheckInvariants(context.Background()); err != nil || len(v) > 0 {
			t.Fatalf("invariants after the conformance run: %v %v", v, err)
		}
	})
}
