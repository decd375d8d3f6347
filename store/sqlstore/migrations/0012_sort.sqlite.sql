-- Sorted lists (store.Query.SortBy, RFC 7644 §3.4.2.3): the two keys admins sort on most,
-- a user's userName and a group's displayName, walk an index that holds exactly the ORDER BY
-- of sqlstore/sort.go (the value under the binary collation, then the primary key), so
-- that a sorted page stops after the page, in either direction, as an unsorted page walks
-- users_live_pk. Every other key sorts the matches for the page: an index per key is paid
-- by every create (docs/performance.md), and IdPs do not sort.
-- SQLite needs none: users_user_name_ci_live and groups_display_name_ci already are in
-- that order (its binary collation, and every index entry ends with the rowid, pk).
SELECT 1;
