package storetest

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
)

// testReady: a store on a fresh, migrated database is ready, and ready again and again
// (it only reads); a call whose context has expired is an error, not a wait.
func testReady(t *testing.T, s store.Store) {
	ctx := context.Background()
	for range 3 {
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("Ready on a fresh store: %v", err)
		}
	}
	mustUser(t, s, "ready@example.com", "")
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready with a user: %v", err)
	}
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if err := s.Ready(expired); err == nil {
		t.Fatal("Ready with an expired context: nil error")
	}
}

// testCallerErrorsAreNotUnavailable: an error that fn returns to EachGroupMember (the
// client of a streamed answer going away) is fn's, returned as it is, and never matches
// ErrUnavailable, even when it is a network error, as the database's own would.
func testCallerErrorsAreNotUnavailable(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "stream@example.com", "")
	g := mustGroup(t, s, "streamed", "", u.ID)
	clientGone := &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}
	err := s.EachGroupMember(ctx, g.ID, func(store.Member) error { return clientGone })
	if err != clientGone {
		t.Fatalf("EachGroupMember returned %v (%T), want fn's error as it is", err, err)
	}
	if errors.Is(err, store.ErrUnavailable) {
		t.Fatal("fn's network error matches ErrUnavailable")
	}
}
