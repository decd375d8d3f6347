// Package storetest is the conformance suite of store.Store: the behaviour every backend
// must have, written against the interface alone. A backend's tests call RunTests once,
// with a function that makes a fresh database; everything that can only be observed or
// set up through a backend's internals stays with that backend's own tests.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// RunTests runs the suite. For each test, newDatabase(t) makes a fresh, empty database
// that lives as long as t, and returns a function that opens a store on it (its rules
// rules.Default(), closed when t ends). Each call of that function opens another store on
// the same database, as another server process would: the tests of several replicas call
// it more than once.
//
// Every store a test opens is checked with CheckInvariants when the test ends.
func RunTests(t *testing.T, newDatabase func(t testing.TB) func() store.Store) {
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			test.run(t, checked(t, newDatabase(t))())
		})
	}
	for _, test := range replicaTests {
		t.Run(test.name, func(t *testing.T) {
			test.run(t, checked(t, newDatabase(t)))
		})
	}
}

// tests run on one store.
var tests = []struct {
	name string
	run  func(t *testing.T, s store.Store)
}{
	// Users and groups (users.go, groups.go).
	{"UserRoundTrip", testUserRoundTrip},
	{"PrimaryRoundTrip", testPrimaryRoundTrip},
	{"UserNameUniqueWithoutRegardToCase", testUserNameUniqueWithoutRegardToCase},
	{"UpdateUserVersionAndIfMatch", testUpdateUserVersionAndIfMatch},
	{"UpdateUserWithoutChange", testUpdateUserWithoutChange}, {"UpdateGroupWithoutChange", testUpdateGroupWithoutChange}, // nochange.go
	{"ConcurrentUpdatesAreSerialised", testConcurrentUpdatesAreSerialised},
	{"CreateRoundTripOnEveryPath", testCreateRoundTripOnEveryPath},
	{"ListUsersPaging", testListUsersPaging},
	{"ListUsersTotals", testListUsersTotals},
	{"ListGroupsTotals", testListGroupsTotals},
	{"KeysetUsers", testKeysetUsers}, {"KeysetGroups", testKeysetGroups}, // cursor.go
	{"SortUsers", testSortUsers}, {"SortGroups", testSortGroups}, // sort.go
	{"GroupMemberDeltas", testGroupMemberDeltas},
	{"GroupDisplayNameUnique", testGroupDisplayNameUnique},
	{"EachGroupMember", testEachGroupMember},
	// Readiness and errors (ready.go).
	{"Ready", testReady},
	{"CallerErrorsAreNotUnavailable", testCallerErrorsAreNotUnavailable},
	// Limits of what is stored, and ids that could name nothing (limits.go).
	{"UserStringLimits", testUserStringLimits},
	{"UserMultiValueLimits", testUserMultiValueLimits},
	{"GroupLimits", testGroupLimits},
	{"ImpossibleIDs", testImpossibleIDs},
	{"FilterLimits", testFilterLimits},
	// Filters (filter.go).
	{"UserFilters", testUserFilters},
	{"GroupFilters", testGroupFilters},
	{"InvalidFilters", testInvalidFilters},
	// Tokens (tokens.go).
	{"Tokens", testTokens},
	// Provisioning rules (provision.go).
	{"NewUserJoinsDefaultTeamWithTownSquare", testNewUserJoinsDefaultTeamWithTownSquare},
	{"GroupMembershipGrantsAndRevokes", testGroupMembershipGrantsAndRevokes},
	{"DefaultChannelsReplaceOffTopic", testDefaultChannelsReplaceOffTopic},
	{"UnmappedGroupsIgnore", testUnmappedGroupsIgnore},
	{"DeactivationKeepsMembershipsReactivationReevaluates", testDeactivationKeepsMembershipsReactivationReevaluates},
	{"DeleteDeactivatesAndRelinksByExternalID", testDeleteDeactivatesAndRelinksByExternalID},
	{"PurgeMode", testPurgeMode},
	{"ChatUsernames", testChatUsernames},
	{"ApplyRulesGivesEveryTeamItsJoinChannels", testApplyRulesGivesEveryTeamItsJoinChannels},
	// The chat side as the admin API reads it (chat.go).
	{"AdminListTeamsAndChannels", testAdminListTeamsAndChannels},
	{"AdminTeamAndChannelMembers", testAdminTeamAndChannelMembers},
	{"AdminAccountDetails", testAdminAccountDetails},
	{"AdminMemberPages", testAdminMemberPages},
	// The admin's writes and first-login provisioning (admin.go).
	{"AdminCreateAccount", testAdminCreateAccount},
	{"AdminSetAccountActive", testAdminSetAccountActive},
	{"AdminDeleteAccount", testAdminDeleteAccount},
	{"AdminEditAccount", testAdminEditAccount},
	{"AdminCreateTeamAndChannel", testAdminCreateTeamAndChannel},
	{"AdminTeamMembers", testAdminTeamMembers},
	{"AdminRemoveFromDeactivated", testAdminRemoveFromDeactivated},
	{"AdminChannelMembers", testAdminChannelMembers},
	{"AdminListAccounts", testAdminListAccounts},
	{"AdminLogin", testAdminLogin},
	{"AdminSCIMAdoptsAccount", testAdminSCIMAdoptsAccount},
	{"AdminManualMembershipsAreOrdinary", testAdminManualMembershipsAreOrdinary},
	// Bulk export and import (bulk.go).
	{"BulkImportCreates", testBulkImportCreates},
	{"BulkImportIdempotent", testBulkImportIdempotent},
	{"BulkImportCreatesNothingUnneeded", testBulkImportCreatesNothingUnneeded},
	{"BulkImportDryRun", testBulkImportDryRun},
	{"BulkImportMatches", testBulkImportMatches},
	{"BulkImportNeverRemoves", testBulkImportNeverRemoves},
	{"BulkImportActivity", testBulkImportActivity},
	{"BulkImportJournal", testBulkImportJournal},
	{"BulkImportInvalid", testBulkImportInvalid},
	{"BulkImportEmailLimit", testBulkImportEmailLimit},
	{"BulkImportBatchLimit", testBulkImportBatchLimit},
	{"BulkImportTeamLackingJoinChannel", testBulkImportTeamLackingJoinChannel},
	{"BulkImportIsReconciled", testBulkImportIsReconciled},
	{"BulkExportSelection", testBulkExportSelection},
	{"BulkExportSnapshot", testBulkExportSnapshot},
	// Roles and guests (roles.go).
	{"RolesFromGroups", testRolesFromGroups},
	{"SystemAdmin", testSystemAdmin},
	{"Guests", testGuests},
	{"PrivateChannelsAndDeclarations", testPrivateChannelsAndDeclarations},
	// Nested groups (nested.go).
	{"NestedTransitive", testNestedTransitive},
	{"NestedCreateReplace", testNestedCreateReplace},
	{"NestedRoles", testNestedRoles},
	{"NestedDAG", testNestedDAG},
	{"NestedCycles", testNestedCycles},
	{"NestedBound", testNestedBound},
	{"NestedReads", testNestedReads}, // nested_read.go
	{"RoleRefusals", testRoleRefusals},
	{"RoleReads", testRoleReads},
	// The change journal (journal.go).
	{"JournalAccountLifecycle", testJournalAccountLifecycle},
	{"JournalPurge", testJournalPurgeAndTeams},
	{"JournalMemberships", testJournalMemberships},
	{"JournalApplyRules", testJournalApplyRules},
	{"PlanRules", testPlanRules}, // plan.go: plans, the reload guard, declarations
	{"AccountID", testAccountID},
	{"JournalPages", testJournalPages},
	{"JournalAppendEvent", testJournalAppendEvent},
	{"JournalCursors", testJournalCursors},
	{"JournalLeases", testJournalLeases},
	{"JournalPrune", testJournalPrune},
	// The Mattermost connector's state and desired-state reads (mattermost.go).
	{"ChatAccountState", testChatAccountState},
	{"ChatAccountStatePurged", testChatAccountStatePurged},
	{"MMLinks", testMMLinks},
	{"MMPurgedLinks", testMMPurgedLinks},
	{"MMOwnedMemberships", testMMOwnedMemberships},
	{"MMDeadLetters", testMMDeadLetters},
	{"MMBreaker", testMMBreaker},
	{"MMFailuresAndStatus", testMMFailuresAndStatus},
}

// replicaTests run on several stores sharing one database (replicas.go): open opens one
// more.
var replicaTests = []struct {
	name string
	run  func(t *testing.T, open func() store.Store)
}{
	{"ConcurrentMembershipChanges", testConcurrentMembershipChanges},
	{"ConcurrentAddRemoveReactivate", testConcurrentAddRemoveReactivate},
	{"NewUsernamesSkipTakenNames", testNewUsernamesSkipTakenNames},
	{"JournalReplayMatchesState", testJournalReplayMatchesState},
	{"ConcurrentImports", testConcurrentImports},
	{"AdminMembershipRaces", testAdminMembershipRaces},
	{"RoleRaces", testRoleRaces},
	{"NestedRaces", testNestedRaces}, // nested.go
}

// checked wraps open so that every store it opens has its invariants checked when t
// ends (before the store closes: cleanups run last-registered first).
func checked(t *testing.T, open func() store.Store) func() store.Store {
	return func() store.Store {
		s := open()
		t.Cleanup(func() { checkInvariants(t, s) })
		return s
	}
}

// exampleRules map a few groups: by name, by externalId, and by prefix.
const exampleRules = `
default_team: everyone
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
    channels: [engineering/backend, everyone/eng-news]
  - match: {externalId: "00g1abcd"}
    channels: [everyone/leads]
  - match: {displayNamePrefix: "team-"}
    teams: ["{suffix}"]
`

// everyoneDefault are the channels of an account in the default team of exampleRules only.
var everyoneDefault = []string{"everyone/off-topic", "everyone/town-square"}

// parseRules parses a rules configuration or fails the test.
func parseRules(t *testing.T, yaml string) rules.Config {
	t.Helper()
	cfg, err := rules.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// useRules installs the rules of yaml on s.
func useRules(t *testing.T, s store.Store, yaml string) {
	t.Helper()
	s.SetRules(parseRules(t, yaml))
}

// checkInvariants fails the test if any provisioning rule is broken anywhere.
func checkInvariants(t *testing.T, s store.Store) {
	t.Helper()
	v, err := s.CheckInvariants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range v {
		t.Errorf("invariant broken: %s", line)
	}
}

// fullUser is a user with every attribute set.
func fullUser(name string) store.User {
	return store.User{
		UserName: name, ExternalID: "ext-" + name, Active: true,
		Name:        store.Name{GivenName: "Given", FamilyName: "Family", Formatted: "Given Family", MiddleName: "M", HonorificPrefix: "Dr", HonorificSuffix: "III"},
		DisplayName: "Display " + name, NickName: "nick", ProfileURL: "https://x/p", Title: "Engineer", UserType: "Employee",
		PreferredLanguage: "en-US", Locale: "en-US", Timezone: "Europe/Paris", PasswordHash: "pbkdf2-sha256$1$x$y",
		Emails:       []store.MultiValue{{Value: name + "@Example.com", Type: "work", Primary: true}, {Value: "home-" + name + "@example.com", Type: "home"}},
		PhoneNumbers: []store.MultiValue{{Value: "+1 555", Type: "mobile", Primary: true}},
		Addresses:    []store.Address{{StreetAddress: "1 Main St", Locality: "Springfield", Region: "IL", PostalCode: "62701", Country: "US", Type: "work", Primary: true, Formatted: "1 Main St"}},
		Enterprise: store.Enterprise{EmployeeNumber: "42", CostCenter: "cc", Organization: "org", Division: "div", Department: "dep",
			Manager: store.Manager{Value: "mgr-id", Ref: "../Users/mgr-id", DisplayName: "Boss"}},
	}
}

// mustUser creates an active user whose only email is its userName.
func mustUser(t *testing.T, s store.Store, userName, externalID string) store.User {
	t.Helper()
	u := store.User{UserName: userName, ExternalID: externalID, Active: true,
		Emails: []store.MultiValue{{Value: userName, Primary: true}}}
	if err := s.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func mustGroup(t *testing.T, s store.Store, name, externalID string, members ...string) store.Group {
	t.Helper()
	g := store.Group{DisplayName: name, ExternalID: externalID}
	if err := s.CreateGroup(context.Background(), &g, members); err != nil {
		t.Fatal(err)
	}
	return g
}

func setActive(t *testing.T, s store.Store, id string, active bool) {
	t.Helper()
	if _, err := s.UpdateUser(context.Background(), id, 0, func(u *store.User) error { u.Active = active; return nil }); err != nil {
		t.Fatal(err)
	}
}

// account reads the chat account of a live user.
func account(t *testing.T, s store.Store, id string) store.Account {
	t.Helper()
	u, err := s.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Account
}

// wantAccount fails the test unless the account of user id is in exactly these teams and
// channels ("team/channel").
func wantAccount(t *testing.T, s store.Store, id string, teams, channels []string) {
	t.Helper()
	a := account(t, s, id)
	teams, channels = slices.Sorted(slices.Values(teams)), slices.Sorted(slices.Values(channels))
	if fmt.Sprint(a.Teams) != fmt.Sprint(teams) || fmt.Sprint(a.Channels) != fmt.Sprint(channels) {
		t.Fatalf("account %s:\n teams    %v, want %v\n channels %v, want %v", a.Username, a.Teams, teams, a.Channels, channels)
	}
}

func patchMembers(t *testing.T, s store.Store, gid string, kind store.MemberOpKind, ids ...string) {
	t.Helper()
	if _, err := s.UpdateGroup(context.Background(), gid, 0, nil, []store.MemberOp{{Kind: kind, IDs: ids}}); err != nil {
		t.Fatal(err)
	}
}

// memberIDs lists the ids of a group's members, sorted.
func memberIDs(t *testing.T, s store.Store, gid string) []string {
	t.Helper()
	var ids []string
	if err := s.EachGroupMember(context.Background(), gid, func(m store.Member) error {
		ids = append(ids, m.Value)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

func sorted(xs ...string) []string { sort.Strings(xs); return xs }

func wantLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}
