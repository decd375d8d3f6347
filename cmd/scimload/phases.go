package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/townsquare/townsquare/store"
)

// op does operation i of a phase and returns the response bytes it read.
type op func(ctx context.Context, i int) (int64, error)

// errRecorded is returned by an op that recorded its outcome itself.
var errRecorded = errors.New("recorded by the operation")

type runner struct {
	cfg      Config
	c        *scimClient
	ceil     *scimClient
	ctx      context.Context
	deadline time.Time
	w        watcher
	rep      *Report
	log      io.Writer
	phases   map[string]bool

	userIDs    []string // by user index; "" when its create failed
	groupIDs   []string // by group index
	groupAdded []atomic.Int64
	emptyID    string
	bigID      string
	bigAdded   atomic.Int64
	// deactivated lists the user indexes phase h deactivated.
	deactivated []int
	// fullTTFB is the p50 time to first byte of the full GET of the big group (ms),
	// fullRSSGrowth the servers' RSS growth during those GETs (MB).
	fullTTFB, fullRSSGrowth float64
}

func (r *runner) userName(i int) string   { return fmt.Sprintf("lt%su%d@example.com", r.cfg.Prefix, i) }
func (r *runner) externalID(i int) string { return fmt.Sprintf("lt%s-ext-%d", r.cfg.Prefix, i) }
func (r *runner) groupName(j int) string  { return fmt.Sprintf("lt-%s-g%d", r.cfg.Prefix, j) }

// memberUser is the k-th member of group j: consecutive groups take consecutive windows
// of the users, so that with G×M > N every user is in about G×M/N groups.
func (r *runner) memberUser(j, k int) int { return (j*r.cfg.Members + k) % r.cfg.Users }

// spread maps 0..n-1 onto distinct users spread over [0, size): lookups touch the whole
// table, not its start.
func spread(i, size int) int {
	for _, p := range []int{7919, 104729, 1299709, 15485863} {
		if size%p != 0 {
			return int((int64(i) * int64(p)) % int64(size))
		}
	}
	return i % size
}

func runLoad(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	started := time.Now()
	deadline := started.Add(cfg.timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	r := &runner{
		cfg:      cfg,
		c:        &scimClient{http: newHTTPClient(cfg.Concurrency, cfg.reqTimeout), bases: cfg.URLs, token: cfg.Token},
		ctx:      ctx,
		deadline: deadline,
		w:        watcher{serverPIDs: cfg.ServerPIDs, dbComm: cfg.DBComm},
		rep:      &Report{Tool: "scimload", Started: started.UTC(), Config: cfg},
		log:      log,
		phases:   map[string]bool{},
	}
	for _, p := range strings.Split(cfg.Phases, ",") {
		r.phases[strings.TrimSpace(strings.ToLower(p))] = true
	}
	var child *trivialChild
	switch cfg.Ceiling {
	case "":
	case "self":
		var err error
		if child, err = startTrivialChild(); err != nil {
			return nil, err
		}
		defer child.stop()
		r.ceil = &scimClient{http: newHTTPClient(cfg.Concurrency, cfg.reqTimeout), bases: []string{child.URL}}
		r.logf("trivial server (pid %d) at %s", child.pid(), child.URL)
	default:
		r.ceil = &scimClient{http: newHTTPClient(cfg.Concurrency, cfg.reqTimeout), bases: []string{cfg.Ceiling}}
	}
	if err := r.preflight(); err != nil {
		return nil, err
	}

	r.phaseA()
	r.phaseCeiling()
	r.phaseLookup("b.userName-eq", "GET /Users?filter=userName eq, over all users", "userName", r.cfg.Users)
	r.phaseLookup("c.externalId-eq", "GET /Users?filter=externalId eq, over all users", "externalId", r.cfg.Users)
	r.phaseD()
	r.phaseE()
	r.phaseF()
	r.phaseG()
	r.phaseH()
	r.phaseI()
	r.finalChecks()

	r.rep.Seconds = time.Since(started).Seconds()
	_, r.rep.ServerHWM = r.w.memory()
	r.computeTargets()
	r.rep.Passed = true
	for _, p := range r.rep.Phases {
		if p.Errors > 0 {
			r.rep.Passed = false
		}
	}
	for _, c := range r.rep.Checks {
		if !c.OK {
			r.rep.Passed = false
		}
	}
	return r.rep, nil
}

func (r *runner) logf(format string, a ...any) {
	fmt.Fprintf(r.log, "%s scimload: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

// preflight checks that the server answers and accepts the token.
func (r *runner) preflight() error {
	for i := range r.cfg.URLs {
		resp, err := r.c.do(r.ctx, i, http.MethodGet, "/Users?count=1", nil, false)
		if err != nil {
			return fmt.Errorf("server at %s does not answer: %w", r.cfg.URLs[i], err)
		}
		if resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden {
			return fmt.Errorf("server at %s refused the token (status %d)", r.cfg.URLs[i], resp.status)
		}
		if err := expect(resp, http.MethodGet, "/Users?count=1", http.StatusOK); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) check(name string, ok bool, format string, a ...any) {
	r.rep.Checks = append(r.rep.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, a...)})
}

func (r *runner) skip(name, desc, why string) *Phase {
	p := &Phase{Name: name, Description: desc, Skipped: why}
	r.rep.Phases = append(r.rep.Phases, p)
	return p
}

// start registers a phase, or returns nil (and registers it as skipped) when the time
// bound has passed.
func (r *runner) start(name, desc string, planned, conc int) *Phase {
	if time.Now().After(r.deadline) {
		r.skip(name, desc, "time bound reached")
		return nil
	}
	if planned == 0 {
		r.skip(name, desc, "nothing to do at these sizes")
		return nil
	}
	p := newPhase(name, desc, planned, conc)
	r.rep.Phases = append(r.rep.Phases, p)
	r.logf("phase %s: %d operations, concurrency %d: %s", name, planned, conc, desc)
	return p
}

// phaseAcc accumulates time and CPU over the ranges of a phase.
type phaseAcc struct {
	elapsed time.Duration
	cpu     cpuSample
}

var accs sync.Map // *Phase -> *phaseAcc

// runRange runs operations [from, to) of p with conc workers, stopping at the time
// bound. It reports whether it stopped early.
func (r *runner) runRange(p *Phase, from, to, conc int, fn op) bool {
	if from >= to {
		return false
	}
	v, _ := accs.LoadOrStore(p, &phaseAcc{})
	acc := v.(*phaseAcc)
	before := r.w.sample()
	t0 := time.Now()
	var next atomic.Int64
	next.Store(int64(from))
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for range min(conc, to-from) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				if r.ctx.Err() != nil || time.Now().After(r.deadline) {
					stopped.Store(true)
					return
				}
				s := time.Now()
				n, err := fn(r.ctx, i)
				d := time.Since(s)
				if err != nil && r.ctx.Err() != nil {
					// Cut off by the time bound: not the server's failure.
					stopped.Store(true)
					return
				}
				if err != errRecorded {
					p.record(i, d, n, err)
				}
			}
		}()
	}
	wg.Wait()
	acc.elapsed += time.Since(t0)
	after := r.w.sample()
	acc.cpu.client += after.client - before.client
	acc.cpu.server += after.server - before.server
	acc.cpu.db += after.db - before.db
	acc.cpu.haveServer, acc.cpu.haveDB = after.haveServer, after.haveDB
	if stopped.Load() {
		p.TimedOut = true
	}
	return stopped.Load()
}

// end computes a phase's figures.
func (r *runner) end(p *Phase) {
	v, _ := accs.LoadOrStore(p, &phaseAcc{})
	acc := v.(*phaseAcc)
	p.finish(acc.elapsed)
	r.w.apply(p, cpuSample{}, acc.cpu)
	r.logf("phase %s: %d requests, %d errors, %.1f ops/s, p50 %.2f ms, p99 %.2f ms",
		p.Name, p.Requests, p.Errors, p.OpsPerSec, p.P50ms, p.P99ms)
}

func decode(resp response, v any) error {
	if err := json.Unmarshal(resp.body, v); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// a) create users, with the userName eq lookups at 1k users measured in between.
func (r *runner) phaseA() {
	n := r.cfg.Users
	r.userIDs = make([]string, n)
	const desc = "POST /Users (Okta-shaped body: name, displayName, one email, externalId)"
	if !r.phases["a"] {
		r.skip("a.create-users", desc, "not selected (--phases)")
		return
	}
	p := r.start("a.create-users", desc, n, r.cfg.Concurrency)
	if p == nil {
		return
	}
	create := func(ctx context.Context, i int) (int64, error) {
		path := "/Users"
		resp, err := r.c.do(ctx, i, http.MethodPost, path, userBody(r.userName(i), r.externalID(i), i), false)
		if err != nil {
			return 0, err
		}
		if err := expect(resp, http.MethodPost, path, http.StatusCreated); err != nil {
			return resp.n, err
		}
		var u scimResource
		if err := decode(resp, &u); err != nil {
			return resp.n, err
		}
		if u.ID == "" {
			return resp.n, errors.New("created user has no id")
		}
		if u.UserName != r.userName(i) {
			return resp.n, fmt.Errorf("created user has userName %q, sent %q", u.UserName, r.userName(i))
		}
		r.userIDs[i] = u.ID
		return resp.n, nil
	}
	first := min(1000, n)
	stopped := r.runRange(p, 0, first, r.cfg.Concurrency, create)
	if !stopped && r.phases["b"] && n > 1000 {
		r.phaseLookup("b.userName-eq@1k", "GET /Users?filter=userName eq, at 1k users", "userName", first)
	}
	if !stopped {
		r.runRange(p, first, n, r.cfg.Concurrency, create)
	}
	r.end(p)
	seen := make(map[string]bool, n)
	created, dup := 0, 0
	for _, id := range r.userIDs {
		if id == "" {
			continue
		}
		created++
		if seen[id] {
			dup++
		}
		seen[id] = true
	}
	r.check("a: users created, ids unique", created == n && dup == 0, "%d of %d created, %d duplicate ids", created, n, dup)
}

// lookup makes one filtered GET for user k and checks it returns exactly that user.
func (r *runner) lookup(c *scimClient, ctx context.Context, i int, attr string, k int, wantID string) (int64, error) {
	value := r.userName(k)
	if attr == "externalId" {
		value = r.externalID(k)
	}
	path := filterPath(attr, value)
	resp, err := c.do(ctx, i, http.MethodGet, path, nil, false)
	if err != nil {
		return 0, err
	}
	if err := expect(resp, http.MethodGet, path, http.StatusOK); err != nil {
		return resp.n, err
	}
	var lr listResponse
	if err := decode(resp, &lr); err != nil {
		return resp.n, err
	}
	if lr.TotalResults != 1 || len(lr.Resources) != 1 {
		return resp.n, fmt.Errorf("%s eq %q: totalResults %d, %d resources; want exactly 1", attr, value, lr.TotalResults, len(lr.Resources))
	}
	if wantID != "" && lr.Resources[0].ID != wantID {
		return resp.n, fmt.Errorf("%s eq %q returned id %s, want %s", attr, value, lr.Resources[0].ID, wantID)
	}
	return resp.n, nil
}

// b, c) lookups over the first `size` users.
func (r *runner) phaseLookup(name, desc, attr string, size int) {
	letter := name[:1]
	if !r.phases[letter] {
		r.skip(name, desc, "not selected (--phases)")
		return
	}
	if !r.phases["a"] {
		r.skip(name, desc, "needs phase a (the users it looks up)")
		return
	}
	n := min(r.cfg.Lookups, size)
	p := r.start(name, desc, n, r.cfg.Concurrency)
	if p == nil {
		return
	}
	r.runRange(p, 0, n, r.cfg.Concurrency, func(ctx context.Context, i int) (int64, error) {
		k := spread(i, size)
		if r.userIDs[k] == "" {
			return 0, fmt.Errorf("user %d was not created in phase a", k)
		}
		return r.lookup(r.c, ctx, i, attr, k, r.userIDs[k])
	})
	r.end(p)
}

// The HTTP ceiling: the same client and requests as b, against the trivial handler.
func (r *runner) phaseCeiling() {
	const desc = "the b requests against the trivial net/http JSON handler (HTTP ceiling)"
	if r.ceil == nil {
		r.skip("ceiling", desc, "no --ceiling")
		return
	}
	n := r.cfg.Lookups
	p := r.start("ceiling", desc, n, r.cfg.Concurrency)
	if p == nil {
		return
	}
	if len(r.cfg.ServerPIDs) > 0 {
		p.note("server CPU and RSS columns are those of the SCIM server, idle here")
	}
	r.runRange(p, 0, n, r.cfg.Concurrency, func(ctx context.Context, i int) (int64, error) {
		return r.lookup(r.ceil, ctx, i, "userName", spread(i, r.cfg.Users), "")
	})
	r.end(p)
}

// createGroup creates a group with no members and returns its id.
func (r *runner) createGroup(ctx context.Context, i int, name, ext string) (string, int64, error) {
	body := map[string]any{"schemas": []string{store.GroupSchema}, "displayName": name, "externalId": ext, "members": []any{}}
	resp, err := r.c.do(ctx, i, http.MethodPost, "/Groups", body, false)
	if err != nil {
		return "", 0, err
	}
	if err := expect(resp, http.MethodPost, "/Groups", http.StatusCreated); err != nil {
		return "", resp.n, err
	}
	var g struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	}
	if err := decode(resp, &g); err != nil {
		return "", resp.n, err
	}
	if g.ID == "" || g.DisplayName != name {
		return "", resp.n, fmt.Errorf("created group: id %q, displayName %q (sent %q)", g.ID, g.DisplayName, name)
	}
	return g.ID, resp.n, nil
}

// d) create G groups, plus the empty and the big group of phases f and g.
func (r *runner) phaseD() {
	const desc = "POST /Groups (no members), plus one empty and one big group for f and g"
	r.groupIDs = make([]string, r.cfg.Groups)
	r.groupAdded = make([]atomic.Int64, r.cfg.Groups)
	if !r.phases["d"] {
		r.skip("d.create-groups", desc, "not selected (--phases)")
		return
	}
	n := r.cfg.Groups + 2
	p := r.start("d.create-groups", desc, n, r.cfg.Concurrency)
	if p == nil {
		return
	}
	var mu sync.Mutex
	r.runRange(p, 0, n, r.cfg.Concurrency, func(ctx context.Context, i int) (int64, error) {
		name, ext := r.groupName(i), fmt.Sprintf("lt%s-gext-%d", r.cfg.Prefix, i)
		switch i {
		case r.cfg.Groups:
			name, ext = fmt.Sprintf("lt-%s-empty", r.cfg.Prefix), fmt.Sprintf("lt%s-gext-empty", r.cfg.Prefix)
		case r.cfg.Groups + 1:
			name, ext = fmt.Sprintf("lt-%s-big", r.cfg.Prefix), fmt.Sprintf("lt%s-gext-big", r.cfg.Prefix)
		}
		id, nb, err := r.createGroup(ctx, i, name, ext)
		if err != nil {
			return nb, err
		}
		mu.Lock()
		defer mu.Unlock()
		switch i {
		case r.cfg.Groups:
			r.emptyID = id
		case r.cfg.Groups + 1:
			r.bigID = id
		default:
			r.groupIDs[i] = id
		}
		return nb, nil
	})
	r.end(p)
}

// patchMembers adds users (by index) to group gid in one PATCH.
func (r *runner) patchMembers(ctx context.Context, i int, gid string, users []int) (int64, error) {
	ids := make([]string, 0, len(users))
	for _, u := range users {
		if r.userIDs[u] == "" {
			return 0, fmt.Errorf("user %d was not created in phase a", u)
		}
		ids = append(ids, r.userIDs[u])
	}
	path := "/Groups/" + gid
	// The body of a 200 may hold the whole member list; it is read and counted, not kept.
	resp, err := r.c.do(ctx, i, http.MethodPatch, path, addMembersBody(ids), true)
	if err != nil {
		return 0, err
	}
	if err := expect(resp, http.MethodPatch, path, http.StatusOK, http.StatusNoContent); err != nil {
		return resp.n, err
	}
	return resp.n, nil
}

// e) add M members to each group: S one per PATCH (e1), the rest in batches (e2).
func (r *runner) phaseE() {
	descs := [2]string{"PATCH /Groups/{id} add members, one member per request (groups interleaved)",
		fmt.Sprintf("PATCH /Groups/{id} add members, %d members per request (Okta-style)", r.cfg.Batch)}
	names := [2]string{"e1.add-1", fmt.Sprintf("e2.add-%d", r.cfg.Batch)}
	why := ""
	switch {
	case !r.phases["e"]:
		why = "not selected (--phases)"
	case !r.phases["a"] || !r.phases["d"]:
		why = "needs phases a and d"
	}
	if why != "" {
		r.skip(names[0], descs[0], why)
		r.skip(names[1], descs[1], why)
		return
	}
	G, S, M, B := r.cfg.Groups, r.cfg.Single, r.cfg.Members, r.cfg.Batch
	add := func(ctx context.Context, i, j int, users []int) (int64, error) {
		if r.groupIDs[j] == "" {
			return 0, fmt.Errorf("group %d was not created in phase d", j)
		}
		n, err := r.patchMembers(ctx, i, r.groupIDs[j], users)
		if err == nil {
			r.groupAdded[j].Add(int64(len(users)))
		}
		return n, err
	}
	if p := r.start(names[0], descs[0], G*S, r.cfg.Concurrency); p != nil {
		r.runRange(p, 0, G*S, r.cfg.Concurrency, func(ctx context.Context, i int) (int64, error) {
			j, k := i%G, i/G
			return add(ctx, i, j, []int{r.memberUser(j, k)})
		})
		r.end(p)
	}
	perGroup := (M - S + B - 1) / B
	if p := r.start(names[1], descs[1], G*perGroup, r.cfg.Concurrency); p != nil {
		r.runRange(p, 0, G*perGroup, r.cfg.Concurrency, func(ctx context.Context, i int) (int64, error) {
			j, c := i%G, i/G
			var users []int
			for k := S + c*B; k < min(S+(c+1)*B, M); k++ {
				users = append(users, r.memberUser(j, k))
			}
			return add(ctx, i, j, users)
		})
		r.end(p)
	}
}

// f) grow one group to B members: the first 100 and the last 100 one by one, the rest
// in big batches (e3), all sequentially as an IdP does for one group.
func (r *runner) phaseF() {
	big, bb := r.cfg.Big, r.cfg.BigBatch
	names := [3]string{"f.first100", fmt.Sprintf("e3.add-%d", bb), "f.last100"}
	descs := [3]string{"PATCH add 1 member: the first 100 members of the big group",
		fmt.Sprintf("PATCH add %d members: growing the big group", bb),
		fmt.Sprintf("PATCH add 1 member: the last 100 members, up to %d", big)}
	why := ""
	switch {
	case !r.phases["f"]:
		why = "not selected (--phases)"
	case !r.phases["a"] || !r.phases["d"]:
		why = "needs phases a and d"
	case r.bigID == "":
		why = "the big group was not created"
	case big < 200:
		why = "--big (capped at --users) is below 200"
	}
	if why != "" {
		for i := range names {
			r.skip(names[i], descs[i], why)
		}
		return
	}
	single := func(offset int) op {
		return func(ctx context.Context, i int) (int64, error) {
			n, err := r.patchMembers(ctx, i, r.bigID, []int{offset + i})
			if err == nil {
				r.bigAdded.Add(1)
			}
			return n, err
		}
	}
	if p := r.start(names[0], descs[0], 100, 1); p != nil {
		r.runRange(p, 0, 100, 1, single(0))
		r.end(p)
	}
	mid := big - 200
	chunks := (mid + bb - 1) / bb
	if p := r.start(names[1], descs[1], chunks, 1); p != nil {
		r.runRange(p, 0, chunks, 1, func(ctx context.Context, i int) (int64, error) {
			var users []int
			for u := 100 + i*bb; u < min(100+(i+1)*bb, big-100); u++ {
				users = append(users, u)
			}
			n, err := r.patchMembers(ctx, i, r.bigID, users)
			if err == nil {
				r.bigAdded.Add(int64(len(users)))
			}
			return n, err
		})
		r.end(p)
		if p.Requests > 0 {
			p.note("p50 of the first 10 batches %.1f ms, of the last 10 %.1f ms (group at %d → %d members)",
				p.P50Of(0, 10), p.P50Of(chunks-10, chunks), 100, big-100)
		}
	}
	if p := r.start(names[2], descs[2], 100, 1); p != nil {
		r.runRange(p, 0, 100, 1, single(big-100))
		r.end(p)
	}
}

// getGroup reads a group; with members, it counts and checks the member list and
// measures the time to the first byte.
func (r *runner) getGroup(ctx context.Context, i int, gid, query string, wantMembers int) (int64, time.Duration, error) {
	path := "/Groups/" + gid + query
	var ttfb time.Duration
	t0 := time.Now()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotFirstResponseByte: func() { ttfb = time.Since(t0) }})
	resp, err := r.c.do(ctx, i, http.MethodGet, path, nil, false)
	if err != nil {
		return 0, 0, err
	}
	if err := expect(resp, http.MethodGet, path, http.StatusOK); err != nil {
		return resp.n, ttfb, err
	}
	var g scimResource
	var raw map[string]json.RawMessage
	if err := decode(resp, &raw); err != nil {
		return resp.n, ttfb, err
	}
	if err := decode(resp, &g); err != nil {
		return resp.n, ttfb, err
	}
	if g.ID != gid {
		return resp.n, ttfb, fmt.Errorf("GET %s returned id %q", path, g.ID)
	}
	if wantMembers < 0 {
		if _, has := raw["members"]; has {
			return resp.n, ttfb, fmt.Errorf("GET %s returned members despite excludedAttributes=members", path)
		}
		return resp.n, ttfb, nil
	}
	seen := make(map[string]bool, len(g.Members))
	for _, m := range g.Members {
		if seen[m.Value] {
			return resp.n, ttfb, fmt.Errorf("GET %s: member %s listed twice", path, m.Value)
		}
		seen[m.Value] = true
	}
	if len(g.Members) != wantMembers {
		return resp.n, ttfb, fmt.Errorf("GET %s: %d members, want %d", path, len(g.Members), wantMembers)
	}
	return resp.n, ttfb, nil
}

// g) GET the big group without members, the empty group, and the big group in full.
func (r *runner) phaseG() {
	names := [3]string{"g.excl-big", "g.excl-empty", "g.full-big"}
	descs := [3]string{"GET /Groups/{big}?excludedAttributes=members", "GET /Groups/{empty}?excludedAttributes=members",
		"GET /Groups/{big} with every member"}
	why := ""
	switch {
	case !r.phases["g"]:
		why = "not selected (--phases)"
	case r.bigID == "" || r.emptyID == "":
		why = "needs the groups of phase d"
	}
	if why != "" {
		for i := range names {
			r.skip(names[i], descs[i], why)
		}
		return
	}
	// The two are measured interleaved (big, empty, empty, big, ...), so that whatever
	// else the machine does weighs on both alike.
	pb := r.start(names[0], descs[0], r.cfg.ExcludedGets, r.cfg.Concurrency)
	pe := r.start(names[1], descs[1], r.cfg.ExcludedGets, r.cfg.Concurrency)
	if pb != nil && pe != nil {
		pe.note("measured interleaved with %s; ops/s of the two phases share one wall clock", names[0])
		r.runRange(pb, 0, r.cfg.ExcludedGets, r.cfg.Concurrency, func(ctx context.Context, i int) (int64, error) {
			empty := func() {
				s := time.Now()
				n, _, err := r.getGroup(ctx, i, r.emptyID, "?excludedAttributes=members", -1)
				if err == nil || ctx.Err() == nil {
					pe.record(i, time.Since(s), n, err)
				}
			}
			if i%2 == 1 {
				empty()
			}
			s := time.Now()
			n, _, err := r.getGroup(ctx, i, r.bigID, "?excludedAttributes=members", -1)
			d := time.Since(s)
			if i%2 == 0 {
				empty()
			}
			// The runner times the whole op; the big group's own latency is recorded here.
			pb.record(i, d, n, err)
			return 0, errRecorded
		})
		r.end(pb)
		v, _ := accs.Load(pb)
		accs.Store(pe, &phaseAcc{elapsed: v.(*phaseAcc).elapsed})
		r.end(pe)
		pb.note("CPU columns cover the requests of both %s and %s", names[0], names[1])
	}
	p := r.start(names[2], descs[2], r.cfg.FullGets, 1)
	if p == nil {
		return
	}
	want := int(r.bigAdded.Load())
	rss0, _ := r.w.memory()
	var peak atomic.Int64 // KB
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if len(r.cfg.ServerPIDs) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if rss, _ := r.w.memory(); int64(rss*1024) > peak.Load() {
						peak.Store(int64(rss * 1024))
					}
				}
			}
		}()
	}
	var ttfbs []time.Duration
	var mu sync.Mutex
	r.runRange(p, 0, r.cfg.FullGets, 1, func(ctx context.Context, i int) (int64, error) {
		n, ttfb, err := r.getGroup(ctx, i, r.bigID, "", want)
		mu.Lock()
		ttfbs = append(ttfbs, ttfb)
		mu.Unlock()
		return n, err
	})
	close(stop)
	wg.Wait()
	r.end(p)
	if len(ttfbs) > 0 {
		p.note("members %d, time to first byte p50 %.1f ms of %.1f ms total", want, ms(median(ttfbs)), p.P50ms)
		r.fullTTFB = ms(median(ttfbs))
	}
	if len(r.cfg.ServerPIDs) > 0 {
		growth := float64(peak.Load())/1024 - rss0
		p.note("server RSS %.1f MB before, %.1f MB peak during (growth %.1f MB; response %.1f MB)",
			rss0, float64(peak.Load())/1024, growth, p.AvgRespBytes/1e6)
		r.fullRSSGrowth = growth
	}
}

// h) deactivate 10% of the users.
func (r *runner) phaseH() {
	const desc = `PATCH /Users/{id} replace {"active": false}, every 10th user`
	if !r.phases["h"] {
		r.skip("h.deactivate", desc, "not selected (--phases)")
		return
	}
	if !r.phases["a"] {
		r.skip("h.deactivate", desc, "needs phase a")
		return
	}
	n := r.cfg.Users / 10
	p := r.start("h.deactivate", desc, n, r.cfg.Concurrency)
	if p == nil {
		return
	}
	var mu sync.Mutex
	r.runRange(p, 0, n, r.cfg.Concurrency, func(ctx context.Context, i int) (int64, error) {
		u := i * 10
		if r.userIDs[u] == "" {
			return 0, fmt.Errorf("user %d was not created in phase a", u)
		}
		path := "/Users/" + r.userIDs[u]
		resp, err := r.c.do(ctx, i, http.MethodPatch, path, deactivateBody, false)
		if err != nil {
			return 0, err
		}
		if err := expect(resp, http.MethodPatch, path, http.StatusOK, http.StatusNoContent); err != nil {
			return resp.n, err
		}
		if resp.status == http.StatusOK {
			var got scimResource
			if err := decode(resp, &got); err != nil {
				return resp.n, err
			}
			if got.Active == nil || *got.Active {
				return resp.n, fmt.Errorf("PATCH %s: active is %v after deactivation", path, got.Active)
			}
		}
		mu.Lock()
		r.deactivated = append(r.deactivated, u)
		mu.Unlock()
		return resp.n, nil
	})
	r.end(p)
}

// i) page through every user with count=100, sequentially.
func (r *runner) phaseI() {
	const desc = "GET /Users?startIndex=k&count=100 through all users, sequentially"
	if !r.phases["i"] {
		r.skip("i.page-users", desc, "not selected (--phases)")
		return
	}
	if time.Now().After(r.deadline) {
		r.skip("i.page-users", desc, "time bound reached")
		return
	}
	resp, err := r.c.do(r.ctx, 0, http.MethodGet, "/Users?startIndex=1&count=1", nil, false)
	var lr listResponse
	if err == nil {
		err = expect(resp, http.MethodGet, "/Users?count=1", http.StatusOK)
	}
	if err == nil {
		err = decode(resp, &lr)
	}
	if err != nil {
		p := r.skip("i.page-users", desc, "could not read totalResults")
		p.ErrorSample = []string{err.Error()}
		p.Errors = 1
		return
	}
	total := lr.TotalResults
	pages := (total + 99) / 100
	p := r.start("i.page-users", desc, pages, 1)
	if p == nil {
		return
	}
	p.note("%d users in the database, %d pages", total, pages)
	seen := make(map[string]int, total)
	r.runRange(p, 0, pages, 1, func(ctx context.Context, i int) (int64, error) {
		path := fmt.Sprintf("/Users?startIndex=%d&count=100", 1+i*100)
		resp, err := r.c.do(ctx, i, http.MethodGet, path, nil, false)
		if err != nil {
			return 0, err
		}
		if err := expect(resp, http.MethodGet, path, http.StatusOK); err != nil {
			return resp.n, err
		}
		var lr listResponse
		if err := decode(resp, &lr); err != nil {
			return resp.n, err
		}
		for _, u := range lr.Resources {
			seen[u.ID]++
		}
		want := min(100, total-i*100)
		if lr.TotalResults != total || len(lr.Resources) != want {
			return resp.n, fmt.Errorf("%s: totalResults %d (was %d), %d resources, want %d", path, lr.TotalResults, total, len(lr.Resources), want)
		}
		return resp.n, nil
	})
	r.end(p)
	if p.Requests > 0 {
		p.note("p50 of the first 10 pages %.2f ms, of the last 10 %.2f ms", p.P50Of(0, 10), p.P50Of(pages-10, pages))
	}
	if p.TimedOut || !r.phases["a"] {
		return
	}
	dups, missing := 0, 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	for _, id := range r.userIDs {
		if id != "" && seen[id] != 1 {
			missing++
		}
	}
	r.check("i: paging lists every user once", dups == 0 && missing == 0,
		"%d ids seen, %d seen more than once, %d of this run's users not seen exactly once", len(seen), dups, missing)
}

// finalChecks reads back member lists and deactivated users.
func (r *runner) finalChecks() {
	if time.Now().After(r.deadline) {
		r.check("final checks", true, "skipped: time bound reached")
		return
	}
	if r.phases["e"] && len(r.groupIDs) > 0 && r.cfg.CheckGroups > 0 {
		step := max(1, len(r.groupIDs)/r.cfg.CheckGroups)
		bad, checked := 0, 0
		var first string
		for j := 0; j < len(r.groupIDs) && checked < r.cfg.CheckGroups; j += step {
			if r.groupIDs[j] == "" {
				continue
			}
			checked++
			if _, _, err := r.getGroup(r.ctx, j, r.groupIDs[j], "", int(r.groupAdded[j].Load())); err != nil {
				bad++
				if first == "" {
					first = err.Error()
				}
			}
		}
		r.check("e: member counts of groups", bad == 0, "%d groups read back, %d wrong %s", checked, bad, first)
	}
	if len(r.deactivated) > 0 {
		bad := 0
		var first string
		n := min(20, len(r.deactivated))
		for k := 0; k < n; k++ {
			u := r.deactivated[k*len(r.deactivated)/n]
			path := "/Users/" + r.userIDs[u]
			resp, err := r.c.do(r.ctx, k, http.MethodGet, path, nil, false)
			if err == nil {
				err = expect(resp, http.MethodGet, path, http.StatusOK)
			}
			var got scimResource
			if err == nil {
				err = decode(resp, &got)
			}
			if err == nil && (got.Active == nil || *got.Active) {
				err = fmt.Errorf("%s: still active", path)
			}
			if err != nil {
				bad++
				if first == "" {
					first = err.Error()
				}
			}
		}
		r.check("h: deactivated users read back inactive", bad == 0, "%d read back, %d wrong %s", n, bad, first)
	}
}
