-- Paging through the live users in key order (GET /Users?startIndex=…&count=…) and
-- counting them read this index alone: COUNT(*) and OFFSET become index-only scans of
-- narrow entries instead of visits to every users row, and the rows of DELETEd users
-- (kept as deactivated accounts) are not in it at all. ListUsers picks a page's keys here
-- and only then reads those rows (a deferred join).
--
-- Built inside the migration's transaction, so without CONCURRENTLY: it takes a share
-- lock on users for as long as the build, well under a second at 100k users.
CREATE INDEX users_live_pk ON users (pk) WHERE scim_deleted_at IS NULL;
