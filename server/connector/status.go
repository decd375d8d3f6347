package connector

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// StatusListLimit is how many dead letters, held deactivations and failures a Report
// lists (their counts cover all of them).
const StatusListLimit = 20

// Report is the connector's status as GET /api/v1/mattermost/status and "townsquare
// mattermost status" show it. It is read from the database, so every replica answers
// the same.
type Report struct {
	Configured     bool          `json:"configured"`
	DryRun         bool          `json:"dry_run"`
	State          string        `json:"state"`
	Reason         string        `json:"reason,omitempty"`
	Holder         string        `json:"holder,omitempty"`
	Lag            Lag           `json:"lag"`
	LastSuccess    string        `json:"last_success,omitempty"`
	LastReconcile  string        `json:"last_reconcile,omitempty"`
	RecentFailures []Failure     `json:"recent_failures"`
	DeadLetters    DeadLetters   `json:"dead_letters"`
	Breaker        BreakerStatus `json:"breaker"`
	Hints          []string      `json:"hints"`
}

// Lag is how far delivery is behind the journal.
type Lag struct {
	Entries int64   `json:"entries"`            // entries not delivered yet, counted up to MaxLagCount
	AtLeast bool    `json:"at_least,omitempty"` // there are more than Entries
	Seconds float64 `json:"seconds"`            // age of the oldest entry not delivered yet
}

// StallAfter is how long a running holder may go without renewing its lease before
// status calls it stalled.
const StallAfter = 2 * DefaultLeaseTTL

// MaxLagCount bounds the entries a status report counts.
const MaxLagCount = 10 * store.MaxEventPage

// Failure is a recent failed call.
type Failure struct {
	Time    time.Time `json:"time"`
	Account string    `json:"account,omitempty"`
	Call    string    `json:"call,omitempty"`
	Status  int       `json:"status,omitempty"`
	ErrorID string    `json:"error_id,omitempty"`
	Message string    `json:"message"`
}

// DeadLetters are the entries parked for "retry".
type DeadLetters struct {
	Count int          `json:"count"`
	First []DeadLetter `json:"first"`
}

// DeadLetter is one parked entry.
type DeadLetter struct {
	ID       int64     `json:"id"`
	Account  string    `json:"account,omitempty"`
	Cursor   int64     `json:"cursor"`
	Call     string    `json:"call,omitempty"`
	Status   int       `json:"status,omitempty"`
	ErrorID  string    `json:"error_id,omitempty"`
	Message  string    `json:"message"`
	Time     time.Time `json:"time"`
	Attempts int       `json:"attempts"`
	Requeued bool      `json:"requeued"`
}

// BreakerStatus is the deactivation breaker.
type BreakerStatus struct {
	Limit        int    `json:"limit"` // per hour; 0 off
	SentLastHour int    `json:"sent_last_hour"`
	Held         int    `json:"held"`
	FirstHeld    []Held `json:"first_held"`
}

// Held is one held deactivation.
type Held struct {
	Account   string    `json:"account"`
	Username  string    `json:"username,omitempty"`
	Permanent bool      `json:"permanent,omitempty"`
	Since     time.Time `json:"since"`
	Released  bool      `json:"released"`
}

// Status reads the connector's status. settings is the mattermost: block (nil: not
// configured: the state says so, no lag is counted, and what an earlier run left —
// failures, dead letters, held deactivations — is still shown).
func Status(ctx context.Context, st store.Store, settings *rules.Mattermost, now time.Time) (Report, error) {
	r := Report{Configured: settings != nil, RecentFailures: []Failure{}, Hints: []string{},
		DeadLetters: DeadLetters{First: []DeadLetter{}}, Breaker: BreakerStatus{FirstHeld: []Held{}}}
	kv, err := st.MMStatus(ctx)
	if err != nil {
		return r, err
	}
	r.State, r.Reason, r.Holder = kv[keyState], kv[keyReason], kv[keyHolder]
	r.LastSuccess, r.LastReconcile = kv[keyLastSuccess], kv[keyLastReconcile]
	if r.State == "" {
		r.State = StateStopped
	}
	// A holder that died says nothing more: its heartbeat (a lease renewal, every third
	// of the lease's TTL) tells. Two default TTLs without one, and it is stalled.
	if hb, err := time.Parse(time.RFC3339Nano, kv[keyHeartbeat]); err == nil && r.State == StateRunning && now.Sub(hb) > StallAfter {
		r.State = StateStalled
		r.Reason = fmt.Sprintf("%s has not renewed the lease since %s; another replica takes over when one runs the connector", r.Holder, hb.Format(time.RFC3339))
	}
	if settings != nil {
		r.DryRun = settings.DryRun
		r.Breaker.Limit = settings.MaxDeactivationsPerHour
	} else {
		r.State, r.Reason, r.Holder = StateNotConfigured, "the mapping file has no mattermost: block", ""
	}
	if h := kv[keyHintTeamCap]; h != "" {
		r.Hints = append(r.Hints, h)
	}
	for k, v := range kv {
		if strings.HasPrefix(k, keyUsernameRefused) {
			r.Hints = append(r.Hints, "Mattermost refuses to rename the SSO user of account "+strings.TrimPrefix(k, keyUsernameRefused)+
				" to "+v+": rename it with mmctl user edit username, or let the login provider set it")
			if len(r.Hints) > StatusListLimit {
				break
			}
		}
	}

	cur, err := st.Cursor(ctx, ConsumerName)
	if err != nil {
		return r, err
	}
	head, _, err := st.JournalHead(ctx)
	if err != nil {
		return r, err
	}
	if head > cur && settings != nil {
		// Cursors are positions, not counts (the journal numbers entries within a row):
		// the entries after the cursor are counted, up to MaxLagCount, but for the
		// connector's own (mattermost.*).
		after := cur
		for r.Lag.Entries < MaxLagCount {
			evs, err := st.Events(ctx, store.EventQuery{After: after, Limit: store.MaxEventPage})
			if err != nil {
				return r, err
			}
			if len(evs) == 0 {
				break
			}
			for _, ev := range evs {
				if ev.Kind.IsMattermost() {
					continue // the connector's own entries are not delivered
				}
				if r.Lag.Entries == 0 {
					r.Lag.Seconds = max(0, now.Sub(ev.Time).Seconds())
				}
				r.Lag.Entries++
			}
			after = evs[len(evs)-1].Cursor
		}
		r.Lag.AtLeast = r.Lag.Entries >= MaxLagCount
	}

	fs, err := st.RecentMMFailures(ctx, StatusListLimit)
	if err != nil {
		return r, err
	}
	for _, f := range fs {
		r.RecentFailures = append(r.RecentFailures, Failure{Time: f.Time, Account: f.AccountID, Call: f.Call, Status: f.Status, ErrorID: f.ErrorID, Message: f.Message})
	}
	dls, n, err := st.DeadLetters(ctx, StatusListLimit)
	if err != nil {
		return r, err
	}
	r.DeadLetters.Count = n
	for _, d := range dls {
		r.DeadLetters.First = append(r.DeadLetters.First, DeadLetter{ID: d.ID, Account: d.AccountID, Cursor: d.Cursor, Call: d.Call,
			Status: d.Status, ErrorID: d.ErrorID, Message: d.Message, Time: d.Time, Attempts: d.Attempts, Requeued: d.Requeued})
	}
	if r.Breaker.SentLastHour, err = st.DeactivationsSince(ctx, now.Add(-time.Hour)); err != nil {
		return r, err
	}
	held, n, err := st.HeldDeactivations(ctx, StatusListLimit)
	if err != nil {
		return r, err
	}
	r.Breaker.Held = n
	for _, h := range held {
		r.Breaker.FirstHeld = append(r.Breaker.FirstHeld, Held{Account: h.AccountID, Username: h.Username, Permanent: h.Permanent, Since: h.Time, Released: h.Released})
	}
	return r, nil
}
