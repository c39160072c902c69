package main

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

const (
	seatedSize      = 1_000 // licenses with seats
	seatsPerLicense = 5
	benchInstances  = 4 // instances heartbeating on each: fewer than its seats
)

// seedSeated adds a project of licenses with max_concurrent, for the
// heartbeat scenario.
func seedSeated(ctx context.Context, svc *service.Service, owner *core.Actor, st *store.Store, s *seeded,
	insert func(project int64, n int, capN int64, keep func(i int, k string)) error) error {
	p, err := svc.CreateProject(ctx, owner, service.ProjectInput{Name: service.Some("Seats"), HasPaid: service.Some(true)})
	if err != nil {
		return err
	}
	if err := insert(p.ID, seatedSize, 0, func(i int, k string) { s.Seated = append(s.Seated, k) }); err != nil {
		return err
	}
	_, err = st.DB().ExecContext(ctx, `UPDATE licenses SET max_concurrent = $1 WHERE project_id = $2`, seatsPerLicense, p.ID)
	return err
}

// heartbeatScenario is running copies checking in: 4 instances on each of
// 1,000 licenses of 5 seats, so after the first round every heartbeat
// renews a seat it holds (the steady state of a fleet), which is one
// transaction of indexed statements.
func heartbeatScenario(d *seeded) scenario {
	return scenario{
		Name: "heartbeat", Method: "POST", Prefix: "/api/v1/licenses/heartbeat", Status: 200, Marker: `"valid":true`,
		Warm: len(d.Seated) * benchInstances,
		Request: func(i int) (string, []byte, []string) {
			key := d.Seated[i%len(d.Seated)]
			inst := (i / len(d.Seated)) % benchInstances
			return "/api/v1/licenses/heartbeat", []byte(`{"instance":"bench-` + string(rune('a'+inst)) + `","domain":"shop.example.com","check_project":true}`),
				[]string{"X-LICENSE-KEY", key, "Content-Type", "application/json"}
		},
	}
}
