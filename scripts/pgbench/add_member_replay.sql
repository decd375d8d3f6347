-- Not a reference: every statement store.UpdateGroup sends (commit 6bc480d) for a PATCH
-- adding one member who joins its first group, in order (see create_user_replay.sql for
-- why). Users and groups are taken as add_member.sql takes them.
-- Variables: groups, team (the default team).
SELECT nextval('pgb_member_seq') AS n \gset
\set j :n % :groups
BEGIN;
SELECT groups.pk AS gpk, groups.id, groups.external_id, groups.display_name, groups.created_at, groups.updated_at, groups.version
  FROM groups WHERE groups.id = (SELECT id FROM pgb_groups WHERE j = :j) FOR NO KEY UPDATE \gset
UPDATE groups SET external_id = NULL, display_name = display_name, display_name_ci = display_name_ci, name = name,
  updated_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, version = version + 1 WHERE pk = :gpk;
SELECT pk AS upk, id FROM users WHERE id IN ((SELECT user_id FROM pgb_queue WHERE n = :n)) AND scim_deleted_at IS NULL \gset
INSERT INTO group_members (group_pk, user_pk) VALUES (:gpk, :upk) ON CONFLICT DO NOTHING;
SELECT pk FROM users WHERE pk IN (:upk) AND active = true AND scim_deleted_at IS NULL ORDER BY pk FOR NO KEY UPDATE;
SELECT pk FROM teams WHERE name = 'everyone';
DELETE FROM team_members WHERE user_pk IN (:upk) AND source LIKE 'group:%'
  AND NOT EXISTS (SELECT 1 FROM (
    SELECT gm.user_pk, gt.team_pk, 'group:' || CAST(gm.group_pk AS TEXT) AS source
      FROM group_members gm JOIN group_teams gt ON gt.group_pk = gm.group_pk WHERE gm.user_pk IN (:upk)
    UNION
    SELECT gm.user_pk, c.team_pk, 'group:' || CAST(gm.group_pk AS TEXT) AS source
      FROM group_members gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
      JOIN channels c ON c.pk = gc.channel_pk WHERE gm.user_pk IN (:upk)) g
    WHERE g.user_pk = team_members.user_pk AND g.team_pk = team_members.team_pk AND g.source = team_members.source);
INSERT INTO team_members (team_pk, user_pk, source, created_at)
  SELECT g.team_pk, g.user_pk, g.source, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM (
    SELECT gm.user_pk, gt.team_pk, 'group:' || CAST(gm.group_pk AS TEXT) AS source
      FROM group_members gm JOIN group_teams gt ON gt.group_pk = gm.group_pk WHERE gm.user_pk IN (:upk)
    UNION
    SELECT gm.user_pk, c.team_pk, 'group:' || CAST(gm.group_pk AS TEXT) AS source
      FROM group_members gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
      JOIN channels c ON c.pk = gc.channel_pk WHERE gm.user_pk IN (:upk)) g
  WHERE true ON CONFLICT DO NOTHING;
DELETE FROM team_members WHERE user_pk IN (:upk) AND source = 'default'
  AND EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = team_members.user_pk AND o.source <> 'default');
INSERT INTO team_members (team_pk, user_pk, source, created_at)
  SELECT CAST(:team AS BIGINT), u.pk, CAST('default' AS TEXT), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM users u WHERE u.pk IN (:upk)
  AND NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = u.pk) ON CONFLICT DO NOTHING;
DELETE FROM channel_members WHERE user_pk IN (:upk) AND source LIKE 'group:%'
  AND NOT EXISTS (SELECT 1 FROM group_members gm JOIN group_channels gc ON gc.group_pk = gm.group_pk
    WHERE gm.user_pk = channel_members.user_pk AND gc.channel_pk = channel_members.channel_pk
    AND 'group:' || CAST(gm.group_pk AS TEXT) = channel_members.source);
INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
  SELECT gc.channel_pk, gm.user_pk, 'group:' || CAST(gm.group_pk AS TEXT), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM group_members gm
  JOIN group_channels gc ON gc.group_pk = gm.group_pk WHERE gm.user_pk IN (:upk) ON CONFLICT DO NOTHING;
DELETE FROM channel_members WHERE user_pk IN (:upk)
  AND NOT EXISTS (SELECT 1 FROM channels c JOIN team_members tm ON tm.team_pk = c.team_pk
    WHERE c.pk = channel_members.channel_pk AND tm.user_pk = channel_members.user_pk);
DELETE FROM channel_members WHERE user_pk IN (:upk) AND source = 'team'
  AND channel_pk IN (SELECT c.pk FROM channels c WHERE c.name NOT IN ('town-square', 'off-topic'));
SELECT t.team_pk FROM (SELECT DISTINCT team_pk FROM team_members WHERE user_pk IN (:upk)) t
  WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = t.team_pk AND c.name IN ('town-square', 'off-topic')) < 2;
INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
  SELECT DISTINCT c.pk, tm.user_pk, CAST('team' AS TEXT), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM team_members tm JOIN channels c ON c.team_pk = tm.team_pk
  WHERE tm.user_pk IN (:upk) AND c.name IN ('town-square', 'off-topic') ON CONFLICT DO NOTHING;
END;
