package service

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/webhook"
)

// The resources' events, emitted by the writes in the transaction of st.

// emitProject emits a project's event; also is the project's own endpoint
// as the write left it (it may be new, so not among the committed ones).
func (s *Service) emitProject(ctx context.Context, st core.Store, typ string, before, after *core.Project, also *core.WebhookEndpoint) error {
	obj := projectObject(after)
	var prev map[string]json.RawMessage
	if before != nil {
		prev = previous(projectObject(before), obj)
	}
	_, err := s.emit(ctx, st, after.OrgID, event{typ: typ, projectID: after.ID, resourceType: "project", resourceID: after.ID,
		object: obj, previous: prev, also: also})
	return err
}

func (s *Service) emitDomain(ctx context.Context, st core.Store, p *core.Project, typ string, before, after *core.Domain) error {
	obj := domainObject(after)
	var prev map[string]json.RawMessage
	if before != nil {
		prev = previous(domainObject(before), obj)
	}
	_, err := s.emit(ctx, st, p.OrgID, event{typ: typ, projectID: p.ID, resourceType: "domain", resourceID: after.ID,
		object: obj, previous: prev})
	return err
}

func (s *Service) emitInjectable(ctx context.Context, st core.Store, p *core.Project, typ string, before, after *core.Injectable) error {
	obj := injectableObject(after)
	var prev map[string]json.RawMessage
	if before != nil {
		prev = previous(injectableObject(before), obj)
	}
	_, err := s.emit(ctx, st, p.OrgID, event{typ: typ, projectID: p.ID, resourceType: "injectable", resourceID: after.ID,
		object: obj, previous: prev})
	return err
}

// emitAPIKey emits a key's event; for a rotation, after is the new key and
// previous names the old one.
func (s *Service) emitAPIKey(ctx context.Context, st core.Store, typ string, before, after *core.APIKey) error {
	now := s.now()
	obj := apiKeyObject(after, now)
	var prev map[string]json.RawMessage
	switch {
	case typ == EventAPIKeyRotated && before != nil:
		prev = map[string]json.RawMessage{}
		for k, v := range map[string]any{"id": before.ID, "public_id": before.PublicID, "expires_at": before.ExpiresAt} {
			prev[k], _ = json.Marshal(v)
		}
	case before != nil:
		prev = previous(apiKeyObject(before, now), obj)
	}
	_, err := s.emit(ctx, st, after.OrgID, event{typ: typ, projectID: after.ProjectID, resourceType: "api_key", resourceID: after.ID,
		object: obj, previous: prev})
	return err
}

// syncProjectEndpoint keeps the endpoint that stands for a project's DevPayr
// webhook_url in step with the project: created when the URL is set,
// changed with it, deleted when it is cleared or the project deleted. It is
// signed with the project's webhook_secret, or a generated secret when the
// project has none. It returns the endpoint as this transaction leaves it
// (nil when there is none), for the write's own event: the fan-out reads
// committed endpoints only.
//
// secretChanged says whether the write set the project's webhook_secret:
// only then does it replace the endpoint's secret, so a secret rotated on
// the endpoint survives later changes to the project.
func (s *Service) syncProjectEndpoint(ctx context.Context, st core.Store, changed func(core.Change), p *core.Project,
	secretChanged bool) (*core.WebhookEndpoint, error) {
	ep, err := st.ProjectWebhookEndpoint(ctx, p.ID)
	switch {
	case core.IsCode(err, core.ENotFound):
		ep = nil
	case err != nil:
		return nil, err
	}
	url := ""
	if p.WebhookURL != nil {
		url = strings.TrimSpace(*p.WebhookURL)
	}
	secret := p.WebhookSecretEnc
	switch {
	case url == "" && ep == nil:
		return nil, nil
	case url == "":
		err, ep = st.DeleteWebhookEndpoint(ctx, ep.ID), nil
	case ep == nil:
		if len(secret) == 0 {
			secret = s.webhookBox.Seal([]byte(webhook.NewSecret()))
		}
		ep = &core.WebhookEndpoint{OrgID: p.OrgID, ProjectID: p.ID, Source: core.EndpointSourceProject,
			URL: url, Description: "Project webhook_url", Events: []string{"*"}, Enabled: true, Ordered: true,
			ExpiringDays: expiringSoonDefaultDays, SecretEnc: secret}
		err = st.CreateWebhookEndpoint(ctx, ep)
	default:
		upd := core.WebhookEndpointUpdate{URL: &url}
		if secretChanged && len(secret) > 0 {
			upd.SecretEnc = secret
		}
		ep, err = st.UpdateWebhookEndpoint(ctx, ep.ID, upd)
	}
	if err != nil {
		return nil, err
	}
	changed(core.Change{Kind: core.ChangeWebhooks, ID: p.OrgID})
	return ep, nil
}

// Endpoint settings' bounds.
const (
	expiringSoonDefaultDays = 7
	expiringSoonMaxDays     = 90
	maxEndpointDescription  = 500
	// MaxSecretGraceSeconds bounds a webhook secret rotation's overlap.
	MaxSecretGraceSeconds     = 7 * 24 * 3600
	defaultSecretGraceSeconds = 24 * 3600
	maxEndpointsPerOrg        = 100
)

// EndpointInput holds the fields of an endpoint create or update.
type EndpointInput struct {
	Problems     core.Problems
	URL          Opt[string]
	Events       Opt[[]string]
	ProjectID    Opt[int64] // 0: every project
	Enabled      Opt[bool]
	Description  Opt[string]
	Ordered      Opt[bool]
	ExpiringDays Opt[int64]
}

// validateEndpoint checks the set fields (url and events on create).
func (s *Service) validateEndpoint(in *EndpointInput, create bool) core.Problems {
	p := core.Problems{}
	p.Merge(in.Problems)
	if in.URL.Set || create {
		in.URL.V = strings.TrimSpace(in.URL.V)
		if in.URL.V == "" {
			p.Add("url", "The url field is required.")
		} else if why := webhook.CheckURL(in.URL.V, s.allowInsecureWebhooks); why != "" {
			p.Add("url", "The url field "+why+".")
		}
	}
	if in.Events.Set || create {
		switch {
		case len(in.Events.V) == 0:
			p.Add("events", "The events field must list at least one event type, or \"*\".")
		default:
			var norm []string
			bad := false
			for _, t := range in.Events.V {
				t = strings.TrimSpace(t)
				if t != "*" && !slices.Contains(EventTypes, t) {
					p.Add("events", "The events field has an unknown event type: "+quoteShort(t)+".")
					bad = true
					break
				}
				if !slices.Contains(norm, t) {
					norm = append(norm, t)
				}
			}
			if slices.Contains(norm, "*") {
				norm = []string{"*"}
			}
			if !bad { // the input stays as sent when it is refused
				in.Events.V = norm
			}
		}
	}
	if in.Description.Set {
		maxLen(p, "description", in.Description.V, maxEndpointDescription)
	}
	if in.ExpiringDays.Set && (in.ExpiringDays.V < 1 || in.ExpiringDays.V > expiringSoonMaxDays) {
		p.Add("expiring_days", "The expiring days field must be between 1 and 90.")
	}
	if in.ProjectID.Set && in.ProjectID.V < 0 {
		p.Add("project_id", "The selected project id is invalid.")
	}
	return p
}

var errEndpointNotFound = core.NotFound("Webhook endpoint")

// endpointAccess loads an endpoint the actor may see: of its organization
// and, for a project-bound key, of its project.
func (s *Service) endpointAccess(ctx context.Context, st core.Store, actor *core.Actor, id int64, scope core.Scope) (*core.WebhookEndpoint, error) {
	if err := actor.Require(scope); err != nil {
		return nil, err
	}
	ep, err := st.WebhookEndpoint(ctx, id)
	if core.IsCode(err, core.ENotFound) || (err == nil && (ep.OrgID != actor.OrgID || (actor.ProjectID != 0 && ep.ProjectID != actor.ProjectID))) {
		return nil, errEndpointNotFound
	}
	return ep, err
}

// checkEndpointProject resolves the project filter: a project-bound key's
// endpoints are its project's; a named project must be the organization's.
func (s *Service) checkEndpointProject(ctx context.Context, st core.Store, actor *core.Actor, in *EndpointInput, p core.Problems) error {
	if actor.ProjectID != 0 {
		if in.ProjectID.Set && in.ProjectID.V != actor.ProjectID {
			p.Add("project_id", "This API key can only manage webhook endpoints of its own project.")
			return nil
		}
		in.ProjectID = Some(actor.ProjectID)
	}
	if !in.ProjectID.Set || in.ProjectID.V <= 0 {
		return nil
	}
	pr, err := s.projects.get(ctx, st, in.ProjectID.V)
	if core.IsCode(err, core.ENotFound) || (err == nil && pr.OrgID != actor.OrgID) {
		p.Add("project_id", "The selected project id is invalid.")
		return nil
	}
	return err
}

// CreateWebhookEndpoint adds an endpoint and returns it with its secret,
// which is not shown again.
func (s *Service) CreateWebhookEndpoint(ctx context.Context, actor *core.Actor, in EndpointInput) (*core.WebhookEndpoint, string, error) {
	if err := actor.Require(core.ScopeWebhooksWrite); err != nil {
		return nil, "", err
	}
	secret := webhook.NewSecret()
	// Validated once, before the transaction: write may run its function
	// again (alone, after a shared SQLite commit failed), and the rules
	// normalise what they check.
	checked := s.validateEndpoint(&in, true)
	var ep *core.WebhookEndpoint
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		if err := s.checkCap(ctx, st, actor.OrgID, 0, core.CapWebhookEndpoints); err != nil {
			return err
		}
		probs := core.Problems{}
		probs.Merge(checked)
		if err := s.checkEndpointProject(ctx, st, actor, &in, probs); err != nil {
			return err
		}
		if err := probs.Err(); err != nil {
			return err
		}
		existing, err := st.ListWebhookEndpoints(ctx, core.EndpointFilter{OrgID: actor.OrgID, Limit: maxEndpointsPerOrg + 1})
		if err != nil {
			return err
		}
		if len(existing) >= maxEndpointsPerOrg {
			return core.Invalid("url", "The organization already has 100 webhook endpoints, the most it may have.")
		}
		ep = &core.WebhookEndpoint{OrgID: actor.OrgID, ProjectID: in.ProjectID.V, Source: core.EndpointSourceAPI,
			URL: in.URL.V, Description: strings.TrimSpace(in.Description.V), Events: in.Events.V, Enabled: true, Ordered: true,
			ExpiringDays: expiringSoonDefaultDays, SecretEnc: s.webhookBox.Seal([]byte(secret))}
		if in.Enabled.Set {
			ep.Enabled = in.Enabled.V
		}
		if in.Ordered.Set {
			ep.Ordered = in.Ordered.V
		}
		if in.ExpiringDays.Set {
			ep.ExpiringDays = int(in.ExpiringDays.V)
		}
		if err := st.CreateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeWebhooks, ID: actor.OrgID})
		return audit(ctx, st, actor.Audit("webhook_endpoint.create", "webhook_endpoint", ep.ID, ep.ProjectID, endpointAudit(ep)))
	})
	if err != nil {
		return nil, "", err
	}
	return ep, secret, nil
}

func endpointAudit(ep *core.WebhookEndpoint) map[string]any {
	return map[string]any{"url": ep.URL, "events": ep.Events, "enabled": ep.Enabled, "project_id": ep.ProjectID}
}

// ListWebhookEndpoints returns the endpoints the actor may see, oldest
// first, after afterID.
func (s *Service) ListWebhookEndpoints(ctx context.Context, actor *core.Actor, afterID int64, limit int) ([]core.WebhookEndpoint, error) {
	if err := actor.Require(core.ScopeWebhooksRead); err != nil {
		return nil, err
	}
	return s.store.ListWebhookEndpoints(ctx, core.EndpointFilter{OrgID: actor.OrgID, ProjectID: actor.ProjectID, AfterID: afterID, Limit: limit})
}

// WebhookEndpoint returns one endpoint.
func (s *Service) WebhookEndpoint(ctx context.Context, actor *core.Actor, id int64) (*core.WebhookEndpoint, error) {
	return s.endpointAccess(ctx, s.store, actor, id, core.ScopeWebhooksRead)
}

var errProjectEndpoint = &core.Error{Code: core.EConflict,
	Message: "This endpoint is the project's webhook_url: change its url on the project (PUT /api/v1/project/{id})."}

// UpdateWebhookEndpoint changes the fields that are set. Re-enabling an
// endpoint the server disabled clears its failure record.
func (s *Service) UpdateWebhookEndpoint(ctx context.Context, actor *core.Actor, id int64, in EndpointInput) (*core.WebhookEndpoint, error) {
	var out *core.WebhookEndpoint
	checked := s.validateEndpoint(&in, false) // once: see CreateWebhookEndpoint
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		ep, err := s.endpointAccess(ctx, st, actor, id, core.ScopeWebhooksWrite)
		if err != nil {
			return err
		}
		if ep.Source == core.EndpointSourceProject && (in.URL.Set || in.Events.Set || in.ProjectID.Set) {
			return errProjectEndpoint
		}
		probs := core.Problems{}
		probs.Merge(checked)
		if in.ProjectID.Set || actor.ProjectID != 0 {
			if err := s.checkEndpointProject(ctx, st, actor, &in, probs); err != nil {
				return err
			}
		}
		if err := probs.Err(); err != nil {
			return err
		}
		upd := core.WebhookEndpointUpdate{}
		if in.URL.Set {
			upd.URL = &in.URL.V
		}
		if in.Events.Set {
			upd.Events = in.Events.V
		}
		if in.ProjectID.Set {
			upd.ProjectID = &in.ProjectID.V
		}
		if in.Description.Set {
			d := strings.TrimSpace(in.Description.V)
			upd.Description = &d
		}
		if in.Ordered.Set {
			upd.Ordered = &in.Ordered.V
		}
		if in.ExpiringDays.Set {
			d := int(in.ExpiringDays.V)
			upd.ExpiringDays = &d
		}
		if in.Enabled.Set {
			upd.Enabled = &in.Enabled.V
			if in.Enabled.V && !ep.Enabled {
				var none *time.Time
				reason := ""
				upd.FailingSince, upd.DisabledReason = &none, &reason
			}
		}
		if out, err = st.UpdateWebhookEndpoint(ctx, ep.ID, upd); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeWebhooks, ID: ep.OrgID})
		return audit(ctx, st, actor.Audit("webhook_endpoint.update", "webhook_endpoint", ep.ID, out.ProjectID, endpointAudit(out)))
	})
	return out, err
}

// DeleteWebhookEndpoint removes an endpoint and its pending deliveries.
// The endpoint of a project's webhook_url is removed by clearing the
// project's field.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, actor *core.Actor, id int64) error {
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		ep, err := s.endpointAccess(ctx, st, actor, id, core.ScopeWebhooksWrite)
		if err != nil {
			return err
		}
		if ep.Source == core.EndpointSourceProject {
			return errProjectEndpoint
		}
		if err := st.DeleteWebhookEndpoint(ctx, ep.ID); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeWebhooks, ID: ep.OrgID})
		return audit(ctx, st, actor.Audit("webhook_endpoint.delete", "webhook_endpoint", ep.ID, ep.ProjectID, endpointAudit(ep)))
	})
}

// RotateWebhookSecret gives an endpoint a new secret; the old one keeps
// signing (a second v1) for grace.
func (s *Service) RotateWebhookSecret(ctx context.Context, actor *core.Actor, id int64, grace time.Duration) (*core.WebhookEndpoint, string, error) {
	secret := webhook.NewSecret()
	var out *core.WebhookEndpoint
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		ep, err := s.endpointAccess(ctx, st, actor, id, core.ScopeWebhooksWrite)
		if err != nil {
			return err
		}
		if grace < 0 || grace > MaxSecretGraceSeconds*time.Second {
			return core.Invalid("grace_seconds", "The grace seconds field must be between 0 and 604800.")
		}
		prev := ep.SecretEnc
		until := s.now().Add(grace)
		untilP := &until
		if grace <= 0 {
			prev, untilP = nil, nil
		}
		upd := core.WebhookEndpointUpdate{SecretEnc: s.webhookBox.Seal([]byte(secret)), PreviousSecretEnc: &prev, PreviousSecretUntil: &untilP}
		if out, err = st.UpdateWebhookEndpoint(ctx, ep.ID, upd); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeWebhooks, ID: ep.OrgID})
		return audit(ctx, st, actor.Audit("webhook_endpoint.rotate_secret", "webhook_endpoint", ep.ID, ep.ProjectID,
			map[string]any{"grace_seconds": int64(grace / time.Second)}))
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

// DefaultSecretGrace is how long an old secret signs after a rotation
// when the request does not say.
const DefaultSecretGrace = defaultSecretGraceSeconds * time.Second

// TestWebhookEndpoint sends a ping event to one enabled endpoint.
func (s *Service) TestWebhookEndpoint(ctx context.Context, actor *core.Actor, id int64) (*core.Event, error) {
	var ev *core.Event
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		ep, err := s.endpointAccess(ctx, st, actor, id, core.ScopeWebhooksWrite)
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return &core.Error{Code: core.EConflict, Message: "The endpoint is disabled: enable it to receive the test event."}
		}
		obj, _ := json.Marshal(map[string]any{"endpoint_id": ep.ID, "url": ep.URL, "message": "A test event from Latchkey."})
		now := s.now()
		ev = &core.Event{PublicID: newEventID(now), OrgID: ep.OrgID, ProjectID: ep.ProjectID, Type: EventPing,
			ResourceType: "webhook_endpoint", ResourceID: ep.ID, Data: eventData(obj, nil, ep.ID), CreatedAt: now}
		if _, err := st.CreateEvent(ctx, ev, []int64{ep.ID}); err != nil {
			return err
		}
		s.deliveriesDue.Store(true)
		return audit(ctx, st, actor.Audit("webhook_endpoint.test", "webhook_endpoint", ep.ID, ep.ProjectID, map[string]any{"event_id": ev.PublicID}))
	})
	return ev, err
}

// ListEvents returns the events the actor may see, newest first.
func (s *Service) ListEvents(ctx context.Context, actor *core.Actor, f core.EventFilter) ([]core.Event, error) {
	if err := actor.Require(core.ScopeWebhooksRead); err != nil {
		return nil, err
	}
	f.OrgID = actor.OrgID
	if actor.ProjectID != 0 {
		if f.ProjectID != 0 && f.ProjectID != actor.ProjectID {
			return nil, nil
		}
		f.ProjectID = actor.ProjectID
	}
	return s.store.ListEvents(ctx, f)
}

// Event returns one event by public ID.
func (s *Service) Event(ctx context.Context, actor *core.Actor, publicID string) (*core.Event, error) {
	if err := actor.Require(core.ScopeWebhooksRead); err != nil {
		return nil, err
	}
	ev, err := s.store.Event(ctx, actor.OrgID, publicID)
	if err == nil && actor.ProjectID != 0 && ev.ProjectID != actor.ProjectID {
		return nil, core.NotFound("Event")
	}
	return ev, err
}

// ListDeliveries returns an endpoint's deliveries with their attempts.
func (s *Service) ListDeliveries(ctx context.Context, actor *core.Actor, endpointID int64, f core.DeliveryFilter) ([]core.WebhookDelivery, error) {
	ep, err := s.endpointAccess(ctx, s.store, actor, endpointID, core.ScopeWebhooksRead)
	if err != nil {
		return nil, err
	}
	f.EndpointID = ep.ID
	return s.store.ListWebhookDeliveries(ctx, f)
}

// Delivery returns one delivery of an endpoint.
func (s *Service) Delivery(ctx context.Context, actor *core.Actor, endpointID, id int64) (*core.WebhookDelivery, error) {
	ep, err := s.endpointAccess(ctx, s.store, actor, endpointID, core.ScopeWebhooksRead)
	if err != nil {
		return nil, err
	}
	d, err := s.store.WebhookDelivery(ctx, id)
	if core.IsCode(err, core.ENotFound) || (err == nil && d.EndpointID != ep.ID) {
		return nil, core.NotFound("Delivery")
	}
	return d, err
}

// RetryDelivery makes a delivery due now, as a new series of attempts.
func (s *Service) RetryDelivery(ctx context.Context, actor *core.Actor, endpointID, id int64) (*core.WebhookDelivery, error) {
	var out *core.WebhookDelivery
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		ep, err := s.endpointAccess(ctx, st, actor, endpointID, core.ScopeWebhooksWrite)
		if err != nil {
			return err
		}
		d, err := st.WebhookDelivery(ctx, id)
		if core.IsCode(err, core.ENotFound) || (err == nil && d.EndpointID != ep.ID) {
			return core.NotFound("Delivery")
		}
		if err != nil {
			return err
		}
		if out, err = st.RetryDelivery(ctx, d.ID, s.now()); err != nil {
			return err
		}
		s.deliveriesDue.Store(true)
		return audit(ctx, st, actor.Audit("webhook_endpoint.retry", "webhook_endpoint", ep.ID, ep.ProjectID,
			map[string]any{"delivery_id": d.ID, "event_id": d.EventPublicID}))
	})
	return out, err
}
