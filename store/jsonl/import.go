package jsonl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// ImportOptions are how Import applies a file.
type ImportOptions struct {
	// DryRun validates and reports what would change, and writes nothing.
	DryRun bool
	// Verbose lists every change (Report.Applied.Changes).
	Verbose bool
	// TeamChannels are the channels a team is created with (town-square, off-topic and
	// the team-join channels of the rules): user lines may name them in a team the file
	// creates without a channel line. nil: town-square and off-topic.
	TeamChannels []string
	// HashPassword hashes a user line's password as SCIM's password is hashed
	// (resources.HashPassword). It is needed when a line has a password, except in a dry
	// run.
	HashPassword func(ctx context.Context, password string) (string, error)
	// DefaultTeam is the rules' default team (rules.Config.DefaultTeam; "" is
	// rules.DefaultTeamName), which the store may create for imported users. A dry run
	// needs its name to count its creation once rather than once a batch.
	DefaultTeam string
	// Progress, when set, is called after each batch is applied with the report so far
	// (for a long import to show that it moves).
	Progress func(*Report)
	// BatchSize bounds the items and the memberships of each batch; 0 (or more than
	// store.MaxImportBatch) is store.MaxImportBatch, and less than 2 is 2. Tests make
	// it small.
	BatchSize int
}

// Report is what Import found and did.
type Report struct {
	Summary                    // the validation of the file
	Applied store.ImportReport // what changed (or would, in a dry run)
	Batches int                // batches applied
}

// ErrInvalidFile is a file with at least one error: Import wrote nothing, and the
// Report lists the errors.
var ErrInvalidFile = errors.New("the file has errors: nothing was imported")

// Import reads the bulk file of src three times. The first pass validates every line
// (Validate), then makes the batches the import would apply and checks each against the
// database (b.CheckImport: a username another account holds, …); when any error is
// found it returns the report and ErrInvalidFile, having written nothing. The second
// applies the lines Townsquare keeps in order, in batches
// of at most store.MaxImportBatch items and memberships (b.ImportChat, one transaction
// each), as the actor "import". Applying is idempotent, so an import stopped half-way
// (a crash, a cancelled ctx, a failing batch) and run again ends in the same state as
// one that ran through. A batch the store still refuses (a change committed by someone
// else since the check) stops the import with that error: the batches before it stay
// applied, and the error names the line.
//
// With opts.DryRun every batch is rolled back. Its batches then hold one line type each,
// and each is applied after the file's teams and channels it needs that the database
// does not hold yet, whose own changes are taken out of its report: the report is the
// one the real import would give.
//
// What a line becomes: teams and channels are created or take the line's display name
// and type; a user is matched by auth_data (as externalId, when auth_service is one of
// IdPAuthServices), then email, then username, and is created as a SCIM User with
// userName = email; a password is hashed (opts.HashPassword) and set on new users only;
// delete_at > 0 deactivates, an explicit 0 reactivates, none leaves activity as it is;
// memberships are added with the source "import". A system guest is not imported
// (Summary.Guests), and admin and custom roles become plain membership; fields
// Townsquare does not keep are counted (Summary.Ignored) and left out.
func Import(ctx context.Context, b store.Bulk, cat Catalog, src Source, opts ImportOptions) (*Report, error) {
	ctx = store.WithActor(ctx, store.ActorImport)
	sum, err := Validate(ctx, src, cat, opts.TeamChannels)
	if err != nil {
		return nil, err
	}
	rep := &Report{Summary: *sum}
	if sum.ErrorCount > 0 {
		return rep, ErrInvalidFile
	}
	max := opts.BatchSize
	if max <= 0 || max > store.MaxImportBatch {
		max = store.MaxImportBatch
	}
	max = maxInt(max, 2) // a team and one of its channels: splitUser needs both in a piece
	// Still the first pass: the batches the import would apply, checked against the
	// database (b.CheckImport), so that a conflict only the database can see (a username
	// another account holds) stops the import before its first batch rather than
	// half-way. Its problems join the Summary's errors.
	pre := &applier{ctx: ctx, b: b, opts: ImportOptions{BatchSize: max}, max: max, rep: rep,
		check: newValidator(ctx, cat, opts.TeamChannels), checkOnly: true, found: map[string]int{}}
	if err := pre.run(src); err != nil {
		return rep, err
	}
	if rep.ErrorCount > 0 {
		return rep, ErrInvalidFile
	}
	ap := &applier{ctx: ctx, b: b, opts: opts, max: max, rep: rep, check: newValidator(ctx, cat, opts.TeamChannels)}
	if opts.DryRun {
		ap.fileTeams = map[string]store.ImportTeam{}
		ap.fileChannels = map[string]store.ImportChannel{}
		ap.dbTeams = map[string]bool{}
		ap.dbChannels = map[string]bool{}
		if err := ap.readDB(cat); err != nil {
			return rep, err
		}
	}
	if err := ap.run(src); err != nil {
		return rep, err
	}
	return rep, nil
}

// applier is the second pass.
type applier struct {
	ctx   context.Context
	b     store.Bulk
	opts  ImportOptions
	max   int
	rep   *Report
	batch store.ImportBatch
	pw    []string // the password of each user of batch, to hash ("": none)
	items int      // teams, channels and users in batch
	mems  int      // team and channel memberships in batch

	// check validates every line again as it is applied: a file that changed since
	// the first pass stops the import at the first line that is no longer valid,
	// rather than applying what was never checked.
	check *validator

	batchKind string // a dry run's batches hold one type each: this one's

	// checkOnly: each batch is checked (store.Bulk.CheckImport), not applied, and its
	// problems are added to rep's errors.
	checkOnly bool
	checked   int            // batches checked
	found     map[string]int // the accounts (SCIM id) the checked lines find → line

	// A dry run rolls every batch back, so a batch of users cannot see the teams and
	// channels earlier batches would have created: each such batch is applied after
	// those it needs (from these maps), whose own changes are then taken out of its
	// report. dbTeams and dbChannels are what the database holds already.
	fileTeams    map[string]store.ImportTeam
	fileChannels map[string]store.ImportChannel // team/channel
	dbTeams      map[string]bool
	dbChannels   map[string]bool
	// defaultCreated: an earlier dry-run batch created the default team, so later
	// ones get it in their prefix.
	defaultCreated bool
}

func (a *applier) readDB(cat Catalog) error {
	if cat == nil {
		return nil
	}
	ts, err := cat.ListTeams(a.ctx)
	if err != nil {
		return fmt.Errorf("list teams: %w", err)
	}
	for _, t := range ts {
		a.dbTeams[t.Name] = true
		cs, err := cat.TeamChannels(a.ctx, t.Name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("list channels of %q: %w", t.Name, err)
		}
		for _, c := range cs {
			a.dbChannels[t.Name+"/"+c.Name] = true
		}
	}
	return nil
}

func (a *applier) run(src Source) error {
	rc, err := src()
	if err != nil {
		return err
	}
	defer rc.Close()
	r := NewReader(rc)
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			n := a.check.sum.ErrorCount
			if err = a.check.line(l); err != nil {
				return err
			}
			if a.check.sum.ErrorCount > n {
				err = a.check.sum.Errors[len(a.check.sum.Errors)-1]
			}
		}
		if err != nil {
			return fmt.Errorf("the file changed since it was checked: %w", err)
		}
		switch l.Type {
		case TypeTeam:
			err = a.addTeam(toTeam(l))
		case TypeChannel:
			err = a.addChannel(toChannel(l))
		case TypeUser:
			if l.User.Roles != nil && inRole(*l.User.Roles, roleSystemGuest) {
				continue // not imported: Summary.Guests
			}
			err = a.addUser(toUser(l), str(l.User.Password))
		}
		if err != nil {
			return err
		}
	}
	return a.flush()
}

// kind starts a batch of items of one type in a dry run (see applier).
func (a *applier) kind(k string) error {
	if a.opts.DryRun && a.batchKind != k {
		if err := a.flush(); err != nil {
			return err
		}
		a.batchKind = k
	}
	return nil
}

func (a *applier) addTeam(t store.ImportTeam) error {
	if a.fileTeams != nil {
		a.fileTeams[t.Name] = t
	}
	if err := a.kind(TypeTeam); err != nil {
		return err
	}
	if a.items+1 > a.max {
		if err := a.flush(); err != nil {
			return err
		}
	}
	a.batch.Teams = append(a.batch.Teams, t)
	a.items++
	return nil
}

func (a *applier) addChannel(c store.ImportChannel) error {
	if a.fileChannels != nil {
		a.fileChannels[c.Team+"/"+c.Name] = c
	}
	if err := a.kind(TypeChannel); err != nil {
		return err
	}
	if a.items+1+a.channelPrefixSize(c) > a.max {
		if err := a.flush(); err != nil {
			return err
		}
	}
	a.batch.Channels = append(a.batch.Channels, c)
	a.items++
	return nil
}

// addUser adds a user to the batch, in pieces of at most a.max memberships when it has
// more (each piece the same user with some of its memberships; the store matches the
// later pieces to the account the first made).
func (a *applier) addUser(u store.ImportUser, password string) error {
	if err := a.kind(TypeUser); err != nil {
		return err
	}
	for i, piece := range splitUser(u, a.max) {
		pw := password
		if i > 0 {
			pw = "" // set once: the later pieces find the account the first made
		}
		n := memberships(piece)
		if a.items+1+a.prefixSize(piece) > a.max || a.mems+n > a.max {
			if err := a.flush(); err != nil {
				return err
			}
		}
		a.batch.Users = append(a.batch.Users, piece)
		a.pw = append(a.pw, pw)
		a.items++
		a.mems += n
	}
	return nil
}

// prefixSize is how many more items piece's memberships would add to the batch's dry-run
// prefix (0 outside a dry run). It counts what the batch does not need yet, so a
// batch's prefix and users stay within a.max.
func (a *applier) prefixSize(u store.ImportUser) int {
	if !a.opts.DryRun {
		return 0
	}
	teams, channels := a.needed(a.batch.Users)
	n := 0
	for _, t := range u.Teams {
		if !a.dbTeams[t.Name] && !teams[t.Name] {
			teams[t.Name] = true
			n++
		}
		for _, c := range t.Channels {
			k := t.Name + "/" + c
			if !a.dbChannels[k] && !channels[k] && a.fileChannels[k].Name != "" {
				channels[k] = true
				n++
			}
		}
	}
	return n
}

// channelPrefixSize is 1 when c's team would join the batch's dry-run prefix (0 outside
// a dry run).
func (a *applier) channelPrefixSize(c store.ImportChannel) int {
	if !a.opts.DryRun || a.dbTeams[c.Team] {
		return 0
	}
	for _, o := range a.batch.Channels {
		if o.Team == c.Team {
			return 0
		}
	}
	return 1
}

// needed lists the file's teams and channels users name that the database does not
// hold (a channel a new team is created with is not listed: the team brings it).
func (a *applier) needed(users []store.ImportUser) (teams, channels map[string]bool) {
	teams, channels = map[string]bool{}, map[string]bool{}
	for _, u := range users {
		for _, t := range u.Teams {
			if !a.dbTeams[t.Name] {
				teams[t.Name] = true
			}
			for _, c := range t.Channels {
				k := t.Name + "/" + c
				if !a.dbChannels[k] && a.fileChannels[k].Name != "" {
					channels[k] = true
				}
			}
		}
	}
	return teams, channels
}

func memberships(u store.ImportUser) int {
	n := len(u.Teams)
	for _, t := range u.Teams {
		n += len(t.Channels)
	}
	return n
}

// splitUser cuts a user's memberships into pieces of at most max (a team and each of
// its channels count one each; max is at least 2, a team and one of its channels); a
// user within max is one piece.
func splitUser(u store.ImportUser, max int) []store.ImportUser {
	if memberships(u) <= max {
		return []store.ImportUser{u}
	}
	var pieces []store.ImportUser
	cur := u
	cur.Teams = nil
	n := 0
	for _, t := range u.Teams {
		chs := t.Channels
		for first := true; first || len(chs) > 0; first = false {
			need := 1 // the team, and a channel when there is one left
			if len(chs) > 0 {
				need = 2
			}
			if n > 0 && n+need > max {
				pieces = append(pieces, cur)
				cur.Teams, n = nil, 0
			}
			take := min(len(chs), max-n-1)
			cur.Teams = append(cur.Teams, store.ImportTeamMembership{Name: t.Name, Channels: chs[:take:take]})
			chs = chs[take:]
			n += 1 + take
		}
	}
	return append(pieces, cur)
}

// flush applies the batch.
func (a *applier) flush() error {
	if a.items == 0 {
		return nil
	}
	b, pw := a.batch, a.pw
	a.batch, a.pw, a.items, a.mems = store.ImportBatch{}, nil, 0, 0
	if err := a.ctx.Err(); err != nil {
		return err
	}
	if a.checkOnly {
		return a.checkBatch(b)
	}
	if !a.opts.DryRun {
		if err := a.hashPasswords(b.Users, pw); err != nil {
			return err
		}
	}
	opts := store.ImportOptions{DryRun: a.opts.DryRun, Verbose: a.opts.Verbose}
	var prefix store.ImportBatch
	if a.opts.DryRun {
		prefix = a.prefix(b)
	}
	var before store.ImportReport
	if len(prefix.Teams)+len(prefix.Channels) > 0 {
		var err error
		if before, err = a.b.ImportChat(a.ctx, prefix, opts); err != nil {
			return a.batchErr(err)
		}
		b.Teams = append(prefix.Teams, b.Teams...)
		b.Channels = append(prefix.Channels, b.Channels...)
	}
	r, err := a.b.ImportChat(a.ctx, b, opts)
	if err != nil {
		return a.batchErr(err)
	}
	if a.opts.DryRun && len(b.Users) > 0 && r.TeamsCreated > before.TeamsCreated {
		a.defaultCreated = true // a batch of users creates no team but the default one
	}
	a.rep.Batches++
	a.rep.Applied.Add(subtract(r, before))
	if a.opts.Progress != nil {
		a.opts.Progress(a.rep)
	}
	return nil
}

// checkBatch checks b against the database and adds each problem found to the
// report's errors (batches come in line order, so the errors stay in it).
func (a *applier) checkBatch(b store.ImportBatch) error {
	a.checked++
	chk, err := a.b.CheckImport(a.ctx, b)
	var probs store.ImportProblems
	switch {
	case err == nil:
		// Two lines of different batches that find one account: ImportChat refuses
		// them within a batch, and across two the later could no longer find it (the
		// earlier gave it its own email) and stop the import half-way.
		for i, id := range chk.Accounts {
			if id == "" || i >= len(b.Users) {
				continue
			}
			line := b.Users[i].Line
			if prev, ok := a.found[id]; ok && prev != line { // a line's pieces find its account
				probs = append(probs, store.ImportProblem{Line: line, Field: "user", Reason: fmt.Sprintf("finds the account line %d finds too", prev)})
			} else {
				a.found[id] = line
			}
		}
	case !errors.As(err, &probs):
		return fmt.Errorf("check batch %d: %w", a.checked, err)
	}
	sum := &a.rep.Summary
	for _, p := range probs {
		sum.ErrorCount++
		if len(sum.Errors) < MaxErrors {
			sum.Errors = append(sum.Errors, Error{Line: p.Line, Field: p.Field, Message: p.Reason})
		}
	}
	return nil
}

func (a *applier) batchErr(err error) error {
	return fmt.Errorf("batch %d (after %d applied): %w", a.rep.Batches+1, a.rep.Batches, err)
}

// prefix is the dry-run batch of the file's teams and channels that a batch of channels
// or users needs and the database does not hold.
func (a *applier) prefix(b store.ImportBatch) store.ImportBatch {
	teams, channels := a.needed(b.Users)
	for _, c := range b.Channels {
		if !a.dbTeams[c.Team] {
			teams[c.Team] = true
		}
	}
	var p store.ImportBatch
	for k := range channels {
		c := a.fileChannels[k]
		if !a.dbTeams[c.Team] {
			teams[c.Team] = true
		}
	}
	if def := a.defaultTeam(); len(b.Users) > 0 && a.defaultCreated && !a.dbTeams[def] {
		teams[def] = true
	}
	for _, name := range sortedKeys(teams) {
		t, ok := a.fileTeams[name]
		if !ok {
			t = store.ImportTeam{Name: name, DisplayName: name, Type: store.TeamOpen}
		}
		p.Teams = append(p.Teams, t)
	}
	for _, k := range sortedKeys(channels) {
		p.Channels = append(p.Channels, a.fileChannels[k])
	}
	return p
}

func (a *applier) defaultTeam() string {
	if a.opts.DefaultTeam != "" {
		return a.opts.DefaultTeam
	}
	return rules.DefaultTeamName
}

// subtract takes what the dry-run prefix alone reported out of r.
func subtract(r, p store.ImportReport) store.ImportReport {
	r.TeamsCreated -= p.TeamsCreated
	r.TeamsUpdated -= p.TeamsUpdated
	r.ChannelsCreated -= p.ChannelsCreated
	r.ChannelsUpdated -= p.ChannelsUpdated
	r.UsersCreated -= p.UsersCreated
	r.UsersUpdated -= p.UsersUpdated
	r.UsersDeactivated -= p.UsersDeactivated
	r.UsersReactivated -= p.UsersReactivated
	r.TeamMembershipsAdded -= p.TeamMembershipsAdded
	r.ChannelMembershipsAdded -= p.ChannelMembershipsAdded
	r.RolesGranted -= p.RolesGranted
	if len(p.Changes) > 0 {
		drop := map[string]int{}
		for _, c := range p.Changes {
			drop[c]++
		}
		var kept []string
		for _, c := range r.Changes {
			if drop[c] > 0 {
				drop[c]--
				continue
			}
			kept = append(kept, c)
		}
		r.Changes = kept
	}
	return r
}

func toTeam(l Line) store.ImportTeam {
	return store.ImportTeam{Line: l.Number, Name: strings.ToLower(*l.Team.Name), DisplayName: *l.Team.DisplayName, Type: *l.Team.Type}
}

func toChannel(l Line) store.ImportChannel {
	c := l.Channel
	name := strings.ToLower(*c.Name)
	display := str(c.DisplayName)
	if display == "" {
		display = *c.Name // as upstream: a channel without a display name shows its name
	}
	return store.ImportChannel{Line: l.Number, Team: strings.ToLower(*c.Team), Name: name, DisplayName: display, Type: *c.Type}
}

// toUser maps a validated user line to what the store imports (its password is hashed
// when its batch is applied: hashPasswords).
func toUser(l Line) store.ImportUser {
	u := l.User
	iu := store.ImportUser{
		Line: l.Number, Username: strings.ToLower(*u.Username), Email: *u.Email,
		FirstName: str(u.FirstName), LastName: str(u.LastName), Nickname: str(u.Nickname),
		Position: str(u.Position), Locale: str(u.Locale),
	}
	if u.AuthService != nil && contains(IdPAuthServices, *u.AuthService) {
		iu.ExternalID = str(u.AuthData)
		if iu.ExternalID != "" {
			iu.AuthService = *u.AuthService
		}
	}
	if u.DeleteAt != nil {
		if *u.DeleteAt > 0 {
			iu.DeleteAt = *u.DeleteAt
		} else {
			iu.Reactivate = true
		}
	}
	iu.SystemAdmin = u.Roles != nil && inRole(*u.Roles, roleSystemAdmin)
	if u.Teams != nil {
		for _, t := range *u.Teams {
			m := store.ImportTeamMembership{Name: strings.ToLower(*t.Name), Admin: t.Roles != nil && inRole(*t.Roles, roleTeamAdmin)}
			if t.Channels != nil {
				for _, c := range *t.Channels {
					name := strings.ToLower(*c.Name)
					m.Channels = append(m.Channels, name)
					if c.Roles != nil && inRole(*c.Roles, roleChannelAdmin) {
						m.AdminChannels = append(m.AdminChannels, name)
					}
				}
			}
			iu.Teams = append(iu.Teams, m)
		}
	}
	return iu
}

// hashPasswords sets the PasswordHash of each user with a password (pw[i]), hashing on
// every core at once: a hash is about 20 ms of CPU (argon2id), so the passwords of a
// batch would otherwise cost minutes. The store sets the hash on new accounts only.
func (a *applier) hashPasswords(users []store.ImportUser, pw []string) error {
	var todo []int
	for i, p := range pw {
		if p != "" {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if a.opts.HashPassword == nil {
		return fmt.Errorf("line %d: a password to hash, and no ImportOptions.HashPassword", users[todo[0]].Line)
	}
	errs := make([]error, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				i := todo[k]
				h, err := a.opts.HashPassword(a.ctx, pw[i])
				if err != nil {
					errs[k] = fmt.Errorf("line %d: password: %w", users[i].Line, err)
					continue
				}
				users[i].PasswordHash = h
			}
		}()
	}
	for k := range todo {
		next <- k
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
