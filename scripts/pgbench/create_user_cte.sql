-- The same rows as create_user.sql in a single statement (one round trip): the limit of
-- what any implementation of POST /Users can reach on this database.
WITH v AS (SELECT gen_random_uuid()::text AS id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS t),
u AS (
  INSERT INTO users (id, created_at, external_id, user_name, user_name_ci, family_name, given_name, display_name,
                     active, updated_at, version, username, email, status, delete_at)
  SELECT id, t, 'ext-' || id, 'u' || id || '@example.com', 'u' || id || '@example.com', 'Family', 'Given', 'Given Family',
         true, t, 1, 'u' || replace(id, '-', ''), 'u' || id || '@example.com', 'online', 0 FROM v
  RETURNING pk, user_name_ci, created_at),
e AS (INSERT INTO user_emails (user_pk, ord, value, value_ci, type, is_primary) SELECT pk, 0, user_name_ci, user_name_ci, 'work', true FROM u),
tm AS (INSERT INTO team_members (team_pk, user_pk, source, created_at) SELECT CAST(:team AS BIGINT), pk, 'default', created_at FROM u)
INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
SELECT ch.c, u.pk, 'team', u.created_at FROM u, (VALUES (CAST(:ch1 AS BIGINT)), (CAST(:ch2 AS BIGINT))) AS ch(c);
