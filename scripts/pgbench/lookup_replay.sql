-- Not a reference: the statements GET /Users?filter=userName eq "…"&count=100 sends today
-- (commit 6bc480d): a COUNT, the page, and one query per multi-valued attribute or
-- membership kind. Needs preload.sql's users (variable preload = their number).
\set i random(1, :preload)
SELECT COUNT(*) FROM users WHERE users.scim_deleted_at IS NULL AND (users.user_name_ci = 'pre' || CAST(:i AS TEXT) || '@example.com');
SELECT users.pk, users.id, users.external_id, users.user_name, users.name_formatted, users.family_name, users.given_name,
  users.middle_name, users.honorific_prefix, users.honorific_suffix, users.display_name, users.nick_name, users.profile_url,
  users.title, users.user_type, users.preferred_language, users.locale, users.timezone, users.active, users.password_hash,
  users.employee_number, users.cost_center, users.organization, users.division, users.department, users.manager_value,
  users.manager_ref, users.manager_display_name, users.created_at, users.updated_at, users.version, users.username,
  users.email, users.status, users.delete_at
FROM users WHERE users.scim_deleted_at IS NULL AND (users.user_name_ci = 'pre' || CAST(:i AS TEXT) || '@example.com') ORDER BY users.pk LIMIT 100 OFFSET 0 \gset
SELECT user_pk, value, display, type, is_primary FROM user_emails WHERE user_pk IN (:pk) ORDER BY user_pk, ord;
SELECT user_pk, value, display, type, is_primary FROM user_phone_numbers WHERE user_pk IN (:pk) ORDER BY user_pk, ord;
SELECT user_pk, formatted, street_address, locality, region, postal_code, country, type, is_primary FROM user_addresses WHERE user_pk IN (:pk) ORDER BY user_pk, ord;
SELECT gm.user_pk, g.id AS value, g.display_name AS display FROM group_members gm JOIN groups g ON g.pk = gm.group_pk WHERE gm.user_pk IN (:pk) ORDER BY gm.user_pk, g.pk;
SELECT DISTINCT tm.user_pk, t.name AS value FROM team_members tm JOIN teams t ON t.pk = tm.team_pk WHERE tm.user_pk IN (:pk) ORDER BY tm.user_pk, t.name;
SELECT DISTINCT cm.user_pk, t.name || '/' || c.name AS value FROM channel_members cm JOIN channels c ON c.pk = cm.channel_pk
  JOIN teams t ON t.pk = c.team_pk WHERE cm.user_pk IN (:pk) ORDER BY cm.user_pk, value;
