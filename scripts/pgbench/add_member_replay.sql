-- Not a reference: every statement store.UpdateGroup sends on PostgreSQL (branch
-- perf-writes) for a PATCH adding one member who joins its first group, in order (see
-- create_user_replay.sql for why). Users and groups are taken as add_member.sql takes them.
-- The member add is a delta (store/sqlstore/members.go): one statement resolves, locks and
-- inserts the member, one grants what the group brings and ends the default-team
-- membership. Before, the same PATCH was 18 statements (the full reconcile).
-- Variables: groups.
SELECT nextval('pgb_member_seq') AS n \gset
\set j :n % :groups
BEGIN;
SELECT groups.pk AS gpk, groups.id, groups.external_id, groups.display_name, groups.created_at, groups.updated_at, groups.version
  FROM groups WHERE groups.id = (SELECT id FROM pgb_groups WHERE j = :j) FOR NO KEY UPDATE \gset
UPDATE groups SET external_id = NULL, display_name = display_name, display_name_ci = display_name_ci, name = name,
  updated_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, version = version + 1 WHERE pk = :gpk;
WITH r AS (SELECT pk, id, scim_deleted_at IS NULL AS live, active AS follows FROM users
    WHERE id = ANY(CAST(ARRAY[(SELECT user_id FROM pgb_queue WHERE n = :n)] AS TEXT[])) ORDER BY pk FOR NO KEY UPDATE),
  i AS (INSERT INTO group_members (group_pk, user_pk) SELECT CAST(:gpk AS BIGINT), r.pk FROM r WHERE r.live
    ON CONFLICT DO NOTHING RETURNING user_pk)
  SELECT r.pk AS upk, r.id AS uid, r.live, r.follows, EXISTS (SELECT 1 FROM i WHERE i.user_pk = r.pk) AS added FROM r \gset
WITH gt AS (SELECT gt.team_pk FROM group_teams gt WHERE gt.group_pk = CAST(:gpk AS BIGINT)
    UNION SELECT c.team_pk FROM group_channels gc JOIN channels c ON c.pk = gc.channel_pk WHERE gc.group_pk = CAST(:gpk AS BIGINT)),
  u AS (SELECT unnest(CAST(ARRAY[:upk] AS BIGINT[])) AS pk),
  tm AS (INSERT INTO team_members (team_pk, user_pk, source, created_at)
    SELECT gt.team_pk, u.pk, CAST('group:' || :gpk AS TEXT), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM u CROSS JOIN gt
    ON CONFLICT DO NOTHING),
  cm AS (INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
    SELECT gc.channel_pk, u.pk, CAST('group:' || :gpk AS TEXT), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
      FROM u CROSS JOIN group_channels gc WHERE gc.group_pk = CAST(:gpk AS BIGINT)
    UNION ALL
    SELECT c.pk, u.pk, 'team', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM u CROSS JOIN gt
      JOIN channels c ON c.team_pk = gt.team_pk WHERE c.name = ANY(CAST('{town-square,off-topic}' AS TEXT[]))
    ON CONFLICT DO NOTHING),
  d AS (DELETE FROM team_members WHERE ctid = ANY(ARRAY(
      SELECT x.ctid FROM u CROSS JOIN LATERAL (
        SELECT t.ctid FROM team_members t WHERE t.user_pk = u.pk AND t.source = 'default' OFFSET 0) x))
    AND EXISTS (SELECT 1 FROM gt)
    RETURNING team_pk, user_pk),
  dc AS (DELETE FROM channel_members WHERE ctid = ANY(ARRAY(
      SELECT x.ctid FROM d CROSS JOIN LATERAL (
        SELECT cm.ctid FROM channel_members cm JOIN channels c ON c.pk = cm.channel_pk
        WHERE cm.user_pk = d.user_pk AND c.team_pk = d.team_pk OFFSET 0) x
      WHERE d.team_pk NOT IN (SELECT team_pk FROM gt)
      AND NOT EXISTS (SELECT 1 FROM team_members o WHERE o.user_pk = d.user_pk AND o.team_pk = d.team_pk AND o.source <> 'default'))))
  SELECT COUNT(*) FROM gt WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = gt.team_pk
    AND c.name = ANY(CAST('{town-square,off-topic}' AS TEXT[]))) < 2;
END;
