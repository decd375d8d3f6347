-- Not a reference: the one statement GET /Users?filter=userName eq "…" sends today (the
-- user row with its children aggregated, a deferred join for the page, no COUNT since a
-- first page shorter than count is its own total; the token check is cached). Compare
-- with lookup_one.sql, the same answer written by hand. Needs preload.sql's users.
\set i random(1, :preload)
SELECT users.pk, users.id, users.external_id, users.user_name, users.name_formatted,
		users.family_name, users.given_name, users.middle_name, users.honorific_prefix,
		users.honorific_suffix, users.display_name, users.nick_name, users.profile_url, users.title,
		users.user_type, users.preferred_language, users.locale, users.timezone, users.active,
		users.password_hash, users.employee_number, users.cost_center, users.organization,
		users.division, users.department, users.manager_value, users.manager_ref,
		users.manager_display_name, users.created_at, users.updated_at, users.version,
		users.username, users.email, users.status, users.delete_at, json_build_object(
		'Emails', (SELECT json_agg(json_build_object('Value', x.value, 'Display', x.display, 'Type', x.type, 'Primary', x.is_primary) ORDER BY x.ord)
			FROM user_emails x WHERE x.user_pk = users.pk),
		'PhoneNumbers', (SELECT json_agg(json_build_object('Value', x.value, 'Display', x.display, 'Type', x.type, 'Primary', x.is_primary) ORDER BY x.ord)
			FROM user_phone_numbers x WHERE x.user_pk = users.pk),
		'Addresses', (SELECT json_agg(json_build_object('Formatted', x.formatted, 'StreetAddress', x.street_address, 'Locality', x.locality,
				'Region', x.region, 'PostalCode', x.postal_code, 'Country', x.country, 'Type', x.type, 'Primary', x.is_primary) ORDER BY x.ord)
			FROM user_addresses x WHERE x.user_pk = users.pk),
		'Groups', (SELECT json_agg((SELECT json_build_object('ID', g.id, 'DisplayName', g.display_name) FROM groups g WHERE g.pk = gm.group_pk)
				ORDER BY gm.group_pk)
			FROM group_members gm WHERE gm.user_pk = users.pk),
		'Teams', (SELECT json_agg(x.name ORDER BY x.name) FROM (SELECT DISTINCT (SELECT t.name FROM teams t WHERE t.pk = tm.team_pk) AS name
			FROM team_members tm WHERE tm.user_pk = users.pk) x),
		'Channels', (SELECT json_agg(x.name ORDER BY x.name) FROM (SELECT DISTINCT
				(SELECT t.name || '/' || c.name FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE c.pk = cm.channel_pk) AS name
			FROM channel_members cm WHERE cm.user_pk = users.pk) x)
	) AS children FROM users WHERE users.pk IN (SELECT users.pk FROM users WHERE users.scim_deleted_at IS NULL AND (users.user_name_ci = 'pre' || CAST(:i AS TEXT) || '@example.com') ORDER BY users.pk LIMIT 100 OFFSET 0) ORDER BY users.pk;
