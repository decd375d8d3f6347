-- Roles and guests (issue 14; store/roles.go). A group stores what its rule makes its
-- members (kind: rules.KindMember, KindGuest or KindNone, from Target.Kind) and the roles
-- it grants: system_admin, and the admin role of teams and channels (group_team_admins,
-- group_channel_admins; those teams and channels are in group_teams and group_channels
-- too, an admin being a member). Groups made before this migration grant what their
-- group_teams and group_channels say, or nothing; ApplyRules resolves them again.
ALTER TABLE groups ADD COLUMN kind TEXT NOT NULL DEFAULT 'member';
ALTER TABLE groups ADD COLUMN system_admin BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE groups SET kind = 'none'
WHERE NOT EXISTS (SELECT 1 FROM group_teams gt WHERE gt.group_pk = groups.pk)
  AND NOT EXISTS (SELECT 1 FROM group_channels gc WHERE gc.group_pk = groups.pk);

CREATE TABLE group_team_admins (
    group_pk BIGINT NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    team_pk  BIGINT NOT NULL REFERENCES teams (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_pk, team_pk)
);
CREATE TABLE group_channel_admins (
    group_pk   BIGINT NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    channel_pk BIGINT NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_pk, channel_pk)
);

-- Role grants, one row per source as membership rows: 'group:<group pk>' or 'manual'
-- (GrantRole). A team or channel admin row exists only beside a membership row of the
-- same pair (reconcile removes it with the membership's last row). The roles in effect
-- are the rows' of an account that is not a guest.
CREATE TABLE system_admins (
    user_pk    BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    source     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_pk, source)
);
CREATE TABLE team_admins (
    team_pk    BIGINT NOT NULL REFERENCES teams (pk) ON DELETE CASCADE,
    user_pk    BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    source     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_pk, user_pk, source)
);
CREATE INDEX team_admins_user ON team_admins (user_pk, team_pk);
CREATE TABLE channel_admins (
    channel_pk BIGINT NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    user_pk    BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    source     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_pk, user_pk, source)
);
CREATE INDEX channel_admins_user ON channel_admins (user_pk, channel_pk);

-- Whether an account is a guest: in a guest group and in no member group. Reconcile
-- keeps it for the accounts that follow their groups; a deactivated account keeps the
-- value it had, as it keeps its memberships.
ALTER TABLE users ADD COLUMN guest BOOLEAN NOT NULL DEFAULT FALSE;
