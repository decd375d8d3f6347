package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
)

// The admin's hands on the command line, in mmctl's manner: "townsquare user …",
// "townsquare team …" and "townsquare channel …" (issue 13), and roles by hand
// ("townsquare roles …", "team admins …", "channel admins …"; issue 14). Each command opens the
// database with the mapping file's rules (openStore), so that what it writes keeps every
// provisioning rule the servers keep, and run has put the actor "cli" on ctx for the
// journal. A command naming several accounts changes each in a transaction of its own,
// prints a line for each, and fails when any failed, naming them.

// Limits of the admin commands' arguments. The store bounds every value it is given;
// these bound how much one command line asks for.
const (
	maxAdminArgs   = 1000    // accounts one command names
	defaultPerPage = 200     // mmctl's page size
	maxListPage    = 1000000 // --page: with --per-page 1000, a billion accounts deep
	// maxChannelArg bounds a TEAM:CHANNEL argument: two names and a separator.
	maxChannelArg = 2*store.MaxNameLength + 1
)

// PasswordEnv holds a password for "user create" instead of --password, which would
// stay in the shell's history and show in ps.
const PasswordEnv = "TOWNSQUARE_PASSWORD"

// usageError is a command line refused before any store call: a missing or extra
// argument, an unknown command or flag, a value out of its bounds. The scenario tests
// tell it from the store's errors (whose code store.ErrorCode gives).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// adminCommand is one admin command: "user list", "team users add", ….
type adminCommand struct {
	synopsis string // the arguments after the command's name
	help     string // what it does, for -h
	run      func(c *adminCall) error
}

// adminCommands are the admin commands by their words; each group's help lists its
// commands in this order.
var adminCommands = []struct {
	name string
	adminCommand
}{
	{"user list", userListCmd},
	{"user search", userSearchCmd},
	{"user show", userShowCmd},
	{"user create", userCreateCmd},
	{"user deactivate", userDeactivateCmd},
	{"user activate", userActivateCmd},
	{"user delete", userDeleteCmd},
	{"user edit authdata", userEditCmd("authdata")},
	{"user edit email", userEditCmd("email")},
	{"user edit username", userEditCmd("username")},
	{"team list", teamListCmd},
	{"team create", teamCreateCmd},
	{"team users add", teamUsersCmd(true)},
	{"team users remove", teamUsersCmd(false)},
	{"team admins add", teamAdminsCmd(true)},
	{"team admins remove", teamAdminsCmd(false)},
	{"channel list", channelListCmd},
	{"channel create", channelCreateCmd},
	{"channel users add", channelUsersCmd(true)},
	{"channel users remove", channelUsersCmd(false)},
	{"channel admins add", channelAdminsCmd(true)},
	{"channel admins remove", channelAdminsCmd(false)},
	{"roles system_admin", rolesCmd(true)},
	{"roles member", rolesCmd(false)},
}

func findAdminCommand(name string) (adminCommand, bool) {
	for _, c := range adminCommands {
		if c.name == name {
			return c.adminCommand, true
		}
	}
	return adminCommand{}, false
}

// isAdminPrefix reports whether name is an admin command or the start of one's words.
func isAdminPrefix(name string) bool {
	for _, c := range adminCommands {
		if c.name == name || strings.HasPrefix(c.name, name+" ") {
			return true
		}
	}
	return false
}

// adminUsage lists the commands whose words start with prefix ("user", "team users").
func adminUsage(prefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: townsquare %s <command> [flags]\n\ncommands:\n", prefix)
	for _, c := range adminCommands {
		if strings.HasPrefix(c.name, prefix+" ") {
			fmt.Fprintf(&b, "  townsquare %s %s\n", c.name, c.synopsis)
		}
	}
	fmt.Fprintf(&b, "\nEvery command takes --database and --config (the mapping file the servers use).\n"+
		"USER is an email, a chat username or a SCIM id. Run \"townsquare %s <command> -h\" for one command's help.\n", prefix)
	return b.String()
}

// cmdAdmin runs the admin command whose words start args (after group, "user", "team"
// or "channel").
func cmdAdmin(ctx context.Context, group string, args []string, stdout, stderr io.Writer) error {
	name := group
	for len(args) > 0 && isAdminPrefix(name+" "+args[0]) {
		name, args = name+" "+args[0], args[1:]
	}
	cmd, ok := findAdminCommand(name)
	if !ok {
		switch {
		case len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help"):
			fmt.Fprint(stdout, adminUsage(name))
			return nil
		case len(args) == 0 || strings.HasPrefix(args[0], "-"):
			fmt.Fprint(stderr, adminUsage(name))
			return usagef("%s: no command given", name)
		}
		fmt.Fprint(stderr, adminUsage(name))
		return usagef("unknown command %q of %q", args[0], "townsquare "+name)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: townsquare %s %s\n\n%s\n\nflags:\n", name, cmd.synopsis, cmd.help)
		fs.PrintDefaults()
	}
	c := &adminCall{ctx: ctx, name: name, synopsis: cmd.synopsis, stdout: stdout, stderr: stderr, fs: fs, rawArgs: args}
	c.dsn = dbFlag(fs)
	c.configPath = fs.String("config", envDefault("TOWNSQUARE_CONFIG", ""),
		"the mapping file the servers use; changes keep its rules (env TOWNSQUARE_CONFIG)")
	defer c.close()
	return cmd.run(c)
}

// adminCall is one run of an admin command: its flags, arguments and store.
type adminCall struct {
	ctx            context.Context
	name, synopsis string
	stdout, stderr io.Writer
	fs             *flag.FlagSet
	rawArgs        []string
	dsn            *string
	configPath     *string
	args           []string // the positional arguments, once parsed
	st             *sqlstore.Store
}

// parse reads the flags, which may come before, between or after the positional
// arguments (as mmctl's do; after "--" everything is positional), and checks that
// there are min to max positional ones (max -1: up to maxAdminArgs).
func (c *adminCall) parse(min, max int) error {
	args := c.rawArgs
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return &usageError{c.name + ": " + err.Error()}
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			c.args = append(c.args, rest...)
			break
		}
		c.args = append(c.args, rest[0])
		args = rest[1:]
	}
	if max < 0 {
		max = maxAdminArgs
	}
	switch {
	case len(c.args) < min:
		return usagef("%s: missing arguments; usage: townsquare %s %s", c.name, c.name, c.synopsis)
	case len(c.args) > max && max == 0:
		return usagef("%s takes no arguments (got %q); usage: townsquare %s %s", c.name, c.args[0], c.name, c.synopsis)
	case len(c.args) > max:
		return usagef("%s: at most %d arguments (got %d); usage: townsquare %s %s", c.name, max, len(c.args), c.name, c.synopsis)
	}
	return nil
}

// open opens the store with the mapping file's rules.
func (c *adminCall) open() error {
	st, _, err := openStore(c.ctx, *c.dsn, *c.configPath)
	if err != nil {
		return err
	}
	c.st = st
	return nil
}

func (c *adminCall) close() {
	if c.st != nil {
		c.st.Close()
	}
}

// account resolves what an admin typed (an email, a chat username, a SCIM id) to the
// account's SCIM id.
func (c *adminCall) account(key string) (string, error) {
	id, err := c.st.AccountID(c.ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", noAccountError(key)
	}
	return id, err
}

// noAccountError is a USER that names no account; it is store.ErrNotFound to
// store.ErrorCode.
type noAccountError string

func (e noAccountError) Error() string {
	return fmt.Sprintf("no account has the id, username or email %q", string(e))
}

func (e noAccountError) Unwrap() error { return store.ErrNotFound }

// forPeople is err as a person reads it: a RefusedError's Reason says all there is
// (the store's context around it names the account by id, which the command's line
// already names).
func forPeople(err error) error {
	var r *store.RefusedError
	if errors.As(err, &r) {
		return r
	}
	return err
}

// eachUser runs do for every account keys name, each on its own (one transaction
// each), printing do's line for each that succeeded; a failure is printed on stderr
// and the others still run. One account's failure is returned as it is, naming the
// account; several are a partialError.
func (c *adminCall) eachUser(keys []string, do func(key, id string) (string, error)) error {
	var failed []string
	var errs []error
	for _, key := range keys {
		id, err := c.account(key)
		var line string
		if err == nil {
			line, err = do(key, id)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", key, forPeople(err))
			if len(keys) == 1 {
				return err
			}
			fmt.Fprintln(c.stderr, "error:", err)
			failed, errs = append(failed, key), append(errs, err)
			continue
		}
		fmt.Fprintln(c.stdout, line)
	}
	if len(errs) > 0 {
		return &partialError{failed: failed, of: len(keys), errs: errs}
	}
	return nil
}

// partialError is a command naming several accounts that failed for some of them.
// Unwrap gives each failure, so store.ErrorCode finds their codes.
type partialError struct {
	failed []string
	of     int
	errs   []error
}

func (e *partialError) Error() string {
	return fmt.Sprintf("failed for %d of %d accounts: %s", len(e.failed), e.of, strings.Join(e.failed, ", "))
}

func (e *partialError) Unwrap() []error { return e.errs }

// writeJSON prints v as indented JSON: the stable shapes below, snake_case, lists
// always arrays.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// jsonFlag registers --json.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print JSON (snake_case keys; lists are always arrays)")
}

// splitChannel reads TEAM:CHANNEL (mmctl's way) or TEAM/CHANNEL.
func splitChannel(s string) (team, channel string, err error) {
	if len(s) > maxChannelArg {
		return "", "", usagef("a channel argument is at most %d characters (TEAM:CHANNEL)", maxChannelArg)
	}
	i := strings.IndexAny(s, ":/")
	if i > 0 && i < len(s)-1 && !strings.ContainsAny(s[i+1:], ":/") {
		return s[:i], s[i+1:], nil
	}
	return "", "", usagef("%q: name a channel as TEAM:CHANNEL (or TEAM/CHANNEL)", s)
}

// stdinIsTerminal reports whether standard input is a terminal a question can be asked
// on; confirmInput is where the answer is read. Tests replace both.
var (
	stdinIsTerminal = func() bool {
		fi, err := os.Stdin.Stat()
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			return false
		}
		null, err := os.Stat(os.DevNull) // a character device too, but no one to ask
		return err != nil || !os.SameFile(fi, null)
	}
	confirmInput io.Reader = os.Stdin
)

// maxAnswer bounds the line read as an answer to a question.
const maxAnswer = 64

// askYes asks question on stderr and reports whether the answer is "yes".
func askYes(stderr io.Writer, question string) bool {
	fmt.Fprintf(stderr, "%s Type yes to go on: ", question)
	var line []byte
	b := make([]byte, 1)
	for len(line) <= maxAnswer {
		n, err := confirmInput.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
		}
		if err != nil {
			break
		}
	}
	return strings.TrimSpace(string(line)) == "yes"
}

// The JSON the admin commands print with --json is the admin API's (server's …JSON
// types), so a script reads the same keys from either; a list page says page and
// per_page, as the command's flags do.

type accountPageJSON struct {
	Total    int                         `json:"total"`
	Page     int                         `json:"page"`
	PerPage  int                         `json:"per_page"`
	Accounts []server.AccountSummaryJSON `json:"accounts"`
}

func sourceStrings(src []store.MembershipSource) []string {
	out := make([]string, len(src))
	for i, s := range src {
		out[i] = s.String()
	}
	return out
}

// state says whether an account is active, for people.
func state(active, scimDeleted bool) string {
	switch {
	case scimDeleted:
		return "deactivated (SCIM user deleted)"
	case !active:
		return "deactivated"
	}
	return "active"
}

// authOf says how an account signs in, for people: "saml 00u1abc", or "-" for none.
func authOf(service, data string) string {
	s := strings.TrimSpace(service + " " + data)
	if s == "" {
		return "-"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), sep)
}
