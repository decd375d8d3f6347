package connector

import "context"

// SyncAccountForTest converges one account as delivery does.
func (e *Engine) SyncAccountForTest(ctx context.Context, id string) error {
	return e.retrying(ctx, func() error { return e.syncAccount(ctx, id, false) })
}
