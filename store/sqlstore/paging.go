package sqlstore

// pageTotal is the number of matches of a list request when the page itself tells it,
// so that the COUNT, which reads every match, is needed only for a full page, an empty
// page past the start, or a request for the total alone (count <= 0). A page that is
// neither full nor empty ends the result: the matches are the start-1 rows skipped plus
// the page. That is every IdP lookup (userName eq, externalId eq), and the last page of
// a walk through all users.
func pageTotal(start, count, n int) (int, bool) {
	switch {
	case count <= 0:
		return 0, false
	case n > 0 && n < count:
		return start - 1 + n, true
	case n == 0 && start <= 1:
		return 0, true
	}
	return 0, false
}
