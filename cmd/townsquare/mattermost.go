package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/townsquare/townsquare/server/connector"
	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// MattermostTokenEnv holds the connector's Mattermost token: never a flag or the
// mapping file, where it would show in ps or in a repository.
const MattermostTokenEnv = "TOWNSQUARE_MATTERMOST_TOKEN"

// maxCLIArgs bounds the ids or accounts one retry or release names.
const maxCLIArgs = store.MaxMMListPage

const mattermostUsage = `usage: townsquare mattermost <command> [flags]

commands:
  status [--json]                the connector's state, lag, failures, dead letters and breaker
  retry [ID…|--all]              re-queue dead letters: the lease holder syncs their accounts again
  release [ACCOUNT…|--all]       release deactivations the breaker holds: the lease holder sends them
  sync [--dry-run]               one full reconcile now, from here (taking the connector's lease);
                                 --dry-run prints the plan (counts, then each change) and sends nothing

Every command takes --database and --config like serve; sync needs ` + MattermostTokenEnv + `.
`

// newMattermostEngine builds an engine for the mattermost: block of cfg, or says why
// it cannot run.
func newMattermostEngine(st store.Store, cfg rules.Config, log *slog.Logger, holder string) (*connector.Engine, string, error) {
	token := os.Getenv(MattermostTokenEnv)
	if token == "" {
		return nil, MattermostTokenEnv + " is not set: the connector needs a Mattermost token with system-admin rights", nil
	}
	ccfg := connector.Config{Settings: *cfg.Mattermost, DeleteMode: cfg.DeleteMode, Store: st, Logger: log, Holder: holder}
	var timeout time.Duration // 0: the client's default
	if err := connector.ConfigFromEnv(&ccfg, &timeout); err != nil {
		return nil, "", err
	}
	client, err := mattermost.New(mattermost.Config{URL: cfg.Mattermost.URL, Token: token, Timeout: timeout, UserAgent: "townsquare/" + version})
	if err != nil {
		return nil, "", err
	}
	ccfg.Client = client
	e, err := connector.New(ccfg)
	return e, "", err
}

// startMattermost runs the connector beside the server when the mapping file has a
// mattermost: block. A connector that cannot run (no token, a refused one) says so in
// one log line and in status, and the server serves SCIM all the same (/readyz is not
// its business). The returned wait blocks until the connector has stopped (ctx ended).
func startMattermost(ctx context.Context, st store.Store, cfg rules.Config, log *slog.Logger) (wait func(), err error) {
	if cfg.Mattermost == nil {
		return func() {}, nil
	}
	e, refused, err := newMattermostEngine(st, cfg, log, "")
	if err != nil {
		return nil, fmt.Errorf("mattermost: %w", err)
	}
	if refused != "" {
		log.Error("the Mattermost connector will not run", "reason", refused)
		_ = st.SetMMStatus(ctx, map[string]string{"state": connector.StateRefused, "reason": refused})
		return func() {}, nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = e.Run(ctx) // a refusal is logged and shown in status by Run
	}()
	return wg.Wait, nil
}

func cmdMattermost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, mattermostUsage)
		return errors.New("mattermost: no command given")
	}
	fs := flag.NewFlagSet("mattermost "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs)
	configPath := fs.String("config", envDefault("TOWNSQUARE_CONFIG", ""), "the mapping file (env TOWNSQUARE_CONFIG)")
	asJSON := fs.Bool("json", false, "status: print JSON")
	all := fs.Bool("all", false, "retry, release: every one")
	dryRun := fs.Bool("dry-run", false, "sync: print the plan, send nothing")
	switch args[0] {
	case "status", "retry", "release", "sync":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, mattermostUsage)
		return nil
	default:
		fmt.Fprint(stderr, mattermostUsage)
		return fmt.Errorf("mattermost: unknown command %q", args[0])
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) > maxCLIArgs {
		return fmt.Errorf("mattermost %s: at most %d names at once", args[0], maxCLIArgs)
	}
	st, cfg, err := openStore(ctx, *dsn, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx = store.WithActor(ctx, "cli")

	switch args[0] {
	case "status":
		rep, err := connector.Status(ctx, st, cfg.Mattermost, time.Now())
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		printStatus(stdout, rep)
		return nil
	case "retry":
		if *all == (len(rest) > 0) {
			return errors.New("mattermost retry: name dead letter ids, or --all")
		}
		ids := make([]int64, 0, len(rest))
		for _, a := range rest {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("mattermost retry: %q is not a dead letter id (a positive number; see mattermost status)", a)
			}
			ids = append(ids, id)
		}
		n, err := st.RequeueDeadLetters(ctx, ids, *all)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d dead letters re-queued; the connector syncs their accounts again\n", n)
		return nil
	case "release":
		if *all == (len(rest) > 0) {
			return errors.New("mattermost release: name accounts (SCIM user ids), or --all")
		}
		n, err := st.ReleaseHeld(ctx, rest, *all)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d held deactivations released; the connector sends them\n", n)
		return nil
	}

	// sync
	if cfg.Mattermost == nil {
		return errors.New("mattermost sync: the mapping file has no mattermost: block")
	}
	if *dryRun {
		m := *cfg.Mattermost
		m.DryRun = true
		cfg.Mattermost = &m
	}
	log := newLogger(stderr, "text")
	e, refused, err := newMattermostEngine(st, cfg, log, "cli-sync-"+strconv.Itoa(os.Getpid()))
	if err != nil {
		return err
	}
	if refused != "" {
		return errors.New(refused)
	}
	if err := e.Check(ctx); err != nil {
		return err
	}
	var plan *connector.Plan
	reconcile := func(ctx context.Context) (err error) {
		plan, err = e.Reconcile(ctx)
		return err
	}
	if *dryRun {
		err = reconcile(ctx) // sends nothing: no lease needed
	} else {
		err = e.WithLease(ctx, reconcile)
		if errors.Is(err, connector.ErrLeaseHeld) {
			return errors.New("mattermost sync: a running connector holds the lease (it reconciles every reconcile_every); try again when it is stopped")
		}
	}
	if plan != nil {
		if *dryRun {
			fmt.Fprint(stdout, "dry run: nothing was sent\n", plan.String())
		} else {
			fmt.Fprint(stdout, plan.String())
		}
	}
	return err
}

func printStatus(w io.Writer, r connector.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "configured\t%v\n", r.Configured)
	fmt.Fprintf(tw, "state\t%s\n", r.State)
	if r.Reason != "" {
		fmt.Fprintf(tw, "reason\t%s\n", r.Reason)
	}
	if r.Holder != "" {
		fmt.Fprintf(tw, "holder\t%s\n", r.Holder)
	}
	fmt.Fprintf(tw, "dry run\t%v\n", r.DryRun)
	fmt.Fprintf(tw, "lag\t%d entries, %.0f s\n", r.Lag.Entries, r.Lag.Seconds)
	fmt.Fprintf(tw, "last success\t%s\n", or(r.LastSuccess, "never"))
	fmt.Fprintf(tw, "last reconcile\t%s\n", or(r.LastReconcile, "never"))
	limit := "off"
	if r.Breaker.Limit > 0 {
		limit = fmt.Sprintf("%d an hour", r.Breaker.Limit)
	}
	fmt.Fprintf(tw, "breaker\t%s; %d sent in the last hour; %d held\n", limit, r.Breaker.SentLastHour, r.Breaker.Held)
	fmt.Fprintf(tw, "dead letters\t%d\n", r.DeadLetters.Count)
	tw.Flush()
	for _, h := range r.Hints {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
	if len(r.DeadLetters.First) > 0 {
		fmt.Fprintln(w, "\ndead letters (retry with: townsquare mattermost retry ID… | --all):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tACCOUNT\tCALL\tSTATUS\tERROR ID\tATTEMPTS")
		for _, d := range r.DeadLetters.First {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%d\n", d.ID, d.Account, d.Call, d.Status, d.ErrorID, d.Attempts)
		}
		tw.Flush()
	}
	if len(r.Breaker.FirstHeld) > 0 {
		fmt.Fprintln(w, "\nheld deactivations (send with: townsquare mattermost release ACCOUNT… | --all):")
		for _, h := range r.Breaker.FirstHeld {
			fmt.Fprintf(w, "  %s %s since %s released=%v\n", h.Account, h.Username, h.Since.Format(time.RFC3339), h.Released)
		}
	}
	if len(r.RecentFailures) > 0 {
		fmt.Fprintln(w, "\nrecent failures:")
		for _, f := range r.RecentFailures {
			fmt.Fprintf(w, "  %s %s %s %d %s %s\n", f.Time.Format(time.RFC3339), f.Account, f.Call, f.Status, f.ErrorID, strings.TrimSpace(f.Message))
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
