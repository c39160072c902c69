package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

const seatColumns = `id, license_id, instance, ip, created_at, last_heartbeat_at, expires_at`

func scanSeat(sc interface{ Scan(...any) error }, st *core.Seat) error {
	return sc.Scan(&st.ID, &st.LicenseID, &st.Instance, &st.IP, utc{&st.CreatedAt}, utc{&st.LastHeartbeatAt}, utc{&st.ExpiresAt})
}

// ClaimSeat renews or claims a seat. A renewal, the heartbeat of a running
// copy, is one statement (renewSeat); otherwise one transaction, with the
// license row locked, deletes the license's expired seats, counts the live
// ones and inserts, or refuses.
func (s *Store) ClaimSeat(ctx context.Context, c core.SeatClaim) (core.SeatOutcome, error) {
	if c.Max < 1 || c.TTL <= 0 {
		return core.SeatOutcome{}, core.Errorf(core.EInvalid, "A seat needs a limit of at least 1 and a positive time to live.")
	}
	now := ts(c.Now)
	exp := ts(c.Now.Add(c.TTL))
	if out, ok, err := s.renewSeat(ctx, c, now, exp); err != nil || ok {
		return out, err
	}
	var out core.SeatOutcome
	err := s.inTx(ctx, func(q querier) error {
		out = core.SeatOutcome{} // the group commit may run this twice
		// Serialise the claims of one license across connections and
		// nodes: "fewer than Max live, then insert" must be atomic.
		var id int64
		if err := q.QueryRowContext(ctx, `SELECT id FROM licenses WHERE id = $1`+s.d.ForUpdate, c.LicenseID).Scan(&id); err != nil {
			return notFound(err, "License")
		}
		seat := &core.Seat{LicenseID: c.LicenseID, Instance: c.Instance, IP: c.IP, LastHeartbeatAt: now, ExpiresAt: exp}
		err := q.QueryRowContext(ctx,
			`UPDATE seats SET last_heartbeat_at = $3, expires_at = $4, ip = $5
			  WHERE license_id = $1 AND instance = $2 AND expires_at > $3
			 RETURNING id, created_at`, c.LicenseID, c.Instance, now, exp, c.IP).Scan(&seat.ID, utc{&seat.CreatedAt})
		renewed := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !renewed {
			// The instance's own expired seat goes too: it starts over.
			if _, err := q.ExecContext(ctx, `DELETE FROM seats WHERE license_id = $1 AND expires_at <= $2`, c.LicenseID, now); err != nil {
				return err
			}
		}
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM seats WHERE license_id = $1 AND expires_at > $2`,
			c.LicenseID, now).Scan(&out.Held); err != nil {
			return err
		}
		if renewed {
			if out.Held > c.Max {
				// The limit was lowered below the seats held: the oldest
				// keep theirs, the others lose it at their next heartbeat.
				var older int64
				if err := q.QueryRowContext(ctx, `SELECT count(*) FROM seats WHERE license_id = $1 AND expires_at > $2 AND id < $3`,
					c.LicenseID, now, seat.ID).Scan(&older); err != nil {
					return err
				}
				if older >= c.Max {
					if _, err := q.ExecContext(ctx, `DELETE FROM seats WHERE id = $1`, seat.ID); err != nil {
						return err
					}
					out.Held--
					return s.refuseSeat(ctx, q, c.LicenseID, now, &out)
				}
			}
			out.Outcome, out.Seat = core.SeatHeld, seat
			return nil
		}
		if out.Held >= c.Max {
			return s.refuseSeat(ctx, q, c.LicenseID, now, &out)
		}
		seat.CreatedAt = now
		if err := q.QueryRowContext(ctx,
			`INSERT INTO seats (license_id, instance, ip, created_at, last_heartbeat_at, expires_at)
			 VALUES ($1, $2, $3, $4, $4, $5) RETURNING id`, c.LicenseID, c.Instance, c.IP, now, exp).Scan(&seat.ID); err != nil {
			return err
		}
		out.Held++
		out.Outcome, out.Seat = core.SeatHeld, seat
		return nil
	})
	if err != nil {
		return core.SeatOutcome{}, s.wrap(err, "claim seat")
	}
	return out, nil
}

// renewSeatSQL renews a live seat among the license's Max oldest live
// ones, and counts the live seats, in one statement. It needs no lock: a
// renewal never adds a seat, and a claim that raced it either deleted the
// seat first (then nothing is renewed) or sees it renewed.
const renewSeatSQL = `UPDATE seats SET last_heartbeat_at = $3, expires_at = $4, ip = $5
	  WHERE license_id = $1 AND instance = $2 AND expires_at > $3
	    AND (SELECT count(*) FROM seats o WHERE o.license_id = $1 AND o.expires_at > $3 AND o.id < seats.id) < $6
	 RETURNING id, created_at, (SELECT count(*) FROM seats c WHERE c.license_id = $1 AND c.expires_at > $3)`

// renewSeat is the heartbeat of a copy that holds its seat, the common
// case: one indexed write (in autocommit on PostgreSQL; on SQLite in the
// group commit, whose shared commit costs less than one of its own). ok is
// false when there was no such seat to renew.
func (s *Store) renewSeat(ctx context.Context, c core.SeatClaim, now, exp time.Time) (core.SeatOutcome, bool, error) {
	var out core.SeatOutcome
	var ok bool
	renew := func(q querier) error {
		seat := &core.Seat{LicenseID: c.LicenseID, Instance: c.Instance, IP: c.IP, LastHeartbeatAt: now, ExpiresAt: exp}
		out, ok = core.SeatOutcome{}, false
		err := q.QueryRowContext(ctx, renewSeatSQL, c.LicenseID, c.Instance, now, exp, c.IP, c.Max).
			Scan(&seat.ID, utc{&seat.CreatedAt}, &out.Held)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		out.Outcome, out.Seat, ok = core.SeatHeld, seat, true
		return nil
	}
	var err error
	if s.tx == nil && s.group == nil {
		err = renew(s.w())
	} else {
		err = s.inTx(ctx, renew)
	}
	if err != nil {
		return core.SeatOutcome{}, false, s.wrap(err, "renew seat")
	}
	return out, ok, nil
}

// refuseSeat fills a refusal: when the soonest live seat frees up.
func (s *Store) refuseSeat(ctx context.Context, q querier, licenseID int64, now time.Time, out *core.SeatOutcome) error {
	out.Outcome = core.SeatExhausted
	var next time.Time
	err := q.QueryRowContext(ctx, `SELECT expires_at FROM seats WHERE license_id = $1 AND expires_at > $2 ORDER BY expires_at LIMIT 1`,
		licenseID, now).Scan(utc{&next})
	if errors.Is(err, sql.ErrNoRows) {
		return nil // a limit lowered to below what is held, with none left: cannot happen for Max >= 1
	}
	if err != nil {
		return err
	}
	out.NextFreeAt = &next
	return nil
}

// ReleaseSeat deletes the instance's seat and counts the live ones left.
func (s *Store) ReleaseSeat(ctx context.Context, licenseID int64, instance string, now time.Time) (core.SeatOutcome, error) {
	var out core.SeatOutcome
	err := s.inTx(ctx, func(q querier) error {
		out = core.SeatOutcome{}
		res, err := q.ExecContext(ctx, `DELETE FROM seats WHERE license_id = $1 AND instance = $2`, licenseID, instance)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		out.Released = n > 0
		return q.QueryRowContext(ctx, `SELECT count(*) FROM seats WHERE license_id = $1 AND expires_at > $2`,
			licenseID, ts(now)).Scan(&out.Held)
	})
	if err != nil {
		return core.SeatOutcome{}, s.wrap(err, "release seat")
	}
	return out, nil
}

// ListSeats returns the live seats, oldest first.
func (s *Store) ListSeats(ctx context.Context, licenseID int64, now time.Time) ([]core.Seat, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+seatColumns+` FROM seats WHERE license_id = $1 AND expires_at > $2 ORDER BY id`,
		licenseID, ts(now))
	if err != nil {
		return nil, s.wrap(err, "list seats")
	}
	defer rows.Close()
	var out []core.Seat
	for rows.Next() {
		var st core.Seat
		if err := scanSeat(rows, &st); err != nil {
			return nil, s.wrap(err, "list seats")
		}
		out = append(out, st)
	}
	return out, s.wrap(rows.Err(), "list seats")
}

// DeleteSeat removes one seat of a license.
func (s *Store) DeleteSeat(ctx context.Context, licenseID, id int64) (*core.Seat, error) {
	var st core.Seat
	err := scanSeat(s.w().QueryRowContext(ctx, `DELETE FROM seats WHERE id = $1 AND license_id = $2 RETURNING `+seatColumns, id, licenseID), &st)
	if err != nil {
		return nil, s.wrap(notFound(err, "Seat"), "delete seat")
	}
	return &st, nil
}
