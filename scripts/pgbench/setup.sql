-- Fixture for the raw-SQL reference, run on a database that `townsquare migrate` made.
-- It creates what the server creates on its first request (the default team "everyone"
-- with town-square and off-topic) and :groups groups, each mapped to a team of its own
-- with its two channels, as the default rules (unmapped_groups: team) map them.
-- psql -v groups=N -f setup.sql
\set ON_ERROR_STOP on
INSERT INTO teams (name, display_name, created_at) VALUES ('everyone', 'everyone', 0) ON CONFLICT (name) DO NOTHING;
INSERT INTO channels (team_pk, name, display_name, type, created_at)
SELECT t.pk, c.name, c.display, 'O', 0 FROM teams t, (VALUES ('town-square', 'Town Square'), ('off-topic', 'Off-Topic')) AS c(name, display)
WHERE t.name = 'everyone' ON CONFLICT (team_pk, name) DO NOTHING;

INSERT INTO groups (id, external_id, display_name, display_name_ci, name, created_at, updated_at, version)
SELECT gen_random_uuid()::text, 'pgb-gext-' || j, 'pgb-g' || j, 'pgb-g' || j, 'pgb-g' || j, 0, 0, 1 FROM generate_series(0, :groups - 1) AS j;
INSERT INTO teams (name, display_name, created_at) SELECT name, name, 0 FROM groups WHERE name LIKE 'pgb-g%';
INSERT INTO channels (team_pk, name, display_name, type, created_at)
SELECT t.pk, c.name, c.display, 'O', 0 FROM teams t, (VALUES ('town-square', 'Town Square'), ('off-topic', 'Off-Topic')) AS c(name, display)
WHERE t.name LIKE 'pgb-g%';
INSERT INTO group_teams (group_pk, team_pk) SELECT g.pk, t.pk FROM groups g JOIN teams t ON t.name = g.name WHERE g.name LIKE 'pgb-g%';

-- What add_member.sql needs, precomputed so that the transaction itself does only what
-- the server's does: group j (0-based) with its SCIM id, team and team-join channels.
CREATE TABLE pgb_groups AS
SELECT row_number() OVER (ORDER BY g.pk) - 1 AS j, g.id, g.pk AS group_pk, t.pk AS team_pk,
       (SELECT c.pk FROM channels c WHERE c.team_pk = t.pk AND c.name = 'town-square') AS ch1,
       (SELECT c.pk FROM channels c WHERE c.team_pk = t.pk AND c.name = 'off-topic') AS ch2
FROM groups g JOIN teams t ON t.name = g.name WHERE g.name LIKE 'pgb-g%';
CREATE UNIQUE INDEX ON pgb_groups (j);
-- The order in which add_member.sql takes users (filled after create_user.sql ran).
CREATE TABLE pgb_queue (n BIGINT PRIMARY KEY, user_id TEXT NOT NULL);
CREATE SEQUENCE pgb_member_seq;

-- The ids pgbench needs as variables (-D), printed as NAME=VALUE lines.
SELECT 'team=' || t.pk FROM teams t WHERE t.name = 'everyone';
SELECT 'ch1=' || c.pk FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE t.name = 'everyone' AND c.name = 'town-square';
SELECT 'ch2=' || c.pk FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE t.name = 'everyone' AND c.name = 'off-topic';
