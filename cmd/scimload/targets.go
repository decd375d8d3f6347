package main

import (
	"fmt"
	"strings"
)

// computeTargets compares this run with the targets of issue 5. They are reported, never
// enforced: the figures depend on the machine, and only their ratios measured in one run
// mean something.
func (r *runner) computeTargets() {
	add := func(name, measured, goal string, value float64, met *bool) {
		r.rep.Targets = append(r.rep.Targets, Target{Name: name, Measured: measured, Goal: goal, Value: round3(value), Met: met})
	}
	yes := func(b bool) *bool { return &b }
	ran := func(p *Phase) bool { return p != nil && p.Skipped == "" && p.Requests > 0 }

	a := r.rep.phase("a.create-users")
	if ran(a) {
		if r.cfg.RefCreateTPS > 0 {
			v := a.OpsPerSec / r.cfg.RefCreateTPS
			add("create user ÷ raw-SQL create tps", fmt.Sprintf("%.1f ÷ %.1f = %.0f%%", a.OpsPerSec, r.cfg.RefCreateTPS, 100*v), "≥ 50%", v, yes(v >= 0.5))
		} else {
			add("create user ÷ raw-SQL create tps", fmt.Sprintf("%.1f ops/s (no --ref-create-tps)", a.OpsPerSec), "≥ 50%", 0, nil)
		}
	}
	ceil := r.rep.phase("ceiling")
	for _, name := range []string{"b.userName-eq", "c.externalId-eq"} {
		p := r.rep.phase(name)
		if !ran(p) {
			continue
		}
		attr := strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(name, "b."), "c."), "-", 2)[0]
		if ran(ceil) {
			v := p.OpsPerSec / ceil.OpsPerSec
			add(attr+" eq ÷ HTTP ceiling", fmt.Sprintf("%.0f ÷ %.0f = %.1f%%", p.OpsPerSec, ceil.OpsPerSec, 100*v), "≥ 30%", v, yes(v >= 0.3))
		} else {
			add(attr+" eq ÷ HTTP ceiling", fmt.Sprintf("%.0f ops/s (no --ceiling)", p.OpsPerSec), "≥ 30%", 0, nil)
		}
	}
	b, b1k := r.rep.phase("b.userName-eq"), r.rep.phase("b.userName-eq@1k")
	if ran(b) && ran(b1k) && b1k.P50ms > 0 {
		v := b.P50ms / b1k.P50ms
		add(fmt.Sprintf("userName eq p50 at %d users ÷ at 1k", r.cfg.Users),
			fmt.Sprintf("%.2f ÷ %.2f ms = %.2f×", b.P50ms, b1k.P50ms, v), "≤ 1.5× (at 100k)", v, yes(v <= 1.5))
	}
	f1, f2 := r.rep.phase("f.first100"), r.rep.phase("f.last100")
	if ran(f1) && ran(f2) && f1.P50ms > 0 {
		v := f2.P50ms / f1.P50ms
		add(fmt.Sprintf("add 1 member: p50 last 100 (to %d) ÷ first 100", r.cfg.Big),
			fmt.Sprintf("%.2f ÷ %.2f ms = %.1f×", f2.P50ms, f1.P50ms, v), "≤ 1.5× (at 50k)", v, yes(v <= 1.5))
	}
	if e3 := r.rep.phase(fmt.Sprintf("e3.add-%d", r.cfg.BigBatch)); ran(e3) {
		add(fmt.Sprintf("%d-change PATCH latency (max, up to %d members)", r.cfg.BigBatch, r.cfg.Big),
			fmt.Sprintf("p50 %.0f ms, max %.0f ms", e3.P50ms, e3.MaxMs), "< 1000 ms", e3.MaxMs, yes(e3.MaxMs < 1000))
	}
	gb, ge := r.rep.phase("g.excl-big"), r.rep.phase("g.excl-empty")
	if ran(gb) && ran(ge) && ge.P50ms > 0 {
		v := gb.P50ms / ge.P50ms
		add(fmt.Sprintf("excludedAttributes=members: %d-member ÷ empty", int(r.bigAdded.Load())),
			fmt.Sprintf("%.2f ÷ %.2f ms = %.2f×", gb.P50ms, ge.P50ms, v), "≈ 1 (≤ 1.25×)", v, yes(v <= 1.25))
	}
	if gf := r.rep.phase("g.full-big"); ran(gf) && gf.P50ms > 0 && r.fullTTFB > 0 {
		v := r.fullTTFB / gf.P50ms
		m := fmt.Sprintf("first byte after %.0f of %.0f ms (%.0f%%)", r.fullTTFB, gf.P50ms, 100*v)
		if len(r.cfg.ServerPIDs) > 0 {
			m += fmt.Sprintf(", RSS +%.0f MB for a %.1f MB body", r.fullRSSGrowth, gf.AvgRespBytes/1e6)
		}
		add("full GET of the big group streams", m, "first byte early (< 25%)", v, yes(v < 0.25))
	}
	// Initial sync: users, groups and memberships through the API.
	var secs float64
	var parts []string
	for _, name := range []string{"a.create-users", "d.create-groups", "e1.add-1", fmt.Sprintf("e2.add-%d", r.cfg.Batch)} {
		if p := r.rep.phase(name); ran(p) {
			secs += p.Seconds
			parts = append(parts, name)
		}
	}
	if len(parts) == 4 {
		memberships := r.cfg.Groups * r.cfg.Members
		full := r.cfg.Users >= 100000 && r.cfg.Groups >= 1000 && memberships >= 500000
		var met *bool
		if full {
			met = yes(secs <= 600)
		}
		m := fmt.Sprintf("%.0f s for %d users, %d groups, %d memberships", secs, r.cfg.Users, r.cfg.Groups, memberships)
		if !full {
			// Linear projection from the per-operation cost of each part.
			pa, pd := r.rep.phase("a.create-users"), r.rep.phase("d.create-groups")
			proj := pa.Seconds / float64(max(pa.Requests, 1)) * 100000
			proj += pd.Seconds / float64(max(pd.Requests, 1)) * 1000
			if memberships > 0 {
				me := 0.0
				for _, name := range []string{"e1.add-1", fmt.Sprintf("e2.add-%d", r.cfg.Batch)} {
					me += r.rep.phase(name).Seconds
				}
				proj += me / float64(memberships) * 500000
			}
			m += fmt.Sprintf("; linear projection to 100k/1k/500k: %.0f s", proj)
		}
		add("initial sync through the API", m, "≤ 600 s at 100k/1k/500k", secs, met)
	}
	if len(r.cfg.ServerPIDs) > 0 {
		_, hwm := r.w.memory()
		add("server peak RSS (VmHWM)", fmt.Sprintf("%.1f MB", hwm), "≤ 300 MB", hwm, yes(hwm <= 300))
	}
	if e1 := r.rep.phase("e1.add-1"); ran(e1) && r.cfg.RefAddTPS > 0 {
		v := e1.OpsPerSec / r.cfg.RefAddTPS
		add("add 1 member ÷ raw-SQL add-member tps", fmt.Sprintf("%.1f ÷ %.1f = %.0f%%", e1.OpsPerSec, r.cfg.RefAddTPS, 100*v), "(no target; informative)", v, nil)
	}
	errs := 0
	for _, p := range r.rep.Phases {
		errs += p.Errors
	}
	add("errors in all phases", fmt.Sprintf("%d", errs), "0 (no 'database is locked')", float64(errs), yes(errs == 0))
}
