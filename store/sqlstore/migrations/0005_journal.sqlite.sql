-- The change journal (store.Journal) and its consumers' coordination state.
--
-- position is the total order readers follow (the PostgreSQL twin explains why it is not
-- seq there). Here every transaction begins IMMEDIATE and holds the database's one write
-- lock from BEGIN to COMMIT, so transactions commit in the order they write: the store
-- gives a row its position as it writes it (dialect_sqlite.go: insertPosition), and no
-- row is ever unsequenced.
--
-- A row holds the consecutive entries one transaction appends for one account (or for
-- none: team and channel creation): a create is one row, not four. An entry's cursor is
-- position * 1024 + its index in the row. time is Unix milliseconds.
CREATE TABLE journal (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
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
