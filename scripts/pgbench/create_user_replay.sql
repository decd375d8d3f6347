-- Not a reference: the statement store.CreateUser sends on PostgreSQL (commit perf-writes)
-- for the body scimload sends, with the same parameters: one statement, outside any
-- transaction, that checks for an account to relink, a taken username and the cached
-- default-team keys, and writes the users row, its email, the default team and its two
-- channels only if all three are as expected (store/sqlstore/create.go, createUserOneStatement).
-- Before that commit a create was 9 statements in a transaction (BEGIN, relink lookup,
-- username check, users, email, team lookup, team, channels, COMMIT); lib/pq, without
-- binary_parameters, also sent each in two round trips. Comparing this script's tps with
-- create_user.sql and with scimload's phase a splits the gap into "SQL beyond the rows"
-- and "everything above SQL". Variables: team, ch1, ch2 (the default team and its channels).
\set r random(1, 9000000000000000000)
WITH chk AS (SELECT
  EXISTS (SELECT 1 FROM users WHERE external_id = 'ext-' || CAST(:r AS TEXT) AND scim_deleted_at IS NOT NULL) AS relink,
  (EXISTS (SELECT 1 FROM users WHERE username = 'r' || CAST(:r AS TEXT)) OR EXISTS (SELECT 1 FROM groups WHERE name = 'r' || CAST(:r AS TEXT))) AS taken,
  (EXISTS (SELECT 1 FROM teams WHERE pk = :team AND name = 'everyone') AND (SELECT COUNT(*) FROM channels c
     WHERE c.pk = ANY(CAST('{' || :ch1 || ',' || :ch2 || '}' AS BIGINT[])) AND c.team_pk = :team
     AND c.name = ANY(CAST('{town-square,off-topic}' AS TEXT[]))) = 2) AS joinable),
u AS (INSERT INTO users (id, created_at, external_id, user_name, user_name_ci, name_formatted, family_name, given_name, middle_name,
  honorific_prefix, honorific_suffix, display_name, nick_name, profile_url, title, user_type, preferred_language, locale, timezone,
  active, password_hash, employee_number, cost_center, organization, division, department, manager_value, manager_ref,
  manager_display_name, updated_at, version, username, email, status, delete_at)
  SELECT 'id' || CAST(:r AS TEXT), CAST((extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS BIGINT), 'ext-' || CAST(:r AS TEXT),
  'r' || CAST(:r AS TEXT) || '@example.com', 'r' || CAST(:r AS TEXT) || '@example.com', NULL, 'Family', 'Given', NULL,
  NULL, NULL, 'Given Family', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  CAST(true AS BOOLEAN), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  CAST((extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS BIGINT), CAST(1 AS BIGINT),
  'r' || CAST(:r AS TEXT), 'r' || CAST(:r AS TEXT) || '@example.com', 'online', CAST(0 AS BIGINT)
  FROM chk WHERE NOT chk.relink AND NOT chk.taken AND chk.joinable RETURNING pk, created_at),
c0 AS (INSERT INTO user_emails (user_pk, ord, value, value_ci, display, type, is_primary)
  SELECT u.pk, v.* FROM u, (VALUES (CAST(0 AS INTEGER), 'r' || CAST(:r AS TEXT) || '@example.com', 'r' || CAST(:r AS TEXT) || '@example.com',
  NULL, 'work', CAST(true AS BOOLEAN))) AS v),
tm AS (INSERT INTO team_members (team_pk, user_pk, source, created_at) SELECT CAST(:team AS BIGINT), u.pk, 'default', u.created_at FROM u),
cm AS (INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
  SELECT c.pk, u.pk, 'team', u.created_at FROM u CROSS JOIN (SELECT unnest(CAST('{' || :ch1 || ',' || :ch2 || '}' AS BIGINT[])) AS pk) c)
SELECT chk.relink, chk.taken, chk.joinable, (SELECT pk FROM u) FROM chk;
