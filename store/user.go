package store

import (
	"reflect"
	"time"
)

// User is the typed form of a SCIM User as the store keeps it. An empty string means
// "unassigned": SCIM treats null and "" alike for the simple attributes we store, so the
// store writes NULL for both and the resource mapping omits them on output.
type User struct {
	ID         string // server-assigned, stable, case-sensitive (a UUID)
	ExternalID string // the IdP's stable id; binds the chat account (auth_data)
	UserName   string // stored exactly as sent; unique without regard to case

	Name              Name
	DisplayName       string
	NickName          string
	ProfileURL        string
	Title             string
	UserType          string
	PreferredLanguage string
	Locale            string
	Timezone          string
	Active            bool

	// PasswordHash is a salted hash of a password the IdP sent, never the password itself.
	// It is never returned over SCIM.
	PasswordHash string

	Emails       []MultiValue
	PhoneNumbers []MultiValue
	Addresses    []Address

	Enterprise Enterprise

	// Groups lists the groups the user is a member of, directly or through nested groups
	// (GroupRef.Indirect), by creation of the group. It is derived from group
	// membership, read-only, and ignored on write.
	Groups []GroupRef

	// Account is the chat side of the user. The store derives and maintains it; whatever
	// a caller puts here is ignored on write.
	Account Account

	Created      time.Time
	LastModified time.Time
	Version      int64 // incremented on every write; the ETag is W/"<Version>"
}

// SameAttributes reports whether u and o hold the same attributes a client writes:
// everything but ID, Groups, Account, Created, LastModified and Version, which the store
// keeps; an empty list is the same as none. An update that changes none of them is no
// change (UpdateUser).
func (u *User) SameAttributes(o *User) bool {
	written := func(x User) User {
		x.ID, x.Groups, x.Account = "", nil, Account{}
		x.Created, x.LastModified, x.Version = time.Time{}, time.Time{}, 0
		if len(x.Emails) == 0 {
			x.Emails = nil
		}
		if len(x.PhoneNumbers) == 0 {
			x.PhoneNumbers = nil
		}
		if len(x.Addresses) == 0 {
			x.Addresses = nil
		}
		return x
	}
	return reflect.DeepEqual(written(*u), written(*o))
}

// Name is the SCIM "name" complex attribute.
type Name struct {
	Formatted       string
	FamilyName      string
	GivenName       string
	MiddleName      string
	HonorificPrefix string
	HonorificSuffix string
}

// IsZero reports whether no sub-attribute is set.
func (n Name) IsZero() bool { return n == Name{} }

// MultiValue is an element of emails or phoneNumbers.
//
// Its primary sub-attribute has three states, so that what a client sent comes back as
// sent: Primary true is "primary": true; Primary false with PrimaryFalse is an explicit
// "primary": false; both false is primary left out (RFC 7643 §2.4: it is then "assumed to
// be false", which is how a filter and the chat account read it). PrimaryFalse means
// nothing beside Primary true: a store writes and returns it false then, so the zero value
// and a literal Primary: true keep their meaning.
type MultiValue struct {
	Value        string
	Display      string
	Type         string
	Primary      bool
	PrimaryFalse bool
}

// Address is an element of addresses. Primary and PrimaryFalse are MultiValue's.
type Address struct {
	Formatted     string
	StreetAddress string
	Locality      string
	Region        string
	PostalCode    string
	Country       string
	Type          string
	Primary       bool
	PrimaryFalse  bool
}

// Enterprise holds urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.
type Enterprise struct {
	EmployeeNumber string
	CostCenter     string
	Organization   string
	Division       string
	Department     string
	Manager        Manager
}

// IsZero reports whether no enterprise attribute is set.
func (e Enterprise) IsZero() bool { return e == Enterprise{} }

// Manager is the enterprise "manager" attribute: the SCIM id of another User.
type Manager struct {
	Value       string
	Ref         string
	DisplayName string
}

// Account is the chat account of a user, as Mattermost would hold it.
type Account struct {
	Username string   // chat username, derived from userName (see rules.Username)
	Email    string   // primary email, lower-cased
	Status   string   // StatusOnline, or StatusOffline while deactivated
	DeleteAt int64    // deactivation time (Unix ms, as Mattermost's DeleteAt); 0 = active
	Teams    []string // names of the teams the account is in
	Channels []string // "team/channel" of the channels the account is in
	// Roles (roles.go): Guest is the account's guest status; SystemAdmin, TeamAdmin and
	// ChannelAdmin the admin roles in effect (none while a guest). TeamAdmin lists team
	// names, ChannelAdmin "team/channel", each a subset of Teams or Channels.
	Guest        bool
	SystemAdmin  bool
	TeamAdmin    []string
	ChannelAdmin []string
}

// Account statuses.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)

// StringAttribute is a single-valued string attribute of a User (userName and externalId
// aside, which have rules of their own): where SCIM names it and where a User holds it.
// The mappings between SCIM and User (resources) and between User and a backend's rows
// (sqlstore) walk UserStrings, so storing one more such attribute is a field of User and
// a line here, plus the backend's column.
type StringAttribute struct {
	Schema    string // "" for the core User schema, else the extension's URN
	Name      string // the attribute, or attribute.sub-attribute: "nickName", "name.givenName"
	CaseExact bool   // compared case-sensitively (RFC 7643 §2.2, caseExact)
	Max       int    // the most characters a value may have: MaxNameLength or MaxTextLength (limits.go)
	Field     func(*User) *string
}

// UserStrings are the User's single-valued string attributes, in a stable order.
var UserStrings = []StringAttribute{
	{"", "name.formatted", false, MaxNameLength, func(u *User) *string { return &u.Name.Formatted }},
	{"", "name.familyName", false, MaxNameLength, func(u *User) *string { return &u.Name.FamilyName }},
	{"", "name.givenName", false, MaxNameLength, func(u *User) *string { return &u.Name.GivenName }},
	{"", "name.middleName", false, MaxNameLength, func(u *User) *string { return &u.Name.MiddleName }},
	{"", "name.honorificPrefix", false, MaxNameLength, func(u *User) *string { return &u.Name.HonorificPrefix }},
	{"", "name.honorificSuffix", false, MaxNameLength, func(u *User) *string { return &u.Name.HonorificSuffix }},
	{"", "displayName", false, MaxNameLength, func(u *User) *string { return &u.DisplayName }},
	{"", "nickName", false, MaxNameLength, func(u *User) *string { return &u.NickName }},
	{"", "profileUrl", false, MaxTextLength, func(u *User) *string { return &u.ProfileURL }},
	{"", "title", false, MaxNameLength, func(u *User) *string { return &u.Title }},
	{"", "userType", false, MaxNameLength, func(u *User) *string { return &u.UserType }},
	{"", "preferredLanguage", false, MaxNameLength, func(u *User) *string { return &u.PreferredLanguage }},
	{"", "locale", false, MaxNameLength, func(u *User) *string { return &u.Locale }},
	{"", "timezone", false, MaxNameLength, func(u *User) *string { return &u.Timezone }},
	{EnterpriseUserSchema, "employeeNumber", false, MaxNameLength, func(u *User) *string { return &u.Enterprise.EmployeeNumber }},
	{EnterpriseUserSchema, "costCenter", false, MaxNameLength, func(u *User) *string { return &u.Enterprise.CostCenter }},
	{EnterpriseUserSchema, "organization", false, MaxNameLength, func(u *User) *string { return &u.Enterprise.Organization }},
	{EnterpriseUserSchema, "division", false, MaxNameLength, func(u *User) *string { return &u.Enterprise.Division }},
	{EnterpriseUserSchema, "department", false, MaxNameLength, func(u *User) *string { return &u.Enterprise.Department }},
	{EnterpriseUserSchema, "manager.value", true, MaxNameLength, func(u *User) *string { return &u.Enterprise.Manager.Value }},
	{EnterpriseUserSchema, "manager.$ref", true, MaxTextLength, func(u *User) *string { return &u.Enterprise.Manager.Ref }},
	{EnterpriseUserSchema, "manager.displayName", false, MaxNameLength, func(u *User) *string { return &u.Enterprise.Manager.DisplayName }},
}
