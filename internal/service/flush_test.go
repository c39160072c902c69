package service_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// flakyStore fails RecordLicenseUses with a database error (not a refused
// value) while down is set.
type flakyStore struct {
	core.Store
	down bool
	// calls, when not 0, is how many more calls succeed before the
	// database goes down.
	calls int
}

func (f *flakyStore) RecordLicenseUses(ctx context.Context, uses []core.LicenseUse) error {
	if f.calls > 0 {
		if f.calls--; f.calls == 0 {
			f.down = true
		}
	}
	if f.down {
		return errors.New("connection refused")
	}
	return f.Store.RecordLicenseUses(ctx, uses)
}

// TestFlushIsolatesRefusedRows: a sighting the database refuses (here a
// NUL byte that reached the validator directly; the transports refuse it
// before) is dropped and reported once, never retried, and the counts and
// other sightings of the same batch are written. A database that is down
// loses nothing: everything is written by the next flush.
func TestFlushIsolatesRefusedRows(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			clk := storetest.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
			st, _ := b.Open(t, clk.Now)
			fs := &flakyStore{Store: st}
			key, _ := secret.FromString("test-secret-0123456789abcdefghijklmnop")
			svc := service.New(service.Config{Store: fs, Secret: key, PasswordCost: 4, Now: clk.Now})
			ctx := context.Background()
			u, org, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "t@example.com", Password: "test password", OrgName: "T"})
			if err != nil {
				t.Fatal(err)
			}
			actor := core.SystemActor(org.ID, "test")
			actor.UserID = u.ID
			p, err := svc.CreateProject(ctx, actor, service.ProjectInput{Name: service.Some("P"), HasPaid: service.Some(true)})
			if err != nil {
				t.Fatal(err)
			}
			var lics []*core.License
			for _, title := range []string{"A", "B"} {
				l, err := svc.CreateLicense(ctx, actor, p.ID, service.LicenseInput{Title: service.Some(title)})
				if err != nil {
					t.Fatal(err)
				}
				lics = append(lics, l)
			}
			v := svc.NewValidator(service.ValidatorConfig{TTL: time.Hour})
			validate := func(l *core.License, id string) {
				t.Helper()
				r, err := v.Validate(ctx, service.ValidateInput{Key: l.UUID, Identifier: id, IP: netip.MustParseAddr("192.0.2.1"), Count: true})
				if err != nil || r.Code != "VALID" {
					t.Fatalf("validate %q: %+v, %v", id, r, err)
				}
			}
			validate(lics[0], "a.example.com")
			validate(lics[0], "bad\x00.example.com")
			validate(lics[1], "b.example.com")

			// Down: nothing is lost, nothing is dropped.
			fs.down = true
			if err := v.Flush(ctx); err == nil || core.IsCode(err, core.EInvalid) {
				t.Fatalf("flush with the database down: %v", err)
			}
			fs.down = false
			// Down in the middle of the part-by-part retry (the batch,
			// then one part, go through): what was not written is kept.
			fs.calls = 3
			if err := v.Flush(ctx); err == nil {
				t.Fatal("flush that lost the database half-way: no error")
			}
			fs.down = false

			err = v.Flush(ctx)
			if !core.IsCode(err, core.EInvalid) {
				t.Fatalf("flush with a refused sighting: %v, want it reported as EInvalid", err)
			}
			day := clk.Now().Format(time.DateOnly)
			for i, want := range []struct {
				count int64
				acts  []string
			}{{2, []string{"a.example.com"}}, {1, []string{"b.example.com"}}} {
				usage, err := st.LicenseUsage(ctx, lics[i].ID, day, day)
				if err != nil || len(usage) != 1 || usage[0].Count != want.count {
					t.Fatalf("license %d usage: %v %v, want %d", i, usage, err, want.count)
				}
				acts, err := st.ListActivations(ctx, lics[i].ID)
				if err != nil || len(acts) != len(want.acts) || acts[0].Identifier != want.acts[0] {
					t.Fatalf("license %d activations: %+v %v, want %v", i, acts, err, want.acts)
				}
				if p := v.Pending(lics[i].ID); len(p) != 0 {
					t.Fatalf("license %d still pending: %v", i, p)
				}
			}
			// The refused sighting is gone, not retried.
			if err := v.Flush(ctx); err != nil {
				t.Fatalf("second flush: %v", err)
			}
		})
	}
}
