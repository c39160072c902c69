package service

import (
	"context"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// ScheduleConfig sets up the time-driven work: expiry events and pruning
// (of old events, outcome counts past OutcomeRetention and expired
// idempotency keys).
type ScheduleConfig struct {
	Owner string // this node's ID, recorded on the lease
	// Interval is how often a tick runs; 0 means a minute.
	Interval time.Duration
	// Retention is how long events are kept; 0 means 30 days.
	Retention time.Duration
}

const (
	schedulerLease = "scheduler"
	expiryBatch    = 1000
	pruneBatch     = 1000
	// DefaultEventRetention is --event-retention's default.
	DefaultEventRetention = 30 * 24 * time.Hour
	// OutcomeRetention is how long runtime outcome counts are kept: the
	// longest range shown (90 days) and the partial first day it starts
	// in, with a day to spare. Older hours are pruned at every tick.
	OutcomeRetention = 92 * 24 * time.Hour
)

// RunScheduler ticks until ctx ends. Only the node holding the scheduler
// lease works (the lease outlives three ticks, so a dead holder is
// replaced within that), and every event it emits has a dedupe key: even
// two holders at once could not emit one twice.
func (s *Service) RunScheduler(ctx context.Context, cfg ScheduleConfig) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		if err := s.ScheduleTick(ctx, cfg); err != nil && ctx.Err() == nil {
			s.log.Warn("scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ScheduleTick runs one tick: when this node holds the lease, it emits the
// expiry events due since the last tick and prunes old events. Tests call
// it directly under an injected clock.
func (s *Service) ScheduleTick(ctx context.Context, cfg ScheduleConfig) error {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultEventRetention
	}
	now := s.now()
	held, cursor, err := s.store.TakeLease(ctx, schedulerLease, cfg.Owner, now, now.Add(3*cfg.Interval))
	if err != nil || !held {
		return err
	}
	if !cursor.IsZero() && !now.After(cursor) {
		return nil
	}
	days, err := s.store.ExpiringDays(ctx)
	if err != nil {
		return err
	}
	// The first tick ever has no past: nothing has expired "since", and
	// everything expiring within an endpoint's days is soon.
	first := cursor.IsZero()
	if first {
		cursor = now
	}
	if !first {
		if err := s.expiries(ctx, cursor, now, 0); err != nil {
			return err
		}
	}
	for _, d := range days {
		ahead := time.Duration(d) * 24 * time.Hour
		from := cursor.Add(ahead)
		if first {
			from = now
		}
		if err := s.expiries(ctx, from, now.Add(ahead), d); err != nil {
			return err
		}
	}
	if err := s.store.SetLeaseCursor(ctx, schedulerLease, cfg.Owner, now); err != nil {
		return err
	}
	for {
		n, err := s.store.PruneEvents(ctx, now.Add(-cfg.Retention), pruneBatch)
		if err != nil {
			return err
		}
		if n < pruneBatch {
			break
		}
	}
	for {
		n, err := s.store.PruneOutcomes(ctx, now.Add(-OutcomeRetention), pruneBatch)
		if err != nil {
			return err
		}
		if n < pruneBatch {
			break
		}
	}
	_, err = s.PruneIdempotencyKeys(ctx)
	return err
}

// expiries emits, for licenses and keys expiring in (from, to], the
// expired events (days 0) or the expiring_soon events of endpoints that
// asked for that many days.
func (s *Service) expiries(ctx context.Context, from, to time.Time, days int) error {
	licType, keyType, suffix := EventLicenseExpired, EventAPIKeyExpired, ""
	var only func(*core.WebhookEndpoint) bool
	if days > 0 {
		licType, keyType, suffix = EventLicenseExpiringSoon, EventAPIKeyExpiringSoon, ":"+strconv.Itoa(days)
		only = func(ep *core.WebhookEndpoint) bool { return ep.ExpiringDays == days }
	}
	for start := from; ; {
		ls, err := s.store.LicensesExpiring(ctx, start, to, expiryBatch)
		if err != nil {
			return err
		}
		for i := range ls {
			l := &ls[i].License
			e := event{typ: licType, projectID: l.ProjectID, resourceType: "license", resourceID: l.ID,
				object: licenseObject(l, s.now()), to: only,
				dedupe: licType + ":" + strconv.FormatInt(l.ID, 10) + ":" + strconv.FormatInt(l.ExpiresAt.UnixMicro(), 10) + suffix}
			if err := s.write(ctx, func(st core.Store, _ func(core.Change)) error {
				_, err := s.emit(ctx, st, ls[i].OrgID, e)
				return err
			}); err != nil {
				return err
			}
		}
		if len(ls) < expiryBatch {
			break
		}
		// Several may share the last expiry: start again at it (the
		// dedupe keys skip those already emitted).
		start = nextStart(start, *ls[len(ls)-1].ExpiresAt)
	}
	for start := from; ; {
		ks, err := s.store.APIKeysExpiring(ctx, start, to, expiryBatch)
		if err != nil {
			return err
		}
		for i := range ks {
			k := &ks[i]
			e := event{typ: keyType, projectID: k.ProjectID, resourceType: "api_key", resourceID: k.ID,
				object: apiKeyObject(k, s.now()), to: only,
				dedupe: keyType + ":" + strconv.FormatInt(k.ID, 10) + ":" + strconv.FormatInt(k.ExpiresAt.UnixMicro(), 10) + suffix}
			if err := s.write(ctx, func(st core.Store, _ func(core.Change)) error {
				_, err := s.emit(ctx, st, k.OrgID, e)
				return err
			}); err != nil {
				return err
			}
		}
		if len(ks) < expiryBatch {
			break
		}
		start = nextStart(start, *ks[len(ks)-1].ExpiresAt)
	}
	return nil
}

// nextStart is where the next batch starts: just before the last expiry
// seen, unless that would not move forward (a whole batch sharing one
// expiry), then after it.
func nextStart(start, last time.Time) time.Time {
	if next := last.Add(-time.Microsecond); next.After(start) {
		return next
	}
	return last
}
