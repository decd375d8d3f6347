package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	all := store.AllScopes
	scim := []store.Scope{store.ScopeSCIM}
	created, err := s.CreateFirstToken(ctx, "default", "hash-0", all)
	if err != nil || !created {
		t.Fatalf("first token: %v %v", created, err)
	}
	created, err = s.CreateFirstToken(ctx, "again", "hash-x", scim)
	if err != nil || created {
		t.Fatalf("second first token: %v %v", created, err)
	}
	if err := s.CreateToken(ctx, "okta", "hash-1", scim); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, "okta", "hash-2", scim); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	// Scopes are kept in AllScopes order, without duplicates, whatever order they came in.
	if err := s.CreateToken(ctx, "ops", "hash-3", []store.Scope{store.ScopeAdminWrite, store.ScopeAdminRead, store.ScopeAdminWrite}); err != nil {
		t.Fatal(err)
	}
	// Names: at most store.MaxTokenNameLength of a small alphabet, never a name the
	// server gives tokens that are not stored.
	longest := strings.Repeat("n", store.MaxTokenNameLength)
	if err := s.CreateToken(ctx, longest, "hash-long", scim); err != nil {
		t.Fatalf("a name of %d characters: %v", len(longest), err)
	}
	if err := s.RevokeToken(ctx, longest); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", longest + "n", "a\x00b", "a b", "caf\u00e9", "\xff", "env:TOWNSQUARE_TOKEN", "ENV:x"} {
		if err := s.CreateToken(ctx, bad, "hash-badname", scim); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("name %q: err %v, want ErrInvalid", bad, err)
		}
		if _, err := s.CreateFirstToken(ctx, bad, "hash-badname", scim); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("first token named %q: err %v, want ErrInvalid", bad, err)
		}
		if _, err := s.LookupToken(ctx, "hash-badname"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("name %q: a token was written: %v", bad, err)
		}
	}
	for _, bad := range [][]store.Scope{nil, {}, {"admin"}, {store.ScopeSCIM, "SCIM"}, {""}} {
		if err := s.CreateToken(ctx, "bad", "hash-bad", bad); !errors.Is(err, store.ErrInvalidScope) {
			t.Fatalf("scopes %q: err %v, want ErrInvalidScope", bad, err)
		}
		if _, err := s.LookupToken(ctx, "hash-bad"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("scopes %q: a token was written: %v", bad, err)
		}
	}
	if _, err := s.CreateFirstToken(ctx, "bad", "hash-bad", []store.Scope{"root"}); !errors.Is(err, store.ErrInvalidScope) {
		t.Fatalf("first token with an unknown scope: %v", err)
	}
	for hash, want := range map[string]store.Token{
		"hash-0": {Name: "default", Scopes: all},
		"hash-1": {Name: "okta", Scopes: scim},
		"hash-3": {Name: "ops", Scopes: []store.Scope{store.ScopeAdminRead, store.ScopeAdminWrite}},
	} {
		tok, err := s.LookupToken(ctx, hash)
		if err != nil || tok.Name != want.Name || !slices.Equal(tok.Scopes, want.Scopes) || tok.Created.IsZero() {
			t.Fatalf("lookup %s: %+v %v, want %+v", hash, tok, err, want)
		}
	}
	toks, err := s.ListTokens(ctx)
	if err != nil || len(toks) != 3 {
		t.Fatalf("list: %+v %v", toks, err)
	}
	for i, want := range []store.Token{{Name: "default", Scopes: all}, {Name: "okta", Scopes: scim},
		{Name: "ops", Scopes: []store.Scope{store.ScopeAdminRead, store.ScopeAdminWrite}}} {
		if toks[i].Name != want.Name || !slices.Equal(toks[i].Scopes, want.Scopes) || toks[i].Created.IsZero() {
			t.Fatalf("list[%d] = %+v, want %+v", i, toks[i], want)
		}
	}
	if err := s.RevokeToken(ctx, "okta"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, "hash-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token still valid: %v", err)
	}
	if err := s.RevokeToken(ctx, "okta"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
}
