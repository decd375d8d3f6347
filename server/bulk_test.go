package server_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/scimtest"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/jsonl"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestImportedUsersLinkToIdPs: people pre-provisioned by a bulk import are found by
// Okta's and Entra's first sync (userName eq, externalId eq) and updated in place: no
// second user appears, the account keeps its memberships, and the provisioning rules
// hold.
func TestImportedUsersLinkToIdPs(t *testing.T) {
	file := strings.Join([]string{
		`{"type":"version","version":1}`,
		`{"type":"team","team":{"name":"engineering","display_name":"Engineering","type":"O"}}`,
		`{"type":"user","user":{"username":"olivia","email":"Olivia.Okta@example.com","auth_service":"saml","auth_data":"00u1olivia","teams":[{"name":"engineering"}]}}`,
		`{"type":"user","user":{"username":"ethan","email":"ethan.entra@example.com","auth_service":"office365","auth_data":"6f1c2b9e-0000-4000-8000-000000000001","teams":[{"name":"engineering"}]}}`,
	}, "\n") + "\n"
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		src := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(file)), nil }
		if rep, err := jsonl.Import(ctx, s, s, src, jsonl.ImportOptions{HashPassword: resources.HashPassword}); err != nil {
			t.Fatalf("%v %v", err, rep.Errors)
		}
		srv, _ := testServer(t, s)
		checks := append(scimtest.LinkChecks("Olivia.Okta@example.com", "00u1olivia")[:1],
			scimtest.LinkChecks("ethan.entra@example.com", "6f1c2b9e-0000-4000-8000-000000000001")[1:]...)
		results := scimtest.RunChecks(ctx, scimtest.Config{BaseURL: srv.URL + "/scim/v2", Token: token, Client: srv.Client()}, checks)
		var out bytes.Buffer
		if failed := scimtest.Report(&out, results); failed > 0 || len(results) != 2 {
			t.Fatalf("%s", out.String())
		}
		// The checks do fail for a person nobody provisioned.
		for _, r := range scimtest.RunChecks(ctx, scimtest.Config{BaseURL: srv.URL + "/scim/v2", Token: token, Client: srv.Client()},
			scimtest.LinkChecks("nobody@example.com", "00unobody")) {
			if r.Err == nil || !strings.Contains(r.Err.Error(), "totalResults") {
				t.Errorf("%s/%s for nobody: %v", r.Suite, r.Name, r.Err)
			}
		}
		users, total, err := s.ListUsers(ctx, store.Query{Count: 10})
		if err != nil || total != 2 {
			t.Fatalf("%d users after the syncs: %v %v", total, users, err)
		}
		for _, u := range users {
			d, err := s.AccountDetails(ctx, u.ID)
			if err != nil || len(d.Teams) != 1 || d.Teams[0].Team != "engineering" {
				t.Errorf("%s: %+v %v", u.UserName, d.Teams, err)
			}
		}
		if v, err := s.CheckInvariants(ctx); err != nil || len(v) > 0 {
			t.Fatalf("invariants: %v %v", v, err)
		}
	})
}
