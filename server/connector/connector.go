// Package connector delivers Townsquare's provisioned state to a live Mattermost over
// its REST API v4 (issue 11 §2). It follows the change journal from its stored cursor,
// and for each account an entry names it converges Mattermost to that account's current
// desired state (store.ChatAccountState): entries are therefore idempotent, and an entry
// delivered twice changes nothing. Exactly one replica delivers at a time: the holder of
// the store lease "mattermost".
//
// Safety: the connector changes only Mattermost users it created or adopted (a link in
// store.MattermostState), removes only memberships it added (and a guest's default
// channels, roles.go), never removes a member from town-square, deletes a user permanently only with delete_mode: purge and
// allow_permanent_delete: true, and holds deactivations beyond the hourly limit of its
// breaker until "townsquare mattermost release".
package connector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// Names in the journal's coordination state.
const (
	LeaseName    = "mattermost" // the lease whose holder delivers
	ConsumerName = "mattermost" // the connector's cursor
	Actor        = "mattermost" // the actor of the entries the connector journals
)

// Defaults; the environment twins (TOWNSQUARE_MATTERMOST_LEASE_TTL, _POLL, _BACKOFF_MAX)
// let drills run fast.
const (
	DefaultLeaseTTL   = 15 * time.Second
	DefaultPoll       = time.Second
	DefaultBackoffMax = time.Minute
	DefaultWorkers    = 8
	// BatchSize is how many journal entries one delivery step reads.
	BatchSize = 500
)

// Status states (store status key "state").
const (
	StateStarting    = "starting"
	StateRunning     = "running"     // this replica holds the lease and delivers
	StateRefused     = "refused"     // the token is wrong or lacks rights; nothing is sent
	StateUnreachable = "unreachable" // Mattermost does not answer; retrying
	StateStopped     = "stopped"
	StateStalled     = "stalled" // the last holder stopped renewing its lease (status only)
	// StateNotConfigured: the mapping file has no mattermost: block (status only);
	// nothing is delivered, so no lag is counted.
	StateNotConfigured = "not_configured"
)

// Status keys of store.MattermostState.
const (
	keyState           = "state"
	keyReason          = "reason"
	keyHolder          = "holder"
	keyLastSuccess     = "last_success"
	keyLastReconcile   = "last_reconcile"
	keyHintTeamCap     = "hint_team_cap"
	keyHeartbeat       = "heartbeat"         // the holder's last lease renewal
	keyUsernameRefused = "username_refused/" // + account id: the username Mattermost refused to set
)

// Client is the part of *mattermost.Client the connector uses; tests may hand another.
type Client interface {
	Me(ctx context.Context) (mattermost.User, error)
	GetUser(ctx context.Context, id string) (mattermost.User, error)
	GetUserByUsername(ctx context.Context, username string) (mattermost.User, error)
	GetUserByEmail(ctx context.Context, email string) (mattermost.User, error)
	CreateUser(ctx context.Context, u mattermost.User) (mattermost.User, error)
	PatchUser(ctx context.Context, id string, p mattermost.UserPatch) (mattermost.User, error)
	UpdateUserAuth(ctx context.Context, id, authService, authData string) error
	UpdateUserActive(ctx context.Context, id string, active bool) error
	DeleteUserPermanently(ctx context.Context, id string) error
	GetTeamByName(ctx context.Context, name string) (mattermost.Team, error)
	CreateTeam(ctx context.Context, t mattermost.Team) (mattermost.Team, error)
	GetTeamMembers(ctx context.Context, teamID string, page, perPage int) ([]mattermost.TeamMember, error)
	AddTeamMember(ctx context.Context, teamID, userID string) (mattermost.TeamMember, error)
	RemoveTeamMember(ctx context.Context, teamID, userID string) error
	GetChannelByName(ctx context.Context, teamName, channelName string) (mattermost.Channel, error)
	CreateChannel(ctx context.Context, ch mattermost.Channel) (mattermost.Channel, error)
	GetChannelMembers(ctx context.Context, channelID string, page, perPage int) ([]mattermost.ChannelMember, error)
	AddChannelMember(ctx context.Context, channelID, userID string) (mattermost.ChannelMember, error)
	RemoveChannelMember(ctx context.Context, channelID, userID string) error
	// Roles and guests, team and channel properties (issue 14; roles.go).
	UpdateUserRoles(ctx context.Context, id, roles string) error
	DemoteUser(ctx context.Context, id string) error
	PromoteUser(ctx context.Context, id string) error
	GetTeamMember(ctx context.Context, teamID, userID string) (mattermost.TeamMember, error)
	UpdateTeamMemberSchemeRoles(ctx context.Context, teamID, userID string, r mattermost.SchemeRoles) error
	GetChannelMember(ctx context.Context, channelID, userID string) (mattermost.ChannelMember, error)
	UpdateChannelMemberSchemeRoles(ctx context.Context, channelID, userID string, r mattermost.SchemeRoles) error
	PatchTeam(ctx context.Context, teamID string, p mattermost.TeamPatch) (mattermost.Team, error)
	UpdateTeamPrivacy(ctx context.Context, teamID, privacy string) (mattermost.Team, error)
	PatchChannel(ctx context.Context, channelID string, p mattermost.ChannelPatch) (mattermost.Channel, error)
	UpdateChannelPrivacy(ctx context.Context, channelID, privacy string) (mattermost.Channel, error)
}

var _ Client = (*mattermost.Client)(nil)

// Config is what an Engine needs.
type Config struct {
	Settings   rules.Mattermost // the mattermost: block
	DeleteMode string           // the mapping file's delete_mode
	Store      store.Store
	Client     Client
	Logger     *slog.Logger // nil: slog.Default()
	Holder     string       // the lease holder's name; "" makes one (host, pid, random)

	LeaseTTL   time.Duration // 0: DefaultLeaseTTL; renewed every third of it
	Poll       time.Duration // 0: DefaultPoll; the pause when the journal has nothing new
	BackoffMax time.Duration // 0: DefaultBackoffMax; the longest pause between retries
	Workers    int           // 0: DefaultWorkers; accounts converged at once
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Engine is one replica's connector.
type Engine struct {
	cfg    Config
	st     store.Store
	log    *slog.Logger
	client Client // the dry run's recorder when Settings.DryRun
	dry    bool
	now    func() time.Time

	breakerMu sync.Mutex // throughBreaker's check, send and record
	// dieWithoutRelease makes Run end as a crash would, leaving its lease to expire
	// (tests of the take-over).
	dieWithoutRelease bool
	lastDryReconcile  time.Time // a dry run's reconcile time (Step's goroutine only)
	mu                sync.Mutex
	plan              *Plan // when not nil, every change is also added here (sync --dry-run)
}

// ConfigFromEnv fills LeaseTTL, Poll and BackoffMax from TOWNSQUARE_MATTERMOST_LEASE_TTL,
// _POLL and _BACKOFF_MAX when set (durations), and callTimeout (the client's per-call
// timeout, when not nil) from _TIMEOUT.
func ConfigFromEnv(c *Config, callTimeout *time.Duration) error {
	if callTimeout == nil {
		callTimeout = new(time.Duration)
	}
	for _, v := range []struct {
		name string
		to   *time.Duration
	}{
		{"TOWNSQUARE_MATTERMOST_LEASE_TTL", &c.LeaseTTL},
		{"TOWNSQUARE_MATTERMOST_POLL", &c.Poll},
		{"TOWNSQUARE_MATTERMOST_BACKOFF_MAX", &c.BackoffMax},
		{"TOWNSQUARE_MATTERMOST_TIMEOUT", callTimeout},
	} {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > time.Hour {
			return fmt.Errorf("%s=%q: want a duration between 1ns and 1h", v.name, s)
		}
		*v.to = d
	}
	return nil
}

// New makes an engine; it sends nothing until Run or Reconcile.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Client == nil {
		return nil, errors.New("connector: a store and a client are required")
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
		if len(cfg.Holder) > 200 {
			cfg.Holder = cfg.Holder[len(cfg.Holder)-200:]
		}
	}
	e := &Engine{cfg: cfg, st: cfg.Store, log: cfg.Logger.With("component", "mattermost"), client: cfg.Client,
		dry: cfg.Settings.DryRun, now: cfg.Now}
	if e.dry {
		e.client = &dryRunClient{Client: cfg.Client, e: e}
	}
	return e, nil
}

// Holder is the name this engine holds the lease under.
func (e *Engine) Holder() string { return e.cfg.Holder }

// ErrRefused is Check's error when the token is wrong or lacks system-admin rights.
var ErrRefused = errors.New("the Mattermost token is refused")

// Check calls GET /api/v4/users/me: an error matching ErrRefused when the token is
// wrong (401, 403) or lacks system_admin; Mattermost's or the network's error when it
// cannot tell.
func (e *Engine) Check(ctx context.Context) error {
	me, err := e.cfg.Client.Me(ctx)
	if err != nil {
		var me *mattermost.Error
		if errors.As(err, &me) && (me.StatusCode == 401 || me.StatusCode == 403) {
			return fmt.Errorf("%w: GET /api/v4/users/me answered %d %s", ErrRefused, me.StatusCode, me.ID)
		}
		return err
	}
	if !hasRole(me.Roles, "system_admin") {
		return fmt.Errorf("%w: %q lacks the system_admin role (roles %q)", ErrRefused, me.Username, me.Roles)
	}
	return nil
}

func hasRole(roles, role string) bool {
	for _, r := range strings.Fields(roles) {
		if r == role {
			return true
		}
	}
	return false
}

// Refuse records that the connector will not run, and why (no token, say): status shows
// it, and the log has one line.
func (e *Engine) Refuse(ctx context.Context, reason string) {
	e.log.ErrorContext(ctx, "the Mattermost connector will not run", "reason", reason)
	e.setStatus(ctx, map[string]string{keyState: StateRefused, keyReason: reason})
}

// Run checks the token, then delivers while it holds the lease, until ctx ends. It
// returns nil when ctx ends, or an error matching ErrRefused (already logged and shown
// in status) when the token is refused. Mattermost being unreachable is retried.
func (e *Engine) Run(ctx context.Context) error {
	ctx = store.WithActor(ctx, Actor)
	e.setStatus(ctx, map[string]string{keyState: StateStarting, keyReason: ""})
	for attempt := 0; ; attempt++ {
		err := e.Check(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrRefused) {
			e.Refuse(ctx, err.Error())
			return err
		}
		e.log.WarnContext(ctx, "Mattermost unreachable; retrying", "err", err)
		e.setStatus(ctx, map[string]string{keyState: StateUnreachable, keyReason: err.Error()})
		if !e.sleep(ctx, e.backoff(attempt, err)) {
			return nil
		}
	}
	e.log.InfoContext(ctx, "Mattermost connector started", "holder", e.cfg.Holder, "dry_run", e.dry)
	defer func() {
		if e.dieWithoutRelease {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = e.st.ReleaseLease(rctx, LeaseName, e.cfg.Holder)
		// Say so, unless another replica has taken over meanwhile.
		if st, err := e.st.MMStatus(rctx); err == nil && st[keyHolder] == e.cfg.Holder && st[keyState] == StateRunning {
			e.setStatus(rctx, map[string]string{keyState: StateStopped, keyReason: "the replica delivering stopped (" + e.cfg.Holder + ")"})
		}
	}()
	for ctx.Err() == nil {
		held, err := e.st.AcquireLease(ctx, LeaseName, e.cfg.Holder, e.cfg.LeaseTTL)
		if err != nil || !held {
			if err != nil && ctx.Err() == nil {
				e.log.WarnContext(ctx, "take the Mattermost lease", "err", err)
			}
			e.sleep(ctx, e.cfg.LeaseTTL/3)
			continue
		}
		e.log.InfoContext(ctx, "holding the Mattermost lease; delivering", "holder", e.cfg.Holder)
		e.setStatus(ctx, map[string]string{keyState: StateRunning, keyReason: "", keyHolder: e.cfg.Holder,
			keyHeartbeat: e.now().UTC().Format(time.RFC3339Nano)})
		e.holdAndDeliver(ctx)
		if ctx.Err() == nil {
			e.log.WarnContext(ctx, "lost the Mattermost lease; delivery stopped", "holder", e.cfg.Holder)
		}
	}
	return nil
}

// ErrLeaseHeld is WithLease's error when another holder has the lease.
var ErrLeaseHeld = errors.New("another replica holds the Mattermost lease")

// WithLease takes the lease and runs fn while holding it (renewed as Run renews it; fn's
// ctx ends the moment it is lost), then releases it. "townsquare mattermost sync" runs
// its reconcile this way.
func (e *Engine) WithLease(ctx context.Context, fn func(ctx context.Context) error) error {
	held, err := e.st.AcquireLease(ctx, LeaseName, e.cfg.Holder, e.cfg.LeaseTTL)
	if err != nil {
		return err
	}
	if !held {
		return ErrLeaseHeld
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = e.st.ReleaseLease(rctx, LeaseName, e.cfg.Holder)
	}()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.renew(lctx, cancel)
	return fn(lctx)
}

// holdAndDeliver delivers until ctx ends or the lease is lost.
func (e *Engine) holdAndDeliver(ctx context.Context) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.renew(lctx, cancel)
	for lctx.Err() == nil {
		n, err := e.Step(lctx)
		if err != nil && lctx.Err() == nil {
			e.log.WarnContext(ctx, "Mattermost delivery", "err", err)
		}
		if n == 0 || err != nil {
			e.sleep(lctx, e.cfg.Poll)
		}
	}
}

// renew takes the lease again every third of its TTL, and calls lost the moment a
// renewal says another holds it, or no renewal has succeeded for a whole TTL.
func (e *Engine) renew(lctx context.Context, lost func()) {
	defer lost()
	last := time.Now()
	t := time.NewTicker(e.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-lctx.Done():
			return
		case <-t.C:
		}
		held, err := e.st.AcquireLease(lctx, LeaseName, e.cfg.Holder, e.cfg.LeaseTTL)
		switch {
		case err == nil && held:
			last = time.Now()
			e.setStatus(lctx, map[string]string{keyHeartbeat: e.now().UTC().Format(time.RFC3339Nano)})
		case err == nil && !held:
			return
		case time.Since(last) >= e.cfg.LeaseTTL:
			return
		}
	}
}

// Step is one round of delivery by the lease holder: a batch of the journal, then the
// dead letters requeued by "retry", the deactivations released by "release", and a
// reconcile when one is due. It returns how many journal entries it delivered.
func (e *Engine) Step(ctx context.Context) (int, error) {
	ctx = store.WithActor(ctx, Actor)
	n, err := e.deliverBatch(ctx)
	if err != nil {
		return n, err
	}
	if err := e.retryRequeued(ctx); err != nil {
		return n, err
	}
	if err := e.sendReleased(ctx); err != nil {
		return n, err
	}
	if err := e.reconcileIfDue(ctx); err != nil {
		return n, err
	}
	return n, nil
}

// deliverBatch reads up to BatchSize entries after the cursor, ensures the teams and
// channels they create, converges each account they name (one worker per account,
// Workers at once), and advances the cursor past the batch once every account
// succeeded or was dead-lettered, and only while the lease is still held.
func (e *Engine) deliverBatch(ctx context.Context) (int, error) {
	cur, err := e.st.Cursor(ctx, ConsumerName)
	if err != nil {
		return 0, err
	}
	evs, err := e.st.Events(ctx, store.EventQuery{After: cur, Limit: BatchSize})
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	last := evs[len(evs)-1].Cursor
	var accounts []string
	lastOf := map[string]int64{}
	roles := map[string]bool{}    // accounts whose roles an entry changed (roles.go)
	sysRoles := map[string]bool{} // … whose system roles changed
	for _, ev := range evs {
		if strings.HasPrefix(string(ev.Kind), "mattermost.") {
			continue
		}
		// team.updated and channel.updated (a display name or type changed by an
		// import or the mapping's declarations) converge the team's or channel's
		// properties; they name no account, so no account is synced for them.
		switch ev.Kind {
		case store.EventTeamUpdated:
			if err := e.retrying(ctx, func() error { return e.syncTeamProps(ctx, ev.Team) }); err != nil {
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				e.deadLetter(ctx, "", ev.Cursor, err)
			}
		case store.EventChannelUpdated:
			if err := e.retrying(ctx, func() error { return e.syncChannelProps(ctx, ev.Team, ev.Channel) }); err != nil {
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				e.deadLetter(ctx, "", ev.Cursor, err)
			}
		case store.EventTeamCreated:
			if err := e.retrying(ctx, func() error { _, err := e.ensureTeam(ctx, ev.Team); return err }); err != nil {
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				e.deadLetter(ctx, "", ev.Cursor, err)
			}
		case store.EventChannelCreated:
			if err := e.retrying(ctx, func() error { _, err := e.ensureChannel(ctx, ev.Team, ev.Channel); return err }); err != nil {
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				e.deadLetter(ctx, "", ev.Cursor, err)
			}
		}
		if ev.Account == "" {
			continue
		}
		if _, seen := lastOf[ev.Account]; !seen {
			accounts = append(accounts, ev.Account)
		}
		lastOf[ev.Account] = ev.Cursor
		if ev.Kind.IsRoleEvent() {
			roles[ev.Account] = true
		}
		if ev.Kind == store.EventAccountRoles {
			sysRoles[ev.Account] = true
		}
	}
	e.forEach(ctx, accounts, func(id string) {
		actx := withAccount(ctx, id)
		if roles[id] {
			actx = withRolesDue(actx)
		}
		if sysRoles[id] {
			actx = withSystemRolesDue(actx)
		}
		if err := e.retrying(actx, func() error { return e.syncAccount(actx, id, nil) }); err != nil && ctx.Err() == nil {
			e.deadLetter(ctx, id, lastOf[id], err)
		}
	})
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if held, err := e.st.AcquireLease(ctx, LeaseName, e.cfg.Holder, e.cfg.LeaseTTL); err != nil || !held {
		if err == nil {
			err = errors.New("the lease was lost before the cursor moved")
		}
		return 0, err
	}
	if err := e.st.SetCursor(ctx, ConsumerName, last); err != nil {
		return 0, err
	}
	e.setStatus(ctx, map[string]string{keyLastSuccess: e.now().UTC().Format(time.RFC3339)})
	return len(evs), nil
}

// forEach runs fn for each id, at most Workers at once; each id once.
func (e *Engine) forEach(ctx context.Context, ids []string, fn func(string)) {
	sem := make(chan struct{}, e.cfg.Workers)
	var wg sync.WaitGroup
	for _, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(id)
		}()
	}
	wg.Wait()
}

// retrying runs fn until it succeeds, fails for good, or ctx ends: a retryable failure
// (Mattermost's 5xx and 429, timeouts, refused connections; the store unavailable) is
// tried again after mattermost.Backoff (at least a 429's Retry-After), without limit.
func (e *Engine) retrying(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || ctx.Err() != nil || !retryable(err) {
			return err
		}
		if attempt == 0 || attempt%10 == 0 { // the first failure, then every tenth
			e.log.WarnContext(ctx, "Mattermost call failed; retrying", "err", err, "attempt", attempt+1)
			e.failure(ctx, accountOf(ctx), callOf(err), statusOf(err), mattermost.ErrorID(err), "retrying: "+err.Error())
		}
		if !e.sleep(ctx, e.backoff(attempt, err)) {
			return ctx.Err()
		}
	}
}

// retryable: Mattermost's transient failures and the store's, but never a create whose
// auth_data is taken (Mattermost answers that with a 500 that no retry fixes).
//
// Nor a 501 (Not Implemented): Mattermost's answer for a feature it lacks, such as a
// demotion without a license for guest accounts.
func retryable(err error) bool {
	if mattermost.ErrorID(err) == mattermost.ErrUserSave || notImplemented(err) {
		return false
	}
	return mattermost.Retryable(err) || errors.Is(err, store.ErrUnavailable)
}

func (e *Engine) backoff(attempt int, err error) time.Duration {
	d := mattermost.Backoff(attempt, err)
	var me *mattermost.Error
	if errors.As(err, &me) && me.RetryAfter > 0 && d < me.RetryAfter {
		d = me.RetryAfter
	}
	if d > e.cfg.BackoffMax && (me == nil || me.RetryAfter <= e.cfg.BackoffMax) {
		d = e.cfg.BackoffMax
	}
	return d
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func (e *Engine) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// callError names the call that failed.
type callError struct {
	call string
	err  error
}

func (c *callError) Error() string { return c.call + ": " + c.err.Error() }
func (c *callError) Unwrap() error { return c.err }

func wrap(call string, err error) error {
	if err == nil {
		return nil
	}
	return &callError{call, err}
}

// deadLetter parks what failed for good: a dead letter with Mattermost's error id, a
// journal entry, a failure in status, and a hint when the team cap is the cause.
func (e *Engine) deadLetter(ctx context.Context, accountID string, cursor int64, err error) {
	call := ""
	var ce *callError
	if errors.As(err, &ce) {
		call = ce.call
	}
	status := 0
	var me *mattermost.Error
	if errors.As(err, &me) {
		status = me.StatusCode
	}
	id := mattermost.ErrorID(err)
	msg := bound(err.Error())
	e.log.ErrorContext(ctx, "Mattermost refused an entry; parked as a dead letter", "account", accountID, "cursor", cursor,
		"call", call, "status", status, "error_id", id, "err", msg)
	if e.dry {
		return
	}
	if _, derr := e.st.AddDeadLetter(ctx, store.DeadLetter{AccountID: accountID, Cursor: cursor, Call: call, Status: status, ErrorID: id, Message: msg}); derr != nil {
		e.log.ErrorContext(ctx, "record a dead letter", "err", derr)
	}
	_ = e.st.AppendEvent(ctx, store.Event{Kind: store.EventMattermostDeadLetter, Account: accountID, Source: call,
		After: map[string]string{"status": fmt.Sprint(status), "error_id": id, "cursor": fmt.Sprint(cursor)}})
	e.failure(ctx, accountID, call, status, id, msg)
	if id == mattermost.ErrMaxTeamAccounts {
		e.setStatus(ctx, map[string]string{keyHintTeamCap: "a team is full: raise TeamSettings.MaxUsersPerTeam (50 on a stock server) in Mattermost's System Console, then run townsquare mattermost retry --all"})
	}
}

func (e *Engine) failure(ctx context.Context, accountID, call string, status int, id, msg string) {
	if e.dry {
		return
	}
	if err := e.st.AddMMFailure(ctx, store.MMFailure{AccountID: accountID, Call: call, Status: status, ErrorID: id, Message: bound(msg)}); err != nil {
		e.log.ErrorContext(ctx, "record a failure", "err", err)
	}
}

// bound keeps a stored message short.
func bound(s string) string {
	const max = 1000
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

func (e *Engine) setStatus(ctx context.Context, kv map[string]string) {
	if err := e.st.SetMMStatus(context.WithoutCancel(ctx), kv); err != nil {
		e.log.WarnContext(ctx, "record the Mattermost status", "err", err)
	}
}

// retryRequeued converges the accounts whose dead letters "retry" requeued: their dead
// letters go when it succeeds; a failure for good keeps them, one attempt more.
func (e *Engine) retryRequeued(ctx context.Context) error {
	ids, err := e.st.RequeuedAccounts(ctx, BatchSize)
	if err != nil || len(ids) == 0 {
		return err
	}
	e.forEach(ctx, ids, func(id string) {
		err := e.retrying(ctx, func() error {
			if id == "" {
				return e.ensureAllTeamsAndChannels(ctx)
			}
			return e.syncAccount(withRolesDue(ctx), id, nil)
		})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			_ = e.st.ResolveDeadLetters(ctx, id)
			return
		}
		e.log.ErrorContext(ctx, "a retried dead letter failed again", "account", id, "err", err)
		e.failure(ctx, id, callOf(err), statusOf(err), mattermost.ErrorID(err), err.Error())
		_ = e.st.UnqueueDeadLetters(ctx, id)
	})
	return ctx.Err()
}

// sendReleased converges the accounts whose held deactivation "release" released: the
// breaker lets a released one through.
func (e *Engine) sendReleased(ctx context.Context) error {
	ids, err := e.st.ReleasedHeld(ctx, BatchSize)
	if err != nil || len(ids) == 0 {
		return err
	}
	e.forEach(ctx, ids, func(id string) {
		if err := e.retrying(ctx, func() error { return e.syncAccount(ctx, id, nil) }); err != nil && ctx.Err() == nil {
			e.deadLetter(ctx, id, 0, err)
			_ = e.st.DropHeld(ctx, id)
		}
	})
	return ctx.Err()
}

func callOf(err error) string {
	var ce *callError
	if errors.As(err, &ce) {
		return ce.call
	}
	return ""
}

func statusOf(err error) int {
	var me *mattermost.Error
	if errors.As(err, &me) {
		return me.StatusCode
	}
	return 0
}
