-- Events (the outbox: written in the transaction of the change), webhook
-- endpoints, their deliveries and each delivery attempt; leases for work
-- that one node at a time does (the scheduler of time-driven events).
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id     TEXT NOT NULL UNIQUE,
    org_id        INTEGER NOT NULL,
    project_id    INTEGER NOT NULL DEFAULT 0,
    type          TEXT NOT NULL,
    resource_type TEXT NOT NULL DEFAULT '',
    resource_id   INTEGER NOT NULL DEFAULT 0,
    data          TEXT NOT NULL,
    dedupe_key    TEXT UNIQUE,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX events_org_idx ON events (org_id, id);
CREATE INDEX events_created_idx ON events (created_at);

CREATE TABLE webhook_endpoints (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id                INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id            INTEGER NOT NULL DEFAULT 0,
    source                TEXT NOT NULL DEFAULT 'api',
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    events                TEXT NOT NULL,
    enabled               BOOLEAN NOT NULL DEFAULT TRUE,
    ordered               BOOLEAN NOT NULL DEFAULT TRUE,
    expiring_days         INTEGER NOT NULL DEFAULT 7,
    secret_enc            BLOB NOT NULL,
    previous_secret_enc   BLOB,
    previous_secret_until TIMESTAMP,
    failing_since         TIMESTAMP,
    disabled_reason       TEXT NOT NULL DEFAULT '',
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints (org_id, id);
CREATE UNIQUE INDEX webhook_endpoints_project_idx ON webhook_endpoints (project_id) WHERE source = 'project';

CREATE TABLE webhook_deliveries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id       INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id          INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status            TEXT NOT NULL DEFAULT 'pending',
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TIMESTAMP NOT NULL,
    series_started_at TIMESTAMP NOT NULL,
    lease_owner       TEXT NOT NULL DEFAULT '',
    lease_until       TIMESTAMP,
    last_status_code  INTEGER NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL,
    completed_at      TIMESTAMP,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_head_idx ON webhook_deliveries (endpoint_id, event_id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at          TIMESTAMP NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    duration_us INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    response    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    cursor     TIMESTAMP
);

CREATE INDEX licenses_expires_idx ON licenses (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX api_keys_expires_idx ON api_keys (expires_at) WHERE expires_at IS NOT NULL;
