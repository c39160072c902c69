package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/view"
)

// Event types (docs/webhooks.md lists when each is sent).
const (
	EventProjectCreated      = "project.created"
	EventProjectUpdated      = "project.updated"
	EventProjectDeleted      = "project.deleted"
	EventDomainCreated       = "domain.created"
	EventDomainUpdated       = "domain.updated"
	EventDomainDeleted       = "domain.deleted"
	EventLicenseCreated      = "license.created"
	EventLicenseUpdated      = "license.updated"
	EventLicenseSuspended    = "license.suspended"
	EventLicenseReactivated  = "license.reactivated"
	EventLicenseRevoked      = "license.revoked"
	EventLicenseDeleted      = "license.deleted"
	EventLicenseRenewed      = "license.renewed"
	EventLicenseExpired      = "license.expired"
	EventLicenseExpiringSoon = "license.expiring_soon"
	EventLicenseUsageCapped  = "license.usage_cap_reached"
	EventLicenseCheckedOut   = "license.checked_out"
	EventActivationCreated   = "activation.created"
	EventActivationDeleted   = "activation.deleted"
	EventInjectableCreated   = "injectable.created"
	EventInjectableUpdated   = "injectable.updated"
	EventInjectableDeleted   = "injectable.deleted"
	EventAPIKeyCreated       = "api_key.created"
	EventAPIKeyUpdated       = "api_key.updated"
	EventAPIKeyRotated       = "api_key.rotated"
	EventAPIKeyRevoked       = "api_key.revoked"
	EventAPIKeyExpiringSoon  = "api_key.expiring_soon"
	EventAPIKeyExpired       = "api_key.expired"
	EventPing                = "ping"
)

const (
	maxEventBody           = 1 << 20
	maxCachedEndpointLists = 10_000
	eventIDPrefix          = "evt_"
)

// EventTypes lists the types an endpoint may subscribe to, in the order of
// docs/webhooks.md.
var EventTypes = []string{
	EventProjectCreated, EventProjectUpdated, EventProjectDeleted,
	EventDomainCreated, EventDomainUpdated, EventDomainDeleted,
	EventLicenseCreated, EventLicenseUpdated, EventLicenseSuspended, EventLicenseReactivated, EventLicenseRevoked,
	EventLicenseDeleted, EventLicenseRenewed, EventLicenseExpired, EventLicenseExpiringSoon, EventLicenseUsageCapped,
	EventLicenseCheckedOut,
	EventActivationCreated, EventActivationDeleted,
	EventInjectableCreated, EventInjectableUpdated, EventInjectableDeleted,
	EventAPIKeyCreated, EventAPIKeyUpdated, EventAPIKeyRotated, EventAPIKeyRevoked, EventAPIKeyExpiringSoon, EventAPIKeyExpired,
}

// event is what a write reports happened.
type event struct {
	typ          string
	projectID    int64
	resourceType string
	resourceID   int64
	object       json.RawMessage
	previous     map[string]json.RawMessage
	dedupe       string
	// to, when set, picks the endpoints beyond the subscription (the
	// expiring_days of an expiring_soon, the one endpoint of a ping).
	to func(*core.WebhookEndpoint) bool
	// also is an endpoint this very transaction created or changed,
	// considered besides the committed ones.
	also *core.WebhookEndpoint
}

// endpointCache keeps each organization's enabled endpoints: every write
// that emits an event needs them to fan out.
type endpointCache struct {
	c *cache.Cache[int64, []core.WebhookEndpoint]
}

func newEndpointCache(set *cache.Set, ttl time.Duration, now func() time.Time) endpointCache {
	return endpointCache{cache.NewIn(set, cache.Config[int64, []core.WebhookEndpoint]{Name: "webhook_endpoints",
		MaxEntries: maxCachedEndpointLists, TTL: ttl, Now: now})}
}

// enabled reads committed endpoints (never the transaction's own, which
// may roll back after being cached).
func (ec endpointCache) enabled(ctx context.Context, st core.Store, orgID int64) ([]core.WebhookEndpoint, error) {
	if list, ok := ec.c.Get(orgID); ok {
		return list, nil
	}
	t := ec.c.Begin()
	list, err := st.EnabledWebhookEndpoints(ctx, orgID)
	if err != nil {
		return nil, err
	}
	ec.c.Put(t, orgID, list, core.WebhookDeps(orgID)...)
	return list, nil
}

// eventIDs hands out event IDs: "evt_" and a UUIDv7 (RFC 9562) in hex,
// whose 12 bits after the millisecond timestamp count up within a
// millisecond (the RFC's method 1), so that a node's IDs sort in the order
// it created them even many to a millisecond, or with a stopped clock.
var eventIDs struct {
	sync.Mutex
	ms  uint64
	seq uint64
}

func newEventID(now time.Time) string {
	ms := uint64(max(now.UnixMilli(), 0))
	eventIDs.Lock()
	if ms <= eventIDs.ms {
		ms = eventIDs.ms
		eventIDs.seq++
		if eventIDs.seq > 0xfff {
			ms++ // the counter is spent: borrow the next millisecond
			eventIDs.seq = 0
		}
	} else {
		eventIDs.seq = 0
	}
	eventIDs.ms = ms
	seq := eventIDs.seq
	eventIDs.Unlock()
	var u [16]byte
	_, _ = rand.Read(u[8:]) // crypto/rand.Read never fails
	binary.BigEndian.PutUint64(u[0:8], ms<<16|0x7000|seq)
	u[8] = 0x80 | u[8]&0x3f // RFC 9562 variant
	return eventIDPrefix + hex.EncodeToString(u[:])
}

// emit writes an event, and its deliveries to the organization's
// subscribed endpoints, in the transaction of st. It returns false when
// the event's dedupe key was used before (nothing written).
func (s *Service) emit(ctx context.Context, st core.Store, orgID int64, e event) (bool, error) {
	data := eventData(e.object, e.previous, e.resourceID)
	eps, err := s.endpoints.enabled(ctx, s.store, orgID)
	if err != nil {
		return false, err
	}
	if e.also != nil && e.also.Enabled {
		eps = append(slices.DeleteFunc(slices.Clone(eps), func(ep core.WebhookEndpoint) bool { return ep.ID == e.also.ID }), *e.also)
	}
	var ids []int64
	for i := range eps {
		ep := &eps[i]
		if ep.ProjectID != 0 && ep.ProjectID != e.projectID {
			continue
		}
		if e.typ != EventPing && !ep.Wants(e.typ) {
			continue
		}
		if e.to != nil && !e.to(ep) {
			continue
		}
		ids = append(ids, ep.ID)
	}
	now := s.now()
	ev := &core.Event{PublicID: newEventID(now), OrgID: orgID, ProjectID: e.projectID, Type: e.typ,
		ResourceType: e.resourceType, ResourceID: e.resourceID, Data: data, DedupeKey: e.dedupe, CreatedAt: now}
	created, err := st.CreateEvent(ctx, ev, ids)
	if err == nil && created && len(ids) > 0 {
		s.deliveriesDue.Store(true)
	}
	return created, err
}

// eventData builds {"object": …, "previous": …}. An object that would make
// the delivered body larger than 1 MB is replaced by a reference.
func eventData(object json.RawMessage, previous map[string]json.RawMessage, id int64) json.RawMessage {
	if previous == nil {
		previous = map[string]json.RawMessage{}
	}
	prev, _ := json.Marshal(previous) // raw JSON values: cannot fail
	if len(object)+len(prev) > maxEventBody-4096 {
		object, _ = json.Marshal(map[string]any{"id": id, "object_too_large": true})
		prev = []byte("{}")
	}
	var b bytes.Buffer
	b.WriteString(`{"object":`)
	b.Write(object)
	b.WriteString(`,"previous":`)
	b.Write(prev)
	b.WriteString(`}`)
	return b.Bytes()
}

// object renders a view as an event's data.object, without the named
// fields (secrets, bulk content).
func object(v any, drop ...string) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil || len(drop) == 0 {
		return b
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	for _, d := range drop {
		delete(m, d)
	}
	out, _ := json.Marshal(m)
	return out
}

// previous returns the fields of before whose values differ in after
// (data.previous of an update), without updated_at.
func previous(before, after json.RawMessage) map[string]json.RawMessage {
	var b, a map[string]json.RawMessage
	if json.Unmarshal(before, &b) != nil || json.Unmarshal(after, &a) != nil {
		return nil
	}
	out := map[string]json.RawMessage{}
	for k, v := range b {
		if k == "updated_at" { // changes with every update: not news
			continue
		}
		if w, ok := a[k]; !ok || !bytes.Equal(compact(v), compact(w)) {
			out[k] = v
		}
	}
	return out
}

func compact(b json.RawMessage) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// The resources' event objects. A license's key is never in an event
// (events are stored and sent elsewhere), nor an injectable's content (up
// to 5 MB; content_hash identifies it).

func licenseObject(l *core.License, now time.Time) json.RawMessage {
	cp := *l
	cp.UUID = ""
	return object(view.LicenseOf(&cp, now))
}

func projectObject(p *core.Project) json.RawMessage { return object(view.ProjectOf(p)) }
func domainObject(d *core.Domain) json.RawMessage   { return object(view.DomainOf(d)) }
func injectableObject(i *core.Injectable) json.RawMessage {
	return object(view.InjectableOf(i), "content")
}
func apiKeyObject(k *core.APIKey, now time.Time) json.RawMessage {
	return object(view.APIKeyOf(k, now), "secret")
}

// emitLicense emits a license event with the license's project's org.
func (s *Service) emitLicense(ctx context.Context, st core.Store, orgID int64, typ string, before, after *core.License) error {
	now := s.now()
	obj := licenseObject(after, now)
	var prev map[string]json.RawMessage
	if before != nil {
		prev = previous(licenseObject(before, now), obj)
	}
	_, err := s.emit(ctx, st, orgID, event{typ: typ, projectID: after.ProjectID, resourceType: "license", resourceID: after.ID,
		object: obj, previous: prev})
	return err
}
