-- Plans, policies and defaults (issue 15). A plan is set by the instance
-- operator and caps what an organization may create; a policy is set by
-- the organization's owners and is only ever stricter; license defaults
-- fill the fields a create leaves out, per project with an
-- organization-wide fallback. Rules and defaults are JSON objects of the
-- core types (core.Rules, core.Policy, core.LicenseDefaults): they are
-- read whole, never queried by field, and grow with the product.

CREATE TABLE plans (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    rules       TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX plans_name_key ON plans (lower(name));

-- No plan: no limits. A plan in use cannot be deleted (the store refuses
-- with a conflict naming how many organizations use it).
ALTER TABLE organizations ADD COLUMN plan_id INTEGER REFERENCES plans (id);
ALTER TABLE organizations ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';
ALTER TABLE organizations ADD COLUMN license_defaults TEXT NOT NULL DEFAULT '{}';
CREATE INDEX organizations_plan_id_idx ON organizations (plan_id);

ALTER TABLE projects ADD COLUMN license_defaults TEXT NOT NULL DEFAULT '{}';
