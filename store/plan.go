package store

import (
	"fmt"
	"sort"
	"strings"

	"github.com/townsquare/townsquare/store/rules"
)

// Plans of mapping changes (issue 14). Store.PlanRules computes what installing and
// applying a mapping would do to a database, and writes nothing; Store.ApplyRules
// returns the same plan of what it did, and refuses (rolls back, nothing written) a
// change that removes more memberships than the mapping's max_removals_on_reload
// allows, unless ApplyOptions.AcceptRemovals.

// ApplyOptions are what a caller of ApplyRules allows.
type ApplyOptions struct {
	// AcceptRemovals applies a change even when it removes more memberships than the
	// rules' MaxRemovalsOnReload allows (serve's --accept-mapping-change).
	AcceptRemovals bool
	// BeforeCommit, when not nil, is called with the plan of a change that is about to
	// be committed (within the limit, or accepted), inside its transaction: serve logs
	// the change before it takes effect. It is not called for an unchanged mapping or a
	// refused change, and may be called again if the transaction is retried. It must not
	// call the store.
	BeforeCommit func(RulesPlan)
}

// CodeTooManyRemovals refuses a mapping change that removes more memberships than
// max_removals_on_reload allows (RefusedError of ApplyRules).
const CodeTooManyRemovals = "too_many_removals"

// AcceptMappingChangeFlag is the serve flag that accepts such a change; the refusal's
// Reason names it.
const AcceptMappingChangeFlag = "--accept-mapping-change"

// MaxPlanChanges is the most changes a verbose plan lists; the rest are counted in
// RulesPlan.ChangesLeftOut.
const MaxPlanChanges = 100000

// PlanCounts are the changes to the memberships of one team or channel, or of all.
// Admins count team_admin in a team and channel_admin in a channel. BecomeGuests and
// StopBeingGuests count the accounts that become guests (or are promoted to members)
// and are members of the team or channel afterwards.
type PlanCounts struct {
	Joins           int `json:"joins"`
	Leaves          int `json:"leaves"`
	AdminsGained    int `json:"admins_gained"`
	AdminsLost      int `json:"admins_lost"`
	BecomeGuests    int `json:"become_guests"`
	StopBeingGuests int `json:"stop_being_guests"`
}

func (c *PlanCounts) add(o PlanCounts) {
	c.Joins += o.Joins
	c.Leaves += o.Leaves
	c.AdminsGained += o.AdminsGained
	c.AdminsLost += o.AdminsLost
	c.BecomeGuests += o.BecomeGuests
	c.StopBeingGuests += o.StopBeingGuests
}

// zero reports counts that are all zero.
func (c PlanCounts) zero() bool { return c == PlanCounts{} }

// TargetPlan is what a change does to one team (Channel "") or channel.
type TargetPlan struct {
	Team    string `json:"team"`
	Channel string `json:"channel,omitempty"`
	// Created: the change creates it. Before and After: the attributes a declaration
	// changes (display_name, type), as team.updated and channel.updated hold them.
	Created bool              `json:"created,omitempty"`
	Before  map[string]string `json:"before,omitempty"`
	After   map[string]string `json:"after,omitempty"`
	PlanCounts
}

// AccountCounts are the changes to accounts' system roles.
type AccountCounts struct {
	BecomeGuests       int `json:"become_guests"`
	StopBeingGuests    int `json:"stop_being_guests"`
	SystemAdminsGained int `json:"system_admins_gained"`
	SystemAdminsLost   int `json:"system_admins_lost"`
}

// PlanChange is one change of a plan: a journal entry the change writes.
type PlanChange struct {
	Kind     EventKind         `json:"kind"`
	Account  string            `json:"account,omitempty"`
	Username string            `json:"username,omitempty"`
	Team     string            `json:"team,omitempty"`
	Channel  string            `json:"channel,omitempty"`
	Source   string            `json:"source,omitempty"`
	Before   map[string]string `json:"before,omitempty"`
	After    map[string]string `json:"after,omitempty"`
}

// String is the change as one line: "team.joined alice engineering (group:12)".
func (c PlanChange) String() string {
	var b strings.Builder
	b.WriteString(string(c.Kind))
	if c.Username != "" {
		b.WriteString(" " + c.Username)
	}
	if c.Team != "" {
		b.WriteString(" " + c.Team)
		if c.Channel != "" {
			b.WriteString("/" + c.Channel)
		}
	}
	if c.Source != "" {
		b.WriteString(" (" + c.Source + ")")
	}
	if len(c.Before) > 0 || len(c.After) > 0 {
		b.WriteString(" " + describeAttrs(c.Before, c.After))
	}
	return b.String()
}

// RulesPlan is what applying a mapping does (or would do) to a database.
type RulesPlan struct {
	// Changed is false when the mapping is the one last applied to the database: it is
	// then not applied again, and the rest is zero.
	Changed bool `json:"changed"`
	// GroupsRemapped counts the groups whose teams or channels change.
	GroupsRemapped int `json:"groups_remapped"`
	// MembershipsBefore counts the team and channel memberships of active accounts
	// before the change; Removals the memberships it ends (team.left and
	// channel.left), which Limit bounds.
	MembershipsBefore int    `json:"memberships_before"`
	Removals          int    `json:"removals"`
	Limit             string `json:"max_removals_on_reload"`
	// WithinLimit reports Removals within Limit: a server applies the change without
	// AcceptRemovals.
	WithinLimit bool `json:"within_limit"`

	Teams         []TargetPlan  `json:"teams"`    // by name; only those that change
	Channels      []TargetPlan  `json:"channels"` // by team, then name
	TeamTotals    PlanCounts    `json:"team_totals"`
	ChannelTotals PlanCounts    `json:"channel_totals"`
	Accounts      AccountCounts `json:"accounts"`

	// Changes are the changes one by one, in the order they are made, when a verbose
	// plan was asked for: at most MaxPlanChanges, ChangesLeftOut the rest.
	Changes        []PlanChange `json:"changes,omitempty"`
	ChangesLeftOut int          `json:"changes_left_out,omitempty"`
}

// Refusal is the RefusedError CodeTooManyRemovals of a plan over its limit.
func (p RulesPlan) Refusal() *RefusedError {
	return &RefusedError{Code: CodeTooManyRemovals, Reason: fmt.Sprintf(
		"the mapping change removes %d of %d memberships, more than max_removals_on_reload (%s) allows; start with %s to apply it",
		p.Removals, p.MembershipsBefore, p.Limit, AcceptMappingChangeFlag)}
}

// Summary is the plan in one line: "mapping change: 3 groups remapped; teams +12 join,
// -3 leave; channels …; 5 of 200 memberships removed (limit 10%: within)".
func (p RulesPlan) Summary() string {
	if !p.Changed {
		return "the mapping is the one applied: no change"
	}
	parts := []string{fmt.Sprintf("%d groups remapped", p.GroupsRemapped)}
	if s := p.TeamTotals.describe(RoleTeamAdmin); s != "" {
		parts = append(parts, "teams "+s)
	}
	if s := p.ChannelTotals.describe(RoleChannelAdmin); s != "" {
		parts = append(parts, "channels "+s)
	}
	if s := p.Accounts.describe(); s != "" {
		parts = append(parts, "accounts "+s)
	}
	within := "within it"
	if !p.WithinLimit {
		within = "over it: a server refuses it without " + AcceptMappingChangeFlag
	}
	parts = append(parts, fmt.Sprintf("%d of %d memberships removed (max_removals_on_reload %s: %s)", p.Removals, p.MembershipsBefore, p.Limit, within))
	return "mapping change: " + strings.Join(parts, "; ")
}

// Lines are the plan's teams and channels, one line each: "engineering: created, +12
// join, -3 leave, +2 team_admin, -1 team_admin, 4 become guests".
func (p RulesPlan) Lines() []string {
	var out []string
	for _, t := range p.Teams {
		out = append(out, t.line(RoleTeamAdmin))
	}
	for _, c := range p.Channels {
		out = append(out, c.line(RoleChannelAdmin))
	}
	return out
}

func (t TargetPlan) line(admin string) string {
	name := t.Team
	if t.Channel != "" {
		name += "/" + t.Channel
	}
	var parts []string
	if t.Created {
		parts = append(parts, "created")
	}
	if len(t.Before) > 0 || len(t.After) > 0 {
		parts = append(parts, describeAttrs(t.Before, t.After))
	}
	if s := t.PlanCounts.describe(admin); s != "" {
		parts = append(parts, s)
	}
	return name + ": " + strings.Join(parts, ", ")
}

// describe is "+12 join, -3 leave, +2 team_admin, -1 team_admin, 4 become guests, 1
// stops being a guest", the zero counts left out.
func (c PlanCounts) describe(admin string) string {
	var parts []string
	for _, f := range []struct {
		n      int
		format string
	}{
		{c.Joins, "+%d join"}, {c.Leaves, "-%d leave"},
		{c.AdminsGained, "+%d " + admin}, {c.AdminsLost, "-%d " + admin},
		{c.BecomeGuests, "%d become guests"}, {c.StopBeingGuests, "%d stop being guests"},
	} {
		if f.n != 0 {
			parts = append(parts, fmt.Sprintf(f.format, f.n))
		}
	}
	return strings.Join(parts, ", ")
}

func (c AccountCounts) describe() string {
	var parts []string
	for _, f := range []struct {
		n      int
		format string
	}{
		{c.BecomeGuests, "%d become guests"}, {c.StopBeingGuests, "%d stop being guests"},
		{c.SystemAdminsGained, "+%d system_admin"}, {c.SystemAdminsLost, "-%d system_admin"},
	} {
		if f.n != 0 {
			parts = append(parts, fmt.Sprintf(f.format, f.n))
		}
	}
	return strings.Join(parts, ", ")
}

// describeAttrs is `display_name "eng" → "Engineering", type O → I`.
func describeAttrs(before, after map[string]string) string {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	sortedKeys := make([]string, 0, len(keys))
	for k := range keys {
		sortedKeys = append(sortedKeys, k)
	}
	sort.Strings(sortedKeys)
	parts := make([]string, len(sortedKeys))
	for i, k := range sortedKeys {
		parts[i] = fmt.Sprintf("%s %q → %q", k, before[k], after[k])
	}
	return strings.Join(parts, ", ")
}

// PlanBuilder turns the journal entries of a mapping change into its RulesPlan. A
// backend feeds it every entry the change wrote (Add), the accounts' memberships after
// it for the guest counts (GuestMember), and Plan returns the result.
type PlanBuilder struct {
	verbose  bool
	plan     RulesPlan
	teams    map[string]*TargetPlan
	channels map[ChannelRef]*TargetPlan
	// guests and promoted are the accounts that become guests, or members from guests.
	guests, promoted map[string]bool
}

// NewPlanBuilder starts a plan; verbose keeps the changes one by one.
func NewPlanBuilder(verbose bool) *PlanBuilder {
	return &PlanBuilder{verbose: verbose, plan: RulesPlan{Changed: true},
		teams: map[string]*TargetPlan{}, channels: map[ChannelRef]*TargetPlan{},
		guests: map[string]bool{}, promoted: map[string]bool{}}
}

func (b *PlanBuilder) team(name string) *TargetPlan {
	t := b.teams[name]
	if t == nil {
		t = &TargetPlan{Team: name}
		b.teams[name] = t
	}
	return t
}

func (b *PlanBuilder) channel(team, channel string) *TargetPlan {
	ref := ChannelRef{team, channel}
	c := b.channels[ref]
	if c == nil {
		c = &TargetPlan{Team: team, Channel: channel}
		b.channels[ref] = c
	}
	return c
}

// Add counts one journal entry of the change.
func (b *PlanBuilder) Add(e Event) {
	if b.verbose {
		if len(b.plan.Changes) < MaxPlanChanges {
			b.plan.Changes = append(b.plan.Changes, PlanChange{Kind: e.Kind, Account: e.Account, Username: e.Username,
				Team: e.Team, Channel: e.Channel, Source: e.Source, Before: e.Before, After: e.After})
		} else {
			b.plan.ChangesLeftOut++
		}
	}
	gained := e.RoleChange
	count := func(n int, up, down *int) {
		if n > 0 {
			*up++
		} else if n < 0 {
			*down++
		}
	}
	switch e.Kind {
	case EventTeamCreated:
		b.team(e.Team).Created = true
	case EventChannelCreated:
		b.channel(e.Team, e.Channel).Created = true
	case EventTeamUpdated:
		t := b.team(e.Team)
		t.Before, t.After = mergeAttrs(t.Before, t.After, e.Before, e.After)
	case EventChannelUpdated:
		c := b.channel(e.Team, e.Channel)
		c.Before, c.After = mergeAttrs(c.Before, c.After, e.Before, e.After)
	case EventTeamJoined:
		b.team(e.Team).Joins++
	case EventTeamLeft:
		b.team(e.Team).Leaves++
	case EventChannelJoined:
		b.channel(e.Team, e.Channel).Joins++
	case EventChannelLeft:
		b.channel(e.Team, e.Channel).Leaves++
	case EventTeamRoles:
		t := b.team(e.Team)
		count(gained(RoleTeamAdmin), &t.AdminsGained, &t.AdminsLost)
	case EventChannelRoles:
		c := b.channel(e.Team, e.Channel)
		count(gained(RoleChannelAdmin), &c.AdminsGained, &c.AdminsLost)
	case EventAccountRoles:
		a := &b.plan.Accounts
		count(gained(RoleSystemAdmin), &a.SystemAdminsGained, &a.SystemAdminsLost)
		switch gained(RoleSystemGuest) {
		case 1:
			a.BecomeGuests++
			b.guests[e.Account] = true
			delete(b.promoted, e.Account)
		case -1:
			a.StopBeingGuests++
			b.promoted[e.Account] = true
			delete(b.guests, e.Account)
		}
	}
}

// mergeAttrs folds a second update of the same attributes into the first: the first
// before, the last after.
func mergeAttrs(before, after, b, a map[string]string) (map[string]string, map[string]string) {
	if before == nil {
		before, after = map[string]string{}, map[string]string{}
	}
	for k, v := range b {
		if _, ok := before[k]; !ok {
			before[k] = v
		}
	}
	for k, v := range a {
		after[k] = v
	}
	return before, after
}

// GuestAccounts lists the accounts that become guests and those promoted from guests to
// members, for the backend to report their memberships after the change (GuestMember).
func (b *PlanBuilder) GuestAccounts() (becomeGuests, promoted []string) {
	for id := range b.guests {
		becomeGuests = append(becomeGuests, id)
	}
	for id := range b.promoted {
		promoted = append(promoted, id)
	}
	sort.Strings(becomeGuests)
	sort.Strings(promoted)
	return becomeGuests, promoted
}

// GuestMember counts an account of GuestAccounts as a member of a team (channel "")
// or channel after the change.
func (b *PlanBuilder) GuestMember(account, team, channel string) {
	var t *TargetPlan
	if channel == "" {
		t = b.team(team)
	} else {
		t = b.channel(team, channel)
	}
	switch {
	case b.guests[account]:
		t.BecomeGuests++
	case b.promoted[account]:
		t.StopBeingGuests++
	}
}

// Plan returns the plan: groupsRemapped and membershipsBefore as the backend counted
// them, and limit the MaxRemovalsOnReload of the rules applied.
func (b *PlanBuilder) Plan(groupsRemapped, membershipsBefore int, limit rules.RemovalLimit) RulesPlan {
	p := b.plan
	p.GroupsRemapped, p.MembershipsBefore = groupsRemapped, membershipsBefore
	p.Teams, p.Channels = nil, nil
	for _, t := range b.teams {
		if t.Created || len(t.After) > 0 || !t.PlanCounts.zero() {
			p.Teams = append(p.Teams, *t)
			p.TeamTotals.add(t.PlanCounts)
		}
	}
	for _, c := range b.channels {
		if c.Created || len(c.After) > 0 || !c.PlanCounts.zero() {
			p.Channels = append(p.Channels, *c)
			p.ChannelTotals.add(c.PlanCounts)
		}
	}
	sort.Slice(p.Teams, func(i, j int) bool { return p.Teams[i].Team < p.Teams[j].Team })
	sort.Slice(p.Channels, func(i, j int) bool {
		if p.Channels[i].Team != p.Channels[j].Team {
			return p.Channels[i].Team < p.Channels[j].Team
		}
		return p.Channels[i].Channel < p.Channels[j].Channel
	})
	p.Removals = p.TeamTotals.Leaves + p.ChannelTotals.Leaves
	p.Limit = limit.String()
	p.WithinLimit = limit.Allows(p.Removals, membershipsBefore)
	return p
}

// UnchangedPlan is the plan of a mapping that is the one applied: nothing changes.
func UnchangedPlan(limit rules.RemovalLimit) RulesPlan {
	return RulesPlan{Limit: limit.String(), WithinLimit: true}
}
