-- The same answer as lookup_replay.sql in one statement: the user row with its emails,
-- groups, teams and channels aggregated (phone numbers and addresses likewise), and no
-- COUNT (a first page shorter than count is its own total). Needs preload.sql's users.
\set i random(1, :preload)
SELECT u.pk, u.id, u.external_id, u.user_name, u.family_name, u.given_name, u.display_name, u.active, u.created_at,
  u.updated_at, u.version, u.username, u.email, u.status, u.delete_at,
  (SELECT json_agg(json_build_object('value', e.value, 'type', e.type, 'primary', e.is_primary) ORDER BY e.ord) FROM user_emails e WHERE e.user_pk = u.pk) AS emails,
  (SELECT json_agg(json_build_object('value', p.value, 'type', p.type) ORDER BY p.ord) FROM user_phone_numbers p WHERE p.user_pk = u.pk) AS phones,
  (SELECT json_agg(json_build_object('locality', a.locality, 'type', a.type) ORDER BY a.ord) FROM user_addresses a WHERE a.user_pk = u.pk) AS addresses,
  (SELECT json_agg(json_build_object('value', g.id, 'display', g.display_name) ORDER BY g.pk) FROM group_members gm JOIN groups g ON g.pk = gm.group_pk WHERE gm.user_pk = u.pk) AS groups,
  (SELECT json_agg(DISTINCT t.name) FROM team_members tm JOIN teams t ON t.pk = tm.team_pk WHERE tm.user_pk = u.pk) AS teams,
  (SELECT json_agg(DISTINCT t.name || '/' || c.name) FROM channel_members cm JOIN channels c ON c.pk = cm.channel_pk JOIN teams t ON t.pk = c.team_pk WHERE cm.user_pk = u.pk) AS channels
FROM users u WHERE u.scim_deleted_at IS NULL AND u.user_name_ci = 'pre' || CAST(:i AS TEXT) || '@example.com' ORDER BY u.pk LIMIT 100;
