-- SQLite only (0007_journal_rowid.sqlite.sql: its position becomes the rowid). On
-- PostgreSQL transactions may commit out of the order they insert, so positions stay
-- the sequencer's (0005) and nothing changes.
SELECT 1;
