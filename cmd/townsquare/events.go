package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
)

// followInterval is how often "townsquare events --follow" asks for new entries.
var followInterval = time.Second

// cmdEvents prints the change journal: one page after --after (of --account's entries
// only, when given), or with --follow every entry as it comes until interrupted.
func cmdEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs)
	after := fs.Int64("after", 0, "print the entries after this cursor (0: from the start)")
	account := fs.String("account", "", "only this account's entries: its SCIM id, chat username or email")
	limit := fs.Int("limit", store.DefaultEventPage, fmt.Sprintf("the most entries to print, 1 to %d (with --follow: per poll)", store.MaxEventPage))
	follow := fs.Bool("follow", false, "keep printing new entries as they are journalled, until interrupted")
	asJSON := fs.Bool("json", false, "print each entry as a JSON object on a line of its own, as GET /api/v1/events has them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("events takes no arguments (got %q); name an account with --account", fs.Arg(0))
	}
	if *after < 0 {
		return fmt.Errorf("--after %d: want a cursor of at least 0", *after)
	}
	if *limit < 1 || *limit > store.MaxEventPage {
		return fmt.Errorf("--limit %d: want 1 to %d", *limit, store.MaxEventPage)
	}
	st, err := sqlstore.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	q := store.EventQuery{After: *after, Limit: *limit}
	if *account != "" {
		if q.Account, err = st.AccountID(ctx, *account); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("--account: no account with the id, username or email %q", *account)
			}
			return fmt.Errorf("--account: %w", err)
		}
	}
	show := func(e store.Event) {
		if *asJSON {
			b, _ := json.Marshal(server.NewEventJSON(e)) // our own type: always marshals
			fmt.Fprintf(stdout, "%s\n", b)
			return
		}
		fmt.Fprintln(stdout, eventLine(e))
	}
	if !*follow {
		es, err := st.Events(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range es {
			show(e)
		}
		if len(es) == q.PageSize() {
			fmt.Fprintf(stderr, "more entries follow: --after %d\n", es[len(es)-1].Cursor)
		}
		return nil
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	for {
		es, err := st.Events(ctx, q)
		if ctx.Err() != nil {
			return nil // interrupted: the end of following, not an error
		}
		if err != nil {
			return err
		}
		for _, e := range es {
			show(e)
			q.After = e.Cursor
		}
		if len(es) == q.PageSize() {
			continue // more waiting: no pause
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followInterval):
		}
	}
}

// eventLine renders an entry for people: time, actor, kind, account, team/channel,
// source, the attributes that changed, and the request id, separated by two spaces, "-"
// for what the entry does not name.
//
//	2026-12-02T14:03:11Z  okta-prod  channel.left  alice  engineering/backend  group:Backend  req=4f1c…
func eventLine(e store.Event) string {
	or := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	who := e.Username
	if who == "" {
		who = e.Account
	}
	where := e.Team
	if e.Channel != "" {
		where += "/" + e.Channel
	}
	parts := []string{e.Time.UTC().Format(time.RFC3339), or(e.Actor), string(e.Kind), or(who), or(where), or(e.Source)}
	switch e.Kind {
	case store.EventAccountUpdated, store.EventTeamUpdated, store.EventChannelUpdated, // the changed keys
		store.EventAccountRoles, store.EventTeamRoles, store.EventChannelRoles: // the role strings
		for _, k := range slices.Sorted(maps.Keys(e.After)) {
			parts = append(parts, fmt.Sprintf("%s: %q → %q", k, e.Before[k], e.After[k]))
		}
	}
	if e.RequestID != "" {
		parts = append(parts, "req="+e.RequestID)
	}
	return strings.Join(parts, "  ")
}

// pruneEvery is how often serve prunes the journal.
const pruneEvery = time.Hour

// pruneJournal deletes journal entries older than retention every interval, the first
// time at once, until ctx ends. Any replica may run it: a prune is idempotent, and never
// deletes an entry a consumer has not passed (store.Journal.PruneEvents).
func pruneJournal(ctx context.Context, st store.Journal, retention, interval time.Duration, log *slog.Logger) {
	for {
		n, err := st.PruneEvents(ctx, time.Now().Add(-retention))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("pruning the change journal failed; trying again later", "err", err)
		case n > 0:
			log.Info("change journal pruned", "entries", n, "older_than", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// journalRetention parses --journal-retention: a duration of at least 0 (0 keeps the
// journal forever).
func journalRetention(v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--journal-retention: %q is not a duration such as 2160h (90 days), or 0 to keep every entry", v)
	}
	return d, nil
}
