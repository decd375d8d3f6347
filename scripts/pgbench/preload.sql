-- Fills the database with :n users as create_user.sql writes them, set-based, so that the
-- reference is measured at the table sizes of a scimload run, and so that lookup_*.sql
-- have users to find: user i (1..n) is pre<i>@example.com with externalId pre-ext-<i>.
-- psql -v n= -v team= -v ch1= -v ch2= -f preload.sql
\set ON_ERROR_STOP on
CREATE TEMP TABLE pre AS
SELECT gen_random_uuid()::text AS id, i, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS t FROM generate_series(1, :n) AS i;
INSERT INTO users (id, created_at, external_id, user_name, user_name_ci, family_name, given_name, display_name,
                   active, updated_at, version, username, email, status, delete_at)
SELECT id, t, 'pre-ext-' || i, 'pre' || i || '@example.com', 'pre' || i || '@example.com', 'Family', 'Given', 'Given Family',
       true, t, 1, 'pre' || i, 'pre' || i || '@example.com', 'online', 0 FROM pre ORDER BY i;
INSERT INTO user_emails (user_pk, ord, value, value_ci, type, is_primary)
SELECT u.pk, 0, u.user_name_ci, u.user_name_ci, 'work', true FROM users u JOIN pre USING (id);
INSERT INTO team_members (team_pk, user_pk, source, created_at) SELECT :team, u.pk, 'default', u.created_at FROM users u JOIN pre USING (id);
INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
SELECT ch.c, u.pk, 'team', u.created_at FROM users u JOIN pre USING (id), (VALUES (:ch1), (:ch2)) AS ch(c);
