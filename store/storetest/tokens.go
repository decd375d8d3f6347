package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/townsquare/townsquare/store"
)

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	created, err := s.CreateFirstToken(ctx, "default", "hash-0")
	if err != nil || !created {
		t.Fatalf("first token: %v %v", created, err)
	}
	created, err = s.CreateFirstToken(ctx, "again", "hash-x")
	if err != nil || created {
		t.Fatalf("second first token: %v %v", created, err)
	}
	if err := s.CreateToken(ctx, "okta", "hash-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, "okta", "hash-2"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	if name, err := s.TokenName(ctx, "hash-1"); err != nil || name != "okta" {
		t.Fatalf("lookup: %q %v", name, err)
	}
	toks, err := s.ListTokens(ctx)
	if err != nil || len(toks) != 2 || toks[0].Name != "default" || toks[1].Name != "okta" {
		t.Fatalf("list: %+v %v", toks, err)
	}
	if err := s.RevokeToken(ctx, "okta"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenName(ctx, "hash-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token still valid: %v", err)
	}
	if err := s.RevokeToken(ctx, "okta"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
}
