package store

import "context"

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request it serves. The server sets
// it on every request (X-Request-Id), so that anything the request leads to — a log
// line, a journal entry — can name the request it came from.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id WithRequestID put in ctx, or "" when there is none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
