// Command townsquare is the SCIM 2.0 provisioning endpoint for Townsquare chat.
//
//	townsquare serve      run the server (SQLite townsquare.db by default)
//	townsquare migrate    apply database migrations and exit
//	townsquare plan       print what a mapping file would change, without writing
//	townsquare token      create, list and revoke API tokens
//	townsquare user       list, show, create, edit, deactivate and delete accounts
//	townsquare team       list and create teams, add and remove members
//	townsquare channel    list and create channels, add and remove members
//	townsquare events     print the change journal
//	townsquare export     write the chat state in Mattermost's bulk format
//	townsquare import     load a file in Mattermost's bulk format
//	townsquare version    print the version
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: townsquare <command> [flags]

commands:
  serve                 run the SCIM server
  migrate               apply database migrations and exit
  check                 check the provisioning rules over the whole database
  export [--output FILE|-] [--include-deactivated] [--team T]... [--auth-service S --auth-data externalId|userName|email]
                        write teams, channels and users in Mattermost's bulk format (.jsonl, or .zip)
  import FILE [--dry-run] [--verbose]
                        check, then load a Mattermost bulk file (.jsonl or .zip): teams, channels, users
  token create NAME [--scope scim,admin:read,admin:write,login]
                        create an API token (default scope: scim) and print its secret once
  token list            list API tokens (names, dates and scopes, never secrets)
  token revoke NAME     revoke an API token
  user list|search|show|create|deactivate|activate|delete|edit
                        accounts by hand, as mmctl's user commands (see "townsquare user help")
  team list|create|users add|remove|admins add|remove
                        teams, their members and admins by hand (see "townsquare team help")
  channel list|create|users add|remove|admins add|remove
                        channels (TEAM:CHANNEL), their members and admins by hand (see "townsquare channel help")
  roles system_admin|member USER...
                        make accounts system admins by hand, or take that away (see "townsquare roles help")
  plan --config NEW.yaml [--json] [--verbose]
                        print what applying a mapping file would change, without writing
  events [--after C] [--account USER] [--limit N] [--follow] [--json]
                        print the change journal: who changed what, and why
  mattermost status|retry|release|sync
                        the Mattermost connector (see "townsquare mattermost help")
  version               print the version

Run "townsquare <command> -h" for the flags of a command.
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "townsquare:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	if args[0] != "serve" {
		// What a command changes, the journal says the CLI did; a server's changes are
		// its requests' tokens' and its rules'.
		ctx = store.WithActor(ctx, store.ActorCLI)
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr)
	case "events":
		return cmdEvents(ctx, args[1:], stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, args[1:], stdout, stderr)
	case "check":
		return cmdCheck(ctx, args[1:], stdout, stderr)
	case "plan":
		return cmdPlan(ctx, args[1:], stdout, stderr)
	case "export":
		return cmdExport(ctx, args[1:], stdout, stderr)
	case "import":
		return cmdImport(ctx, args[1:], stdout, stderr)
	case "token":
		return cmdToken(ctx, args[1:], stdout, stderr)
	case "conformance":
		return cmdConformance(ctx, args[1:], stdout, stderr)
	case "mattermost":
		return cmdMattermost(ctx, args[1:], stdout, stderr)
	case "user", "team", "channel", "roles":
		return cmdAdmin(ctx, args[0], args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "townsquare", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

// envDefault returns the environment variable's value, or def when it is unset: every
// flag has an environment twin so containers can be configured without arguments.
func envDefault(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// defaultJournalRetention is how long the change journal keeps entries unless
// --journal-retention says otherwise: 90 days.
const defaultJournalRetention = 90 * 24 * time.Hour

// certWatchInterval is how often serve looks for a renewed TLS certificate; SIGHUP makes
// it look at once.
const certWatchInterval = 10 * time.Second

// positiveDuration parses a duration flag's value ("30s", "2m"), which must be above zero.
func positiveDuration(flagName, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration such as 30s or 2m", flagName, v)
	}
	return d, nil
}

// openStore loads the mapping file at configPath (the built-in defaults when "") and
// opens the database at dsn, migrated, with those rules: every command that changes
// provisioning applies the rules the servers apply, so it must load the same file.
func openStore(ctx context.Context, dsn, configPath string) (*sqlstore.Store, rules.Config, error) {
	cfg, err := rules.Load(configPath)
	if err != nil {
		return nil, rules.Config{}, err
	}
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, rules.Config{}, err
	}
	st.SetRules(cfg)
	return st, cfg, nil
}

// dbFlag registers --database on fs.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("database", envDefault("TOWNSQUARE_DATABASE", sqlstore.DefaultSQLitePath),
		"database: a SQLite file path, or a postgres:// URL (env TOWNSQUARE_DATABASE)")
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envDefault("TOWNSQUARE_ADDR", "127.0.0.1:8080"), "listen address (env TOWNSQUARE_ADDR)")
	dsn := dbFlag(fs)
	baseURL := fs.String("base-url", envDefault("TOWNSQUARE_BASE_URL", ""),
		"public URL of the SCIM root, e.g. https://chat.example.com/scim/v2 (env TOWNSQUARE_BASE_URL; default http://ADDR/scim/v2)")
	logFormat := fs.String("log-format", envDefault("TOWNSQUARE_LOG_FORMAT", "text"), "log format: text or json (env TOWNSQUARE_LOG_FORMAT)")
	configPath := fs.String("config", envDefault("TOWNSQUARE_CONFIG", ""),
		"YAML file mapping IdP groups to teams and channels (env TOWNSQUARE_CONFIG; default: built-in defaults, see README)")
	limits := server.DefaultLimits()
	maxConns := server.DefaultMaxConns
	var nums numFlags
	nums.float(fs, &limits.TokenRate, "rate-limit", "TOWNSQUARE_RATE_LIMIT", "requests per second per token; 0: no limit")
	nums.int(fs, &limits.TokenBurst, "rate-burst", "TOWNSQUARE_RATE_BURST", "requests a token may send at once beyond its rate; 0: no limit")
	nums.float(fs, &limits.AuthFailRate, "auth-fail-limit", "TOWNSQUARE_AUTH_FAIL_LIMIT",
		"failed authentications per second per client address; 0: no limit")
	nums.int(fs, &limits.AuthFailBurst, "auth-fail-burst", "TOWNSQUARE_AUTH_FAIL_BURST",
		"failed authentications a client address may make at once; 0: no limit")
	nums.int(fs, &maxConns, "max-conns", "TOWNSQUARE_MAX_CONNS", "connections held open at once; 0: no cap")
	tlsCert := fs.String("tls-cert", envDefault("TOWNSQUARE_TLS_CERT", ""),
		"PEM certificate (chain) to serve HTTPS with, read again on SIGHUP and when it changes (env TOWNSQUARE_TLS_CERT)")
	tlsKey := fs.String("tls-key", envDefault("TOWNSQUARE_TLS_KEY", ""), "PEM private key of --tls-cert (env TOWNSQUARE_TLS_KEY)")
	metricsAddr := fs.String("metrics-addr", envDefault("TOWNSQUARE_METRICS_ADDR", ""),
		"listen address of Prometheus metrics at /metrics, apart from the SCIM port; unauthenticated, so a private address (env TOWNSQUARE_METRICS_ADDR; default: no metrics)")
	requestTimeout := fs.String("request-timeout", envDefault("TOWNSQUARE_REQUEST_TIMEOUT", server.DefaultRequestTimeout.String()),
		"the deadline of every request and of the statements it runs; past it the answer is 503 (env TOWNSQUARE_REQUEST_TIMEOUT)")
	retentionFlag := fs.String("journal-retention", envDefault("TOWNSQUARE_JOURNAL_RETENTION", defaultJournalRetention.String()),
		"how long the change journal keeps entries (pruned hourly, never past a consumer's cursor); 0 keeps them forever (env TOWNSQUARE_JOURNAL_RETENTION)")
	// No environment twin: an acceptance is for one start, and a variable left set in a
	// container's environment would accept every later change unseen.
	acceptMappingChange := fs.Bool("accept-mapping-change", false,
		"apply a changed mapping file even when it removes more memberships than its max_removals_on_reload allows (see \"townsquare plan\")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := nums.check(); err != nil {
		return err
	}
	retention, err := journalRetention(*retentionFlag)
	if err != nil {
		return err
	}
	timeout, err := positiveDuration("--request-timeout", *requestTimeout)
	if err != nil {
		return err
	}
	if timeout > server.MaxRequestTimeout {
		return fmt.Errorf("--request-timeout %s: at most %s", timeout, server.MaxRequestTimeout)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both, or neither")
	}
	log := newLogger(stderr, *logFormat)
	bootstrap := os.Getenv("TOWNSQUARE_TOKEN")
	if err := checkBootstrapToken(bootstrap, *addr, log); err != nil {
		return err
	}
	var certs *server.CertReloader
	if *tlsCert != "" {
		if certs, err = server.NewCertReloader(*tlsCert, *tlsKey, log); err != nil {
			return fmt.Errorf("--tls-cert and --tls-key: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The mapping rules are checked before the server starts: a rule naming something
	// invalid is an error at start-up, never at request time.
	st, cfg, err := openStore(ctx, *dsn, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := applyMapping(ctx, st, store.ApplyOptions{AcceptRemovals: *acceptMappingChange}, log); err != nil {
		return err
	}

	if bootstrap == "" {
		if err := ensureFirstToken(ctx, st, stdout); err != nil {
			return err
		}
	}
	if retention > 0 {
		go pruneJournal(ctx, st, retention, pruneEvery, log)
	}

	var metrics *server.Metrics
	var metricsLn net.Listener
	if *metricsAddr != "" {
		metrics = server.NewMetrics()
		metrics.WatchDB(st.DB().DB, st.Backend())
		if metricsLn, err = net.Listen("tcp", *metricsAddr); err != nil {
			return fmt.Errorf("listen on %s (--metrics-addr): %w", *metricsAddr, err)
		}
		defer metricsLn.Close()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	ln = server.LimitListener(ln, maxConns)
	scheme := "http"
	if certs != nil {
		scheme = "https"
		ln = tls.NewListener(ln, certs.TLSConfig())
		go certs.Watch(ctx, certWatchInterval)
	} else if !server.IsLoopback(ln.Addr().String()) {
		log.Warn("listening on a non-loopback address without TLS: bearer tokens and personal data cross the network in clear; "+
			"serve HTTPS with --tls-cert and --tls-key, or only behind a proxy that terminates TLS", "addr", ln.Addr().String())
	}
	// SIGHUP reloads what can be reloaded (the TLS pair) and never stops the server, as
	// Go's default would: an operator's reload must not become an outage.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func(done <-chan struct{}) {
		for {
			select {
			case <-done:
				return
			case <-hup:
				if certs != nil {
					_ = certs.Reload() // logs its outcome
				} else {
					log.Info("SIGHUP: nothing to reload (no --tls-cert); still serving")
				}
			}
		}
	}(ctx.Done())
	if *baseURL == "" {
		*baseURL = scheme + "://" + ln.Addr().String() + server.SCIMPrefix
	}
	h, err := server.Handler(server.Config{Store: st, Log: log, BaseURL: *baseURL, BootstrapToken: bootstrap,
		Limits: limits, RequestTimeout: timeout, Metrics: metrics, Mattermost: cfg.Mattermost})
	if err != nil {
		ln.Close()
		return err
	}
	waitMattermost, err := startMattermost(ctx, st, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer waitMattermost() // before st closes
	log.Info("townsquare listening", "addr", ln.Addr().String(), "tls", certs != nil, "scim", *baseURL,
		"database", st.Backend(), "config", *configPath, "default_team", cfg.DefaultTeam,
		"delete_mode", cfg.DeleteMode, "rules", len(cfg.Groups), "rate_limit", limits.TokenRate, "rate_burst", limits.TokenBurst,
		"auth_fail_limit", limits.AuthFailRate, "auth_fail_burst", limits.AuthFailBurst, "max_conns", maxConns,
		"version", versionString())
	if metricsLn == nil {
		return server.Serve(ctx, ln, h, log, 20*time.Second)
	}
	log.Info("metrics listening", "addr", metricsLn.Addr().String(), "path", "/metrics")
	// Either server's end ends the other.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	metricsDone := make(chan error, 1)
	go func() {
		defer cancel()
		metricsDone <- server.Serve(ctx, metricsLn, server.MetricsHandler(metrics), log, 5*time.Second)
	}()
	err = server.Serve(ctx, ln, h, log, 20*time.Second)
	cancel()
	if merr := <-metricsDone; err == nil && merr != nil {
		err = fmt.Errorf("metrics: %w", merr)
	}
	return err
}

// MinBootstrapToken is the shortest TOWNSQUARE_TOKEN a server accepts on an address
// other clients can reach. The variable cannot be revoked without a restart, so it must
// not be guessable: 32 characters of a random secret.
const MinBootstrapToken = 32

// checkBootstrapToken refuses a TOWNSQUARE_TOKEN shorter than MinBootstrapToken when the
// server would listen on an address that is not loopback, and warns about one on
// loopback (tests, CI and local tools use short ones there).
func checkBootstrapToken(token, addr string, log *slog.Logger) error {
	n := utf8.RuneCountInString(token)
	if token == "" || n >= MinBootstrapToken {
		return nil
	}
	if !server.IsLoopback(addr) {
		return fmt.Errorf("TOWNSQUARE_TOKEN is %d characters long; a server listening on %s (not a loopback address) "+
			"needs one of at least %d: use a random secret (for example the output of \"openssl rand -hex 32\"), "+
			"or unset it and use a stored token (\"townsquare token create\")", n, addr, MinBootstrapToken)
	}
	log.Warn("TOWNSQUARE_TOKEN is short; it is accepted only because the server listens on a loopback address",
		"length", n, "minimum_elsewhere", MinBootstrapToken, "addr", addr)
	return nil
}

// numFlags registers numeric flags whose defaults come from environment twins, keeping
// the first malformed twin's error for check.
type numFlags struct {
	err    error
	checks []func() error
}

func (n *numFlags) float(fs *flag.FlagSet, p *float64, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil && n.err == nil {
			n.err = fmt.Errorf("%s=%q: want a number", env, v)
		}
		*p = f
	}
	fs.Float64Var(p, name, *p, fmt.Sprintf("%s (env %s)", usage, env))
	n.checks = append(n.checks, func() error {
		if *p < 0 || math.IsNaN(*p) || math.IsInf(*p, 0) {
			return fmt.Errorf("--%s %v: want a number of at least 0", name, *p)
		}
		return nil
	})
}

func (n *numFlags) int(fs *flag.FlagSet, p *int, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil && n.err == nil {
			n.err = fmt.Errorf("%s=%q: want a whole number", env, v)
		}
		*p = i
	}
	fs.IntVar(p, name, *p, fmt.Sprintf("%s (env %s)", usage, env))
	n.checks = append(n.checks, func() error {
		if *p < 0 {
			return fmt.Errorf("--%s %d: want a whole number of at least 0", name, *p)
		}
		return nil
	})
}

// check reports a malformed environment twin, or a value out of range.
func (n *numFlags) check() error {
	if n.err != nil {
		return n.err
	}
	for _, c := range n.checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

// ensureFirstToken creates and prints a token named "default" with every scope when the
// database has none, so that the first run needs no extra step. The secret is shown
// only here.
func ensureFirstToken(ctx context.Context, st store.Store, stdout io.Writer) error {
	secret, err := server.NewTokenSecret()
	if err != nil {
		return err
	}
	created, err := st.CreateFirstToken(ctx, "default", server.HashToken(secret), store.AllScopes)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "No API token existed, so one was created with every scope. It is shown only this once:\n\n"+
			"    name:   default\n    scopes: %s\n    token:  %s\n\n"+
			"Send it as \"Authorization: Bearer <token>\". Give an IdP a token of its own with only the scim scope:\n"+
			"\"townsquare token create okta\". Manage tokens with \"townsquare token\".\n\n", store.ScopeList(store.AllScopes), secret)
	}
	return nil
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := sqlstore.Connect(ctx, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.MigrateCount(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s) to the %s database\n", n, st.Backend())
	return nil
}

// cmdCheck runs the store's invariant checker: every active account in a team, every
// team member in its team-join channels, every membership granted by something. It
// prints each violation and fails if there is any.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs)
	configPath := fs.String("config", envDefault("TOWNSQUARE_CONFIG", ""), "the mapping file the servers use (env TOWNSQUARE_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, _, err := openStore(ctx, *dsn, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	violations, err := st.CheckInvariants(ctx)
	if err != nil {
		return err
	}
	for _, v := range violations {
		fmt.Fprintln(stdout, v)
	}
	if len(violations) > 0 {
		return fmt.Errorf("%d violation(s) of the provisioning rules", len(violations))
	}
	fmt.Fprintln(stdout, "all provisioning rules hold")
	return nil
}

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const tokenUsage = "usage: townsquare token create NAME [--scope scim,admin:read,admin:write,login] | list | revoke NAME [--database DSN]"
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs)
	var scopeArgs []string
	if sub == "create" {
		fs.Func("scope", fmt.Sprintf("the token's scopes, comma-separated or repeated: %s (default %s, what an IdP needs)",
			store.ScopeList(store.AllScopes), store.ScopeSCIM), func(v string) error {
			scopeArgs = append(scopeArgs, v)
			return nil
		})
	}
	// Accept the name before or after the flags.
	var name string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	needsName := sub == "create" || sub == "revoke"
	if needsName && strings.TrimSpace(name) == "" {
		return errors.New(tokenUsage)
	}
	if sub != "create" && sub != "list" && sub != "revoke" {
		return fmt.Errorf("unknown token command %q; %s", sub, tokenUsage)
	}
	scopes := []store.Scope{store.ScopeSCIM}
	if len(scopeArgs) > 0 {
		var err error
		if scopes, err = store.ParseScopes(strings.Join(scopeArgs, ",")); err != nil {
			return fmt.Errorf("--scope: %w", err)
		}
	}
	st, err := sqlstore.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "create":
		secret, err := server.NewTokenSecret()
		if err != nil {
			return err
		}
		if err := st.CreateToken(ctx, name, server.HashToken(secret), scopes); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("a token named %q already exists", name)
			}
			return err
		}
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "token %q created with scopes %s; its secret (above) is shown only this once\n", name, store.ScopeList(scopes))
	case "list":
		toks, err := st.ListTokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tSCOPES")
		for _, t := range toks {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Created.Format(time.RFC3339), store.ScopeList(t.Scopes))
		}
		tw.Flush()
	case "revoke":
		if err := st.RevokeToken(ctx, name); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no token named %q", name)
			}
			return err
		}
		fmt.Fprintf(stdout, "token %q revoked; running servers refuse it within 5 seconds\n", name)
	}
	return nil
}
