-- Users, groups and API tokens (PostgreSQL twin of the SQLite migration). Times are Unix microseconds (UTC) so that SQLite and
-- PostgreSQL compare them the same way. Columns ending in _ci hold a lower-cased copy,
-- computed in Go, of a value SCIM compares without regard to case: the unique and lookup
-- indexes live on them, and both databases then agree byte for byte.
CREATE TABLE users (
    pk                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,         -- internal key; list order
    id                   TEXT    NOT NULL UNIQUE,      -- SCIM id
    external_id          TEXT,
    user_name            TEXT    NOT NULL,
    user_name_ci         TEXT    NOT NULL,
    name_formatted       TEXT,
    family_name          TEXT,
    given_name           TEXT,
    middle_name          TEXT,
    honorific_prefix     TEXT,
    honorific_suffix     TEXT,
    display_name         TEXT,
    nick_name            TEXT,
    profile_url          TEXT,
    title                TEXT,
    user_type            TEXT,
    preferred_language   TEXT,
    locale               TEXT,
    timezone             TEXT,
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    password_hash        TEXT,
    employee_number      TEXT,
    cost_center          TEXT,
    organization         TEXT,
    division             TEXT,
    department           TEXT,
    manager_value        TEXT,
    manager_ref          TEXT,
    manager_display_name TEXT,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    version              BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_user_name_ci ON users (user_name_ci);
CREATE INDEX users_external_id ON users (external_id);

CREATE TABLE user_emails (
    user_pk    BIGINT  NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    value      TEXT,
    value_ci   TEXT,
    display    TEXT,
    type       TEXT,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_pk, ord)
);
CREATE INDEX user_emails_value_ci ON user_emails (value_ci);

CREATE TABLE user_phone_numbers (
    user_pk    BIGINT  NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    value      TEXT,
    display    TEXT,
    type       TEXT,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_pk, ord)
);

CREATE TABLE user_addresses (
    user_pk        BIGINT  NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    ord            INTEGER NOT NULL,
    formatted      TEXT,
    street_address TEXT,
    locality       TEXT,
    region         TEXT,
    postal_code    TEXT,
    country        TEXT,
    type           TEXT,
    is_primary     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_pk, ord)
);

CREATE TABLE groups (
    pk              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    external_id     TEXT,
    display_name    TEXT    NOT NULL,
    display_name_ci TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    version         BIGINT  NOT NULL DEFAULT 1
);
CREATE INDEX groups_display_name_ci ON groups (display_name_ci);
CREATE INDEX groups_external_id ON groups (external_id);

CREATE TABLE group_members (
    group_pk BIGINT  NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    user_pk  BIGINT  NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_pk, user_pk)
);
CREATE INDEX group_members_user ON group_members (user_pk);

CREATE TABLE api_tokens (
    name         TEXT   PRIMARY KEY,
    secret_hash  TEXT   NOT NULL UNIQUE,  -- hex SHA-256 of the secret
    created_at   BIGINT NOT NULL
);
