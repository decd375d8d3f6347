package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
)

// cmdPlan prints what installing a mapping file and applying it (as serve does at
// start-up) would change in the database, without writing: per team and channel the
// joins, leaves, roles gained and lost and new guests; the totals; and whether serve
// would refuse it (max_removals_on_reload). --verbose lists each change; --json prints
// the plan as one JSON object.
func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs)
	configPath := fs.String("config", envDefault("TOWNSQUARE_CONFIG", ""), "the proposed mapping file (env TOWNSQUARE_CONFIG: the servers' file, edited)")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	verbose := fs.Bool("verbose", false, fmt.Sprintf("list each change too (at most %d)", store.MaxPlanChanges))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("plan takes no argument (%q); name the mapping file with --config", fs.Arg(0))
	}
	if *configPath == "" {
		return errors.New("plan needs --config NEW.yaml, the mapping file to plan")
	}
	cfg, err := rules.Load(*configPath)
	if err != nil {
		return err
	}
	// Connect, not Open: a plan writes nothing, migrations included.
	st, err := sqlstore.Connect(ctx, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Ready(ctx); err != nil {
		return fmt.Errorf("%w (a database this build has not migrated yet: run \"townsquare migrate\", as serve does at start-up, then plan again)", err)
	}
	plan, err := st.PlanRules(ctx, cfg, *verbose)
	if err != nil {
		return err
	}
	if *asJSON {
		if plan.Teams == nil {
			plan.Teams = []store.TargetPlan{}
		}
		if plan.Channels == nil {
			plan.Channels = []store.TargetPlan{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	fmt.Fprintln(stdout, plan.Summary())
	for _, l := range plan.Lines() {
		fmt.Fprintln(stdout, "  "+l)
	}
	if !plan.Changed {
		return nil
	}
	if plan.WithinLimit {
		fmt.Fprintf(stdout, "serve applies it at start-up: %d of %d memberships removed is within max_removals_on_reload (%s)\n",
			plan.Removals, plan.MembershipsBefore, plan.Limit)
	} else {
		fmt.Fprintf(stdout, "serve refuses it at start-up: %d of %d memberships removed is more than max_removals_on_reload (%s) allows; start it with %s to apply it\n",
			plan.Removals, plan.MembershipsBefore, plan.Limit, store.AcceptMappingChangeFlag)
	}
	if *verbose {
		fmt.Fprintln(stdout, "changes:")
		for _, c := range plan.Changes {
			fmt.Fprintln(stdout, "  "+c.String())
		}
		if plan.ChangesLeftOut > 0 {
			fmt.Fprintf(stdout, "  … and %d more changes, left out\n", plan.ChangesLeftOut)
		}
	}
	return nil
}

// applyMapping is serve's start-up apply of the mapping: it logs what the change does
// (one line with the totals, then one per team and channel) before the change is
// committed, and refuses to start when the change removes more memberships than
// max_removals_on_reload allows, unless opts accepts it (the refused change is logged
// too, as not applied).
func applyMapping(ctx context.Context, st store.Store, opts store.ApplyOptions, log *slog.Logger) error {
	logPlan := func(plan store.RulesPlan, applied bool) {
		log.Info(plan.Summary(), "groups", plan.GroupsRemapped, "removals", plan.Removals,
			"memberships", plan.MembershipsBefore, "max_removals_on_reload", plan.Limit, "within_limit", plan.WithinLimit,
			"applied", applied)
		for _, l := range plan.Lines() {
			log.Info("mapping change: " + l)
		}
	}
	logged := false
	opts.BeforeCommit = func(p store.RulesPlan) {
		if !logged {
			logPlan(p, true)
			logged = true
		}
	}
	plan, err := st.ApplyRules(ctx, opts)
	if plan.Changed && !logged {
		logPlan(plan, false)
	}
	var refused *store.RefusedError
	if errors.As(err, &refused) && refused.Code == store.CodeTooManyRemovals {
		return fmt.Errorf("the mapping file changed and was not applied: %s (\"townsquare plan --config FILE\" shows the change)", refused.Reason)
	}
	if err != nil {
		return err
	}
	if plan.Changed && !plan.WithinLimit {
		log.Warn("mapping change applied over max_removals_on_reload, as "+store.AcceptMappingChangeFlag+" asked", "removals", plan.Removals)
	}
	return nil
}
