package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// CreateEvent writes e and a pending delivery to each endpoint, or nothing
// when e.DedupeKey was used before.
func (s *Store) CreateEvent(ctx context.Context, e *core.Event, endpointIDs []int64) (bool, error) {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.clock()
	}
	e.CreatedAt = ts(e.CreatedAt)
	created := false
	err := s.inTx(ctx, func(q querier) error {
		created = false // SQLite's group commit may run this again alone
		var dedupe any
		if e.DedupeKey != "" {
			dedupe = e.DedupeKey
		}
		err := q.QueryRowContext(ctx,
			`INSERT INTO events (public_id, org_id, project_id, type, resource_type, resource_id, data, dedupe_key, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id`,
			e.PublicID, e.OrgID, e.ProjectID, e.Type, e.ResourceType, e.ResourceID, string(e.Data), dedupe, e.CreatedAt).Scan(&e.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the dedupe key (or, never in practice, the public ID) exists
		}
		if err != nil {
			return err
		}
		created = true
		for _, id := range endpointIDs {
			if _, err := q.ExecContext(ctx,
				`INSERT INTO webhook_deliveries (endpoint_id, event_id, next_attempt_at, series_started_at, created_at)
				 VALUES ($1, $2, $3, $3, $3) ON CONFLICT DO NOTHING`, id, e.ID, e.CreatedAt); err != nil {
				return err
			}
		}
		return nil
	})
	return created, s.wrap(err, "create event")
}

const eventColumns = `id, public_id, org_id, project_id, type, resource_type, resource_id, data, COALESCE(dedupe_key, ''), created_at`

func scanEvent(row interface{ Scan(...any) error }) (*core.Event, error) {
	var e core.Event
	var data string
	err := row.Scan(&e.ID, &e.PublicID, &e.OrgID, &e.ProjectID, &e.Type, &e.ResourceType, &e.ResourceID, &data,
		&e.DedupeKey, utc{&e.CreatedAt})
	e.Data = json.RawMessage(data)
	return &e, err
}

// Event returns an organization's event by public ID.
func (s *Store) Event(ctx context.Context, orgID int64, publicID string) (*core.Event, error) {
	e, err := scanEvent(s.r().QueryRowContext(ctx,
		`SELECT `+eventColumns+` FROM events WHERE public_id = $1 AND org_id = $2`, publicID, orgID))
	return e, s.wrap(notFound(err, "Event"), "event")
}

// ListEvents returns events newest first.
func (s *Store) ListEvents(ctx context.Context, f core.EventFilter) ([]core.Event, error) {
	var args argList
	q := `SELECT ` + eventColumns + ` FROM events WHERE org_id = ` + args.add(f.OrgID)
	if f.ProjectID != 0 {
		q += ` AND project_id = ` + args.add(f.ProjectID)
	}
	if f.Type != "" {
		if strings.HasSuffix(f.Type, ".") {
			q += ` AND type LIKE ` + args.add(escapeLike(f.Type)+"%") + ` ESCAPE '\'`
		} else {
			q += ` AND type = ` + args.add(f.Type)
		}
	}
	if f.ResourceType != "" {
		q += ` AND resource_type = ` + args.add(f.ResourceType)
	}
	if f.ResourceID != 0 {
		q += ` AND resource_id = ` + args.add(f.ResourceID)
	}
	if f.BeforeID != 0 {
		q += ` AND id < ` + args.add(f.BeforeID)
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(limit(f.Limit, 20, 1000))
	rows, err := s.r().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "list events")
	}
	defer rows.Close()
	var out []core.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, s.wrap(err, "list events")
		}
		out = append(out, *e)
	}
	return out, s.wrap(rows.Err(), "list events")
}

// PruneEvents deletes up to n events created before t; their deliveries
// and attempts go with them (ON DELETE CASCADE).
func (s *Store) PruneEvents(ctx context.Context, before time.Time, n int) (int64, error) {
	res, err := s.w().ExecContext(ctx,
		`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < $1 ORDER BY id LIMIT $2)`, ts(before), n)
	if err != nil {
		return 0, s.wrap(err, "prune events")
	}
	k, err := res.RowsAffected()
	return k, s.wrap(err, "prune events")
}

const endpointColumns = `id, org_id, project_id, source, url, description, events, enabled, ordered, expiring_days,
	secret_enc, previous_secret_enc, previous_secret_until, failing_since, disabled_reason, created_at, updated_at`

func scanEndpoint(row interface{ Scan(...any) error }) (*core.WebhookEndpoint, error) {
	var e core.WebhookEndpoint
	var events string
	err := row.Scan(&e.ID, &e.OrgID, &e.ProjectID, &e.Source, &e.URL, &e.Description, &events, &e.Enabled, &e.Ordered,
		&e.ExpiringDays, &e.SecretEnc, &e.PreviousSecretEnc, nullTime{&e.PreviousSecretUntil}, nullTime{&e.FailingSince},
		&e.DisabledReason, utc{&e.CreatedAt}, utc{&e.UpdatedAt})
	if err == nil {
		err = json.Unmarshal([]byte(events), &e.Events)
	}
	return &e, err
}

func eventsArg(types []string) any {
	b, _ := json.Marshal(types) // strings only: cannot fail
	return string(b)
}

// CreateWebhookEndpoint inserts e.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e *core.WebhookEndpoint) error {
	now := s.clock()
	if e.Source == "" {
		e.Source = core.EndpointSourceAPI
	}
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO webhook_endpoints (org_id, project_id, source, url, description, events, enabled, ordered, expiring_days,
		                                secret_enc, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
		e.OrgID, e.ProjectID, e.Source, e.URL, e.Description, eventsArg(e.Events), e.Enabled, e.Ordered, e.ExpiringDays,
		e.SecretEnc, now).Scan(&e.ID)
	if err != nil {
		return s.conflict(err, "create webhook endpoint", "The project already has a webhook endpoint.")
	}
	e.CreatedAt, e.UpdatedAt = now, now
	return nil
}

// WebhookEndpoint returns an endpoint by ID.
func (s *Store) WebhookEndpoint(ctx context.Context, id int64) (*core.WebhookEndpoint, error) {
	e, err := scanEndpoint(s.r().QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id))
	return e, s.wrap(notFound(err, "Webhook endpoint"), "webhook endpoint")
}

// ProjectWebhookEndpoint returns the endpoint of a project's webhook_url.
func (s *Store) ProjectWebhookEndpoint(ctx context.Context, projectID int64) (*core.WebhookEndpoint, error) {
	e, err := scanEndpoint(s.r().QueryRowContext(ctx,
		`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE project_id = $1 AND source = 'project'`, projectID))
	return e, s.wrap(notFound(err, "Webhook endpoint"), "project webhook endpoint")
}

func (s *Store) endpoints(ctx context.Context, op, q string, args ...any) ([]core.WebhookEndpoint, error) {
	rows, err := s.r().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, op)
	}
	defer rows.Close()
	var out []core.WebhookEndpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, s.wrap(err, op)
		}
		out = append(out, *e)
	}
	return out, s.wrap(rows.Err(), op)
}

// ListWebhookEndpoints returns an organization's endpoints, oldest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, f core.EndpointFilter) ([]core.WebhookEndpoint, error) {
	var args argList
	q := `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE org_id = ` + args.add(f.OrgID)
	if f.ProjectID != 0 {
		q += ` AND project_id = ` + args.add(f.ProjectID)
	}
	if f.AfterID != 0 {
		q += ` AND id > ` + args.add(f.AfterID)
	}
	q += ` ORDER BY id LIMIT ` + args.add(limit(f.Limit, 20, 1000))
	return s.endpoints(ctx, "list webhook endpoints", q, args...)
}

// EnabledWebhookEndpoints returns the enabled endpoints of an organization.
func (s *Store) EnabledWebhookEndpoints(ctx context.Context, orgID int64) ([]core.WebhookEndpoint, error) {
	return s.endpoints(ctx, "enabled webhook endpoints",
		`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE org_id = $1 AND enabled ORDER BY id`, orgID)
}

// UpdateWebhookEndpoint changes the set fields.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, id int64, upd core.WebhookEndpointUpdate) (*core.WebhookEndpoint, error) {
	var e *core.WebhookEndpoint
	err := s.inTx(ctx, func(q querier) error {
		var set setter
		if upd.URL != nil {
			set.add("url", *upd.URL)
		}
		if upd.Description != nil {
			set.add("description", *upd.Description)
		}
		if upd.Events != nil {
			set.add("events", eventsArg(upd.Events))
		}
		if upd.ProjectID != nil {
			set.add("project_id", *upd.ProjectID)
		}
		if upd.Enabled != nil {
			set.add("enabled", *upd.Enabled)
		}
		if upd.Ordered != nil {
			set.add("ordered", *upd.Ordered)
		}
		if upd.ExpiringDays != nil {
			set.add("expiring_days", *upd.ExpiringDays)
		}
		if upd.SecretEnc != nil {
			set.add("secret_enc", upd.SecretEnc)
		}
		if upd.PreviousSecretEnc != nil {
			var v any
			if len(*upd.PreviousSecretEnc) > 0 {
				v = *upd.PreviousSecretEnc
			}
			set.add("previous_secret_enc", v)
		}
		if upd.PreviousSecretUntil != nil {
			set.add("previous_secret_until", tsp(*upd.PreviousSecretUntil))
		}
		if upd.FailingSince != nil {
			set.add("failing_since", tsp(*upd.FailingSince))
		}
		if upd.DisabledReason != nil {
			set.add("disabled_reason", *upd.DisabledReason)
		}
		set.add("updated_at", s.clock())
		res, err := q.ExecContext(ctx, `UPDATE webhook_endpoints SET `+set.clause()+` WHERE id = `+set.next(), append(set.args, id)...)
		if err != nil {
			return err
		}
		if err := affected(res, "Webhook endpoint"); err != nil {
			return err
		}
		e, err = scanEndpoint(q.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id))
		return err
	})
	return e, s.wrap(err, "update webhook endpoint")
}

// DeleteWebhookEndpoint removes an endpoint with its deliveries.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	if err != nil {
		return s.wrap(err, "delete webhook endpoint")
	}
	return affected(res, "Webhook endpoint")
}

// ExpiringDays returns the distinct expiring_days of enabled endpoints.
func (s *Store) ExpiringDays(ctx context.Context) ([]int, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT DISTINCT expiring_days FROM webhook_endpoints WHERE enabled ORDER BY 1`)
	if err != nil {
		return nil, s.wrap(err, "expiring days")
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var d int
		if err := rows.Scan(&d); err != nil {
			return nil, s.wrap(err, "expiring days")
		}
		out = append(out, d)
	}
	return out, s.wrap(rows.Err(), "expiring days")
}

const deliveryColumns = `d.id, d.endpoint_id, d.event_id, ev.public_id, ev.type, d.status, d.attempts, d.next_attempt_at,
	d.series_started_at, d.last_status_code, d.created_at, d.completed_at`

func deliveryDest(d *core.WebhookDelivery) []any {
	return []any{&d.ID, &d.EndpointID, &d.EventID, &d.EventPublicID, &d.EventType, &d.Status, &d.Attempts,
		utc{&d.NextAttemptAt}, utc{&d.SeriesStarted}, &d.LastStatusCode, utc{&d.CreatedAt}, nullTime{&d.CompletedAt}}
}

// ClaimDeliveries leases due deliveries to owner. On PostgreSQL the rows
// are locked with SKIP LOCKED, so concurrent claimers on other nodes take
// other rows; SQLite has one writer, so the statement alone is atomic.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, n int) ([]core.DeliveryJob, error) {
	lock := ""
	if s.d.ForUpdate != "" {
		lock = s.d.ForUpdate + " OF d SKIP LOCKED"
	}
	var jobs []core.DeliveryJob
	err := s.inTx(ctx, func(q querier) error {
		// SQLite's group commit runs this again alone when another job of
		// its group fails: what a rolled-back run claimed is not claimed.
		jobs = jobs[:0]
		rows, err := q.QueryContext(ctx,
			`SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
			  WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
			    AND e.enabled
			    AND (NOT e.ordered OR NOT EXISTS (
			         SELECT 1 FROM webhook_deliveries p
			          WHERE p.endpoint_id = d.endpoint_id AND p.status = 'pending' AND p.event_id < d.event_id))
			  ORDER BY d.next_attempt_at, d.id LIMIT $2`+lock, ts(now), n)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := q.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2 WHERE id = $3`,
				owner, ts(leaseUntil), id); err != nil {
				return err
			}
			var j core.DeliveryJob
			var data, events string
			dest := append(deliveryDest(&j.Delivery), &j.Event.OrgID, &j.Event.ProjectID, &j.Event.ResourceType,
				&j.Event.ResourceID, &data, utc{&j.Event.CreatedAt},
				&j.Endpoint.ID, &j.Endpoint.OrgID, &j.Endpoint.URL, &events, &j.Endpoint.Ordered, &j.Endpoint.SecretEnc,
				&j.Endpoint.PreviousSecretEnc, nullTime{&j.Endpoint.PreviousSecretUntil}, nullTime{&j.Endpoint.FailingSince})
			err := q.QueryRowContext(ctx,
				`SELECT `+deliveryColumns+`, ev.org_id, ev.project_id, ev.resource_type, ev.resource_id, ev.data, ev.created_at,
				        e.id, e.org_id, e.url, e.events, e.ordered, e.secret_enc, e.previous_secret_enc,
				        e.previous_secret_until, e.failing_since
				   FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id
				   JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1`, id).Scan(dest...)
			if err != nil {
				return err
			}
			j.Event.ID, j.Event.PublicID, j.Event.Type, j.Event.Data = j.Delivery.EventID, j.Delivery.EventPublicID,
				j.Delivery.EventType, json.RawMessage(data)
			if err := json.Unmarshal([]byte(events), &j.Endpoint.Events); err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	return jobs, s.wrap(err, "claim deliveries")
}

// FinishDelivery records an attempt and moves its delivery on.
func (s *Store) FinishDelivery(ctx context.Context, r core.DeliveryResult) (*core.WebhookEndpoint, error) {
	var e *core.WebhookEndpoint
	a := r.Attempt
	at := ts(a.At)
	err := s.inTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx,
			`INSERT INTO webhook_attempts (delivery_id, at, status_code, duration_us, error, response)
			 VALUES ($1, $2, $3, $4, $5, $6)`,
			r.DeliveryID, at, a.StatusCode, a.Duration.Microseconds(), a.Error, a.Response); err != nil {
			return err
		}
		var completed any
		if r.Status != core.DeliveryPending {
			completed = at
		}
		next := at
		if r.Status == core.DeliveryPending {
			next = ts(r.NextAttemptAt)
		}
		if _, err := q.ExecContext(ctx,
			`UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_status_code = $2, next_attempt_at = $3,
			        completed_at = $4, lease_owner = '', lease_until = NULL
			  WHERE id = $5`, r.Status, a.StatusCode, next, completed, r.DeliveryID); err != nil {
			return err
		}
		var err error
		if r.Status == core.DeliverySucceeded {
			_, err = q.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`,
				r.EndpointID)
		} else {
			_, err = q.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL`,
				at, r.EndpointID)
		}
		if err != nil {
			return err
		}
		e, err = scanEndpoint(q.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, r.EndpointID))
		return notFound(err, "Webhook endpoint")
	})
	return e, s.wrap(err, "finish delivery")
}

// WebhookDelivery returns a delivery with its attempts.
func (s *Store) WebhookDelivery(ctx context.Context, id int64) (*core.WebhookDelivery, error) {
	ds, err := s.deliveries(ctx, "webhook delivery", `d.id = $1`, []any{id}, 1)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, core.NotFound("Delivery")
	}
	return &ds[0], nil
}

// ListWebhookDeliveries returns an endpoint's deliveries, newest first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, f core.DeliveryFilter) ([]core.WebhookDelivery, error) {
	var args argList
	where := `d.endpoint_id = ` + args.add(f.EndpointID)
	if f.Status != "" {
		where += ` AND d.status = ` + args.add(f.Status)
	}
	if f.BeforeID != 0 {
		where += ` AND d.id < ` + args.add(f.BeforeID)
	}
	return s.deliveries(ctx, "list deliveries", where, args, limit(f.Limit, 20, 1000))
}

// deliveries reads deliveries with their attempts in one statement, so a
// delivery and its log are of one moment (an attempt finishing between two
// reads would show a log newer than its delivery).
func (s *Store) deliveries(ctx context.Context, op, where string, args []any, n int) ([]core.WebhookDelivery, error) {
	al := argList(args)
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+deliveryColumns+`, a.id, a.at, a.status_code, a.duration_us, a.error, a.response
		   FROM (SELECT * FROM webhook_deliveries d WHERE `+where+` ORDER BY d.id DESC LIMIT `+al.add(n)+`) d
		   JOIN events ev ON ev.id = d.event_id
		   LEFT JOIN webhook_attempts a ON a.delivery_id = d.id
		  ORDER BY d.id DESC, a.id`, al...)
	if err != nil {
		return nil, s.wrap(err, op)
	}
	defer rows.Close()
	var out []core.WebhookDelivery
	for rows.Next() {
		var d core.WebhookDelivery
		var aID, aStatus, aUS sql.NullInt64
		var aAt sql.NullTime
		var aErr, aResp sql.NullString
		if err := rows.Scan(append(deliveryDest(&d), &aID, &aAt, &aStatus, &aUS, &aErr, &aResp)...); err != nil {
			return nil, s.wrap(err, op)
		}
		if len(out) == 0 || out[len(out)-1].ID != d.ID {
			out = append(out, d)
		}
		if aID.Valid {
			last := &out[len(out)-1]
			last.Log = append(last.Log, core.WebhookAttempt{ID: aID.Int64, DeliveryID: d.ID, At: aAt.Time.UTC(),
				StatusCode: int(aStatus.Int64), Duration: time.Duration(aUS.Int64) * time.Microsecond, Error: aErr.String,
				Response: aResp.String})
		}
	}
	return out, s.wrap(rows.Err(), op)
}

// RetryDelivery makes a delivery due now, as a new series. A delivery a
// worker holds (its lease runs) is left alone, EConflict: clearing the
// lease would let a second worker send it while the first still is.
func (s *Store) RetryDelivery(ctx context.Context, id int64, now time.Time) (*core.WebhookDelivery, error) {
	res, err := s.w().ExecContext(ctx,
		`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, series_started_at = $1, completed_at = NULL
		  WHERE id = $2 AND (lease_until IS NULL OR lease_until <= $1)`, ts(now), id)
	if err != nil {
		return nil, s.wrap(err, "retry delivery")
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, s.wrap(err, "retry delivery")
	} else if n == 0 {
		if _, err := s.WebhookDelivery(ctx, id); err != nil {
			return nil, err
		}
		return nil, &core.Error{Code: core.EConflict, Message: "The delivery is being attempted right now; retry it once that attempt is logged."}
	}
	return s.WebhookDelivery(ctx, id)
}

// TakeLease takes or renews the named lease.
func (s *Store) TakeLease(ctx context.Context, name, owner string, now, until time.Time) (bool, time.Time, error) {
	var holder string
	var cursor *time.Time
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3)
		 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		  WHERE leases.owner = excluded.owner OR leases.expires_at <= $4
		 RETURNING owner, cursor`, name, owner, ts(until), ts(now)).Scan(&holder, nullTime{&cursor})
	if errors.Is(err, sql.ErrNoRows) {
		return false, time.Time{}, nil // held by another owner
	}
	if err != nil {
		return false, time.Time{}, s.wrap(err, "take lease")
	}
	var c time.Time
	if cursor != nil {
		c = *cursor
	}
	return holder == owner, c, nil
}

// SetLeaseCursor stores the holder's progress.
func (s *Store) SetLeaseCursor(ctx context.Context, name, owner string, cursor time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE leases SET cursor = $1 WHERE name = $2 AND owner = $3`, ts(cursor), name, owner)
	if err != nil {
		return s.wrap(err, "set lease cursor")
	}
	return affected(res, "Lease")
}

// LicensesExpiring returns active licenses of live projects expiring in
// (from, to], soonest first.
func (s *Store) LicensesExpiring(ctx context.Context, from, to time.Time, n int) ([]core.ExpiringLicense, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+licenseColumns+`, org_id FROM (
		   SELECT l.*, p.org_id FROM licenses l JOIN projects p ON p.id = l.project_id
		    WHERE l.expires_at > $1 AND l.expires_at <= $2 AND l.status = 'active' AND p.deleted_at IS NULL) x
		  ORDER BY expires_at, id LIMIT $3`, ts(from), ts(to), n)
	if err != nil {
		return nil, s.wrap(err, "licenses expiring")
	}
	defer rows.Close()
	var out []core.ExpiringLicense
	for rows.Next() {
		var org int64
		l, err := scanLicense(scanExtra{rows, &org})
		if err != nil {
			return nil, s.wrap(err, "licenses expiring")
		}
		out = append(out, core.ExpiringLicense{License: *l, OrgID: org})
	}
	return out, s.wrap(rows.Err(), "licenses expiring")
}

// APIKeysExpiring returns unrevoked keys expiring in (from, to].
func (s *Store) APIKeysExpiring(ctx context.Context, from, to time.Time, n int) ([]core.APIKey, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+keyColumns+` FROM api_keys k WHERE k.expires_at > $1 AND k.expires_at <= $2 AND k.revoked_at IS NULL AND k.rotated_to IS NULL
		  ORDER BY k.expires_at, k.id LIMIT $3`, ts(from), ts(to), n)
	if err != nil {
		return nil, s.wrap(err, "api keys expiring")
	}
	defer rows.Close()
	var out []core.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, s.wrap(err, "api keys expiring")
		}
		out = append(out, *k)
	}
	return out, s.wrap(rows.Err(), "api keys expiring")
}

// scanExtra scans a row into a scanner's destinations plus extra trailing
// ones.
type scanExtra struct {
	row   interface{ Scan(...any) error }
	extra *int64
}

func (x scanExtra) Scan(dest ...any) error { return x.row.Scan(append(dest, x.extra)...) }
