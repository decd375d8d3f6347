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

type actorKey struct{}

// Actors the store and its callers name besides a token's name.
const (
	ActorSystem     = "system"     // nobody said: the default
	ActorCLI        = "cli"        // a townsquare subcommand
	ActorConfig     = "config"     // the mapping rules (ApplyRules)
	ActorImport     = "import"     // the importer
	ActorMattermost = "mattermost" // the connector's own entries
)

// WithActor returns ctx naming who makes the changes made with it, for the journal. The
// server sets the token's name; the CLI "cli"; ApplyRules and other config-driven changes
// "config"; the importer "import"; the connector (it never changes Townsquare's state,
// but may journal dry-run lines) "mattermost".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// Actor returns the actor WithActor put in ctx, or "system" when there is none.
func Actor(ctx context.Context) string {
	if a, _ := ctx.Value(actorKey{}).(string); a != "" {
		return a
	}
	return ActorSystem
}
