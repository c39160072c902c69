-- Signing keys that rotate (issue 16). The instance signs offline proofs,
-- license files and signed responses with its one active Ed25519 key;
-- keys rotated out keep verifying (they stay in the published JWK Set)
-- until the operator retires them. Private keys are sealed under the
-- instance secret (AES-GCM) and wiped on retirement; the row stays so
-- that a kid is never reused and the history can be listed.

CREATE TABLE signing_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kid          TEXT NOT NULL UNIQUE,
    public_key   BLOB NOT NULL,
    private_enc  BLOB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'verifying', 'retired')),
    created_at   TIMESTAMP NOT NULL,
    retired_at   TIMESTAMP
);
-- At most one key signs: a second concurrent rotation fails instead of
-- leaving two active keys.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (status) WHERE status = 'active';

-- A project may ask for its license files encrypted to the license key
-- (a JWE only the holder of the key can open).
ALTER TABLE projects ADD COLUMN license_file_encryption BOOLEAN NOT NULL DEFAULT FALSE;
