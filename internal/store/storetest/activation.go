package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// testActivationResource covers activations as a resource: pages oldest
// first, the sighting's country and user agent, deletion of one (only the
// license's own), and a released event dedupe key.
func testActivationResource(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "acts", nil, nil)
	other := newLicense(t, st, "acts-other", nil, nil)
	day := "2026-03-14"
	var seen []core.Activation
	for i := range 5 {
		seen = append(seen, core.Activation{Identifier: fmt.Sprintf("s%d.example.com", i), BaseDomain: "example.com",
			LastSeenAt: clock.Now().Add(time.Duration(i) * time.Second), LastIP: "192.0.2.1", Country: "NG", UserAgent: "shop/1.0"})
	}
	must(t, st.RecordLicenseUses(ctx, []core.LicenseUse{{LicenseID: l.ID, Day: day, Seen: seen}}))
	// A synchronous write records them too, and a later sighting moves
	// country and user agent.
	out, _, err := st.RecordValidation(ctx, core.ValidationWrite{LicenseID: l.ID, Day: day, MaxDomains: 10,
		Activation: &core.Activation{Identifier: "s0.example.com", BaseDomain: "example.com", LastSeenAt: clock.Now().Add(time.Minute),
			LastIP: "192.0.2.9", Country: "DE", UserAgent: "shop/2.0"}})
	must(t, err)
	if out != core.WriteOK {
		t.Fatalf("sighting: %q", out)
	}
	must(t, st.RecordLicenseUses(ctx, []core.LicenseUse{{LicenseID: other.ID, Day: day,
		Seen: []core.Activation{{Identifier: "x.org", BaseDomain: "x.org", LastSeenAt: clock.Now()}}}}))

	var all []core.Activation
	after := int64(0)
	for {
		page, err := st.ListActivationPage(ctx, core.ActivationFilter{LicenseID: l.ID, AfterID: after, Limit: 2})
		must(t, err)
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("page of %d, limit 2", len(page))
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
	if len(all) != 5 {
		t.Fatalf("paged %d activations, want 5: %+v", len(all), all)
	}
	for i, a := range all {
		if a.Identifier != seen[i].Identifier || a.LicenseID != l.ID || (i > 0 && a.ID <= all[i-1].ID) {
			t.Fatalf("activation %d = %+v (not oldest first)", i, a)
		}
	}
	if a := all[0]; a.Country != "DE" || a.UserAgent != "shop/2.0" || a.LastIP != "192.0.2.9" || !a.FirstSeenAt.Equal(seen[0].LastSeenAt) {
		t.Fatalf("latest sighting not stored: %+v", a)
	}
	if a := all[1]; a.Country != "NG" || a.UserAgent != "shop/1.0" {
		t.Fatalf("flushed sighting: %+v", a)
	}

	// Deletion: only the license's own activation, once.
	_, err = st.DeleteActivation(ctx, other.ID, all[1].ID)
	wantCode(t, err, core.ENotFound)
	got, err := st.DeleteActivation(ctx, l.ID, all[1].ID)
	must(t, err)
	if got.ID != all[1].ID || got.Identifier != all[1].Identifier || got.UserAgent != "shop/1.0" {
		t.Fatalf("deleted %+v, want %+v", got, all[1])
	}
	_, err = st.DeleteActivation(ctx, l.ID, all[1].ID)
	wantCode(t, err, core.ENotFound)
	// A touched sighting updates an activation that exists and never makes
	// a removed one again.
	later := clock.Now().Add(time.Hour)
	must(t, st.RecordLicenseUses(ctx, []core.LicenseUse{{LicenseID: l.ID, Day: day, Touched: []core.Activation{
		{Identifier: all[1].Identifier, BaseDomain: "example.com", LastSeenAt: later, LastIP: "192.0.2.7"},
		{Identifier: all[2].Identifier, BaseDomain: "example.com", LastSeenAt: later, LastIP: "192.0.2.7", Country: "FR", UserAgent: "ua/3"},
	}}}))
	left, err := st.ListActivations(ctx, l.ID)
	must(t, err)
	if len(left) != 4 {
		t.Fatalf("%d activations left, want 4 (a touched sighting made a removed one again?)", len(left))
	}
	if a := left[1]; a.Identifier != all[2].Identifier || !a.LastSeenAt.Equal(later) || a.Country != "FR" || a.UserAgent != "ua/3" {
		t.Fatalf("touched activation = %+v", a)
	}

	// A released dedupe key lets the next event with it be written.
	o, err := st.OrganizationByName(ctx, "Acme")
	must(t, err)
	key := "activation.created:1:s1.example.com"
	if _, created := newEvent(t, st, o.ID, 1, key); !created {
		t.Fatal("first event not created")
	}
	must(t, st.ReleaseEventDedupe(ctx, key))
	must(t, st.ReleaseEventDedupe(ctx, "never-used"))
	if _, created := newEvent(t, st, o.ID, 2, key); !created {
		t.Fatal("an event with a released dedupe key was not written")
	}
	if _, created := newEvent(t, st, o.ID, 3, key); created {
		t.Fatal("the key is taken again by the new event")
	}
}

// testActivationChurn covers the churn limit: the first max_domains
// activations are free, then N new ones a UTC day, deletions give nothing
// back, a known identifier is never refused, and activations made before
// the limit count as had.
func testActivationChurn(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "churn", nil, nil)
	act := func(l *core.License, day, id string, free int64) string {
		t.Helper()
		out, _, err := st.RecordValidation(ctx, core.ValidationWrite{LicenseID: l.ID, Day: day, NewPerDay: 1, FreeActivations: free,
			Activation: &core.Activation{Identifier: id, BaseDomain: id, LastSeenAt: clock.Now()}})
		must(t, err)
		return out
	}
	d1, d2 := "2026-03-14", "2026-03-15"
	steps := []struct{ day, id, want string }{
		{d1, "a.test", core.WriteOK},                 // free
		{d1, "b.test", core.WriteOK},                 // free
		{d1, "c.test", core.WriteOK},                 // the day's one new activation
		{d1, "d.test", core.WriteTooManyActivations}, // refused
		{d1, "a.test", core.WriteOK},                 // known: always fine
		{d2, "d.test", core.WriteOK},                 // a new day
		{d2, "e.test", core.WriteTooManyActivations},
	}
	for _, s := range steps {
		if got := act(l, s.day, s.id, 2); got != s.want {
			t.Fatalf("%s %s: %q, want %q", s.day, s.id, got, s.want)
		}
	}
	c, err := st.ActivationChurn(ctx, l.ID, d2)
	must(t, err)
	if c != (core.ChurnCount{Before: 3, Today: 1, Live: 4}) {
		t.Fatalf("churn on %s = %+v", d2, c)
	}
	// Deleting an activation does not give the day's slot back.
	acts, err := st.ListActivations(ctx, l.ID)
	must(t, err)
	_, err = st.DeleteActivation(ctx, l.ID, acts[len(acts)-1].ID)
	must(t, err)
	if got := act(l, d2, "e.test", 2); got != core.WriteTooManyActivations {
		t.Fatalf("after a deletion: %q", got)
	}
	// The deleted identifier is new again: refused today, fine tomorrow.
	if got := act(l, d2, "d.test", 2); got != core.WriteTooManyActivations {
		t.Fatalf("re-activation after its deletion, same day: %q", got)
	}
	if got := act(l, "2026-03-16", "d.test", 2); got != core.WriteOK {
		t.Fatalf("re-activation the next day: %q", got)
	}

	// Without max_domains nothing is free: one new activation a day.
	none := newLicense(t, st, "churn-none", nil, nil)
	if got := act(none, d1, "a.test", 0); got != core.WriteOK {
		t.Fatalf("first: %q", got)
	}
	if got := act(none, d1, "b.test", 0); got != core.WriteTooManyActivations {
		t.Fatalf("second: %q", got)
	}

	// Activations recorded before the limit was set count as had.
	old := newLicense(t, st, "churn-old", nil, nil)
	var seen []core.Activation
	for i := range 3 {
		id := fmt.Sprintf("old%d.test", i)
		seen = append(seen, core.Activation{Identifier: id, BaseDomain: id, LastSeenAt: clock.Now()})
	}
	must(t, st.RecordLicenseUses(ctx, []core.LicenseUse{{LicenseID: old.ID, Day: d1, Seen: seen}}))
	if got := act(old, d2, "n1.test", 2); got != core.WriteOK {
		t.Fatalf("first new after the limit: %q", got)
	}
	if got := act(old, d2, "n2.test", 2); got != core.WriteTooManyActivations {
		t.Fatalf("second new after the limit: %q (the old activations were taken for free ones)", got)
	}

	// A refused use (cap reached) counts no activation either.
	capped := newLicense(t, st, "churn-capped", nil, nil)
	_, _, err = st.RecordValidation(ctx, core.ValidationWrite{LicenseID: capped.ID, Day: d1, Cap: 1})
	must(t, err)
	out, _, err := st.RecordValidation(ctx, core.ValidationWrite{LicenseID: capped.ID, Day: d1, Cap: 1, NewPerDay: 1,
		Activation: &core.Activation{Identifier: "z.test", BaseDomain: "z.test", LastSeenAt: clock.Now()}})
	must(t, err)
	if out != core.WriteUsageExceeded {
		t.Fatalf("capped: %q", out)
	}
	c, err = st.ActivationChurn(ctx, capped.ID, d1)
	must(t, err)
	if c != (core.ChurnCount{}) {
		t.Fatalf("a refused use counted churn: %+v", c)
	}
}

// testChurnUnderConcurrency: 48 new identifiers race for 2 free
// activations and 3 a day: exactly 5 are recorded, and counted.
func testChurnUnderConcurrency(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	two := int64(2)
	l := newLicense(t, st, "churn-race", &two, nil)
	day := "2026-03-14"
	var mu sync.Mutex
	admitted := 0
	var wg sync.WaitGroup
	for i := range 48 {
		wg.Go(func() {
			id := fmt.Sprintf("h%d.test", i)
			out, _, err := st.RecordValidation(ctx, core.ValidationWrite{LicenseID: l.ID, Day: day, MaxDomains: 100, NewPerDay: 3,
				FreeActivations: 2, Activation: &core.Activation{Identifier: id, BaseDomain: id, LastSeenAt: clock.Now()}})
			if err != nil {
				t.Error(err)
				return
			}
			if out == core.WriteOK {
				mu.Lock()
				admitted++
				mu.Unlock()
			} else if out != core.WriteTooManyActivations {
				t.Errorf("%s: %q", id, out)
			}
		})
	}
	wg.Wait()
	acts, err := st.ListActivations(ctx, l.ID)
	must(t, err)
	c, err := st.ActivationChurn(ctx, l.ID, day)
	must(t, err)
	if admitted != 5 || len(acts) != 5 || c.Today != 5 {
		t.Fatalf("admitted %d, stored %d, counted %+v; want 5 of 48 (2 free + 3 a day)", admitted, len(acts), c)
	}
}
