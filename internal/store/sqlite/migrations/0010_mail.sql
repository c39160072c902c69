-- Invitations by link (issue 19): an invitation now names an email, not an
-- account, carries the digest of a random token mailed (or shown) to the
-- invited person, expires, is used once and can be revoked. Pending rows of
-- the earlier model (0002, accepted at sign-in) are kept, already expired and
-- without a token: an owner resends them to send a link.
CREATE TABLE invitations_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    digest       BLOB,
    invited_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    accepted_at  TIMESTAMP,
    accepted_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    revoked_at   TIMESTAMP
);
INSERT INTO invitations_new (org_id, email, role, invited_by, created_at, expires_at)
SELECT i.org_id, lower(u.email), i.role, i.invited_by, i.created_at, i.created_at
  FROM invitations i JOIN users u ON u.id = i.user_id
 ORDER BY i.created_at, i.org_id, i.user_id;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
CREATE UNIQUE INDEX invitations_digest_key ON invitations (digest);
-- One pending invitation per email and organization: inviting again renews it.
CREATE UNIQUE INDEX invitations_pending_key ON invitations (org_id, email) WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Password resets by emailed link: the digest of a random token, valid one
-- hour, used once.
CREATE TABLE password_resets (
    digest      BLOB PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
