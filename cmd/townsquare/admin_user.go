package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
)

// "townsquare user …": accounts.

var userListCmd = adminCommand{
	synopsis: "[--team T] [--inactive] [--page N] [--per-page N] [--json]",
	help: fmt.Sprintf(`Lists accounts by chat username, %d a page by default: every account (deactivated and
SCIM-deleted ones too), or with --team that team's members, with --inactive only
deactivated ones. Pages count from 0; --per-page is at most %d.`, defaultPerPage, store.MaxAccountPage),
	run: func(c *adminCall) error {
		team := c.fs.String("team", "", "only this team's members")
		inactive := c.fs.Bool("inactive", false, "only deactivated accounts")
		page := c.fs.Int("page", 0, fmt.Sprintf("the page to show, 0 to %d", maxListPage))
		perPage := c.fs.Int("per-page", defaultPerPage, fmt.Sprintf("accounts a page, 1 to %d", store.MaxAccountPage))
		asJSON := jsonFlag(c.fs)
		if err := c.parse(0, 0); err != nil {
			return err
		}
		if *page < 0 || *page > maxListPage {
			return usagef("--page %d: want 0 to %d", *page, maxListPage)
		}
		if *perPage < 1 || *perPage > store.MaxAccountPage {
			return usagef("--per-page %d: want 1 to %d", *perPage, store.MaxAccountPage)
		}
		if err := c.open(); err != nil {
			return err
		}
		p, err := c.st.ListAccounts(c.ctx, store.AccountQuery{Team: *team, Inactive: *inactive, Limit: *perPage, Offset: *page * *perPage})
		if err != nil {
			if errors.Is(err, store.ErrNotFound) && *team != "" {
				return fmt.Errorf("--team %q: no such team (%w)", *team, err)
			}
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, accountPageJSON{Total: p.Total, Page: *page, PerPage: *perPage, Accounts: accountsJSON(p.Accounts)})
		}
		printAccounts(c.stdout, p.Accounts)
		first := *page * *perPage
		switch {
		case len(p.Accounts) == 0:
			fmt.Fprintf(c.stderr, "no accounts on page %d (%d in all)\n", *page, p.Total)
		case first+len(p.Accounts) < p.Total:
			fmt.Fprintf(c.stderr, "accounts %d to %d of %d; the next page: --page %d\n", first+1, first+len(p.Accounts), p.Total, *page+1)
		default:
			fmt.Fprintf(c.stderr, "accounts %d to %d of %d\n", first+1, first+len(p.Accounts), p.Total)
		}
		return nil
	},
}

var userSearchCmd = adminCommand{
	synopsis: "TERM… [--json]",
	help: fmt.Sprintf(`Finds the accounts whose username, email, first name, last name or nickname contains
every TERM (without regard to case), and shows their state and auth data: the first
%d, by username. At most %d terms.`, store.MaxAccountPage, store.MaxSearchTerms),
	run: func(c *adminCall) error {
		asJSON := jsonFlag(c.fs)
		if err := c.parse(1, store.MaxSearchTerms); err != nil {
			return err
		}
		if err := c.open(); err != nil {
			return err
		}
		p, err := c.st.ListAccounts(c.ctx, store.AccountQuery{Terms: c.args, Limit: store.MaxAccountPage})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, accountPageJSON{Total: p.Total, PerPage: store.MaxAccountPage, Accounts: accountsJSON(p.Accounts)})
		}
		printAccounts(c.stdout, p.Accounts)
		if len(p.Accounts) < p.Total {
			fmt.Fprintf(c.stderr, "the first %d of %d accounts found; add a term to narrow the search\n", len(p.Accounts), p.Total)
		} else {
			fmt.Fprintf(c.stderr, "%d account(s) found\n", p.Total)
		}
		return nil
	},
}

func accountsJSON(as []store.AccountSummary) []server.AccountSummaryJSON {
	out := make([]server.AccountSummaryJSON, len(as))
	for i, a := range as {
		out[i] = server.NewAccountSummaryJSON(a)
	}
	return out
}

// printAccounts writes accounts as a table.
func printAccounts(w io.Writer, as []store.AccountSummary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tEMAIL\tNAME\tSTATE\tAUTH\tORIGIN\tID")
	for _, a := range as {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Username, a.Email, orDash(joinNonEmpty(" ", a.FirstName, a.LastName)),
			state(a.Active, a.SCIMDeleted), authOf(a.AuthService, a.AuthData), a.Origin, a.ID)
	}
	tw.Flush()
}

var userShowCmd = adminCommand{
	synopsis: "USER [--json]",
	help: `Shows an account: its SCIM id and userName, email, names, state, auth service and data,
what made it (origin: scim, import, manual, login), its roles (system_user, system_admin,
or system_guest for a guest) and what grants the system admin role, its groups, and its
teams and channels with why it is in each (group:<name>, default, team-join, import,
manual) and, where it is an admin or a guest, its roles there and what grants them.`,
	run: func(c *adminCall) error {
		asJSON := jsonFlag(c.fs)
		if err := c.parse(1, 1); err != nil {
			return err
		}
		if err := c.open(); err != nil {
			return err
		}
		key := c.args[0]
		id, err := c.account(key)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		d, err := c.st.AccountDetails(c.ctx, id)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if *asJSON {
			return writeJSON(c.stdout, server.NewAccountJSON(d))
		}
		printAccount(c.stdout, d)
		return nil
	},
}

// printAccount writes an account as "key: value" lines, then its groups, teams and
// channels with their sources.
func printAccount(w io.Writer, d store.AccountDetails) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	st := state(d.Active, d.SCIMDeleted)
	if d.Status != "" {
		st += " (" + d.Status + ")"
	}
	for _, kv := range [][2]string{
		{"id", d.ID},
		{"username", d.Username},
		{"user_name", d.UserName},
		{"email", d.Email},
		{"name", joinNonEmpty(" ", d.FirstName, d.LastName)},
		{"nickname", d.Nickname},
		{"position", d.Position},
		{"state", st},
		{"auth_service", d.AuthService},
		{"auth_data", d.AuthData},
		{"origin", d.Origin},
		{"roles", store.SystemRoles(d.SystemAdmin, d.Guest)},
		{"guest", map[bool]string{true: "yes: in exactly the channels its guest groups name", false: "no"}[d.Guest]},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], orDash(kv[1]))
	}
	if len(d.SystemAdminSources) > 0 {
		grants := strings.Join(sourceStrings(d.SystemAdminSources), ", ")
		if d.Guest {
			grants += " (no effect while a guest)"
		}
		fmt.Fprintf(tw, "system_admin:\tgranted by %s\n", grants)
	}
	fmt.Fprintf(tw, "groups:\t%s\n", orDash(groupList(d.Groups)))
	tw.Flush()
	// The roles column is empty for a plain member: the table is written to b, and its
	// lines are printed without the padding that leaves behind.
	var b bytes.Buffer
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "teams:\n")
	for _, t := range d.Teams {
		roles := roleLine(store.TeamRoles(t.Admin, d.Guest), t.Admin, d.Guest, t.AdminSources)
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Team, strings.Join(sourceStrings(t.Sources), ", "), roles)
	}
	fmt.Fprintf(tw, "channels:\n")
	for _, ch := range d.Channels {
		roles := roleLine(store.ChannelRoles(ch.Admin, d.Guest), ch.Admin, d.Guest, ch.AdminSources)
		fmt.Fprintf(tw, "  %s:%s\t%s\t%s\n", ch.Team, ch.Channel, strings.Join(sourceStrings(ch.Sources), ", "), roles)
	}
	tw.Flush()
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

var userCreateCmd = adminCommand{
	synopsis: "--email E --username U [--password P] [--first-name F] [--last-name L] [--nickname N] [--position P] [--auth-service S --auth-data D]",
	help: fmt.Sprintf(`Makes an account (and its SCIM user: userName the email, externalId the auth data) in
the default team and its channels. An SSO account (--auth-service and --auth-data) needs
no password; any other needs one of %d to %d bytes, from --password or, kept out of the
shell's history, the environment variable %s. It is stored hashed and never printed.`,
		store.MinPasswordLength, store.MaxPasswordLength, PasswordEnv),
	run: func(c *adminCall) error {
		var a store.NewAccount
		c.fs.StringVar(&a.Email, "email", "", "the email, and the SCIM userName (required)")
		c.fs.StringVar(&a.Username, "username", "", "the chat username (required)")
		password := c.fs.String("password", "", "the password (or env "+PasswordEnv+")")
		c.fs.StringVar(&a.FirstName, "first-name", "", "the first name")
		c.fs.StringVar(&a.LastName, "last-name", "", "the last name")
		c.fs.StringVar(&a.Nickname, "nickname", "", "the nickname")
		c.fs.StringVar(&a.Position, "position", "", "the position (SCIM title)")
		c.fs.StringVar(&a.AuthService, "auth-service", "", "how the account signs in: saml, openid, ldap, … (with --auth-data)")
		c.fs.StringVar(&a.AuthData, "auth-data", "", "the IdP's id of the person, the SCIM externalId (with --auth-service)")
		if err := c.parse(0, 0); err != nil {
			return err
		}
		if a.Email == "" || a.Username == "" {
			return usagef("%s: --email and --username are required", c.name)
		}
		pw := *password
		if pw == "" {
			pw = os.Getenv(PasswordEnv)
		}
		if pw != "" {
			if err := store.CheckPassword(pw); err != nil {
				return err
			}
			h, err := resources.HashPassword(c.ctx, pw)
			if err != nil {
				return err
			}
			a.PasswordHash = h
		}
		if err := c.open(); err != nil {
			return err
		}
		d, err := c.st.CreateAccount(c.ctx, a)
		if err != nil {
			return fmt.Errorf("%s: %w", a.Username, forPeople(err))
		}
		teams := make([]string, len(d.Teams))
		for i, t := range d.Teams {
			teams[i] = t.Team
		}
		fmt.Fprintf(c.stdout, "created %s (SCIM id %s), in %s\n", d.Username, d.ID, orDash(strings.Join(teams, ", ")))
		return nil
	},
}

var userDeactivateCmd = adminCommand{
	synopsis: "USER…",
	help: `Deactivates each account: it keeps its memberships and history, shows offline, and SCIM
shows active: false. As Mattermost documents for SSO users, the next push of the IdP may
activate it again (active: true): deactivate or unassign the person in the IdP too.`,
	run: func(c *adminCall) error { return setActive(c, false) },
}

var userActivateCmd = adminCommand{
	synopsis: "USER…",
	help: `Activates each deactivated account again (SCIM shows active: true). An account whose SCIM
user was deleted belongs to its IdP and is refused: it comes back when the IdP creates it.`,
	run: func(c *adminCall) error { return setActive(c, true) },
}

func setActive(c *adminCall, active bool) error {
	if err := c.parse(1, -1); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	verb := "deactivated"
	if active {
		verb = "activated"
	}
	return c.eachUser(c.args, func(key, id string) (string, error) {
		d, changed, err := c.st.SetAccountActive(c.ctx, id, active)
		if err != nil {
			return "", err
		}
		if !changed {
			return fmt.Sprintf("%s was %s already", d.Username, verb), nil
		}
		return fmt.Sprintf("%s %s", verb, d.Username), nil
	})
}

var userDeleteCmd = adminCommand{
	synopsis: "USER… --confirm",
	help: `Deletes each account for good, whatever delete_mode says: the account, its SCIM user,
its memberships and group memberships (the journal keeps account.deleted). Without
--confirm it asks on the terminal, and refuses when standard input is not one.`,
	run: func(c *adminCall) error {
		confirm := c.fs.Bool("confirm", false, "delete without asking")
		if err := c.parse(1, -1); err != nil {
			return err
		}
		if !*confirm {
			if !stdinIsTerminal() {
				return usagef("%s deletes for good: pass --confirm (standard input is not a terminal to ask on)", c.name)
			}
			if !askYes(c.stderr, fmt.Sprintf("Delete %s for good (account, SCIM user, memberships)?", strings.Join(c.args, ", "))) {
				return usagef("%s: not confirmed; nothing was deleted", c.name)
			}
		}
		if err := c.open(); err != nil {
			return err
		}
		return c.eachUser(c.args, func(key, id string) (string, error) {
			if err := c.st.DeleteAccount(c.ctx, id); err != nil {
				return "", err
			}
			return fmt.Sprintf("deleted %s (SCIM id %s)", key, id), nil
		})
	},
}

// userEditCmd is "user edit authdata|email|username USER NEW".
func userEditCmd(what string) adminCommand {
	helps := map[string]string{
		"authdata": `Binds the account to another IdP id (its auth data, the SCIM externalId): what to do
when the IdP's id of a person changed, so that its next push finds the account.`,
		"email": `Changes the account's email. The SCIM userName is the IdP's and is kept.`,
		"username": `Changes the account's chat username. A later change of its SCIM userName derives the
username again.`,
	}
	return adminCommand{
		synopsis: "USER NEW",
		help:     helps[what],
		run: func(c *adminCall) error {
			if err := c.parse(2, 2); err != nil {
				return err
			}
			if err := c.open(); err != nil {
				return err
			}
			key, value := c.args[0], c.args[1]
			var e store.AccountEdit
			switch what {
			case "authdata":
				e.AuthData = &value
			case "email":
				e.Email = &value
			case "username":
				e.Username = &value
			}
			return c.eachUser([]string{key}, func(key, id string) (string, error) {
				d, err := c.st.EditAccount(c.ctx, id, e)
				if err != nil {
					return "", err
				}
				switch what {
				case "authdata":
					return fmt.Sprintf("%s: auth data is %s now", d.Username, authOf(d.AuthService, d.AuthData)), nil
				case "email":
					return fmt.Sprintf("%s: email is %s now", d.Username, d.Email), nil
				}
				return fmt.Sprintf("%s is %s now", key, d.Username), nil
			})
		},
	}
}

// groupList names an account's groups for "user show", an indirect one (the account is
// in it only through groups nested in it) marked so.
func groupList(gs []store.GroupRef) string {
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.DisplayName
		if g.Indirect {
			names[i] += " (indirect)"
		}
	}
	return strings.Join(names, ", ")
}
