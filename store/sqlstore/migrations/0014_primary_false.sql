-- An explicit "primary": false (issue 15; store.MultiValue.PrimaryFalse). is_primary keeps
-- what it held and what filters and the chat account read (a primary left out is false,
-- RFC 7643 §2.4); primary_false records that the client sent false rather than nothing,
-- so that it comes back as sent. It is never true beside is_primary. Existing rows read
-- as they did: true stays true, false is "left out", as it rendered before.
ALTER TABLE user_emails ADD COLUMN primary_false BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE user_phone_numbers ADD COLUMN primary_false BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE user_addresses ADD COLUMN primary_false BOOLEAN NOT NULL DEFAULT FALSE;
