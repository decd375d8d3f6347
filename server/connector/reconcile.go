package connector

import (
	"context"
	"errors"
	"time"

	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/store"
)

// memberPage is the page size of the member lists a reconcile reads (Mattermost's
// most).
const memberPage = 200

// reconcileIfDue runs a reconcile when reconcile_every has passed since the last one
// any replica ran (the time is in the database), or when none ever ran.
func (e *Engine) reconcileIfDue(ctx context.Context) error {
	every := e.cfg.Settings.ReconcileEvery
	if every <= 0 {
		return nil
	}
	if e.dry {
		// A dry run records nothing in the database, its reconcile time included.
		if !e.lastDryReconcile.IsZero() && e.now().Sub(e.lastDryReconcile) < every {
			return nil
		}
		e.lastDryReconcile = e.now()
		_, err := e.Reconcile(ctx)
		return err
	}
	st, err := e.st.MMStatus(ctx)
	if err != nil {
		return err
	}
	if last, err := time.Parse(time.RFC3339Nano, st[keyLastReconcile]); err == nil && e.now().Sub(last) < every {
		return nil
	}
	_, err = e.Reconcile(ctx)
	return err
}

// Reconcile compares what Townsquare manages in Mattermost with the desired state and
// repairs the drift within the safety rules: memberships the connector added that
// someone removed by hand are forgotten (and so added again below); then every account
// is converged as delivery converges it (unlinked ones adopted or created, linked ones
// read and repaired), and every linked account that is gone is ended. Memory holds the
// member ids of one team or channel at a time, and at most Workers accounts are
// converged at once. With dry_run it sends nothing and returns the plan; else the plan
// has the counts only.
func (e *Engine) Reconcile(ctx context.Context) (*Plan, error) {
	ctx = store.WithActor(ctx, Actor)
	plan := &Plan{Counts: map[string]int{}}
	e.mu.Lock()
	e.plan = plan
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.plan = nil
		e.mu.Unlock()
	}()
	started := e.now()
	e.log.InfoContext(ctx, "Mattermost reconcile started", "dry_run", e.dry)

	// Accounts that the member lists show as an admin somewhere: their memberships'
	// roles are read below (roles.go), as are those of accounts meant to be admins or
	// guests. Only admins are held, not every member.
	admins := map[string]bool{}
	if err := e.forgetRemovedByHand(ctx, admins); err != nil {
		return plan, err
	}
	var batch []store.ChatAccountState // at most BatchSize accounts at a time
	flush := func() {
		byID := make(map[string]*store.ChatAccountState, len(batch))
		ids := make([]string, len(batch))
		for i := range batch {
			ids[i] = batch[i].ID
			byID[ids[i]] = &batch[i]
		}
		e.forEach(ctx, ids, func(id string) {
			known := byID[id]
			actx := ctx
			if admins[id] || wantsRoles(*known) {
				actx = withRolesDue(ctx)
			}
			if err := e.retrying(actx, func() error {
				k := known
				known = nil // a retry reads the account afresh
				return e.syncAccount(actx, id, k)
			}); err != nil && ctx.Err() == nil {
				e.deadLetter(ctx, id, 0, err)
			}
		})
		batch = batch[:0]
	}
	if err := e.st.EachChatAccountState(ctx, func(a store.ChatAccountState) error {
		batch = append(batch, a)
		if len(batch) >= BatchSize {
			flush()
		}
		return ctx.Err()
	}); err != nil {
		return plan, err
	}
	flush()
	// Linked accounts that are gone (purged): their users are ended.
	var gone []string
	endGone := func() {
		e.forEach(ctx, gone, func(id string) {
			if err := e.retrying(ctx, func() error { return e.syncAccount(ctx, id, nil) }); err != nil && ctx.Err() == nil {
				e.deadLetter(ctx, id, 0, err)
			}
		})
		gone = gone[:0]
	}
	if err := e.st.EachPurgedMMUser(ctx, func(l store.MMUserLink) error {
		gone = append(gone, l.AccountID)
		if len(gone) >= BatchSize {
			endGone()
		}
		return ctx.Err()
	}); err != nil {
		return plan, err
	}
	endGone()
	if ctx.Err() != nil {
		return plan, ctx.Err()
	}
	if !e.dry {
		e.setStatus(ctx, map[string]string{keyLastReconcile: started.UTC().Format(time.RFC3339Nano)})
	}
	e.log.InfoContext(ctx, "Mattermost reconcile done", "took", time.Since(started), "counts", plan.Counts)
	return plan, nil
}

// forgetRemovedByHand reads the members of every team and channel the connector knows,
// one at a time, and forgets the memberships it added that Mattermost no longer has,
// so that the accounts' convergence adds them again. admins receives the accounts whose
// owned memberships Mattermost shows with scheme_admin.
func (e *Engine) forgetRemovedByHand(ctx context.Context, admins map[string]bool) error {
	teams, err := e.st.ListTeams(ctx)
	if err != nil {
		return err
	}
	for _, t := range teams {
		teamID, err := e.st.MMTeamID(ctx, t.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		members := map[string]bool{}
		teamAdmins := map[string]bool{}
		for page := 0; ; page++ {
			var got []string
			err := e.retrying(ctx, func() error {
				ms, err := e.client.GetTeamMembers(ctx, teamID, page, memberPage)
				got = got[:0]
				for _, m := range ms {
					if m.DeleteAt == 0 {
						got = append(got, m.UserID)
						if m.SchemeAdmin {
							teamAdmins[m.UserID] = true
						}
					}
				}
				if err == nil && len(ms) < memberPage {
					got = append(got, "") // the last page
				}
				return wrap("GET /api/v4/teams/{team_id}/members", err)
			})
			if mattermost.IsNotFound(err) {
				members = nil // a stale id: the accounts' sync finds the team again
				break
			}
			if err != nil {
				return err
			}
			last := false
			for _, id := range got {
				if id == "" {
					last = true
					continue
				}
				members[id] = true
			}
			if last {
				break
			}
		}
		if members == nil {
			continue
		}
		if err := e.forgetAbsent(ctx, t.Name, "", members, teamAdmins, admins); err != nil {
			return err
		}
		chans, err := e.st.TeamChannels(ctx, t.Name)
		if err != nil {
			return err
		}
		for _, c := range chans {
			chID, err := e.st.MMChannelID(ctx, t.Name, c.Name)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			members := map[string]bool{}
			chanAdmins := map[string]bool{}
			for page := 0; ; page++ {
				var n int
				err := e.retrying(ctx, func() error {
					ms, err := e.client.GetChannelMembers(ctx, chID, page, memberPage)
					n = len(ms)
					for _, m := range ms {
						members[m.UserID] = true
						if m.SchemeAdmin {
							chanAdmins[m.UserID] = true
						}
					}
					return wrap("GET /api/v4/channels/{channel_id}/members", err)
				})
				if mattermost.IsNotFound(err) {
					members = nil // a stale id
					break
				}
				if err != nil {
					return err
				}
				if n < memberPage {
					break
				}
			}
			if members == nil {
				continue
			}
			if err := e.forgetAbsent(ctx, t.Name, c.Name, members, chanAdmins, admins); err != nil {
				return err
			}
		}
	}
	return nil
}

// forgetAbsent forgets the owned memberships of a team (channel "") or channel whose
// users are not among members, and adds to admins the accounts whose users are among
// mmAdmins.
func (e *Engine) forgetAbsent(ctx context.Context, team, channel string, members, mmAdmins, admins map[string]bool) error {
	var gone []string
	if err := e.st.EachOwnedMember(ctx, team, channel, func(accountID, mmUserID string) error {
		if mmUserID != "" && !members[mmUserID] {
			gone = append(gone, accountID)
		}
		if mmUserID != "" && mmAdmins[mmUserID] {
			admins[accountID] = true
		}
		return nil
	}); err != nil {
		return err
	}
	if e.dry {
		return nil
	}
	for _, id := range gone {
		var err error
		if channel == "" {
			err = e.st.DisownTeam(ctx, id, team)
		} else {
			err = e.st.DisownChannel(ctx, id, team, channel)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
