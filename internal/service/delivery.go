package service

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/view"
	"github.com/latchkey/latchkey/internal/webhook"
)

// Delivery policy (issue 13): a delivery is retried for 3 days, and an
// endpoint that has failed without a success for 3 days is disabled.
const (
	RetryWindow   = 72 * time.Hour
	DisableAfter  = 72 * time.Hour
	deliveryLease = time.Minute // longer than an attempt can take (10 s)
)

// DeliveryConfig sets up a node's delivery workers.
type DeliveryConfig struct {
	Sender  *webhook.Sender
	Owner   string        // this node's ID, recorded on its leases
	Workers int           // concurrent attempts; 0 means 4
	Poll    time.Duration // how often to look for due deliveries (retries, other nodes' events); 0 means 1 s
	// OnAttempt, when set, is told how each attempt ended: "succeeded",
	// "retrying" or "failed" (metrics).
	OnAttempt func(outcome string)
}

// RunDeliveries delivers due deliveries until ctx ends. Writes that create
// deliveries wake a worker at once; Poll finds the rest (retries coming
// due, events written on other nodes). Deliveries are leased, so several
// nodes share the work, and a node killed mid-attempt leaves a lease that
// expires and is taken over: delivery is at least once.
func (s *Service) RunDeliveries(ctx context.Context, cfg DeliveryConfig) {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	done := make(chan struct{})
	for i := range cfg.Workers {
		go func() {
			defer func() { done <- struct{}{} }()
			s.deliveryWorker(ctx, cfg, i == 0)
		}()
	}
	for range cfg.Workers {
		<-done
	}
}

// deliveryWorker attempts deliveries while there are due ones. Only the
// poller looks on its own, once per Poll; the others wait to be woken (by a
// write, or by a worker that found work), so an idle node costs one claim
// query per Poll, not one per worker.
func (s *Service) deliveryWorker(ctx context.Context, cfg DeliveryConfig, poller bool) {
	var tick <-chan time.Time
	if poller {
		t := time.NewTicker(cfg.Poll)
		defer t.Stop()
		tick = t.C
	}
	for ctx.Err() == nil {
		n, err := s.DeliverDue(ctx, cfg, 1)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("webhook delivery", "err", err)
		}
		if n > 0 {
			select { // more may be due: let another worker look too
			case s.wake <- struct{}{}:
			default:
			}
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-tick:
		}
	}
}

// DeliverDue claims up to n due deliveries and makes one attempt at each,
// returning how many it attempted. Tests call it directly to step
// deliveries under an injected clock.
func (s *Service) DeliverDue(ctx context.Context, cfg DeliveryConfig, n int) (int, error) {
	now := s.now()
	jobs, err := s.store.ClaimDeliveries(ctx, cfg.Owner, now, now.Add(deliveryLease), n)
	if err != nil {
		return 0, err
	}
	for i := range jobs {
		if err := s.attempt(ctx, cfg, &jobs[i]); err != nil {
			return i + 1, err
		}
	}
	return len(jobs), nil
}

// EventBody is an event as delivered: {"id", "type", "created_at", "data"}.
// It is built from the stored event alone, so every attempt sends the
// same bytes.
func EventBody(e *core.Event) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	writeJSON(&b, e.PublicID)
	b.WriteString(`,"type":`)
	writeJSON(&b, e.Type)
	b.WriteString(`,"created_at":`)
	writeJSON(&b, view.TimeV(e.CreatedAt))
	b.WriteString(`,"data":`)
	b.Write(e.Data)
	b.WriteString(`}`)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, s string) {
	out, _ := json.Marshal(s) // a string: cannot fail
	b.Write(out)
}

// secrets returns the endpoint's signing secrets, newest first: the
// previous one too while its rotation grace runs.
func (s *Service) secrets(ep *core.WebhookEndpoint, now time.Time) ([]string, error) {
	cur, err := s.webhookBox.Open(ep.SecretEnc)
	if err != nil {
		return nil, err
	}
	out := []string{string(cur)}
	if len(ep.PreviousSecretEnc) > 0 && ep.PreviousSecretUntil != nil && now.Before(*ep.PreviousSecretUntil) {
		prev, err := s.webhookBox.Open(ep.PreviousSecretEnc)
		if err != nil {
			return nil, err
		}
		out = append(out, string(prev))
	}
	return out, nil
}

// attempt sends one delivery and records how it went: success, a retry
// after a growing, jittered wait, or failure once the retry window is
// over; an endpoint failing for DisableAfter is disabled and audited.
func (s *Service) attempt(ctx context.Context, cfg DeliveryConfig, j *core.DeliveryJob) error {
	at := s.now()
	secrets, err := s.secrets(&j.Endpoint, at)
	if err != nil {
		return err
	}
	res := cfg.Sender.Send(ctx, webhook.Request{URL: j.Endpoint.URL, Body: EventBody(&j.Event), EventID: j.Event.PublicID,
		EventType: j.Event.Type, Secrets: secrets, At: at})
	if ctx.Err() != nil {
		return nil // shutting down: the lease expires and the delivery is retried
	}
	r := core.DeliveryResult{DeliveryID: j.Delivery.ID, EndpointID: j.Endpoint.ID,
		Attempt: core.WebhookAttempt{At: at, StatusCode: res.StatusCode, Duration: res.Duration, Error: res.Err, Response: res.Response}}
	switch {
	case res.OK():
		r.Status = core.DeliverySucceeded
	case at.Sub(j.Delivery.SeriesStarted) >= RetryWindow:
		r.Status = core.DeliveryFailed
	default:
		r.Status = core.DeliveryPending
		r.NextAttemptAt = at.Add(webhook.Backoff(j.Delivery.Attempts+1, rand.Float64()))
	}
	if cfg.OnAttempt != nil {
		outcome := r.Status
		if outcome == core.DeliveryPending {
			outcome = "retrying"
		}
		cfg.OnAttempt(outcome)
	}
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		ep, err := st.FinishDelivery(ctx, r)
		if err != nil {
			return err
		}
		if r.Status == core.DeliverySucceeded || !ep.Enabled || ep.FailingSince == nil || at.Sub(*ep.FailingSince) < DisableAfter {
			return nil
		}
		off, reason := false, "failing"
		if _, err := st.UpdateWebhookEndpoint(ctx, ep.ID, core.WebhookEndpointUpdate{Enabled: &off, DisabledReason: &reason}); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeWebhooks, ID: ep.OrgID})
		s.log.Warn("webhook endpoint disabled after failing for 3 days", "endpoint", ep.ID, "org", ep.OrgID)
		return audit(ctx, st, core.SystemActor(ep.OrgID, "webhooks").Audit("webhook_endpoint.disabled", "webhook_endpoint", ep.ID,
			ep.ProjectID, map[string]any{"failing_since": ep.FailingSince.UTC().Format(time.RFC3339), "last_status_code": res.StatusCode,
				"last_error": res.Err}))
	})
}
