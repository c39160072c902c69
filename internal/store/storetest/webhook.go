package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

func newEndpoint(t *testing.T, st *store.Store, orgID int64, ordered bool) *core.WebhookEndpoint {
	t.Helper()
	ep := &core.WebhookEndpoint{OrgID: orgID, URL: "https://hooks.example.com/x", Events: []string{"*"}, Enabled: true,
		Ordered: ordered, ExpiringDays: 7, SecretEnc: []byte("sealed")}
	must(t, st.CreateWebhookEndpoint(context.Background(), ep))
	return ep
}

func newEvent(t *testing.T, st *store.Store, orgID int64, n int, dedupe string, endpoints ...int64) (*core.Event, bool) {
	t.Helper()
	e := &core.Event{PublicID: "evt_" + strconv.Itoa(n) + "_" + dedupe, OrgID: orgID, Type: "license.created", ResourceType: "license",
		ResourceID: int64(n), Data: json.RawMessage(`{"object":{"id":` + strconv.Itoa(n) + `},"previous":{}}`), DedupeKey: dedupe}
	created, err := st.CreateEvent(context.Background(), e, endpoints)
	must(t, err)
	return e, created
}

func testWebhookEvents(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Acme", "a@acme.test", core.RoleOwner)
	other, _ := Fixture(t, st, "Other", "b@other.test", core.RoleOwner)
	ep := newEndpoint(t, st, o.ID, true)
	e1, created := newEvent(t, st, o.ID, 1, "", ep.ID)
	if !created || e1.ID == 0 {
		t.Fatal("event not created")
	}
	if _, created := newEvent(t, st, o.ID, 2, "once"); !created {
		t.Fatal("dedupe key used for the first time: not created")
	}
	if _, created := newEvent(t, st, o.ID, 3, "once", ep.ID); created {
		t.Fatal("a second event with the same dedupe key was written")
	}
	newEvent(t, st, other.ID, 4, "")
	got, err := st.Event(ctx, o.ID, e1.PublicID)
	must(t, err)
	if string(got.Data) != string(e1.Data) || got.Type != e1.Type || !got.CreatedAt.Equal(ts(clock.Now())) {
		t.Fatalf("event %+v", got)
	}
	_, err = st.Event(ctx, other.ID, e1.PublicID)
	wantCode(t, err, core.ENotFound)
	list, err := st.ListEvents(ctx, core.EventFilter{OrgID: o.ID, Type: "license."})
	must(t, err)
	if len(list) != 2 || list[0].ID < list[1].ID {
		t.Fatalf("list %+v", list)
	}
	list, err = st.ListEvents(ctx, core.EventFilter{OrgID: o.ID, ResourceType: "license", ResourceID: 1})
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("by resource %+v", list)
	}
	// The deduplicated event made no delivery.
	ds, err := st.ListWebhookDeliveries(ctx, core.DeliveryFilter{EndpointID: ep.ID})
	must(t, err)
	if len(ds) != 1 || ds[0].EventID != e1.ID || ds[0].Status != core.DeliveryPending {
		t.Fatalf("deliveries %+v", ds)
	}
	// Pruning takes old events with their deliveries.
	clock.Advance(time.Hour)
	newEvent(t, st, o.ID, 5, "", ep.ID)
	n, err := st.PruneEvents(ctx, clock.Now().Add(-time.Minute), 10)
	must(t, err)
	if n != 3 {
		t.Fatalf("pruned %d, want 3", n)
	}
	ds, err = st.ListWebhookDeliveries(ctx, core.DeliveryFilter{EndpointID: ep.ID})
	must(t, err)
	if len(ds) != 1 {
		t.Fatalf("deliveries after pruning %+v", ds)
	}
}

func testWebhookEndpoints(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Acme", "a@acme.test", core.RoleOwner)
	ep := newEndpoint(t, st, o.ID, true)
	off := false
	desc := "billing"
	days := 3
	until := clock.Now().Add(time.Hour)
	untilP := &until
	prev := []byte("old")
	up, err := st.UpdateWebhookEndpoint(ctx, ep.ID, core.WebhookEndpointUpdate{Enabled: &off, Description: &desc, ExpiringDays: &days,
		Events: []string{"license.created"}, PreviousSecretEnc: &prev, PreviousSecretUntil: &untilP})
	must(t, err)
	if up.Enabled || up.Description != desc || up.ExpiringDays != 3 || len(up.Events) != 1 || string(up.PreviousSecretEnc) != "old" ||
		up.PreviousSecretUntil == nil {
		t.Fatalf("updated %+v", up)
	}
	enabled, err := st.EnabledWebhookEndpoints(ctx, o.ID)
	must(t, err)
	if len(enabled) != 0 {
		t.Fatalf("a disabled endpoint is listed as enabled")
	}
	pe := &core.WebhookEndpoint{OrgID: o.ID, ProjectID: 9, Source: core.EndpointSourceProject, URL: "https://p.example.com", Events: []string{"*"},
		Enabled: true, ExpiringDays: 7, SecretEnc: []byte("s")}
	must(t, st.CreateWebhookEndpoint(ctx, pe))
	dup := *pe
	dup.ID = 0
	wantCode(t, st.CreateWebhookEndpoint(ctx, &dup), core.EConflict)
	got, err := st.ProjectWebhookEndpoint(ctx, 9)
	must(t, err)
	if got.ID != pe.ID {
		t.Fatalf("project endpoint %+v", got)
	}
	days7, err := st.ExpiringDays(ctx)
	must(t, err)
	if len(days7) != 1 || days7[0] != 7 {
		t.Fatalf("expiring days %v", days7)
	}
	all, err := st.ListWebhookEndpoints(ctx, core.EndpointFilter{OrgID: o.ID})
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("list %+v", all)
	}
	must(t, st.DeleteWebhookEndpoint(ctx, ep.ID))
	wantCode(t, st.DeleteWebhookEndpoint(ctx, ep.ID), core.ENotFound)
	_, err = st.WebhookEndpoint(ctx, ep.ID)
	wantCode(t, err, core.ENotFound)
}

func testWebhookClaims(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Acme", "a@acme.test", core.RoleOwner)
	ordered := newEndpoint(t, st, o.ID, true)
	free := newEndpoint(t, st, o.ID, false)
	for i := range 3 {
		newEvent(t, st, o.ID, i, "", ordered.ID, free.ID)
	}
	now := clock.Now()
	jobs, err := st.ClaimDeliveries(ctx, "a", now, now.Add(time.Minute), 10)
	must(t, err)
	// The ordered endpoint offers only its oldest; the other all three.
	perEndpoint := map[int64]int{}
	for _, j := range jobs {
		perEndpoint[j.Endpoint.ID]++
		if len(j.Event.Data) == 0 || j.Event.PublicID == "" || string(j.Endpoint.SecretEnc) != "sealed" {
			t.Fatalf("job %+v", j)
		}
	}
	if perEndpoint[ordered.ID] != 1 || perEndpoint[free.ID] != 3 {
		t.Fatalf("claimed %v", perEndpoint)
	}
	// Leased: nobody else gets them.
	again, err := st.ClaimDeliveries(ctx, "b", now, now.Add(time.Minute), 10)
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("leased deliveries claimed again: %d", len(again))
	}
	// A failure schedules a retry and marks the endpoint failing; the head
	// of the ordered endpoint still blocks the rest.
	var head core.DeliveryJob
	for _, j := range jobs {
		if j.Endpoint.ID == ordered.ID {
			head = j
		}
	}
	ep, err := st.FinishDelivery(ctx, core.DeliveryResult{DeliveryID: head.Delivery.ID, EndpointID: ordered.ID,
		Attempt: core.WebhookAttempt{At: now, StatusCode: 500, Duration: time.Millisecond, Response: "oops"},
		Status:  core.DeliveryPending, NextAttemptAt: now.Add(30 * time.Second)})
	must(t, err)
	if ep.FailingSince == nil {
		t.Fatal("failing_since not set")
	}
	blocked, err := st.ClaimDeliveries(ctx, "b", now.Add(time.Second), now.Add(time.Minute), 10)
	must(t, err)
	if len(blocked) != 0 {
		t.Fatalf("the ordered endpoint's later deliveries overtook its failing head: %+v", blocked)
	}
	// When it is due, the head is offered again; its success unblocks the next.
	later := now.Add(31 * time.Second)
	retry, err := st.ClaimDeliveries(ctx, "b", later, later.Add(time.Minute), 10)
	must(t, err)
	if len(retry) != 1 || retry[0].Delivery.ID != head.Delivery.ID || retry[0].Delivery.Attempts != 1 {
		t.Fatalf("retry %+v", retry)
	}
	ep, err = st.FinishDelivery(ctx, core.DeliveryResult{DeliveryID: head.Delivery.ID, EndpointID: ordered.ID,
		Attempt: core.WebhookAttempt{At: later, StatusCode: 200}, Status: core.DeliverySucceeded})
	must(t, err)
	if ep.FailingSince != nil {
		t.Fatal("a success did not clear failing_since")
	}
	next, err := st.ClaimDeliveries(ctx, "b", later, later.Add(time.Minute), 10)
	must(t, err)
	if len(next) != 1 || next[0].Endpoint.ID != ordered.ID || next[0].Event.ID <= head.Event.ID {
		t.Fatalf("next %+v", next)
	}
	d, err := st.WebhookDelivery(ctx, head.Delivery.ID)
	must(t, err)
	if d.Status != core.DeliverySucceeded || d.Attempts != 2 || len(d.Log) != 2 || d.Log[0].Response != "oops" || d.CompletedAt == nil {
		t.Fatalf("delivery %+v", d)
	}
	// A lease that expired (its node died) is taken over.
	takeover, err := st.ClaimDeliveries(ctx, "c", later.Add(2*time.Minute), later.Add(3*time.Minute), 10)
	must(t, err)
	if len(takeover) != 4 { // the free endpoint's three and the ordered endpoint's second
		t.Fatalf("took over %d", len(takeover))
	}
	// A delivery being attempted is not retried under its worker's feet.
	_, err = st.RetryDelivery(ctx, takeover[0].Delivery.ID, later.Add(2*time.Minute+time.Second))
	wantCode(t, err, core.EConflict)
	_, err = st.RetryDelivery(ctx, 987654, later)
	wantCode(t, err, core.ENotFound)
	// Retry starts a new series.
	r, err := st.RetryDelivery(ctx, head.Delivery.ID, later.Add(time.Hour))
	must(t, err)
	if r.Status != core.DeliveryPending || !r.SeriesStarted.Equal(ts(later.Add(time.Hour))) || r.CompletedAt != nil {
		t.Fatalf("retried %+v", r)
	}
}

// Concurrent claimers never get the same delivery.
func testWebhookConcurrentClaims(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Acme", "a@acme.test", core.RoleOwner)
	ep := newEndpoint(t, st, o.ID, false)
	const n = 200
	for i := range n {
		newEvent(t, st, o.ID, i, "", ep.ID)
	}
	now := clock.Now()
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	// Failing transactions alongside: on SQLite they share commits with the
	// claims, and a failed group runs every claim again alone.
	stop := make(chan struct{})
	var failing sync.WaitGroup
	failing.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = st.InTx(ctx, func(core.Store) error { return errRefused })
		}
	})
	defer func() {
		close(stop)
		failing.Wait()
	}()
	for w := range 4 {
		wg.Go(func() {
			for {
				jobs, err := st.ClaimDeliveries(ctx, "w"+strconv.Itoa(w), now, now.Add(time.Minute), 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					seen[j.Delivery.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d of %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("delivery %d claimed %d times", id, c)
		}
	}
}

var errRefused = errors.New("refused on purpose")

func testLeases(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	now := clock.Now()
	held, cursor, err := st.TakeLease(ctx, "scheduler", "a", now, now.Add(time.Minute))
	must(t, err)
	if !held || !cursor.IsZero() {
		t.Fatalf("first take: %v %v", held, cursor)
	}
	held, _, err = st.TakeLease(ctx, "scheduler", "b", now.Add(time.Second), now.Add(time.Minute))
	must(t, err)
	if held {
		t.Fatal("b took a live lease")
	}
	must(t, st.SetLeaseCursor(ctx, "scheduler", "a", now))
	wantCode(t, st.SetLeaseCursor(ctx, "scheduler", "b", now), core.ENotFound)
	held, cursor, err = st.TakeLease(ctx, "scheduler", "b", now.Add(2*time.Minute), now.Add(3*time.Minute))
	must(t, err)
	if !held || !cursor.Equal(ts(now)) {
		t.Fatalf("b after expiry: %v %v", held, cursor)
	}
}

func testExpiring(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	now := clock.Now()
	l := newLicense(t, st, "soon", nil, nil)
	exp := now.Add(48 * time.Hour)
	_, err := st.UpdateLicense(ctx, l.ID, core.LicenseUpdate{ExpiresAt: func() **time.Time { p := &exp; return &p }()})
	must(t, err)
	got, err := st.LicensesExpiring(ctx, now, now.Add(72*time.Hour), 10)
	must(t, err)
	if len(got) != 1 || got[0].ID != l.ID || got[0].OrgID == 0 {
		t.Fatalf("expiring %+v", got)
	}
	got, err = st.LicensesExpiring(ctx, exp, now.Add(72*time.Hour), 10)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("the window is open at its start: %+v", got)
	}
}
