-- Accounts made by hand (the CLI, the admin API), at first sign-in, and by an import,
-- beside those an IdP pushes (store.Admin). origin says what made an account
-- (store.OriginSCIM, OriginImport, OriginManual, OriginLogin): every account that exists
-- when this runs was made by SCIM or an import before origins were kept, and counts as
-- SCIM's. auth_service is the sign-in service of an account made with one ("saml",
-- "oidc", …); NULL for the others, whose auth service is the connector's.
-- ListAccounts pages accounts by chat username compared byte by byte, then key:
-- users_username (BINARY, unique) walks that order already.
ALTER TABLE users ADD COLUMN auth_service TEXT;
ALTER TABLE users ADD COLUMN origin TEXT NOT NULL DEFAULT 'scim';
-- A SCIM create looks for a live account no IdP made with its externalId, to adopt it
-- (store.Users.CreateUser); few accounts are such, so the index holds only them, and its
-- predicate is the one the store's statements spell (sqlstore/create.go: adoptable).
CREATE INDEX users_adoptable ON users (external_id) WHERE scim_deleted_at IS NULL AND origin <> 'scim';
