// Package scimtest is a SCIM 2.0 conformance kit that can be pointed at any server URL.
//
// It runs named checks in three suites:
//   - "rfc": RFC 7643/7644 behaviour (discovery, auth, CRUD, errors, filters, paging,
//     projection, PATCH, ETags);
//   - "okta": the requests Okta's provisioning client and its SPEC test send;
//   - "entra": the requests Microsoft Entra ID sends without the aadOptscim062020 flag
//     (capitalised ops and keys, string booleans, remove-by-value, no User-Agent).
//
// A check is a sequence of steps (request template plus expectations, see Step); a few
// checks that need logic are Go functions on a Session. Each check creates what it needs
// under a run-unique prefix ("st-<random>-NN-"), so a server with other data can be
// tested, and deletes it when the check ends, pass or fail.
//
// A check as data:
//
//	{Name: "patch-replace-subattribute", Steps: []Step{
//		createUser("u", patchUser), // POST /Users, want 201, capture ${u.id}
//		patchStep("replace name.givenName", "/Users/${u.id}",
//			`{"op":"replace","path":"name.givenName","value":"Patricia"}`),
//		getStep("GET", "/Users/${u.id}", Eq("name.givenName", "Patricia")),
//	}}
//
// Templates, escaping and the JSON path language are described in template.go and
// jsonpath.go; assertions are in assert.go.
package scimtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// Config says what to test.
type Config struct {
	BaseURL string       // e.g. http://127.0.0.1:8080/scim/v2
	Token   string       // bearer token
	Client  *http.Client // nil = a client with a 30 s timeout
	Only    string       // "" = all; or a suite name: "rfc", "okta", "entra" (comma-separated for several)
}

// Result is the outcome of one check; Err is nil when it passed.
type Result struct {
	Suite, Name string
	Err         error
}

// Check is one named conformance check: its Steps run in order, stopping at the first
// failure, then Func (if set) runs with the same session.
type Check struct {
	Suite, Name string
	// Vars are templates evaluated once before the first step; they may use the
	// built-ins: ${run} (the run prefix "st-<hex>-"), ${p} (the check prefix
	// "st-<hex>-NN-"), ${guid1}…${guid5} (fresh random UUIDs) and ${rand} (8 hex digits).
	Vars  [][2]string
	Steps []Step
	Func  func(ctx context.Context, s *Session) error
}

// Suites lists the suite names in the order they run.
var Suites = []string{"rfc", "okta", "entra"}

// Checks returns every check, in run order.
func Checks() []Check {
	var all []Check
	all = append(all, rfcChecks()...)
	all = append(all, oktaChecks()...)
	all = append(all, entraChecks()...)
	return all
}

// Run runs the checks in order and returns one Result per check. It deletes every
// resource it creates, also when a check fails.
func Run(ctx context.Context, cfg Config) []Result {
	checks, err := selectChecks(cfg.Only)
	if err != nil {
		return []Result{{Suite: cfg.Only, Name: "config", Err: err}}
	}
	return runChecks(ctx, cfg, checks)
}

func runChecks(ctx context.Context, cfg Config, checks []Check) []Result {
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return []Result{{Suite: "config", Name: "config", Err: fmt.Errorf("no base URL given")}}
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	run := "st-" + randHex(8) + "-"
	results := make([]Result, 0, len(checks))
	for i, c := range checks {
		if err := ctx.Err(); err != nil {
			results = append(results, Result{Suite: c.Suite, Name: c.Name, Err: fmt.Errorf("not run: %w", err)})
			continue
		}
		s := &Session{
			base:   strings.TrimRight(cfg.BaseURL, "/"),
			token:  cfg.Token,
			client: client,
			style:  styles[c.Suite],
			Vars: vars{
				"run":  run,
				"p":    fmt.Sprintf("%s%02d-", run, i+1),
				"rand": randHex(8),
			},
		}
		for g := 1; g <= 5; g++ {
			s.Vars[fmt.Sprintf("guid%d", g)] = newUUID()
		}
		results = append(results, Result{Suite: c.Suite, Name: c.Name, Err: runCheck(ctx, s, c)})
	}
	return results
}

func selectChecks(only string) ([]Check, error) {
	all := Checks()
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(only, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		known := false
		for _, s := range Suites {
			known = known || s == name
		}
		if !known {
			return nil, fmt.Errorf("unknown suite %q (known: %s)", name, strings.Join(Suites, ", "))
		}
		want[name] = true
	}
	var out []Check
	for _, c := range all {
		if want[c.Suite] {
			out = append(out, c)
		}
	}
	return out, nil
}

// runCheck runs one check and always cleans up after it.
func runCheck(ctx context.Context, s *Session, c Check) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("check panicked: %v\n%s", p, debug.Stack())
		}
		if cerr := s.cleanup(ctx); cerr != nil {
			if err == nil {
				err = fmt.Errorf("cleanup failed (the server may keep test data): %w", cerr)
			} else {
				err = fmt.Errorf("%w\ncleanup also failed: %v", err, cerr)
			}
		}
	}()
	for _, kv := range c.Vars {
		v, err := s.Vars.expand(kv[1], noEscape)
		if err != nil {
			return err
		}
		s.Vars[kv[0]] = v
	}
	for _, st := range c.Steps {
		if _, err := s.Do(ctx, st); err != nil {
			return err
		}
	}
	if c.Func != nil {
		return c.Func(ctx, s)
	}
	return nil
}

// Report writes one line per check, "PASS suite/name" or "FAIL suite/name: reason"
// (further lines of a reason are indented), then "N passed, N failed". It returns the
// number failed.
func Report(w io.Writer, results []Result) int {
	passed, failed := 0, 0
	for _, r := range results {
		if r.Err == nil {
			passed++
			fmt.Fprintf(w, "PASS %s/%s\n", r.Suite, r.Name)
			continue
		}
		failed++
		msg := strings.ReplaceAll(strings.TrimRight(r.Err.Error(), "\n"), "\n", "\n    ")
		fmt.Fprintf(w, "FAIL %s/%s: %s\n", r.Suite, r.Name, msg)
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	return failed
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// newUUID returns a random (version 4) UUID, the shape Entra uses for its IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
