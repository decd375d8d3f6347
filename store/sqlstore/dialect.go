package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// dialect is everything that differs between the SQL databases a Store runs on. Connect
// picks one from the DSN (dialectFor) and the Store keeps it: no other code asks which
// database it talks to. Each dialect is one file (dialect_sqlite.go,
// dialect_postgres.go) and its migrations; a third database is a third file.
//
// Statements written the same way for every database live with the code that runs them;
// those a database spells its own way are fields here. Statements take named parameters
// (bind), so every dialect's spelling takes the same arguments.
type dialect struct {
	name string // "sqlite", "postgres": logs, and the suffix of its own migration files

	// matches reports whether a DSN names a database of this dialect; the last dialect
	// of dialects takes every DSN the others do not.
	matches func(dsn string) bool
	// open opens a pool on dsn with the settings every connection needs.
	open func(dsn string) (*sqlx.DB, error)

	// retryable reports an error that asks for the transaction to be run again (a
	// serialization failure, a deadlock, a busy database), never a result for a client.
	retryable func(error) bool
	// uniqueViolation reports a unique constraint violation, with text that names the
	// constraint (conflict maps it to what the client sees).
	uniqueViolation func(error) (constraint string, ok bool)
	// foreignKeyViolation reports a foreign key violation.
	foreignKeyViolation func(error) bool
	// unavailable reports an error that says the database cannot serve now, whatever
	// the statement: unreachable, out of resources, refusing this server's privileges,
	// its schema gone. The Store answers it as store.ErrUnavailable (classify); an error
	// that says the statement itself is wrong is never one.
	unavailable func(error) bool

	// lockForUpdate and lockForDelete end a SELECT of rows the transaction will update
	// (but not their keys) or delete, locking them until it ends; "" where a transaction
	// holds the whole database from its BEGIN.
	lockForUpdate, lockForDelete string
	// lock takes a lock named by key for the rest of the transaction, so that
	// migrations, rule changes and first tokens run one at a time across processes.
	lock func(ctx context.Context, tx *sqlx.Tx, key lockKey) error

	// readSnapshot are the options of a read-only transaction that sees one moment of the
	// database for its whole length and holds no writer up while it lasts (EachGroupMember,
	// ExportChat).
	readSnapshot sql.TxOptions

	// binaryCollation ends an expression so that it compares and sorts byte by byte,
	// whatever collation the database was created with.
	binaryCollation string

	// int64List and textList bind a list of values as one parameter (see listParam).
	int64List func([]int64) listParam
	textList  func([]string) listParam

	// cursors says that a transaction may DECLARE a cursor and FETCH from it, so that
	// a sorted read is paged without sorting again for each page (ExportChat).
	cursors bool

	// writableCTEs says that WITH may hold INSERT and DELETE … RETURNING, so that a
	// create (createUserOneStatement) and a member add's lock and insert
	// (lockAndInsertMembers) are one statement each.
	writableCTEs bool

	// userChildren is the "children" column of the users row in scope (correlated on
	// users.pk): one JSON object whose keys are the fields of userChildren (userread.go).
	// Emails, phone numbers and addresses come in the order they were written (ord),
	// groups by key (direct and indirect, each once: user_groups, with Indirect true only
	// when no row of the group is a direct membership), teams and channels by name, each
	// name once.
	userChildren string
	// memberChunk reads one key-ordered chunk of a group's member users, and
	// memberGroupChunk of its member groups (EachGroupMember): key, id, display.
	memberChunk, memberGroupChunk string
	// reconcile are the steps of reconcileChunk, in order (provision.go); each returns
	// the membership rows it writes (memberChange, journal_members.go).
	reconcile [numReconcileSteps]statement
	// roleFeatures says, in the columns guests and roles, whether the guest and the role
	// steps of a reconcile can change anything for the accounts :users (stepsFor), reading
	// their rows account by account.
	roleFeatures string
	// ensureJoinChannels finds the teams of :users that lack a team-join channel.
	ensureJoinChannels string
	// grantGroup is a member add's delta (members.go). Its statements return the
	// membership rows they write (memberChange) and, in one row whose op is opLacking,
	// the count of the teams the group grants that lack a team-join channel.
	grantGroup []statement
	// countPairs counts the membership rows of the pairs a change wrote, for the journal
	// (journalMemberships): (:team_users × :teams) in team_members and (:channel_users ×
	// :channels) in channel_members, one row per pair that has rows, as the columns
	// (kind 0 for a team or 1 for a channel, pk the account, target, n, a and b empty) of
	// journalReadNames, which follows it in one statement. It reads by account: a team's
	// or channel's rows are as many as the tenant's accounts (the default team holds
	// nearly all of them).
	countPairs string

	// sequence gives committed journal rows without a position one, in seq order after
	// the highest given (journal.go: sequence runs it under lockJournal); "" where the
	// INSERT gives every row its position (SQLite: its rowid, migration 0007).
	sequence string
	// nowMillis is the database's clock in Unix milliseconds, for leases: replicas whose
	// own clocks disagree still agree on when a lease expires.
	nowMillis string

	// Derived by init from the fields above.
	selectUsers          string // users rows with their children; callers append the WHERE clause
	lockUsers            string // lockUsersSQL, locking
	lockAndInsertMembers string // lockAndInsertMembersSQL, locking
	resolveMembers       string // resolveMembersSQL, locking
}

// statement is one SQL statement of a sequence, named for error messages.
type statement struct{ what, sql string }

// lockKey names a lock of dialect.lock.
type lockKey int64

const (
	lockMigrate    lockKey = 7473
	lockRules      lockKey = 7474
	lockFirstToken lockKey = 7475
	// lockGroupGraph is held by every change of group_groups and group_ancestors (nested
	// groups), and by a change of a group's mapping, so that a nesting is checked for
	// cycles against a graph no one else is changing, and the accounts below a group are
	// read while no one nests anything under it.
	lockGroupGraph lockKey = 7477
	// lockJournal (7476) is in journal.go.
)

// dialects are the databases a DSN may name, tried in order.
var dialects = []*dialect{postgresDialect, sqliteDialect}

func init() {
	for _, d := range dialects {
		d.selectUsers = `SELECT ` + userColumns + `, ` + d.userChildren + ` AS children FROM users`
		d.lockUsers = lockUsersSQL + d.lockForUpdate
		d.lockAndInsertMembers = lockAndInsertMembersSQL(d.lockForUpdate)
		d.resolveMembers = resolveMembersSQL(d.lockForUpdate)
		for i, st := range d.reconcile {
			if st.sql == "" {
				panic(fmt.Sprintf("sqlstore: dialect %s lacks reconcile step %d", d.name, i))
			}
		}
	}
}

// dialectFor returns the dialect of a DSN.
func dialectFor(dsn string) *dialect {
	for _, d := range dialects {
		if d.matches(dsn) {
			return d
		}
	}
	return dialects[len(dialects)-1]
}
