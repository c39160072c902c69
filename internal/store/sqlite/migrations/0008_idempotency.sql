-- Idempotency keys (issue 18, docs/idempotency.md). A POST or PATCH sent
-- with an Idempotency-Key claims (api_key_id, idem_key) here before it
-- runs; its answer is stored on the row and replayed to every retry with
-- the same key until expires_at. While status is NULL the request is in
-- flight: locked_until is its lease, after which another request with the
-- same fingerprint may take the row over (the first one's node crashed).
-- token names the current claim, so that a request whose lease was taken
-- over cannot store its answer over the new one's.

CREATE TABLE idempotency_keys (
    api_key_id    INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idem_key      TEXT NOT NULL,
    fingerprint   BLOB NOT NULL,
    token         TEXT NOT NULL,
    locked_until  TIMESTAMP,
    status        INTEGER,
    headers       TEXT,
    body          BLOB,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (api_key_id, idem_key)
);

-- The prune job deletes expired rows in batches, oldest first.
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
