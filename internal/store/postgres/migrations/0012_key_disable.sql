-- A temporarily disabled API key (issue 19): refused like a revoked one
-- while disabled_at is set, usable again once it is cleared. Unlike
-- revoked_at it can be undone, so it is its own column.
ALTER TABLE api_keys ADD COLUMN disabled_at TIMESTAMPTZ;
