// Command scimload replays an identity provider's provisioning work against a SCIM 2.0
// server and reports, phase by phase, requests, errors, ops/s and latency percentiles,
// checking the answers as it goes. It works with any SCIM server (URL and bearer token);
// see docs/performance.md for how Townsquare is measured with it.
//
//	scimload [run] --url http://127.0.0.1:8080/scim/v2 --token T [--users N] [--groups G]
//	         [--members M] [--big B] [--concurrency C] [--timeout D] [--ceiling self|URL]
//	         [--server-pid PID[,PID]] [--db-comm postgres] [--json]
//	scimload trivial --addr 127.0.0.1:9090     serve the trivial handler (the HTTP ceiling)
//	scimload --serve-trivial 127.0.0.1:9090    the same
//
// Phases (issue 5): a) create N users; b) userName eq lookups (also at 1k users, during
// a); c) externalId eq lookups; d) create G groups (and an empty and a big one);
// e) add M members per group, one per PATCH (e1) then 100 per PATCH (e2); f) grow one
// group to B members: 100 single adds, 1000-change PATCHes (e3), 100 single adds;
// g) GET the big group with excludedAttributes=members (and the empty one), then in full;
// h) deactivate 10% of the users by PATCH; i) page through all users with count=100.
//
// The tool only talks to loopback addresses, and every loop stops at its count and at
// the time bound (--timeout).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config is what a run was asked to do; the JSON report repeats it.
type Config struct {
	URLs           []string `json:"urls"`
	Token          string   `json:"-"`
	Users          int      `json:"users"`
	Groups         int      `json:"groups"`
	Members        int      `json:"members_per_group"`
	Single         int      `json:"single_adds_per_group"`
	Batch          int      `json:"batch_size"`
	BigBatch       int      `json:"big_batch_size"`
	Big            int      `json:"big_group"`
	Lookups        int      `json:"lookups"`
	ExcludedGets   int      `json:"excluded_gets"`
	FullGets       int      `json:"full_gets"`
	CheckGroups    int      `json:"check_groups"`
	Concurrency    int      `json:"concurrency"`
	Timeout        string   `json:"timeout"`
	RequestTimeout string   `json:"request_timeout"`
	Phases         string   `json:"phases"`
	Ceiling        string   `json:"ceiling,omitempty"`
	Prefix         string   `json:"prefix"`
	ServerPIDs     []int    `json:"server_pids,omitempty"`
	DBComm         string   `json:"db_comm,omitempty"`
	RefCreateTPS   float64  `json:"ref_create_tps,omitempty"`
	RefAddTPS      float64  `json:"ref_add_member_tps,omitempty"`
	JSON           bool     `json:"-"`
	JSONOut        string   `json:"-"`

	timeout, reqTimeout time.Duration
}

const usage = `usage:
  scimload [run] --url URL --token TOKEN [flags]   replay an IdP's provisioning work
  scimload trivial --addr 127.0.0.1:PORT           serve the trivial JSON handler (HTTP ceiling)
  scimload --serve-trivial 127.0.0.1:PORT          the same

Run "scimload run -h" for the flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "scimload:", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

// run is main without the process: it returns the exit code (0 ok, 1 errors or failed
// checks, 2 usage or set-up failure).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "run":
			args = args[1:]
		case "trivial":
			fs := flag.NewFlagSet("trivial", flag.ContinueOnError)
			fs.SetOutput(stderr)
			addr := fs.String("addr", "127.0.0.1:9090", "listen address (loopback only)")
			if err := fs.Parse(args[1:]); err != nil {
				return 2, err
			}
			return 0, serveTrivial(ctx, *addr, stdout)
		case "help":
			fmt.Fprint(stdout, usage)
			return 0, nil
		default:
			fmt.Fprint(stderr, usage)
			return 2, fmt.Errorf("unknown command %q", args[0])
		}
	}
	cfg, serveAddr, err := parseRunFlags(args, stderr)
	if err != nil {
		return 2, err
	}
	if serveAddr != "" {
		return 0, serveTrivial(ctx, serveAddr, stdout)
	}
	rep, err := runLoad(ctx, cfg, stderr)
	if err != nil {
		return 2, err
	}
	if cfg.JSONOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(cfg.JSONOut, append(b, '\n'), 0o644)
		}
		if err != nil {
			return 2, fmt.Errorf("--json-out: %w", err)
		}
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 2, err
		}
	} else {
		rep.writeTable(stdout)
	}
	if !rep.Passed {
		return 1, nil
	}
	return 0, nil
}

func parseRunFlags(args []string, stderr io.Writer) (Config, string, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg       Config
		urls      string
		pids      string
		serveAddr string
	)
	fs.StringVar(&urls, "url", os.Getenv("SCIMLOAD_URL"), "SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2; several, comma-separated, are used round-robin (env SCIMLOAD_URL; loopback only)")
	fs.StringVar(&cfg.Token, "token", os.Getenv("SCIMLOAD_TOKEN"), "bearer token (env SCIMLOAD_TOKEN)")
	fs.IntVar(&cfg.Users, "users", 10000, "a) users to create")
	fs.IntVar(&cfg.Groups, "groups", 100, "d) groups to create")
	fs.IntVar(&cfg.Members, "members", 50, "e) members per group (at most --users)")
	fs.IntVar(&cfg.Single, "single", 5, "e1) of those, how many are added one per PATCH; the rest go in --batch-size PATCHes")
	fs.IntVar(&cfg.Batch, "batch-size", 100, "e2) members per Okta-style PATCH")
	fs.IntVar(&cfg.BigBatch, "big-batch-size", 1000, "e3/f) members per PATCH while growing the big group")
	fs.IntVar(&cfg.Big, "big", 50000, "f) size of the big group (at most --users)")
	fs.IntVar(&cfg.Lookups, "lookups", 0, "b,c) lookups per phase (default min(users, 10000)); the ceiling phase makes as many")
	fs.IntVar(&cfg.ExcludedGets, "excluded-gets", 200, "g) GETs with excludedAttributes=members, on the big and on the empty group each")
	fs.IntVar(&cfg.FullGets, "full-gets", 3, "g) full GETs of the big group")
	fs.IntVar(&cfg.CheckGroups, "check-groups", 20, "groups whose member list is read back and checked at the end")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "concurrent requests (phases f and i run sequentially, as an IdP does)")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "time bound of the whole run; phases still running stop, later ones are skipped")
	fs.DurationVar(&cfg.reqTimeout, "request-timeout", 2*time.Minute, "time bound of one request")
	fs.StringVar(&cfg.Phases, "phases", "a,b,c,d,e,f,g,h,i", "phases to run (comma-separated letters)")
	fs.StringVar(&cfg.Ceiling, "ceiling", "", `HTTP ceiling: "self" starts "scimload trivial" as a child process; a URL uses a trivial server already running`)
	fs.StringVar(&serveAddr, "serve-trivial", "", "serve the trivial handler on this address instead of running a load")
	fs.StringVar(&cfg.Prefix, "prefix", "", "prefix of the userNames and group names this run creates (default: random)")
	fs.StringVar(&pids, "server-pid", "", "process id(s) of the server(s), comma-separated: report their CPU per op and RSS (Linux /proc)")
	fs.StringVar(&cfg.DBComm, "db-comm", "", `report the CPU per op of every process whose name starts with this (e.g. "postgres")`)
	fs.Float64Var(&cfg.RefCreateTPS, "ref-create-tps", 0, "raw-SQL create-user tps (scripts/pgbench), to report the ratio")
	fs.Float64Var(&cfg.RefAddTPS, "ref-add-tps", 0, "raw-SQL add-member tps (scripts/pgbench), to report the ratio")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&cfg.JSONOut, "json-out", "", "also write the JSON report to this file")
	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	if fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if serveAddr != "" {
		return cfg, serveAddr, nil
	}
	if urls == "" {
		return cfg, "", errors.New("--url is required (the SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2)")
	}
	for _, u := range strings.Split(urls, ",") {
		u = strings.TrimSuffix(strings.TrimSpace(u), "/")
		if _, err := checkLoopbackURL(u); err != nil {
			return cfg, "", err
		}
		cfg.URLs = append(cfg.URLs, u)
	}
	if cfg.Ceiling != "" && cfg.Ceiling != "self" {
		if _, err := checkLoopbackURL(cfg.Ceiling); err != nil {
			return cfg, "", fmt.Errorf("--ceiling: %w", err)
		}
		cfg.Ceiling = strings.TrimSuffix(cfg.Ceiling, "/")
	}
	for _, p := range strings.Split(pids, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return cfg, "", fmt.Errorf("--server-pid: %q is not a process id", p)
		}
		cfg.ServerPIDs = append(cfg.ServerPIDs, n)
	}
	switch {
	case cfg.Users < 1:
		return cfg, "", errors.New("--users must be at least 1")
	case cfg.Concurrency < 1 || cfg.Concurrency > 1024:
		return cfg, "", errors.New("--concurrency must be between 1 and 1024")
	case cfg.Groups < 0 || cfg.Members < 0 || cfg.Big < 0 || cfg.Single < 0:
		return cfg, "", errors.New("sizes must not be negative")
	case cfg.Batch < 1 || cfg.BigBatch < 1:
		return cfg, "", errors.New("batch sizes must be at least 1")
	case cfg.timeout <= 0 || cfg.reqTimeout <= 0:
		return cfg, "", errors.New("time bounds must be positive")
	}
	cfg.Members = min(cfg.Members, cfg.Users)
	cfg.Single = min(cfg.Single, cfg.Members)
	cfg.Big = min(cfg.Big, cfg.Users)
	if cfg.Lookups <= 0 {
		cfg.Lookups = min(cfg.Users, 10000)
	}
	if cfg.Prefix == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		cfg.Prefix = hex.EncodeToString(b[:])
	}
	cfg.Timeout, cfg.RequestTimeout = cfg.timeout.String(), cfg.reqTimeout.String()
	return cfg, "", nil
}
