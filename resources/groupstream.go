package resources

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/jsonstr"
)

// Groups are rendered by streaming: the members go from store.EachGroupMember through one
// buffered writer to the client, so memory does not grow with a group, in a GET of one
// group or in a list of many.

// streamBufferSize is how much of a response is gathered before it is written.
const streamBufferSize = 32 << 10

var streamBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, streamBufferSize) }}

// countingWriter sends the status with the first bytes, and remembers how much reached
// the client and the first write error (the client went away): until something is
// written, the answer can still become an error.
type countingWriter struct {
	w      http.ResponseWriter
	status int
	n      int64
	err    error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n == 0 && c.err == nil {
		c.w.WriteHeader(c.status)
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// groupStream is one streamed answer.
type groupStream struct {
	a  *API
	w  http.ResponseWriter
	r  *http.Request
	cw *countingWriter
	bw *bufio.Writer
	b  []byte // scratch for one piece of JSON
}

func (a *API) newGroupStream(w http.ResponseWriter, r *http.Request, status int) *groupStream {
	cw := &countingWriter{w: w, status: status}
	bw := streamBuffers.Get().(*bufio.Writer)
	bw.Reset(cw)
	return &groupStream{a: a, w: w, r: r, cw: cw, bw: bw, b: make([]byte, 0, 512)}
}

// flush sends what is buffered: the answer is complete.
func (s *groupStream) flush() {
	if err := s.bw.Flush(); err != nil {
		s.a.log.DebugContext(s.r.Context(), "group response not delivered", "err", err)
	}
}

// release returns the buffer to the pool, dropping whatever was not flushed.
func (s *groupStream) release() {
	s.bw.Reset(nil)
	streamBuffers.Put(s.bw)
}

// writeGroup answers one group with status, shaped by p.
func (a *API) writeGroup(w http.ResponseWriter, r *http.Request, status int, g *store.Group, p projection) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Etag", etag(g.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", a.location(groupType.endpoint, g.ID))
	}
	s := a.newGroupStream(w, r, status)
	defer s.release()
	if err := s.group(g, viewGroup(p, g.ExternalID != "")); err != nil {
		s.failed(g.ID, err)
		return
	}
	s.flush()
}

// writeGroups answers a page of groups (a list response), shaped by p, after the
// resources of before (the users of a POST /.search), which count in itemsPerPage.
func (a *API) writeGroups(w http.ResponseWriter, r *http.Request, page listPage, total int, before []resource, groups []store.Group, p projection) {
	w.Header().Set("Content-Type", contentType)
	s := a.newGroupStream(w, r, http.StatusOK)
	defer s.release()
	b := append(s.b[:0], `{"schemas":["`+store.ListResponseSchema+`"],"totalResults":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"itemsPerPage":`...)
	b = strconv.AppendInt(b, int64(len(before)+len(groups)), 10)
	if page.startIndex > 0 {
		b = append(b, `,"startIndex":`...)
		b = strconv.AppendInt(b, int64(page.startIndex), 10)
	}
	if page.nextCursor != "" { // base64url: nothing to escape
		b = append(b, `,"nextCursor":"`...)
		b = append(b, page.nextCursor...)
		b = append(b, '"')
	}
	if page.previousCursor != "" {
		b = append(b, `,"previousCursor":"`...)
		b = append(b, page.previousCursor...)
		b = append(b, '"')
	}
	b = append(b, `,"Resources":[`...)
	s.write(b)
	for i, res := range before {
		b, err := json.Marshal(res)
		if err != nil { // our own maps of JSON values; cannot happen
			s.failed(fmt.Sprint(res["id"]), err)
			return
		}
		if i > 0 {
			s.write(append(s.b[:0], ','))
		}
		s.write(b)
	}
	for i := range groups {
		if i > 0 || len(before) > 0 {
			s.write(append(s.b[:0], ','))
		}
		if err := s.group(&groups[i], viewGroup(p, groups[i].ExternalID != "")); err != nil {
			s.failed(groups[i].ID, err)
			return
		}
	}
	s.write(append(s.b[:0], "]}"...))
	s.flush()
}

func (s *groupStream) write(b []byte) {
	s.b = b
	_, _ = s.bw.Write(b)
}

// group writes group g, shaped by view. Its error is the store's, or the client's going
// away, while members were read.
func (s *groupStream) group(g *store.Group, view groupView) error {
	b := append(s.b[:0], '{')
	if view.displayName {
		b = append(b, `"displayName":`...)
		b = jsonstr.Append(b, g.DisplayName)
		b = append(b, ',')
	}
	if view.externalID {
		b = append(b, `"externalId":`...)
		b = jsonstr.Append(b, g.ExternalID)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = jsonstr.Append(b, g.ID)
	if view.members {
		b = append(b, `,"members":[`...)
		s.write(b)
		first := true
		err := s.a.store.EachGroupMember(s.r.Context(), g.ID, func(m store.Member) error {
			b := s.b[:0]
			if !first {
				b = append(b, ',')
			}
			first = false
			s.write(appendMember(b, m, view.member, s.a.memberRefs))
			return s.cw.err
		})
		if err != nil {
			return err
		}
		b = append(s.b[:0], ']')
	}
	b = append(b, `,"meta":{"resourceType":"`+groupKind+`","created":"`...)
	b = g.Created.AppendFormat(b, time.RFC3339)
	b = append(b, `","lastModified":"`...)
	b = g.LastModified.AppendFormat(b, time.RFC3339)
	b = append(b, `","location":`...)
	b = jsonstr.Append(b, s.a.location(groupType.endpoint, g.ID))
	b = append(b, `,"version":`...)
	b = jsonstr.Append(b, etag(g.Version))
	b = append(b, `},"schemas":["`+store.GroupSchema+`"]}`...)
	s.write(b)
	return nil
}

// memberRefs are the starts of a member's $ref, for a user and for a group (nested
// groups): `"$ref":"<base>/Users/` and `"$ref":"<base>/Groups/`, JSON-escaped, without
// the closing quote.
type memberRefs struct{ user, group []byte }

func newMemberRefs(baseURL string) memberRefs {
	prefix := func(endpoint string) []byte {
		b := jsonstr.Append([]byte(`"$ref":`), baseURL+"/"+endpoint+"/")
		return b[:len(b)-1]
	}
	return memberRefs{user: prefix(userType.endpoint), group: prefix(groupType.endpoint)}
}

// appendMember appends one member object with the keys k keeps. Its type is the
// store's (RFC 7643 §4.2: "User" or "Group"), and its $ref the resource of that type.
func appendMember(b []byte, m store.Member, k memberKeys, refs memberRefs) []byte {
	typ, refPrefix := `"type":"User"`, refs.user
	if m.Type == store.MemberTypeGroup {
		typ, refPrefix = `"type":"Group"`, refs.group
	}
	b = append(b, '{')
	sep := false
	if k.ref {
		// RFC 7643 §4.2: members[].$ref is the member's URI, absolute from the base URL:
		// refPrefix (`"$ref":"<base>/Users/`), then the id with its opening quote dropped,
		// so that no string is built per member.
		b = append(b, refPrefix...)
		n := len(b)
		b = jsonstr.Append(b, url.PathEscape(m.Value))
		b = append(b[:n], b[n+1:]...)
		sep = true
	}
	if k.display {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"display":`...)
		b = jsonstr.Append(b, m.Display)
		sep = true
	}
	if k.typ {
		if sep {
			b = append(b, ',')
		}
		b = append(b, typ...)
		sep = true
	}
	if k.value {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"value":`...)
		b = jsonstr.Append(b, m.Value)
	}
	return append(b, '}')
}

// failed handles an error while members were read or written. Before anything has left
// (the buffered head is dropped) the answer is an error like any other; after that the
// status is sent and cannot change, so the connection is aborted: the client sees a
// broken answer rather than a complete-looking truncated one.
func (s *groupStream) failed(groupID string, err error) {
	ctx := s.r.Context()
	switch {
	case s.cw.n == 0 && s.cw.err == nil:
		s.w.Header().Del("Etag")
		s.w.Header().Del("Location")
		WriteError(s.w, s.a.scimError(ctx, groupKind, groupID, err))
	case s.cw.err != nil || ctx.Err() != nil:
		s.a.log.DebugContext(ctx, "group response not delivered", "group", groupID, "err", err)
	default:
		s.a.log.ErrorContext(ctx, "reading group members failed after the response started; aborting it",
			"group", groupID, "bytes_sent", s.cw.n, "err", err)
		panic(http.ErrAbortHandler)
	}
}
