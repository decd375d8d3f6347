package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// maxErrorSamples is how many error messages a phase keeps for the report.
const maxErrorSamples = 5

// Phase is the result of one phase, as the table and the JSON report show it.
type Phase struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Concurrency int      `json:"concurrency"`
	Planned     int      `json:"planned"`  // operations the phase was asked to do
	Requests    int      `json:"requests"` // operations done (stopped early only by the time bound)
	Errors      int      `json:"errors"`   // failed operations: transport errors, bad status, failed checks
	ErrorSample []string `json:"error_samples,omitempty"`
	Skipped     string   `json:"skipped,omitempty"` // why the phase did not run
	TimedOut    bool     `json:"timed_out,omitempty"`

	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50ms     float64 `json:"p50_ms"`
	P95ms     float64 `json:"p95_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	// First100P50ms and Last100P50ms are the p50 of the first and last 100 operations in
	// plan order (the first and last users created, pages read, members added...): the
	// cost of a request at the start and at the end of the phase.
	First100P50ms float64 `json:"first100_p50_ms,omitempty"`
	Last100P50ms  float64 `json:"last100_p50_ms,omitempty"`
	AvgRespBytes  float64 `json:"avg_response_bytes"`

	// CPU per operation, from /proc (Linux): this process, the server processes given
	// with --server-pid, and every process whose name starts with --db-comm.
	ClientCPUms float64 `json:"client_cpu_ms_per_op,omitempty"`
	ServerCPUms float64 `json:"server_cpu_ms_per_op,omitempty"`
	DBCPUms     float64 `json:"db_cpu_ms_per_op,omitempty"`
	// ServerRSSMB is the servers' resident memory at the end of the phase (sum over
	// --server-pid), ServerHWMMB their peak so far (VmHWM).
	ServerRSSMB float64 `json:"server_rss_mb,omitempty"`
	ServerHWMMB float64 `json:"server_peak_rss_mb,omitempty"`

	Notes []string `json:"notes,omitempty"`

	lat   []time.Duration // by plan index; 0 = not done
	done  []bool
	bytes int64
	mu    sync.Mutex
}

func newPhase(name, desc string, planned, conc int) *Phase {
	return &Phase{Name: name, Description: desc, Planned: planned, Concurrency: conc,
		lat: make([]time.Duration, planned), done: make([]bool, planned)}
}

// record stores the outcome of operation i.
func (p *Phase) record(i int, d time.Duration, n int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lat[i] = d
	p.done[i] = true
	p.Requests++
	p.bytes += n
	if err != nil {
		p.Errors++
		if len(p.ErrorSample) < maxErrorSamples {
			p.ErrorSample = append(p.ErrorSample, fmt.Sprintf("op %d: %v", i, err))
		}
	}
}

func (p *Phase) note(format string, a ...any) {
	p.mu.Lock()
	p.Notes = append(p.Notes, fmt.Sprintf(format, a...))
	p.mu.Unlock()
}

// finish computes the summary figures.
func (p *Phase) finish(elapsed time.Duration) {
	p.Seconds = elapsed.Seconds()
	if p.Seconds > 0 {
		p.OpsPerSec = float64(p.Requests) / p.Seconds
	}
	var all []time.Duration
	for i, ok := range p.done {
		if ok {
			all = append(all, p.lat[i])
		}
	}
	if len(all) == 0 {
		return
	}
	p.AvgRespBytes = float64(p.bytes) / float64(len(all))
	sorted := append([]time.Duration(nil), all...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	p.P50ms = ms(percentile(sorted, 0.50))
	p.P95ms = ms(percentile(sorted, 0.95))
	p.P99ms = ms(percentile(sorted, 0.99))
	p.MaxMs = ms(sorted[len(sorted)-1])
	if len(all) >= 200 {
		p.First100P50ms = ms(median(all[:100]))
		p.Last100P50ms = ms(median(all[len(all)-100:]))
	}
}

// P50Of returns the p50 of the operations [from, to) in plan order that were done.
func (p *Phase) P50Of(from, to int) float64 {
	var xs []time.Duration
	for i := max(from, 0); i < min(to, len(p.done)); i++ {
		if p.done[i] {
			xs = append(xs, p.lat[i])
		}
	}
	if len(xs) == 0 {
		return 0
	}
	return ms(median(xs))
}

// MaxOf returns the largest latency of the operations done.
func (p *Phase) MaxOf() float64 { return p.MaxMs }

func median(xs []time.Duration) time.Duration {
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return percentile(s, 0.5)
}

// percentile uses the nearest-rank method on a sorted slice.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	k = min(max(k, 0), len(sorted)-1)
	return sorted[k]
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// Check is one correctness check done after a phase.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Target is one of the targets of issue 5, computed from this run.
type Target struct {
	Name     string  `json:"name"`
	Measured string  `json:"measured"`
	Goal     string  `json:"goal"`
	Value    float64 `json:"value"`
	Met      *bool   `json:"met,omitempty"` // nil: not measurable in this run
}

// Report is the whole run, as --json prints it.
type Report struct {
	Tool      string    `json:"tool"`
	Started   time.Time `json:"started"`
	Seconds   float64   `json:"seconds"`
	Config    Config    `json:"config"`
	Phases    []*Phase  `json:"phases"`
	Checks    []Check   `json:"checks"`
	Targets   []Target  `json:"targets"`
	Passed    bool      `json:"passed"` // no errors and every check passed (targets aside)
	ServerHWM float64   `json:"server_peak_rss_mb,omitempty"`
}

func (r *Report) phase(name string) *Phase {
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// writeTable prints the report for people.
func (r *Report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "scimload against %s (concurrency %d, users %d, groups %d, members/group %d, big group %d)\n\n",
		strings.Join(r.Config.URLs, ", "), r.Config.Concurrency, r.Config.Users, r.Config.Groups, r.Config.Members, r.Config.Big)
	fmt.Fprintf(w, "%-16s %7s %5s %8s %9s %8s %8s %8s %8s %9s %9s %9s %8s %8s %8s %7s\n",
		"phase", "reqs", "errs", "secs", "ops/s", "p50ms", "p95ms", "p99ms", "maxms",
		"first100", "last100", "avgbytes", "cli/op", "srv/op", "db/op", "rssMB")
	for _, p := range r.Phases {
		if p.Skipped != "" {
			fmt.Fprintf(w, "%-16s skipped: %s\n", p.Name, p.Skipped)
			continue
		}
		fmt.Fprintf(w, "%-16s %7d %5d %8.2f %9.1f %8.2f %8.2f %8.2f %8.2f %9s %9s %9.0f %8s %8s %8s %7s\n",
			p.Name, p.Requests, p.Errors, p.Seconds, p.OpsPerSec, p.P50ms, p.P95ms, p.P99ms, p.MaxMs,
			opt(p.First100P50ms), opt(p.Last100P50ms), p.AvgRespBytes,
			opt(p.ClientCPUms), opt(p.ServerCPUms), opt(p.DBCPUms), opt1(p.ServerRSSMB))
	}
	fmt.Fprintln(w, "\n(first100/last100: p50 in ms of the first and last 100 operations in plan order; cli/srv/db: CPU ms per operation of this client, the --server-pid processes and the --db-comm processes)")
	for _, p := range r.Phases {
		for _, n := range p.Notes {
			fmt.Fprintf(w, "note %s: %s\n", p.Name, n)
		}
		for _, e := range p.ErrorSample {
			fmt.Fprintf(w, "error %s: %s\n", p.Name, e)
		}
		if p.TimedOut {
			fmt.Fprintf(w, "note %s: stopped by the time bound after %d of %d operations\n", p.Name, p.Requests, p.Planned)
		}
	}
	fmt.Fprintln(w, "\nchecks:")
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-40s %s\n", mark, c.Name, c.Detail)
	}
	fmt.Fprintln(w, "\ntargets (issue 5; informative, never a pass/fail of this tool):")
	for _, t := range r.Targets {
		mark := "n/a "
		if t.Met != nil {
			mark = "met "
			if !*t.Met {
				mark = "MISS"
			}
		}
		fmt.Fprintf(w, "  %s %-52s %-34s goal %s\n", mark, t.Name, t.Measured, t.Goal)
	}
	if r.ServerHWM > 0 {
		fmt.Fprintf(w, "\nserver peak RSS (VmHWM): %.1f MB\n", r.ServerHWM)
	}
	verdict := "PASSED"
	if !r.Passed {
		verdict = "FAILED (errors or failed checks above)"
	}
	fmt.Fprintf(w, "\ncorrectness: %s; total %.1f s\n", verdict, r.Seconds)
}

func opt(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func opt1(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}
