package resources

import (
	"bufio"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/townsquare/townsquare/store"
)

// streamBufferSize is how much of a group response is gathered before it is written to
// the client: a 50k-member group is about 5 MB, so it leaves in ~150 writes and the
// server holds one buffer, whatever the group's size.
const streamBufferSize = 32 << 10

var streamBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, streamBufferSize) }}

// countingWriter remembers whether anything reached the client, and the first write
// error (the client went away).
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// writeGroup streams group g, shaped by view, as the body of a 200: the bytes are those
// the library's json.Marshal writes for Groups.resource's result (keys in sorted order,
// as encoding/json writes maps; meta as the library's struct), but members go from
// store.EachGroupMember straight to a buffered writer, so memory does not grow with the
// group. urlID is the id as the request URL gave it (the library builds meta.location
// from it). method is the request's, for the library's error mapping.
//
// An error before the first byte has left (the member query failed) is answered as the
// library would answer it. After that the status is sent and cannot change: the
// connection is aborted, so that the client sees a broken response rather than a
// complete-looking truncated one.
func (s *Service) writeGroup(w http.ResponseWriter, r *http.Request, g *store.Group, view groupView, urlID, method string) {
	ctx := r.Context()
	w.Header().Set("Etag", etag(g.Version))
	cw := &countingWriter{w: w}
	bw := streamBuffers.Get().(*bufio.Writer)
	bw.Reset(cw)
	defer func() {
		bw.Reset(nil) // drop whatever was not sent, and the reference to w
		streamBuffers.Put(bw)
	}()

	b := make([]byte, 0, 512)
	b = append(b, '{')
	if view.displayName {
		b = append(b, `"displayName":`...)
		b = appendJSONString(b, g.DisplayName)
		b = append(b, ',')
	}
	if view.externalID {
		b = append(b, `"externalId":`...)
		b = appendJSONString(b, g.ExternalID)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = appendJSONString(b, g.ID)
	if view.members {
		b = append(b, `,"members":[`...)
		_, _ = bw.Write(b)
		first := true
		err := s.Store.EachGroupMember(ctx, g.ID, func(m store.Member) error {
			b = b[:0]
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendMember(b, m, view.member)
			_, err := bw.Write(b)
			return err
		})
		if err != nil {
			s.streamFailed(w, r, g.ID, cw, method, err)
			return
		}
		b = append(b[:0], ']')
	}
	b = append(b, `,"meta":{"resourceType":"Group","created":"`...)
	b = g.Created.AppendFormat(b, time.RFC3339)
	b = append(b, `","lastModified":"`...)
	b = g.LastModified.AppendFormat(b, time.RFC3339)
	b = append(b, `","location":`...)
	b = appendJSONString(b, libraryLocation(s.BaseURL, "Groups", urlID))
	b = append(b, `,"version":`...)
	b = appendJSONString(b, etag(g.Version))
	b = append(b, `},"schemas":["`+GroupSchemaURN+`"]}`...)
	_, _ = bw.Write(b)
	if err := bw.Flush(); err != nil {
		s.Log.DebugContext(ctx, "group response not delivered", "group", g.ID, "err", err)
	}
}

// appendMember appends one member object with the keys k keeps, in encoding/json's
// sorted map-key order.
func appendMember(b []byte, m store.Member, k memberKeys) []byte {
	b = append(b, '{')
	sep := false
	if k.display {
		b = append(b, `"display":`...)
		b = appendJSONString(b, m.Display)
		sep = true
	}
	if k.typ {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"type":"User"`...)
		sep = true
	}
	if k.value {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"value":`...)
		b = appendJSONString(b, m.Value)
	}
	return append(b, '}')
}

// streamFailed handles an error while members were being read or written.
func (s *Service) streamFailed(w http.ResponseWriter, r *http.Request, groupID string, cw *countingWriter, method string, err error) {
	ctx := r.Context()
	switch {
	case cw.n == 0 && cw.err == nil:
		// Nothing has left yet (the buffered head is dropped): answer as the library
		// would have answered Groups.resource's error.
		w.Header().Del("Etag")
		writeLibraryError(w, storeError(ctx, s.Log, "Group", groupID, err), method)
	case cw.err != nil || ctx.Err() != nil:
		// The client went away: nobody is left to answer.
		s.Log.DebugContext(ctx, "group response not delivered", "group", groupID, "err", err)
	default:
		s.Log.ErrorContext(ctx, "reading group members failed after the response started; aborting it",
			"group", groupID, "bytes_sent", cw.n, "err", err)
		panic(http.ErrAbortHandler)
	}
}
