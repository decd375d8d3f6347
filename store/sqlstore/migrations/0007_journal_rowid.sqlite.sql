-- The journal's position becomes the row's rowid (issue 11: what the journal costs a
-- create on SQLite).
--
-- Every SQLite transaction holds the database's one write lock from its first write to
-- COMMIT (BEGIN IMMEDIATE takes it at BEGIN), so transactions commit in the order they
-- insert, and a rowid taken at insert is already the total order readers follow. 0005
-- gave each row its position with a probe of journal_position in the INSERT and kept
-- seq as the key beside it: two more index entries and a read per row, inside the
-- section every writer waits for. Here position is the key: no position index, no probe,
-- no unsequenced index (nothing is ever unsequenced here), and no seq (nothing reads it
-- on SQLite). AUTOINCREMENT keeps a position from being given twice even if the newest
-- row were deleted (PruneEvents never deletes it; AUTOINCREMENT does not rely on that).
--
-- Rows keep their positions (cursors stored by consumers stay valid); a row without one
-- (never written by SQLite's store, but the sequencer's rule is kept) gets one after
-- every position, in seq order.
CREATE TABLE journal_new (
    position     INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms      BIGINT NOT NULL,
    actor        TEXT   NOT NULL,
    request_id   TEXT   NOT NULL DEFAULT '',
    account_id   TEXT   NOT NULL DEFAULT '',
    username     TEXT   NOT NULL DEFAULT '',
    n            INTEGER NOT NULL,  -- entries in the row
    entries      TEXT   NOT NULL    -- a JSON array of the entries (sqlstore/journal.go: storedEntry)
);
INSERT INTO journal_new (position, time_ms, actor, request_id, account_id, username, n, entries)
    SELECT position, time_ms, actor, request_id, account_id, username, n, entries FROM journal
    ORDER BY position IS NULL, position, seq;
DROP TABLE journal;
ALTER TABLE journal_new RENAME TO journal;
-- An account's entries (Events with an account, AccountID); every row has a position.
CREATE INDEX journal_account ON journal (account_id, position);
