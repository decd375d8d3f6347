package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lib/pq"
)

// TestRetryLimits: a lost race for a row another writer inserted (errInsertRace, an
// import racing SCIM creates) or for a chat username is retried as long as a loss can
// mean another writer's progress; other retryable errors a few times; anything else once.
func TestRetryLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"insert race", fmt.Errorf("create accounts: %w", errInsertRace), 25},
		{"username race", errUsernameRace, 25},
		{"join target changed", errJoinTargetChanged, 5},
		{"not retryable", errors.New("boom"), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			err := (&Store{}).retry(context.Background(), func() error { n++; return c.err })
			if n != c.want || !errors.Is(err, c.err) {
				t.Fatalf("%d attempts, err %v; want %d attempts and the error", n, err, c.want)
			}
		})
	}
}

// TestMapRetryIsInsertRace: a unique violation an import meets (here PostgreSQL's, on
// the live userName index) is errInsertRace.
func TestMapRetryIsInsertRace(t *testing.T) {
	err := mapRetry(fmt.Errorf("insert: %w", &pq.Error{Code: "23505", Constraint: "users_user_name_ci_live"}))
	if !errors.Is(err, errInsertRace) || !isRetryable(err) {
		t.Fatalf("mapRetry = %v, want a retryable errInsertRace", err)
	}
}
