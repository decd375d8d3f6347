-- A group's displayName is unique without regard to case among groups (issue 15): two
-- groups of one name would map to one team and silently merge. Groups made before this
-- migration may share a name; every one but the oldest of each name gets its own key in
-- name_dup (its pk), so the unique index holds over (display_name_ci, name_dup) at once,
-- while a new group, and a renamed one, gets name_dup 0 and so conflicts with every group
-- of its name.
ALTER TABLE groups ADD COLUMN name_dup BIGINT NOT NULL DEFAULT 0;
UPDATE groups SET name_dup = pk
WHERE EXISTS (SELECT 1 FROM groups g2 WHERE g2.display_name_ci = groups.display_name_ci AND g2.pk < groups.pk);
CREATE UNIQUE INDEX groups_display_name_unique ON groups (display_name_ci, name_dup);
