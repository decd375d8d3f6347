package store_test

import (
	"context"
	"testing"

	"github.com/townsquare/townsquare/store"
)

func TestRequestID(t *testing.T) {
	if got := store.RequestID(context.Background()); got != "" {
		t.Fatalf("RequestID of a bare context = %q", got)
	}
	ctx := store.WithRequestID(context.Background(), "req-1")
	if got := store.RequestID(ctx); got != "req-1" {
		t.Fatalf("RequestID = %q, want req-1", got)
	}
}
