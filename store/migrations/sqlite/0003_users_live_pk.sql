-- Paging through the live users in key order (GET /Users?startIndex=…&count=…) and
-- counting them read this index alone: COUNT(*) and OFFSET walk narrow index entries
-- instead of whole users rows, and the rows of DELETEd users (kept as deactivated
-- accounts) are not in it at all. ListUsers picks a page's keys here and only then reads
-- those rows (a deferred join).
CREATE INDEX users_live_pk ON users (pk) WHERE scim_deleted_at IS NULL;
