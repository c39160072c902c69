-- Latchkey schema, SQLite dialect. Times are TIMESTAMP so the driver scans
-- them into time.Time; they are always written in UTC with one fixed format,
-- so text comparison orders them correctly.

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));
CREATE UNIQUE INDEX organizations_slug_key ON organizations (slug);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE memberships (
    org_id      INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE sessions (
    digest        BLOB PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id        INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE projects (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id                INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    slug                  TEXT NOT NULL,
    description           TEXT,
    default_redirect_url  TEXT,
    logo_url              TEXT,
    webhook_url           TEXT,
    webhook_secret_enc    BLOB,
    meta                  TEXT NOT NULL DEFAULT '{}',
    is_active             BOOLEAN NOT NULL DEFAULT TRUE,
    has_paid              BOOLEAN NOT NULL DEFAULT FALSE,
    locked_at             TIMESTAMP,
    created_by            INTEGER,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    deleted_at            TIMESTAMP
);
CREATE INDEX projects_org_idx ON projects (org_id, id);
-- A slug is unique among the live projects of an organization.
CREATE UNIQUE INDEX projects_slug_key ON projects (org_id, slug) WHERE deleted_at IS NULL;

CREATE TABLE domains (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    domain       TEXT NOT NULL,
    environment  TEXT NOT NULL CHECK (environment IN ('production', 'staging', 'development')),
    is_primary   BOOLEAN NOT NULL DEFAULT FALSE,
    is_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    is_locked    BOOLEAN NOT NULL DEFAULT FALSE,
    has_paid     BOOLEAN NOT NULL DEFAULT FALSE,
    is_active    BOOLEAN NOT NULL DEFAULT TRUE,
    created_by   INTEGER,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX domains_project_domain_key ON domains (project_id, domain);

CREATE TABLE licenses (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id                 INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key_digest                 BLOB NOT NULL,
    key_enc                    BLOB NOT NULL,
    domain_id                  INTEGER REFERENCES domains (id) ON DELETE SET NULL,
    title                      TEXT NOT NULL,
    status                     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked', 'suspended')),
    expires_at                 TIMESTAMP,
    max_domains                INTEGER,
    max_subdomains_per_domain  INTEGER,
    max_usage_per_day          INTEGER,
    allowed_ips                TEXT,
    allowed_countries          TEXT,
    is_test_license            BOOLEAN NOT NULL DEFAULT FALSE,
    allow_configs              BOOLEAN NOT NULL DEFAULT FALSE,
    validate_against           TEXT NOT NULL DEFAULT 'license_domains',
    meta                       TEXT,
    user_id                    INTEGER,
    revoked_at                 TIMESTAMP,
    suspended_at               TIMESTAMP,
    created_at                 TIMESTAMP NOT NULL,
    updated_at                 TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX licenses_key_digest_key ON licenses (key_digest);
CREATE UNIQUE INDEX licenses_project_title_key ON licenses (project_id, title);
CREATE INDEX licenses_project_idx ON licenses (project_id, id);

CREATE TABLE activations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    license_id     INTEGER NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    identifier     TEXT NOT NULL,
    base_domain    TEXT NOT NULL,
    first_seen_at  TIMESTAMP NOT NULL,
    last_seen_at   TIMESTAMP NOT NULL,
    last_ip        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX activations_license_identifier_key ON activations (license_id, identifier);

CREATE TABLE license_usage (
    license_id  INTEGER NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (license_id, day)
);

CREATE TABLE injectables (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id         INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title              TEXT NOT NULL DEFAULT '',
    slug               TEXT NOT NULL,
    type               TEXT NOT NULL,
    mode               TEXT NOT NULL,
    target_path        TEXT NOT NULL,
    validate_endpoint  TEXT,
    encrypted_content  TEXT NOT NULL,
    file_path          TEXT,
    content_hash       TEXT NOT NULL,
    signature          TEXT NOT NULL,
    only_if_paid       BOOLEAN NOT NULL DEFAULT FALSE,
    is_active          BOOLEAN NOT NULL DEFAULT TRUE,
    meta               TEXT NOT NULL DEFAULT '{}',
    last_delivered_at  TIMESTAMP,
    created_by         INTEGER,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX injectables_project_slug_key ON injectables (project_id, slug);

CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id      INTEGER REFERENCES projects (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    public_id       TEXT NOT NULL,
    digest          BLOB NOT NULL,
    last4           TEXT NOT NULL,
    env             TEXT NOT NULL CHECK (env IN ('live', 'test')),
    scopes          TEXT NOT NULL,
    allowed_ips     TEXT NOT NULL DEFAULT '',
    rate_limit      INTEGER NOT NULL DEFAULT 0,
    expires_at      TIMESTAMP,
    revoked_at      TIMESTAMP,
    rotated_to      INTEGER,
    last_used_at    TIMESTAMP,
    last_used_ip    TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX api_keys_digest_key ON api_keys (digest);
CREATE UNIQUE INDEX api_keys_public_id_key ON api_keys (public_id);
CREATE INDEX api_keys_org_idx ON api_keys (org_id, id);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE api_key_usage (
    key_id  INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day     TEXT NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (key_id, day)
);

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL,
    actor_type   TEXT NOT NULL,
    actor_id     INTEGER NOT NULL DEFAULT 0,
    actor_label  TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL DEFAULT '',
    target_id    INTEGER NOT NULL DEFAULT 0,
    project_id   INTEGER NOT NULL DEFAULT 0,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    details      TEXT NOT NULL DEFAULT '{}',
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_org_idx ON audit_events (org_id, id);

-- Instance-wide settings, such as the fingerprint of the instance secret
-- that lets a node refuse a database initialised under another secret.
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
