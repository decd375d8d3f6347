package connector

import "context"

// SyncAccountForTest converges one account as delivery does.
func (e *Engine) SyncAccountForTest(ctx context.Context, id string) error {
	return e.retrying(ctx, func() error { return e.syncAccount(ctx, id, nil) })
}

// DieWithoutReleaseForTest makes Run end as a crashed process would: without releasing
// its lease, which then has to expire.
func (e *Engine) DieWithoutReleaseForTest() { e.dieWithoutRelease = true }
