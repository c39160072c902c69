package service

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// The two runtime outcomes that are events: a license's daily cap reached
// (once per license per day) and a new activation. Validation never waits
// for them: they are queued (bounded, dropped with a count when full) and
// written in the background, each with a dedupe key, so a repeat on
// another node or after a restart writes nothing.
const (
	runtimeQueue     = 4096
	maxRuntimeRecent = 16_384
)

type runtimeEvent struct {
	typ        string
	orgID      int64
	license    core.License
	identifier string
	day        string
}

type runtimeEvents struct {
	queue   chan runtimeEvent
	dropped atomic.Int64
	// recent remembers what was queued lately, so a license refused
	// thousands of times a second for its cap queues one event, not one
	// per request.
	recent *cache.Cache[runtimeKey, struct{}]
}

// runtimeKey is what makes a runtime event the same as another (a struct,
// so that checking it allocates nothing on the validation path).
type runtimeKey struct {
	typ        string
	license    int64
	day        string
	identifier string
}

func newRuntimeEvents(set *cache.Set, now func() time.Time) *runtimeEvents {
	return &runtimeEvents{
		queue: make(chan runtimeEvent, runtimeQueue),
		recent: cache.NewIn(set, cache.Config[runtimeKey, struct{}]{Name: "runtime_events", MaxEntries: maxRuntimeRecent,
			TTL: 25 * time.Hour, Now: now}),
	}
}

// note queues the event build makes unless one with key was queued
// lately. The check comes first and allocates nothing: a license refused
// for its cap thousands of times a second, or validated again and again
// from an identifier its snapshot has not learnt, costs one lookup.
func (r *runtimeEvents) note(key runtimeKey, build func() runtimeEvent) {
	if _, ok := r.recent.Get(key); ok {
		return
	}
	// Tagged with the license: a change to it (an activation removed, on
	// any node) forgets what was queued, and a repeat is then refused by
	// the event's dedupe key unless that was released.
	r.recent.Put(r.recent.Begin(), key, struct{}{}, core.Change{Kind: core.ChangeLicense, ID: key.license})
	select {
	case r.queue <- build():
	default:
		r.dropped.Add(1)
	}
}

func (v *Validator) capReached(snap *licensing.Snapshot, day string) {
	v.events.note(runtimeKey{EventLicenseUsageCapped, snap.License.ID, day, ""}, func() runtimeEvent {
		return runtimeEvent{typ: EventLicenseUsageCapped, orgID: snap.Project.OrgID, license: snap.License, day: day}
	})
}

func (v *Validator) activated(snap *licensing.Snapshot, identifier string) {
	v.events.note(runtimeKey{EventActivationCreated, snap.License.ID, "", identifier}, func() runtimeEvent {
		return runtimeEvent{typ: EventActivationCreated, orgID: snap.Project.OrgID, license: snap.License, identifier: identifier}
	})
}

// DroppedEvents returns how many runtime events a full queue dropped.
func (v *Validator) DroppedEvents() int64 { return v.events.dropped.Load() }

// RunEvents writes the queued runtime events until ctx ends.
func (v *Validator) RunEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-v.events.queue:
			if err := v.svc.emitRuntime(ctx, e); err != nil && ctx.Err() == nil {
				v.svc.log.Warn("runtime event", "type", e.typ, "license", e.license.ID, "err", err)
			}
		}
	}
}

func (s *Service) emitRuntime(ctx context.Context, e runtimeEvent) error {
	l := &e.license
	ev := event{typ: e.typ, projectID: l.ProjectID, resourceType: "license", resourceID: l.ID}
	switch e.typ {
	case EventLicenseUsageCapped:
		ev.object = licenseObject(l, s.now())
		ev.dedupe = e.typ + ":" + strconv.FormatInt(l.ID, 10) + ":" + e.day
	case EventActivationCreated:
		ev.resourceType = "activation"
		ev.object = object(map[string]any{"license_id": l.ID, "project_id": l.ProjectID, "identifier": e.identifier,
			"first_seen_at": s.now().UTC().Format(time.RFC3339)})
		ev.dedupe = activationDedupe(l.ID, e.identifier)
	}
	return s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		_, err := s.emit(ctx, st, e.orgID, ev)
		return err
	})
}
