-- The change journal (store.Journal) and its consumers' coordination state.
--
-- seq is taken at insert, in the order transactions reach their INSERT, which is not the
-- order they commit: a transaction holding seq 10 may commit after the one holding 11.
-- Readers therefore never read by seq. position is the total order readers follow: NULL
-- until the sequencer (journal.go: sequence) numbers committed entries, under a lock that
-- serialises sequencers, so an entry that commits later gets a higher position than every
-- entry already visible.
--
-- A row holds the consecutive entries one transaction appends for one account (or for
-- none: team and channel creation): a create is one row, not four. An entry's cursor is
-- position * 1024 + its index in the row. time is Unix milliseconds.
CREATE TABLE journal (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position     BIGINT,
    time_ms      BIGINT NOT NULL,
    actor        TEXT   NOT NULL,
    request_id   TEXT   NOT NULL DEFAULT '',
    account_id   TEXT   NOT NULL DEFAULT '',
    username     TEXT   NOT NULL DEFAULT '',
    n            INTEGER NOT NULL,  -- entries in the row
    entries      TEXT   NOT NULL    -- a JSON array of the entries (sqlstore/journal.go: storedEntry)
);
CREATE UNIQUE INDEX journal_position ON journal (position) WHERE position IS NOT NULL;
CREATE INDEX journal_account ON journal (account_id, position) WHERE position IS NOT NULL;
CREATE INDEX journal_unsequenced ON journal (seq) WHERE position IS NULL;

-- A consumer's place in the journal: the cursor (store.Event.Cursor) of the last entry it
-- took. It only moves forward.
CREATE TABLE cursors (
    consumer TEXT   PRIMARY KEY,
    position BIGINT NOT NULL
);

-- Named leases (one holder at a time), timed by the database's clock in Unix ms so that
-- replicas with skewed clocks agree on who holds one.
CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
