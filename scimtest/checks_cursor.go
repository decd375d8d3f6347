package scimtest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/townsquare/townsquare/store"
)

// ---- cursor pagination (RFC 9865) ----

func cursorChecks() []Check {
	return []Check{
		{Name: "cursor-pagination-config", Steps: []Step{
			// RFC 9865 §4: pagination.cursor and .index are REQUIRED when pagination is
			// advertised; a server that pages by cursor says so.
			getStep("GET /ServiceProviderConfig", "/ServiceProviderConfig",
				Eq("pagination.cursor", true), Exists("pagination.index")),
		}},
		{Name: "cursor-pagination-walk", Steps: filterFixture, Func: cursorWalkCheck},
		{Name: "cursor-pagination-search", Steps: []Step{
			// RFC 9865 §3: POST .search carries cursor and count in its body.
			createUser("u", simpleUser("${p}cursor@example.com", `"externalId":"${guid1}"`)),
			createGroup("g", `{"schemas":["`+store.GroupSchema+`"],"displayName":"${p}Cursor","externalId":"${guid2}"}`),
			searchStep("POST /Users/.search, first page", "/Users/.search", `"filter":"userName sw \"${p}\"","cursor":"","count":1`,
				Eq("totalResults", 1), Len("Resources", 1), Eq("Resources[0].id", "${u.id}"), Absent("nextCursor")),
		}, Func: cursorRootCheck},
		{Name: "cursor-pagination-count-zero", Steps: append(slices.Clone(filterFixture),
			// RFC 7644 §3.4.2.4: count 0 asks for totalResults alone. A nextCursor there
			// would name the position the page began at (RFC 9865 §2: the next page),
			// and a client following nextCursor would never end.
			getStep("count=0 by cursor", `/Users?filter=userName sw "${p}"&count=0&cursor=`,
				Absent("nextCursor"), Func("totalResults > 0, no resource", func(r *Response) error {
					total, _ := r.Get("totalResults")
					res, _ := r.Get("Resources")
					if n, _ := total.(float64); n < 1 {
						return fmt.Errorf("totalResults %v, want the matches' count", total)
					}
					if list, _ := res.([]any); len(list) > 0 {
						return fmt.Errorf("%d resources for count 0", len(list))
					}
					return nil
				})),
		)},
		{Name: "cursor-pagination-previous", Steps: filterFixture, Func: cursorPreviousCheck},
		{Name: "cursor-pagination-errors", Steps: append(slices.Clone(filterFixture),
			// RFC 9865 §2.1: a cursor the server did not give is 400 invalidCursor.
			getStep("a first page", `/Users?filter=userName sw "${p}"&count=1&cursor=`, NonEmpty("nextCursor")),
			Step{Name: "a cursor that was never given", Path: "/Users?count=1&cursor=bm90LWEtY3Vyc29y", Status: http.StatusBadRequest,
				Want: scimError(http.StatusBadRequest, "invalidCursor")},
			Step{Name: "an over-long cursor", Path: "/Users?count=1&cursor=" + strings.Repeat("A", 4000), Status: http.StatusBadRequest,
				Want: scimError(http.StatusBadRequest, "invalidCursor")},
		), Func: cursorOtherQueryCheck},
	}
}

// cursorPage asks for one page by cursor and checks its envelope: itemsPerPage is the
// page's size, at most count, and totalResults is want.
func cursorPage(ctx context.Context, s *Session, name, path string, total, count int) (*Response, []string, string, error) {
	r, err := s.Do(ctx, getStep(name, path, Contains("schemas", store.ListResponseSchema), Eq("totalResults", total)))
	if err != nil {
		return nil, nil, "", err
	}
	res, _ := r.Get("Resources")
	list, _ := res.([]any)
	if len(list) > count {
		return nil, nil, "", r.Errorf("%d resources for count=%d (RFC 9865 §2: MUST NOT return more)", len(list), count)
	}
	if n, _ := r.Get("itemsPerPage"); fmt.Sprint(n) != fmt.Sprint(len(list)) && !(n == nil && len(list) == 0) {
		return nil, nil, "", r.Errorf("itemsPerPage %v for %d resources", n, len(list))
	}
	var ids []string
	for i := range list {
		ids = append(ids, r.GetString(fmt.Sprintf("Resources[%d].id", i)))
	}
	return r, ids, r.GetString("nextCursor"), nil
}

// cursorWalkCheck walks three users by cursor, one a page, deleting one ahead of the
// walk on the way: every user present throughout comes back exactly once, and only the
// last page has no nextCursor (RFC 9865 §2).
func cursorWalkCheck(ctx context.Context, s *Session) error {
	const scope = `/Users?filter=userName sw "${p}"&count=1&cursor=`
	var seen []string
	total := 3
	s.Vars["cursor"] = ""
	deleted := ""
	for page := 1; ; page++ {
		if page > 10 {
			return fmt.Errorf("the walk did not end after %d pages of one among %d users", page-1, 3)
		}
		_, ids, next, err := cursorPage(ctx, s, fmt.Sprintf("page %d", page), scope+"${cursor}", total, 1)
		if err != nil {
			return err
		}
		seen = append(seen, ids...)
		if next == "" {
			break
		}
		if page == 1 { // delete a user the walk has not reached
			for _, v := range []string{"c.id", "b.id", "a.id"} {
				if id := s.Vars[v]; id != ids[0] {
					deleted = id
					break
				}
			}
			if _, err := s.Do(ctx, Step{Name: "delete a user ahead of the walk", Method: http.MethodDelete,
				Path: "/Users/" + deleted, Status: http.StatusNoContent}); err != nil {
				return err
			}
			total--
		}
		s.Vars["cursor"] = next
	}
	var want []string
	for _, v := range []string{"a.id", "b.id", "c.id"} {
		if id := s.Vars[v]; id != deleted {
			want = append(want, id)
		}
	}
	for _, id := range seen {
		if id == deleted {
			return fmt.Errorf("the walk returned a user deleted before it was reached")
		}
	}
	if missing, extra := diffMultiset(want, seen); len(missing)+len(extra) > 0 {
		return fmt.Errorf("the cursor walk returned %q; want each of %q exactly once (missing %q, repeated/unexpected %q)",
			seen, want, missing, extra)
	}
	return nil
}

// cursorPreviousCheck walks three users by cursor, one a page, then back from the last
// page by previousCursor (RFC 9865 §2: "A String that identifies a cursor to the
// previous page of results"; returning it is OPTIONAL, so a server that gives none
// passes): each previous page is the page the walk saw before, and the first has none.
func cursorPreviousCheck(ctx context.Context, s *Session) error {
	const scope = `/Users?filter=userName sw "${p}"&count=1&cursor=`
	var pages [][]string
	s.Vars["cursor"] = ""
	var last *Response
	for page := 1; page <= 10; page++ {
		r, ids, next, err := cursorPage(ctx, s, fmt.Sprintf("page %d", page), scope+"${cursor}", 3, 1)
		if err != nil {
			return err
		}
		pages, last = append(pages, ids), r
		if page == 1 && r.GetString("previousCursor") != "" {
			return r.Errorf("the first page has a previousCursor")
		}
		if next == "" {
			break
		}
		s.Vars["cursor"] = next
	}
	r := last
	for i := len(pages) - 1; ; i-- {
		prev := r.GetString("previousCursor")
		switch {
		case prev == "" && i == len(pages)-1:
			return nil // the server gives no previousCursor: OPTIONAL
		case prev == "" && i > 0:
			return r.Errorf("page %d of %d, reached by previousCursor, has none", i+1, len(pages))
		case prev == "":
			return nil
		case i == 0:
			return r.Errorf("the first page, reached by previousCursor, has a previousCursor")
		}
		s.Vars["cursor"] = prev
		var ids []string
		var err error
		if r, ids, _, err = cursorPage(ctx, s, fmt.Sprintf("previous page %d", i), scope+"${cursor}", 3, 1); err != nil {
			return err
		}
		if fmt.Sprint(ids) != fmt.Sprint(pages[i-1]) {
			return r.Errorf("previousCursor of page %d led to %q, the walk's page %d was %q", i+1, ids, i, pages[i-1])
		}
	}
}

// cursorRootCheck walks POST /.search by cursor, one a page: the user, then the group
// (RFC 9865 §3, RFC 7644 §3.4.3).
func cursorRootCheck(ctx context.Context, s *Session) error {
	filter := `"filter":"externalId eq \"${guid1}\" or externalId eq \"${guid2}\"","count":1,"cursor":"${cursor}"`
	s.Vars["cursor"] = ""
	var seen []string
	for page := 1; page <= 5; page++ {
		r, err := s.Do(ctx, searchStep(fmt.Sprintf("POST /.search page %d", page), "/.search", filter,
			Eq("totalResults", 2), Len("Resources", 1)))
		if err != nil {
			return err
		}
		seen = append(seen, r.GetString("Resources[0].id"))
		next := r.GetString("nextCursor")
		if next == "" {
			break
		}
		s.Vars["cursor"] = next
	}
	if want := []string{s.Vars["u.id"], s.Vars["g.id"]}; fmt.Sprint(seen) != fmt.Sprint(want) {
		return fmt.Errorf("POST /.search by cursor returned %q; want the user then the group %q", seen, want)
	}
	return nil
}

// cursorOtherQueryCheck: a cursor answers only the query it was given for (RFC 9865
// §2: the next request repeats the query with only the cursor changed); this server
// refuses it for another filter or another resource type with 400 invalidCursor.
func cursorOtherQueryCheck(ctx context.Context, s *Session) error {
	r, err := s.Do(ctx, getStep("a first page", `/Users?filter=userName sw "${p}"&count=1&cursor=`, NonEmpty("nextCursor")))
	if err != nil {
		return err
	}
	s.Vars["cursor"] = r.GetString("nextCursor")
	for _, st := range []Step{
		{Name: "another filter", Path: `/Users?filter=userName sw "${p}a"&count=1&cursor=${cursor}`},
		{Name: "another resource type", Path: `/Groups?count=1&cursor=${cursor}`},
	} {
		st.Status, st.Want = http.StatusBadRequest, scimError(http.StatusBadRequest, "invalidCursor")
		if _, err := s.Do(ctx, st); err != nil {
			return err
		}
	}
	return nil
}
