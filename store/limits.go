package store

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of what is stored. They are domain rules, so every way in (SCIM, the CLI, an
// import) gets the same answer: CreateUser, UpdateUser, CreateGroup and UpdateGroup
// refuse a resource that breaks one with an InvalidError and write nothing. Lengths are
// counted in characters (Unicode code points), as an admin counts them.
const (
	// MaxNameLength bounds identifiers and names: userName, externalId, the name parts,
	// displayName, title and the other short strings of a User (store.UserStrings says
	// which), the value, display and type of an email or phone number, the short parts of
	// an address, and a Group's displayName and externalId. No IdP sends more: Entra
	// caps displayName at 256 and a userPrincipalName at 113, Okta a login at 100, and an
	// email address is at most 254 (RFC 5321). Several of these are indexed: 256
	// characters are at most 1,024 bytes of UTF-8, far below PostgreSQL's limit of about
	// 2,700 bytes for a btree index row.
	MaxNameLength = 256
	// MaxTextLength bounds free text that is never indexed: profileUrl and manager.$ref
	// (2,048 is the URL length browsers and proxies have long agreed on), and an
	// address's formatted and streetAddress (several lines).
	MaxTextLength = 2048
	// MaxMultiValues bounds the elements of each multi-valued attribute of a User
	// (emails, phoneNumbers, addresses). A person has a handful; 100 keeps every
	// statement that writes them far below any database's parameter limit (100
	// addresses are 1,000 parameters; SQLite allows 32,766, PostgreSQL 65,535).
	MaxMultiValues = 100
	// MaxIDLength bounds a resource id the store is asked for. Ids are UUIDs (36
	// characters); 64 leaves room for another scheme an import may keep. An id longer
	// than this, or holding a NUL or invalid UTF-8, names nothing (see PossibleID).
	MaxIDLength = 64
	// MaxFilterTerms bounds the size of a filter ListUsers and ListGroups accept:
	// comparisons, and/or, not and value paths each count one. Real IdPs send one or
	// two; 100 still takes a lookup of 50 ids joined with "or" (99 terms), and keeps a
	// hostile filter from producing SQL that is costly to plan. A larger filter is a
	// FilterError.
	MaxFilterTerms = 100
)

// ErrInvalid matches every InvalidError under errors.Is.
var ErrInvalid = errors.New("invalid value")

// InvalidError is a resource that breaks a limit of what is stored. Attribute names the
// SCIM attribute ("userName", "emails.value", an extension's attribute with its URN);
// Reason says what is wrong, for the client ("must not be longer than 256 characters").
type InvalidError struct{ Attribute, Reason string }

func (e *InvalidError) Error() string { return e.Attribute + " " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Check reports the first limit u breaks (an InvalidError), or nil: a userName is
// required, and every stored string is valid UTF-8 without NUL, no longer than its
// limit, and each multi-valued attribute holds at most MaxMultiValues elements. The
// read-only and derived fields (ID, Groups, Account, PasswordHash, times) are not the
// caller's and are not checked.
func (u *User) Check() error {
	if u.UserName == "" {
		return &InvalidError{"userName", "is required"}
	}
	if r := checkString(u.UserName, MaxNameLength); r != "" {
		return &InvalidError{"userName", r}
	}
	if r := checkString(u.ExternalID, MaxNameLength); r != "" {
		return &InvalidError{"externalId", r}
	}
	for _, a := range UserStrings {
		if r := checkString(*a.Field(u), a.Max); r != "" {
			name := a.Name
			if a.Schema != "" {
				name = a.Schema + ":" + a.Name
			}
			return &InvalidError{name, r}
		}
	}
	if err := checkMulti("emails", u.Emails); err != nil {
		return err
	}
	if err := checkMulti("phoneNumbers", u.PhoneNumbers); err != nil {
		return err
	}
	if len(u.Addresses) > MaxMultiValues {
		return tooMany("addresses")
	}
	for i := range u.Addresses {
		a := &u.Addresses[i]
		for _, f := range [...]struct {
			name  string
			value string
			max   int
		}{
			{"formatted", a.Formatted, MaxTextLength},
			{"streetAddress", a.StreetAddress, MaxTextLength},
			{"locality", a.Locality, MaxNameLength},
			{"region", a.Region, MaxNameLength},
			{"postalCode", a.PostalCode, MaxNameLength},
			{"country", a.Country, MaxNameLength},
			{"type", a.Type, MaxNameLength},
		} {
			if r := checkString(f.value, f.max); r != "" {
				return &InvalidError{"addresses." + f.name, r}
			}
		}
	}
	return nil
}

// Check reports the first limit g breaks (an InvalidError), or nil: a displayName is
// required, and displayName and externalId are valid UTF-8 without NUL and at most
// MaxNameLength characters. Members are ids (see PossibleID), not stored strings.
func (g *Group) Check() error {
	if g.DisplayName == "" {
		return &InvalidError{"displayName", "is required"}
	}
	if r := checkString(g.DisplayName, MaxNameLength); r != "" {
		return &InvalidError{"displayName", r}
	}
	if r := checkString(g.ExternalID, MaxNameLength); r != "" {
		return &InvalidError{"externalId", r}
	}
	return nil
}

// PossibleID reports whether id could name a resource: at most MaxIDLength characters
// of valid UTF-8 without NUL. The store answers an id that could not as it answers one
// that names nothing (ErrNotFound, or an unknown member), without asking the database:
// PostgreSQL refuses such a string outright, SQLite would look it up, and both must
// answer the same.
func PossibleID(id string) bool { return possible(id, MaxIDLength) }

// PossibleName is PossibleID for the names of teams and channels, at most MaxNameLength
// characters.
func PossibleName(name string) bool { return possible(name, MaxNameLength) }

func possible(s string, max int) bool {
	return len(s) <= 4*max && checkString(s, max) == ""
}

func checkMulti(attr string, vs []MultiValue) error {
	if len(vs) > MaxMultiValues {
		return tooMany(attr)
	}
	for i := range vs {
		v := &vs[i]
		for _, f := range [...]struct{ name, value string }{{"value", v.Value}, {"display", v.Display}, {"type", v.Type}} {
			if r := checkString(f.value, MaxNameLength); r != "" {
				return &InvalidError{attr + "." + f.name, r}
			}
		}
	}
	return nil
}

func tooMany(attr string) error {
	return &InvalidError{attr, fmt.Sprintf("must not hold more than %d values", MaxMultiValues)}
}

// checkString checks one stored string: valid UTF-8, no NUL, at most max characters. It
// returns what is wrong, or "". The byte length is compared first: a string of at most
// max bytes has at most max characters, so the usual value is never counted.
func checkString(s string, max int) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain a NUL character"
	case len(s) > max && utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("must not be longer than %d characters", max)
	}
	return ""
}
