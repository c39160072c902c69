package main

import (
	"context"
	"strconv"

	"github.com/latchkey/latchkey/internal/store"
)

// seedMetadata gives every license of the big project a plan, in the
// column the API shows and in the index rows the filter reads, with two
// set-based statements (both backends run them as they are): one license
// in 100 has plan=gold, the others plan=basic, so the search selects 1 %
// of the project (a vendor's "which licenses are on this plan").
func seedMetadata(ctx context.Context, st *store.Store, project int64) error {
	for _, q := range []string{
		`INSERT INTO license_metadata (license_id, key, value)
		 SELECT id, 'plan', CASE WHEN id % 100 = 0 THEN 'gold' ELSE 'basic' END FROM licenses WHERE project_id = $1`,
		`UPDATE licenses SET metadata = CASE WHEN id % 100 = 0 THEN '{"plan":"gold"}' ELSE '{"plan":"basic"}' END WHERE project_id = $1`,
	} {
		if _, err := st.DB().ExecContext(ctx, q, project); err != nil {
			return err
		}
	}
	return nil
}

// listByMetadataScenario lists the big project's licenses with a metadata
// filter; the ignored "n" parameter makes every request a cache miss, so
// the database answers each one.
func listByMetadataScenario(d *seeded, big string) scenario {
	return scenario{
		Name: "list-by-metadata", Method: "GET", Prefix: "/api/v1/project/", Contains: "/licenses?metadata%5B", Status: 200, Marker: `"metadata":{"plan":"gold"}`,
		Request: func(i int) (string, []byte, []string) {
			return "/api/v1/project/" + big + "/licenses?metadata%5Bplan%5D=gold&per_page=50&n=" + strconv.Itoa(i), nil, []string{"X-API-KEY", d.OwnerKey}
		},
	}
}
