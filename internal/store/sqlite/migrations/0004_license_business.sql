-- Licenses a vendor can run a business on (issue 14): the customer and
-- order a license was sold with, searchable metadata, activations a vendor
-- can see and remove, a churn limit on new activations, concurrent seats.

ALTER TABLE licenses ADD COLUMN customer_name TEXT;
ALTER TABLE licenses ADD COLUMN customer_email TEXT;
ALTER TABLE licenses ADD COLUMN external_id TEXT;
-- A JSON object of strings, as the API shows it; license_metadata indexes it.
ALTER TABLE licenses ADD COLUMN metadata TEXT;
ALTER TABLE licenses ADD COLUMN max_concurrent INTEGER;
ALTER TABLE licenses ADD COLUMN heartbeat_ttl INTEGER;
ALTER TABLE licenses ADD COLUMN max_new_activations_per_day INTEGER;
-- The order or subscription a license was sold with is unique in its
-- project (NULLs are distinct: most licenses have none).
CREATE UNIQUE INDEX licenses_project_external_id_key ON licenses (project_id, external_id);
CREATE INDEX licenses_project_customer_email_idx ON licenses (project_id, lower(customer_email));

-- One row per metadata entry, so that ?metadata[plan]=gold is an index
-- lookup on both backends instead of a JSON scan.
CREATE TABLE license_metadata (
    license_id  INTEGER NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (license_id, key)
);
CREATE INDEX license_metadata_key_value_idx ON license_metadata (key, value, license_id);

ALTER TABLE activations ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE activations ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- New activations per license and UTC day, counted for the churn limit:
-- a deleted activation's row is gone, its count is not.
CREATE TABLE activation_days (
    license_id  INTEGER NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (license_id, day)
);

-- Concurrent seats: a running copy (instance) holds one until it expires
-- or is released.
CREATE TABLE seats (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    license_id         INTEGER NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    instance           TEXT NOT NULL,
    ip                 TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    last_heartbeat_at  TIMESTAMP NOT NULL,
    expires_at         TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX seats_license_instance_key ON seats (license_id, instance);
CREATE INDEX seats_license_expires_idx ON seats (license_id, expires_at);
