-- The chat side. A users row is also the chat account: username (derived from userName),
-- email, status and delete_at (deactivation, as Mattermost's DeleteAt). A SCIM DELETE in
-- "deactivate" mode hides the SCIM resource (scim_deleted_at) but keeps the account, so a
-- later POST with the same externalId relinks to it; userName uniqueness therefore holds
-- among live SCIM resources only.
ALTER TABLE users ADD COLUMN username TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'online';
ALTER TABLE users ADD COLUMN delete_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN scim_deleted_at BIGINT;
DROP INDEX users_user_name_ci;
CREATE UNIQUE INDEX users_user_name_ci_live ON users (user_name_ci) WHERE scim_deleted_at IS NULL;
CREATE UNIQUE INDEX users_username ON users (username);

-- groups.name is the Mattermost group name derived from displayName; usernames avoid it.
ALTER TABLE groups ADD COLUMN name TEXT NOT NULL DEFAULT '';
CREATE INDEX groups_name ON groups (name);

CREATE TABLE teams (
    pk           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT   NOT NULL UNIQUE,
    display_name TEXT   NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE channels (
    pk           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_pk      BIGINT  NOT NULL REFERENCES teams (pk) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    type         TEXT   NOT NULL DEFAULT 'O',  -- O public, P private
    created_at   BIGINT NOT NULL,
    UNIQUE (team_pk, name)
);

-- A membership row per reason: source is 'default' (the default team), 'group:<group pk>',
-- 'team' (a channel every team member joins) or 'import'. A user is a member while at
-- least one row remains, so one reason going away never removes what another grants.
CREATE TABLE team_members (
    team_pk    BIGINT  NOT NULL REFERENCES teams (pk) ON DELETE CASCADE,
    user_pk    BIGINT  NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    source     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (team_pk, user_pk, source)
);
CREATE INDEX team_members_user ON team_members (user_pk);

CREATE TABLE channel_members (
    channel_pk BIGINT  NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    user_pk    BIGINT  NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    source     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (channel_pk, user_pk, source)
);
CREATE INDEX channel_members_user ON channel_members (user_pk);

-- What each group maps to, resolved from the configured rules when the group is created
-- or renamed (and when the rules change), so membership changes need no rule matching.
CREATE TABLE group_teams (
    group_pk BIGINT  NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    team_pk  BIGINT  NOT NULL REFERENCES teams (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_pk, team_pk)
);
CREATE TABLE group_channels (
    group_pk   BIGINT  NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    channel_pk BIGINT  NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_pk, channel_pk)
);

-- Store-wide settings, such as the fingerprint of the mapping rules last applied.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
