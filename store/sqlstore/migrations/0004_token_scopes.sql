-- Tokens carry scopes (store.Scope): what each may do, written by the store as the
-- scope names separated by single spaces, in store.AllScopes order (as OAuth 2 spells a
-- scope list). Every token that exists when this runs could do everything, so it keeps
-- every scope: an upgrade takes nothing away from a running IdP or script. The column's
-- default (no scope at all) is never written by the store; it only lets SQLite add a
-- NOT NULL column.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET scopes = 'scim admin:read admin:write';
