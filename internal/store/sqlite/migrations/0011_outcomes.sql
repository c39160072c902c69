-- Runtime outcomes (issue 19, docs/dashboard.md "Insight"): every runtime
-- answer about a known license, counted by result code per UTC hour in the
-- validator's memory and added here in batches at each usage flush. The
-- project is stored beside the license so that a project's and an
-- organization's figures are one indexed range each; both cascade, so a
-- deleted license's or project's counts go with it.

CREATE TABLE outcome_counts (
    license_id  INTEGER NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hour        TIMESTAMP NOT NULL,
    code        TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (license_id, hour, code)
);

CREATE INDEX outcome_counts_project_idx ON outcome_counts (project_id, hour);
