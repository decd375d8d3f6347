package resources

import (
	"errors"
	"strings"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/store"
)

func ptr(s string) *string { return &s }

// TestCursorParameters reads the cursor of list requests as GET and POST .search send
// them, through the list each pages.
func TestCursorParameters(t *testing.T) {
	filter := `userName eq "a"`
	lrFilter, err := listParams{filter: filter}.parse()
	if err != nil {
		t.Fatal(err)
	}
	users := cursor{kind: cursorUsers, pos: 41}.String()
	usersFiltered := cursor{kind: cursorUsers, filter: lrFilter.filterHash, pos: 41}.String()
	groups := cursor{kind: cursorGroups, pos: 41}.String()
	usersBefore := cursor{kind: cursorUsers, before: true, pos: 41}.String()
	usersBefore0 := cursor{kind: cursorUsers, before: true}.String()
	for _, c := range []struct {
		name     string
		p        listParams
		kinds    []cursorKind
		wantType scimerrors.ScimType // "" for no error
		want     *store.Keyset       // nil: paged by index
	}{
		{"no cursor: by index", listParams{}, []cursorKind{cursorUsers}, "", nil},
		{"empty cursor: the first page", listParams{cursor: ptr("")}, []cursorKind{cursorUsers}, "", &store.Keyset{}},
		{"empty cursor, any list", listParams{cursor: ptr("")}, []cursorKind{cursorRootUsers, cursorRootGroups}, "", &store.Keyset{}},
		{"a cursor of this list", listParams{cursor: &users}, []cursorKind{cursorUsers}, "", &store.Keyset{After: 41}},
		{"with a count", listParams{cursor: &users, count: "7"}, []cursorKind{cursorUsers}, "", &store.Keyset{After: 41}},
		{"the filter's cursor", listParams{cursor: &usersFiltered, filter: filter}, []cursorKind{cursorUsers}, "", &store.Keyset{After: 41}},
		{"the filter respaced", listParams{cursor: &usersFiltered, filter: `userName  EQ "a"`}, []cursorKind{cursorUsers}, "", &store.Keyset{After: 41}},
		{"another filter", listParams{cursor: &usersFiltered, filter: `userName eq "b"`}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"a filter added", listParams{cursor: &users, filter: filter}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"a filter dropped", listParams{cursor: &usersFiltered}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"another list's cursor", listParams{cursor: &groups}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"a previousCursor: the page before", listParams{cursor: &usersBefore}, []cursorKind{cursorUsers}, "", &store.Keyset{Before: 41}},
		{"a previousCursor of another list", listParams{cursor: &usersBefore}, []cursorKind{cursorGroups}, "invalidCursor", nil},
		{"before position 0: never given", listParams{cursor: &usersBefore0}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"a list's cursor at the root", listParams{cursor: &users}, []cursorKind{cursorRootUsers, cursorRootGroups}, "invalidCursor", nil},
		{"garbage", listParams{cursor: ptr("not a cursor!")}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"base64 of garbage", listParams{cursor: ptr("aGVsbG8gd29ybGQgaGVsbG8")}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"padded", listParams{cursor: ptr(users + "=")}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"truncated", listParams{cursor: ptr(users[:len(users)-2])}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"too long", listParams{cursor: ptr(strings.Repeat("A", maxCursorLength+1))}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"very long", listParams{cursor: ptr(strings.Repeat(users, 10000))}, []cursorKind{cursorUsers}, "invalidCursor", nil},
		{"with startIndex", listParams{cursor: &users, startIndex: "1"}, []cursorKind{cursorUsers}, scimerrors.ScimTypeInvalidValue, nil},
		{"empty, with startIndex", listParams{cursor: ptr(""), startIndex: "5"}, []cursorKind{cursorUsers}, scimerrors.ScimTypeInvalidValue, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			lr, err := c.p.parse()
			var ks *store.Keyset
			if err == nil && lr.cursor != nil {
				_, ks, err = lr.cursor.keyset(lr.filterHash, c.kinds...)
			}
			var se scimerrors.ScimError
			switch {
			case c.wantType == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantType != "" && (!errors.As(err, &se) || se.ScimType != c.wantType || se.Status != 400):
				t.Fatalf("error %v, want 400 %s", err, c.wantType)
			case c.wantType == "" && (ks == nil) != (c.want == nil), ks != nil && *ks != *c.want:
				t.Fatalf("keyset %+v, want %+v", ks, c.want)
			}
		})
	}
}

// TestCursorEncoding: a cursor decodes to what was encoded, is short, and is made of
// RFC 3986 unreserved characters only.
func TestCursorEncoding(t *testing.T) {
	for _, c := range []cursor{
		{kind: cursorUsers},
		{kind: cursorGroups, pos: 1},
		{kind: cursorRootUsers, filter: [filterHashLen]byte{1, 2, 3, 4, 5, 6, 7, 8}, pos: 1 << 40},
		{kind: cursorRootGroups, pos: 1<<62 - 1},
		{kind: cursorUsers, before: true, pos: 1},
		{kind: cursorRootGroups, before: true, filter: [filterHashLen]byte{9}, pos: 1 << 62},
	} {
		s := c.String()
		if len(s) > maxCursorLength/2 {
			t.Errorf("%+v: cursor %q is %d long", c, s, len(s))
		}
		if strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~") != "" {
			t.Errorf("%+v: cursor %q is not all unreserved characters", c, s)
		}
		got, err := decodeCursor(s)
		if err != nil || got != c {
			t.Errorf("%+v: decoded %+v, %v", c, got, err)
		}
	}
}

// FuzzDecodeCursor: any string decodes to a cursor that encodes back to it, or to
// invalidCursor; nothing panics.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursor{kind: cursorUsers, pos: 5}.String())
	f.Add(cursor{kind: cursorRootGroups, filter: [filterHashLen]byte{9}, pos: 1 << 50}.String())
	f.Add(cursor{kind: cursorGroups, before: true, pos: 7}.String())
	f.Add(cursor{kind: cursorGroups, before: true}.String()) // before position 0: refused
	f.Add("")
	f.Add("AQ")
	f.Add(strings.Repeat("_", 70))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if !errors.Is(err, errInvalidCursor) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if c.String() != s || c.pos < 0 {
			t.Fatalf("%q decoded to %+v, which encodes to %q", s, c, c.String())
		}
	})
}

// TestSortParameters reads sortBy and sortOrder (RFC 7644 §3.4.2.3) as GET and POST
// .search send them; the store resolves the attribute.
func TestSortParameters(t *testing.T) {
	for _, c := range []struct {
		name     string
		p        listParams
		sortBy   string
		desc     bool
		wantType scimerrors.ScimType
	}{
		{"none", listParams{}, "", false, ""},
		{"sortBy", listParams{sortBy: "userName"}, "userName", false, ""},
		{"ascending", listParams{sortBy: " userName ", sortOrder: "ascending"}, "userName", false, ""},
		{"descending", listParams{sortBy: "userName", sortOrder: "descending"}, "userName", true, ""},
		{"descending in another case", listParams{sortBy: "userName", sortOrder: "DESCENDING"}, "userName", true, ""},
		{"sortOrder alone means nothing", listParams{sortOrder: "descending"}, "", false, ""},
		{"another sortOrder", listParams{sortBy: "userName", sortOrder: "down"}, "", false, scimerrors.ScimTypeInvalidValue},
		{"with a cursor", listParams{sortBy: "userName", cursor: ptr("")}, "", false, scimerrors.ScimTypeInvalidValue},
		{"sortOrder with a cursor", listParams{sortOrder: "descending", cursor: ptr("")}, "", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			lr, err := c.p.parse()
			var se scimerrors.ScimError
			switch {
			case c.wantType == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantType != "" && (!errors.As(err, &se) || se.ScimType != c.wantType || se.Status != 400):
				t.Fatalf("error %v, want 400 %s", err, c.wantType)
			case c.wantType == "" && (lr.query.SortBy != c.sortBy || lr.query.SortDescending != c.desc):
				t.Fatalf("sortBy %q descending %v; want %q %v", lr.query.SortBy, lr.query.SortDescending, c.sortBy, c.desc)
			}
		})
	}
}
