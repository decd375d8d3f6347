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

func TestActor(t *testing.T) {
	if got := store.Actor(context.Background()); got != store.ActorSystem {
		t.Fatalf("Actor of a bare context = %q, want system", got)
	}
	if got := store.Actor(store.WithActor(context.Background(), "")); got != store.ActorSystem {
		t.Fatalf("Actor of an empty actor = %q, want system", got)
	}
	ctx := store.WithActor(store.WithRequestID(context.Background(), "r"), "okta-prod")
	if got := store.Actor(ctx); got != "okta-prod" || store.RequestID(ctx) != "r" {
		t.Fatalf("Actor = %q, request id %q", got, store.RequestID(ctx))
	}
}

func TestChangedAttributes(t *testing.T) {
	before := map[string]string{"username": "a", "email": "a@x", "active": "true", "nickname": "n"}
	after := map[string]string{"username": "a", "email": "b@x", "active": "false", "position": "p"}
	b, a := store.ChangedAttributes(before, after)
	want := func(m map[string]string, w map[string]string) {
		t.Helper()
		if len(m) != len(w) {
			t.Fatalf("got %v, want %v", m, w)
		}
		for k, v := range w {
			if got, ok := m[k]; !ok || got != v {
				t.Fatalf("got %v, want %v", m, w)
			}
		}
	}
	want(b, map[string]string{"email": "a@x", "nickname": "n", "position": ""})
	want(a, map[string]string{"email": "b@x", "nickname": "", "position": "p"})
	if b, a := store.ChangedAttributes(before, before); b != nil || a != nil {
		t.Fatalf("no change: %v %v", b, a)
	}
}
