-- Least privilege: API tokens carry scopes (comma-separated: read, connections, sync, admin)
-- and may expire; users can be disabled. Tokens made before scopes existed keep the full
-- access they were created with.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read,admin';
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
