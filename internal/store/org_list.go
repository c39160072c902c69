package store

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

// ListOrganizations returns every organization by name, for the operator's
// "latchkey admin orgs list". It is not in core.Store: only the admin
// commands, which hold the store itself, list the whole instance.
func (s *Store) ListOrganizations(ctx context.Context) ([]core.Organization, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+orgColumns+` FROM organizations ORDER BY lower(name), id`)
	if err != nil {
		return nil, s.wrap(err, "list organizations")
	}
	defer rows.Close()
	var out []core.Organization
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, s.wrap(err, "list organizations")
		}
		out = append(out, *o)
	}
	return out, s.wrap(rows.Err(), "list organizations")
}
