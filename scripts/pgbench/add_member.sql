-- Raw-SQL reference for PATCH /Groups/{id} adding one member: the rows
-- store.UpdateGroup writes when a user joins its first group (the group's version bump,
-- the group_members row, the group's team replacing the default team, and the new
-- team's two team-join channels replacing the default team's). Groups are taken in turn
-- as scimload's phase e1 takes them; the group is found by its SCIM id and the user's
-- SCIM id is resolved to its key, as the server must do.
-- Variables: groups (number of pgb groups), ch1, ch2 (the default team's channels).
BEGIN;
UPDATE groups g SET version = g.version + 1, updated_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
FROM pgb_groups p WHERE p.j = (SELECT nextval('pgb_member_seq')) % :groups AND g.id = p.id
RETURNING g.pk AS gpk, p.team_pk AS gteam, p.ch1 AS gch1, p.ch2 AS gch2, g.updated_at AS ts, currval('pgb_member_seq') AS n \gset
SELECT u.pk AS upk FROM users u WHERE u.id = (SELECT user_id FROM pgb_queue WHERE n = :n) AND u.scim_deleted_at IS NULL \gset
INSERT INTO group_members (group_pk, user_pk) VALUES (:gpk, :upk) ON CONFLICT DO NOTHING;
DELETE FROM team_members WHERE user_pk = :upk AND source = 'default';
INSERT INTO team_members (team_pk, user_pk, source, created_at) VALUES (:gteam, :upk, 'group:' || CAST(:gpk AS TEXT), :ts) ON CONFLICT DO NOTHING;
DELETE FROM channel_members WHERE user_pk = :upk AND source = 'team' AND channel_pk IN (:ch1, :ch2);
INSERT INTO channel_members (channel_pk, user_pk, source, created_at) VALUES (:gch1, :upk, 'team', :ts), (:gch2, :upk, 'team', :ts) ON CONFLICT DO NOTHING;
END;
