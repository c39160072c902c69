-- Live nodes (issue 17). Each node that shares its rate limits in Redis
-- records here every few seconds that it is alive; while Redis is
-- unreachable, a node allows its share of every limit: the limit divided
-- by the nodes seen lately.

CREATE TABLE nodes (
    id       TEXT PRIMARY KEY,
    seen_at  TIMESTAMP NOT NULL
);
