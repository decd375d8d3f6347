package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
)

func TestParseScopes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []store.Scope // nil: ErrInvalidScope
	}{
		{"scim", []store.Scope{store.ScopeSCIM}},
		{"admin:read", []store.Scope{store.ScopeAdminRead}},
		{"login", []store.Scope{store.ScopeLogin}},
		{"login,admin:write,admin:read, scim", store.AllScopes},
		{"admin:write,admin:read, scim", []store.Scope{store.ScopeSCIM, store.ScopeAdminRead, store.ScopeAdminWrite}},
		{"Login", nil},
		{"scim,scim", []store.Scope{store.ScopeSCIM}},
		{" scim , ", []store.Scope{store.ScopeSCIM}},
		{"", nil},
		{",", nil},
		{"admin", nil},
		{"SCIM", nil},
		{"scim,admin:delete", nil},
		{"scim admin:read", nil}, // one unknown name, not two scopes
	} {
		got, err := store.ParseScopes(tc.in)
		if tc.want == nil {
			if !errors.Is(err, store.ErrInvalidScope) {
				t.Errorf("ParseScopes(%q) = %v, %v; want ErrInvalidScope", tc.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseScopes(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if back, err := store.ParseScopes(store.ScopeList(got)); err != nil || !slices.Equal(back, got) {
			t.Errorf("ScopeList(%v) does not parse back: %v %v", got, back, err)
		}
	}
}

func TestTokenHas(t *testing.T) {
	tok := store.Token{Name: "okta", Scopes: []store.Scope{store.ScopeSCIM}}
	if !tok.Has(store.ScopeSCIM) || tok.Has(store.ScopeAdminRead) || tok.Has(store.ScopeAdminWrite) || tok.Has(store.ScopeLogin) {
		t.Fatalf("Has on %+v", tok)
	}
	signIn := store.Token{Name: "sign-in", Scopes: []store.Scope{store.ScopeLogin}}
	if !signIn.Has(store.ScopeLogin) || signIn.Has(store.ScopeAdminWrite) || signIn.Has(store.ScopeSCIM) {
		t.Fatalf("Has on %+v", signIn)
	}
	if (store.Token{}).Has(store.ScopeSCIM) {
		t.Fatal("a token without scopes has one")
	}
}

// A token named like one of the journal's other actors would pass its changes off as
// theirs ("who removed Alice?" — "cli"), so those names are refused; names that merely
// contain them are not.
func TestCheckTokenNameRefusesActorNames(t *testing.T) {
	for _, name := range []string{"system", "cli", "CLI", "config", "import", "Import", "mattermost"} {
		if err := store.CheckTokenName(name); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CheckTokenName(%q) = %v; want ErrInvalid", name, err)
		}
	}
	for _, name := range []string{"okta-prod", "cli2", "entra:config", "mattermost-bot", "importer"} {
		if err := store.CheckTokenName(name); err != nil {
			t.Errorf("CheckTokenName(%q) = %v; want nil", name, err)
		}
	}
}
