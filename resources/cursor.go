package resources

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/townsquare/townsquare/store"
)

// Cursor pagination (RFC 9865). A cursor names a position in one list, the store's
// (store.Keyset), so paging by cursor keeps no state anywhere: any replica answers any
// page, and a cursor never expires (/ServiceProviderConfig advertises no
// cursorTimeout). Deleting or creating resources between pages moves no other resource
// (see store.Keyset).
//
// A cursor is base64url (RFC 4648 §5, no padding: only RFC 3986 unreserved characters,
// as RFC 9865 §2 asks) of: a version byte, the list it pages (cursorKind, plus one for
// a page before the position: a previousCursor), a hash of the request's filter, and
// the position as a uvarint. A nextCursor names the page after the position where its
// page ended, a previousCursor the page before the position where its page began
// (store.Keyset's After and Before): both come from the page as read, so neither costs
// a page anything. A cursor of another version, another
// list or another filter is 400 invalidCursor: RFC 9865 §2 has the client repeat the
// query with only the cursor changed, and a position in one list means nothing in
// another. A position grants nothing: every page is the filter's, as the token allows.

// cursorVersion is the first byte of every cursor this build writes.
const cursorVersion = 1

// maxCursorLength bounds the cursor a request may send (encoded); ours are far shorter.
const maxCursorLength = 64

// cursorKind is the list a cursor pages.
type cursorKind byte

const (
	cursorUsers      cursorKind = 'U' // GET /Users, POST /Users/.search
	cursorGroups     cursorKind = 'G' // GET /Groups, POST /Groups/.search
	cursorRootUsers  cursorKind = 'u' // POST /.search, among its users
	cursorRootGroups cursorKind = 'g' // POST /.search, among its groups (after every user)
)

// filterHashLen is how much of the filter's SHA-256 a cursor carries: enough that a
// cursor of another filter is refused, not a secret.
const filterHashLen = 8

// cursor is a decoded cursor.
type cursor struct {
	kind   cursorKind
	before bool // the page before pos (a previousCursor), else the page after it
	filter [filterHashLen]byte
	pos    int64 // the store.Keyset position
}

// filterHash is what a cursor carries of the filter: the hash of the parsed filter as
// it prints (so spacing and the case of operators do not matter), nil for none.
func filterHash(f store.Filter) [filterHashLen]byte {
	var h [filterHashLen]byte
	if f == nil {
		return h
	}
	sum := sha256.Sum256([]byte(fmt.Sprint(f)))
	copy(h[:], sum[:])
	return h
}

// String encodes c.
func (c cursor) String() string {
	b := make([]byte, 0, 2+filterHashLen+binary.MaxVarintLen64)
	k := byte(c.kind)
	if c.before {
		k++
	}
	b = append(b, cursorVersion, k)
	b = append(b, c.filter[:]...)
	b = binary.AppendUvarint(b, uint64(c.pos))
	return base64.RawURLEncoding.EncodeToString(b)
}

// errInvalidCursor is every cursor refused; the detail says what to do, not what was
// wrong with it (RFC 9865 §5.2: forged cursors learn nothing).
var errInvalidCursor = badRequest("invalidCursor",
	"the cursor is not one this server gave for this query: send an empty cursor for the first page, then each nextCursor with the query otherwise unchanged (RFC 9865 §2)")

// decodeCursor reads a non-empty cursor sent by a client. It checks the encoding only:
// whether it pages the request's list and filter is the caller's to check.
func decodeCursor(s string) (cursor, error) {
	if len(s) > maxCursorLength {
		return cursor{}, errInvalidCursor
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < 2+filterHashLen+1 || b[0] != cursorVersion {
		return cursor{}, errInvalidCursor
	}
	c := cursor{kind: cursorKind(b[1])}
	switch c.kind {
	case cursorUsers, cursorGroups, cursorRootUsers, cursorRootGroups:
	case cursorUsers + 1, cursorGroups + 1, cursorRootUsers + 1, cursorRootGroups + 1:
		c.kind, c.before = c.kind-1, true
	default:
		return cursor{}, errInvalidCursor
	}
	copy(c.filter[:], b[2:2+filterHashLen])
	pos, n := binary.Uvarint(b[2+filterHashLen:])
	if n <= 0 || 2+filterHashLen+n != len(b) || pos > 1<<62 || (c.before && pos == 0) {
		return cursor{}, errInvalidCursor
	}
	c.pos = int64(pos)
	if c.String() != s { // one encoding per cursor (no over-long varints)
		return cursor{}, errInvalidCursor
	}
	return c, nil
}

// cursorRequest is the cursor of a list request: present (an empty one asks for the
// first page) and, when not empty, decoded.
type cursorRequest struct {
	first bool   // the cursor was empty
	at    cursor // otherwise
}

// keyset is where a cursor request of a list of kind starts, checked against the
// request's filter. A first page starts at 0 in any list.
func (cr *cursorRequest) keyset(filter [filterHashLen]byte, kinds ...cursorKind) (cursorKind, *store.Keyset, error) {
	if cr.first {
		return kinds[0], &store.Keyset{}, nil
	}
	for _, k := range kinds {
		if cr.at.kind == k && cr.at.filter == filter {
			if cr.at.before {
				return k, &store.Keyset{Before: cr.at.pos}, nil
			}
			return k, &store.Keyset{After: cr.at.pos}, nil
		}
	}
	return 0, nil, errInvalidCursor
}

// cursorPage is the page of count resources at most of a list request paged by cursor,
// once the store has read it (ks): nextCursor when more may follow, from where the page
// ended. A count of 0 asks for totalResults alone (RFC 7644 §3.4.2.4) and has no
// nextCursor: the page ended where it began, and a cursor to the same position would
// have a client that follows nextCursor loop for ever.
//
// previousCursor (RFC 9865 §2: OPTIONAL) names the page before the one read, when
// resources may precede it (store.Keyset.Earlier); count 0 has none either.
func cursorPage(kind cursorKind, filter [filterHashLen]byte, count int, ks *store.Keyset) listPage {
	var p listPage
	if count <= 0 {
		return p
	}
	if ks.More {
		p.nextCursor = cursor{kind: kind, filter: filter, pos: ks.Next}.String()
	}
	if ks.Earlier {
		p.previousCursor = cursor{kind: kind, before: true, filter: filter, pos: ks.First}.String()
	}
	return p
}
