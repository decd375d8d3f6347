package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestOktaThousandChangePatch sends one PATCH with twice Okta's largest batch, within
// the PATCH limits (resources/limits): 1,000 separate `remove members[value eq …]` ops
// and one `add members` of 1,000, mixed with the rename op Okta repeats (1,002
// operations, 2,000 member ids), and checks the exact member set afterwards.
func TestOktaThousandChangePatch(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		var ids []string
		for i := 0; i < 2000; i++ {
			u := store.User{UserName: fmt.Sprintf("bulk%d@example.com", i), Active: true}
			if err := s.CreateUser(t.Context(), &u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		g := store.Group{DisplayName: "Everyone Okta"}
		if err := s.CreateGroup(t.Context(), &g, ids[:1000]); err != nil {
			t.Fatal(err)
		}
		var ops []string
		ops = append(ops, fmt.Sprintf(`{"op":"replace","value":{"id":%q,"displayName":"Everyone Okta"}}`, g.ID))
		for _, id := range ids[:1000] {
			ops = append(ops, fmt.Sprintf(`{"op":"remove","path":"members[value eq \"%s\"]"}`, id))
		}
		var adds []string
		for _, id := range ids[1000:] {
			adds = append(adds, fmt.Sprintf(`{"value":%q,"display":"x"}`, id))
		}
		ops = append(ops, `{"op":"add","path":"members","value":[`+strings.Join(adds, ",")+`]}`)
		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
		start := time.Now()
		if r := do(t, srv, "PATCH", "/scim/v2/Groups/"+g.ID, body); r.status != 204 {
			t.Fatalf("2,000-change PATCH: %d %s", r.status, r.raw)
		}
		t.Logf("2,000-change PATCH took %v (reported, not asserted: timing belongs to benchmarks)", time.Since(start))
		got := memberSet(t, s, g.ID)
		if len(got) != 1000 {
			t.Fatalf("%d members, want 1000", len(got))
		}
		for _, id := range ids[1000:] {
			if !got[id] {
				t.Fatalf("member %s missing", id)
			}
		}
		if v, err := s.CheckInvariants(t.Context()); err != nil || len(v) > 0 {
			t.Fatalf("invariants: %v %v", v, err)
		}
	})
}

func memberSet(t *testing.T, s store.Store, gid string) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	if err := s.EachGroupMember(t.Context(), gid, func(x store.Member) error { m[x.Value] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}
