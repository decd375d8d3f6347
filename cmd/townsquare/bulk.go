package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/jsonl"
	"github.com/townsquare/townsquare/store/rules"
)

const exportUsage = `usage: townsquare export [--output FILE|-] [--include-deactivated] [--team T]...
                         [--auth-service S --auth-data externalId|userName|email] [--database …] [--config …]

Writes the teams, channels and users (with their memberships) in Mattermost's bulk
loading format: a .jsonl, or a .zip holding data.jsonl when FILE ends in .zip (what
"mmctl import upload" takes). "-" (the default) is standard output.`

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, exportUsage); fs.PrintDefaults() }
	dsn := dbFlag(fs)
	configPath := fs.String("config", envDefault("TOWNSQUARE_CONFIG", ""),
		"the mapping file; its mattermost: block gives the default --auth-service and --auth-data (env TOWNSQUARE_CONFIG)")
	output := fs.String("output", "-", `the file to write ("-": standard output); a name ending in .zip writes a zip holding data.jsonl`)
	inactive := fs.Bool("include-deactivated", false, "export deactivated accounts too, with delete_at")
	var teams stringList
	fs.Var(&teams, "team", "export only this team, its channels and its members (repeatable)")
	authService := fs.String("auth-service", "", "auth_service of every user: "+strings.Join(rules.AuthServices, ", ")+
		` (default: the mattermost: block's, else saml; "email" writes no auth fields)`)
	authData := fs.String("auth-data", "", "what auth_data holds: "+strings.Join(rules.AuthDataSources, ", ")+
		" (default: the mattermost: block's, else externalId)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export takes no arguments (got %q); name the file with --output", fs.Arg(0))
	}
	if *authService != "" && !slicesContains(rules.AuthServices, *authService) {
		return fmt.Errorf("--auth-service %q: use one of %s", *authService, strings.Join(rules.AuthServices, ", "))
	}
	if *authData != "" && !slicesContains(rules.AuthDataSources, *authData) {
		return fmt.Errorf("--auth-data %q: use one of %s", *authData, strings.Join(rules.AuthDataSources, ", "))
	}
	st, cfg, err := openStore(ctx, *dsn, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	// The flags win over the mapping file's mattermost: block (which rules.Load has
	// checked), and that over saml and externalId.
	svc, data := "saml", rules.AuthDataExternalID
	if cfg.Mattermost != nil {
		svc, data = cfg.Mattermost.AuthService, cfg.Mattermost.AuthData
	}
	if *authService != "" {
		svc = *authService
	}
	if *authData != "" {
		data = *authData
	}
	opts := jsonl.ExportOptions{
		Query:       store.ExportQuery{IncludeDeactivated: *inactive, Teams: teams},
		AuthService: svc, AuthData: data, Version: version,
		Zip: strings.HasSuffix(strings.ToLower(*output), ".zip"),
	}
	var rep jsonl.ExportReport
	if *output == "-" {
		rep, err = jsonl.Export(ctx, st, stdout, opts)
	} else {
		rep, err = exportFile(ctx, st, *output, opts)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) && len(teams) > 0 {
			return fmt.Errorf("--team: %w (a name that is no team)", err)
		}
		return err
	}
	to := *output
	if to == "-" {
		to = "standard output"
	}
	fmt.Fprintf(stderr, "exported %d teams, %d channels, %d users to %s\n", rep.Teams, rep.Channels, rep.Users, to)
	return nil
}

// exportFile writes the export to a temporary file beside path and renames it to path
// once complete, so that path is never a half-written export. It is created readable by
// its owner only: it lists every person's email.
func exportFile(ctx context.Context, b store.Bulk, path string, opts jsonl.ExportOptions) (jsonl.ExportReport, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".townsquare-export-*")
	if err != nil {
		return jsonl.ExportReport{}, err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	rep, err := jsonl.Export(ctx, b, f, opts)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return rep, err
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

const importUsage = `usage: townsquare import FILE [--dry-run] [--verbose] [--database …] [--config …]

FILE is a file (not standard input: it is read twice, to check, then to apply).

Reads a .jsonl in Mattermost's bulk loading format, or a .zip holding one, and creates or
updates its teams, channels and users with their memberships. Every line is checked
first, as Mattermost's importer checks it: with any error nothing is written. Prints the
counts, then warnings (what Townsquare does not keep), then errors as "line N: field".`

// progressEvery is how many batches (of up to 5,000 users) import applies between two
// lines of progress on stderr: about one line every few seconds at 100k users.
var progressEvery = 10

func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importUsage); fs.PrintDefaults() }
	dsn := dbFlag(fs)
	configPath := fs.String("config", envDefault("TOWNSQUARE_CONFIG", ""), "the mapping file the servers use (env TOWNSQUARE_CONFIG)")
	dryRun := fs.Bool("dry-run", false, "check the file and print what would change; write nothing")
	verbose := fs.Bool("verbose", false, "print every change (or, with --dry-run, every change it would make)")
	// Accept the file before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("import takes one file (got also %q)", fs.Arg(0))
	}
	if file == "" {
		fmt.Fprintln(stderr, importUsage)
		return errors.New("import: no file given")
	}
	if _, err := os.Stat(file); err != nil {
		return err
	}
	st, cfg, err := openStore(ctx, *dsn, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	attachments, err := jsonl.ZipAttachments(file)
	if err != nil {
		return err
	}
	teamChannels := []string{rules.TownSquare, rules.OffTopic}
	for _, c := range cfg.TeamJoinChannels() {
		if !slicesContains(teamChannels, c) {
			teamChannels = append(teamChannels, c)
		}
	}
	rep, err := jsonl.Import(ctx, st, st, jsonl.FileSource(file), jsonl.ImportOptions{
		DryRun: *dryRun, Verbose: *verbose, TeamChannels: teamChannels, DefaultTeam: cfg.DefaultTeam,
		HashPassword: resources.HashPassword,
		Progress: func(r *jsonl.Report) {
			if r.Batches%progressEvery == 0 {
				fmt.Fprintf(stderr, "%d batches applied: %d users created, %d updated so far\n",
					r.Batches, r.Applied.UsersCreated, r.Applied.UsersUpdated)
			}
		},
	})
	if rep == nil {
		return err
	}
	rep.Attachments = attachments
	printImport(stdout, rep, *dryRun, err == nil)
	if errors.Is(err, jsonl.ErrInvalidFile) {
		return fmt.Errorf("%d error(s) in %s: nothing was imported", rep.ErrorCount, file)
	}
	return err
}

// printImport writes the report: what was read, what changed, warnings, errors.
func printImport(w io.Writer, rep *jsonl.Report, dryRun, applied bool) {
	var types []string
	for _, t := range []string{jsonl.TypeVersion, jsonl.TypeScheme, jsonl.TypeRole, jsonl.TypeEmoji, jsonl.TypeTeam, jsonl.TypeChannel,
		jsonl.TypeUser, jsonl.TypeBot, jsonl.TypePost, jsonl.TypeDirectChannel, jsonl.TypeDirectPost} {
		if n := rep.Types[t]; n > 0 {
			types = append(types, fmt.Sprintf("%s %d", t, n))
		}
	}
	fmt.Fprintf(w, "read %d lines: %s\n", rep.Lines, strings.Join(types, ", "))
	if rep.ErrorCount == 0 {
		a := rep.Applied
		verb := "changed"
		if dryRun {
			verb = "would change (dry run: nothing was written)"
		} else if !applied {
			verb = "changed before the import stopped (run it again to finish: it is idempotent)"
		}
		fmt.Fprintf(w, "%s in %d batch(es):\n", verb, rep.Batches)
		fmt.Fprintf(w, "  teams: %d created, %d updated\n", a.TeamsCreated, a.TeamsUpdated)
		fmt.Fprintf(w, "  channels: %d created, %d updated\n", a.ChannelsCreated, a.ChannelsUpdated)
		fmt.Fprintf(w, "  users: %d created, %d updated, %d deactivated, %d reactivated\n",
			a.UsersCreated, a.UsersUpdated, a.UsersDeactivated, a.UsersReactivated)
		fmt.Fprintf(w, "  memberships added: %d team, %d channel\n", a.TeamMembershipsAdded, a.ChannelMembershipsAdded)
		fmt.Fprintf(w, "  admin roles granted: %d\n", a.RolesGranted)
		for _, c := range a.Changes {
			fmt.Fprintln(w, "    "+c)
		}
	}
	for _, s := range rep.Warnings() {
		fmt.Fprintln(w, "warning: "+s)
	}
	for _, e := range rep.Errors {
		fmt.Fprintln(w, "error: "+e.Error())
	}
	if n := rep.ErrorCount - len(rep.Errors); n > 0 {
		fmt.Fprintf(w, "error: … and %d more (only the first %d are listed)\n", n, jsonl.MaxErrors)
	}
}
