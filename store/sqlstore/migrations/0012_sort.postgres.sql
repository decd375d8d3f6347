-- Sorted lists (store.Query.SortBy, RFC 7644 §3.4.2.3) of the attributes IdPs and admins
-- sort on (not meta.lastModified, which every write changes, nor name.givenName:
-- docs/performance.md): each index holds exactly the ORDER BY of sqlstore/sort.go (whether the value
-- is absent, the value under the binary collation, lowered in SQL where the filter
-- lowers it, then the primary key), so that a sorted page walks it and stops, as an
-- unsorted page walks users_live_pk, in either direction, instead of sorting every
-- match. Users' hold live users only, as the lists do.
-- (PostgreSQL: COLLATE "C", the binary collation, as the ORDER BY spells it.)
CREATE INDEX users_sort_user_name ON users (user_name_ci COLLATE "C", pk) WHERE scim_deleted_at IS NULL;
CREATE INDEX users_sort_display_name ON users ((display_name IS NULL), lower(display_name COLLATE "C"), pk) WHERE scim_deleted_at IS NULL;
CREATE INDEX users_sort_family_name ON users ((family_name IS NULL), lower(family_name COLLATE "C"), pk) WHERE scim_deleted_at IS NULL;
CREATE INDEX users_sort_external_id ON users ((external_id IS NULL), external_id COLLATE "C", pk) WHERE scim_deleted_at IS NULL;
CREATE INDEX users_sort_created ON users (created_at, pk) WHERE scim_deleted_at IS NULL;
CREATE INDEX groups_sort_display_name ON groups (display_name_ci COLLATE "C", pk);
CREATE INDEX groups_sort_external_id ON groups ((external_id IS NULL), external_id COLLATE "C", pk);
CREATE INDEX groups_sort_created ON groups (created_at, pk);
