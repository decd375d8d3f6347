-- Not a reference: every statement store.CreateUser sends (commit 6bc480d) for the body
-- scimload sends, in order, with the same parameters. pgbench sends each in one round
-- trip with a cached plan; lib/pq, without binary_parameters, in two (Parse/Describe,
-- then Bind/Execute) and plans each anew. Comparing its tps with create_user.sql and with
-- scimload's phase a splits the gap into "statements beyond the rows" and "everything
-- above SQL". Variables: team (the default team).
\set r random(1, 9000000000000000000)
BEGIN;
SELECT users.pk, users.id, users.external_id, users.user_name, users.name_formatted, users.family_name, users.given_name,
  users.middle_name, users.honorific_prefix, users.honorific_suffix, users.display_name, users.nick_name, users.profile_url,
  users.title, users.user_type, users.preferred_language, users.locale, users.timezone, users.active, users.password_hash,
  users.employee_number, users.cost_center, users.organization, users.division, users.department, users.manager_value,
  users.manager_ref, users.manager_display_name, users.created_at, users.updated_at, users.version, users.username,
  users.email, users.status, users.delete_at
FROM users WHERE users.external_id = 'ext-' || CAST(:r AS TEXT) AND users.scim_deleted_at IS NOT NULL ORDER BY users.pk DESC LIMIT 1 FOR NO KEY UPDATE;
SELECT (SELECT COUNT(*) FROM users WHERE username = 'r' || CAST(:r AS TEXT) AND pk <> 0) + (SELECT COUNT(*) FROM groups WHERE name = 'r' || CAST(:r AS TEXT));
INSERT INTO users (id, created_at, external_id, user_name, user_name_ci, name_formatted, family_name, given_name, middle_name,
  honorific_prefix, honorific_suffix, display_name, nick_name, profile_url, title, user_type, preferred_language, locale, timezone,
  active, password_hash, employee_number, cost_center, organization, division, department, manager_value, manager_ref,
  manager_display_name, updated_at, version, username, email, status, delete_at)
VALUES ('id' || CAST(:r AS TEXT), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 'ext-' || CAST(:r AS TEXT),
  'r' || CAST(:r AS TEXT) || '@example.com', 'r' || CAST(:r AS TEXT) || '@example.com', NULL, 'Family', 'Given', NULL,
  NULL, NULL, 'Given Family', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 1,
  'r' || CAST(:r AS TEXT), 'r' || CAST(:r AS TEXT) || '@example.com', 'online', 0)
RETURNING pk \gset
INSERT INTO user_emails (user_pk, ord, value, value_ci, display, type, is_primary)
VALUES (:pk, 0, 'r' || CAST(:r AS TEXT) || '@example.com', 'r' || CAST(:r AS TEXT) || '@example.com', NULL, 'work', true);
SELECT pk FROM teams WHERE name = 'everyone';
INSERT INTO team_members (team_pk, user_pk, source, created_at) VALUES (:team, :pk, 'default', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
  SELECT c.pk, CAST(:pk AS BIGINT), CAST('team' AS TEXT), CAST((extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS BIGINT) FROM channels c
  WHERE c.team_pk = :team AND c.name IN ('town-square', 'off-topic');
END;
