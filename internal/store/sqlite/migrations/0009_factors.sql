-- Second factors and re-authentication (issue 19, docs/dashboard.md
-- "Sign-in security"). A session records when its user last proved who
-- they are (verified_at: the sign-in, or a re-authentication); NULL on
-- sessions older than this migration reads as their created_at. An
-- organization's owners may require a second factor of every member.

ALTER TABLE sessions ADD COLUMN verified_at TIMESTAMP;
ALTER TABLE organizations ADD COLUMN require_second_factor BOOLEAN NOT NULL DEFAULT FALSE;

-- One authenticator app per user. secret_enc is the TOTP secret sealed
-- with the instance secret; confirmed_at is NULL until a first code was
-- entered. last_step is the last RFC 6238 time step accepted: a code of
-- that step or an earlier one is never accepted again.
CREATE TABLE totp_factors (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_enc    BLOB NOT NULL,
    confirmed_at  TIMESTAMP,
    last_step     INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL
);

-- One-time recovery codes, stored as SHA-256 digests; used_at marks one
-- spent.
CREATE TABLE recovery_codes (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest      BLOB NOT NULL,
    used_at     TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, digest)
);

-- WebAuthn credentials (passkeys). credential is the library's credential
-- record as JSON (public key, sign count, flags, transports).
CREATE TABLE passkeys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id  BLOB NOT NULL,
    name           TEXT NOT NULL,
    credential     BLOB NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    last_used_at   TIMESTAMP
);
CREATE UNIQUE INDEX passkeys_credential_key ON passkeys (credential_id);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);
