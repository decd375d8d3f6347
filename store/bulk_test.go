package store_test

import (
	"errors"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// ImportProblems reads as its first problem and a count, and unwraps to one
// *InvalidError per problem.
func TestImportProblems(t *testing.T) {
	var err error = store.ImportProblems{
		{Line: 9000, Field: "user.username", Reason: "is the username of another account"},
		{Line: 9500, Field: "user.email", Reason: "is the userName of another user"},
	}
	if got, want := err.Error(), "line 9000: user.username is the username of another account (and 1 more)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var inv *store.InvalidError
	if !errors.Is(err, store.ErrInvalid) || !errors.As(err, &inv) || inv.Attribute != "line 9000: user.username" {
		t.Errorf("unwraps to %v", inv)
	}
	if got := len(err.(store.ImportProblems).Unwrap()); got != 2 {
		t.Errorf("%d errors unwrapped", got)
	}
	if got := (store.ImportProblem{Field: "batch", Reason: "holds 5001 items; at most 5000"}).String(); got != "batch holds 5001 items; at most 5000" {
		t.Errorf("a batch's problem reads %q", got)
	}
}
