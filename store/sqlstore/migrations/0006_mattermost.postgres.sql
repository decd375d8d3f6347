-- The Mattermost connector's own state (store.MattermostState). Accounts are named by
-- their SCIM user id (users.id), teams and channels by Townsquare's names; none of these
-- tables references users, teams or channels, because a purged account's link must
-- outlive its row (the connector still has to deactivate or delete its Mattermost user).
-- Times are Unix microseconds, as everywhere.

-- Which Mattermost user is which account: created by the connector or adopted (matched
-- by email or username), and the auth_data last sent (Mattermost never returns it).
CREATE TABLE mm_users (
    account_id TEXT   PRIMARY KEY,
    mm_user_id TEXT   NOT NULL UNIQUE,
    origin     TEXT   NOT NULL,
    auth_data  TEXT   NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

CREATE TABLE mm_teams (
    team  TEXT PRIMARY KEY,
    mm_id TEXT NOT NULL
);

CREATE TABLE mm_channels (
    team    TEXT NOT NULL,
    channel TEXT NOT NULL,
    mm_id   TEXT NOT NULL,
    PRIMARY KEY (team, channel)
);

-- Memberships the connector added: the only ones it may ever remove.
CREATE TABLE mm_owned_teams (
    account_id TEXT NOT NULL,
    team       TEXT NOT NULL,
    PRIMARY KEY (account_id, team)
);
CREATE INDEX mm_owned_teams_team ON mm_owned_teams (team, account_id);

CREATE TABLE mm_owned_channels (
    account_id TEXT NOT NULL,
    team       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    PRIMARY KEY (account_id, team, channel)
);
CREATE INDEX mm_owned_channels_channel ON mm_owned_channels (team, channel, account_id);

CREATE TABLE mm_dead_letters (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT    NOT NULL,
    position   BIGINT  NOT NULL,
    api_call   TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    error_id   TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 1,
    requeued   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX mm_dead_letters_account ON mm_dead_letters (account_id);

-- The breaker: deactivations sent (the last hour's are counted) and those it holds.
CREATE TABLE mm_deactivations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT   NOT NULL,
    sent_at    BIGINT NOT NULL
);
CREATE INDEX mm_deactivations_sent ON mm_deactivations (sent_at);

CREATE TABLE mm_held (
    account_id TEXT    PRIMARY KEY,
    username   TEXT    NOT NULL,
    permanent  BOOLEAN NOT NULL,
    held_at    BIGINT  NOT NULL,
    released   BOOLEAN NOT NULL DEFAULT FALSE
);

-- The newest failures (store.MaxMMFailures), for status.
CREATE TABLE mm_failures (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT  NOT NULL,
    account_id TEXT    NOT NULL,
    api_call   TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    error_id   TEXT    NOT NULL,
    message    TEXT    NOT NULL
);

-- Status keys (state, reason, last success, last reconcile…), so that every replica's
-- status endpoint answers the same.
CREATE TABLE mm_status (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
