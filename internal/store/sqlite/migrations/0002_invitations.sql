-- Pending memberships: an owner invites, the person accepts at sign-in.
CREATE TABLE invitations (
    org_id      INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    invited_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX invitations_user_idx ON invitations (user_id);
