-- Raw-SQL reference for POST /Users: the rows store.CreateUser writes for the body
-- scimload sends (a users row with its chat account columns, one email, the default team
-- membership and the two team-join channel memberships), one statement per row, in one
-- transaction. Variables: team, ch1, ch2 (the default team and its channels).
BEGIN;
INSERT INTO users (id, created_at, external_id, user_name, user_name_ci, family_name, given_name, display_name,
                   active, updated_at, version, username, email, status, delete_at)
SELECT id, t, 'ext-' || id, 'u' || id || '@example.com', 'u' || id || '@example.com', 'Family', 'Given', 'Given Family',
       true, t, 1, 'u' || replace(id, '-', ''), 'u' || id || '@example.com', 'online', 0
FROM (SELECT gen_random_uuid()::text AS id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS t) v
RETURNING pk, user_name_ci AS email, created_at AS ts \gset
INSERT INTO user_emails (user_pk, ord, value, value_ci, display, type, is_primary) VALUES (:pk, 0, :email, :email, NULL, 'work', true);
INSERT INTO team_members (team_pk, user_pk, source, created_at) VALUES (:team, :pk, 'default', :ts);
INSERT INTO channel_members (channel_pk, user_pk, source, created_at) VALUES (:ch1, :pk, 'team', :ts);
INSERT INTO channel_members (channel_pk, user_pk, source, created_at) VALUES (:ch2, :pk, 'team', :ts);
END;
