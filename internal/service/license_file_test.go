package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestCheckoutLicenseFile: the issuer sees the license with its key and the
// normalised input; a failing issuer leaves nothing behind (the audit entry
// and the event are in the same transaction as the issue).
func TestCheckoutLicenseFile(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clk := storetest.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
			st, _ := b.Open(t, clk.Now)
			key, _ := secret.FromString("test-secret-0123456789abcdefghijklmnop")
			svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4, Now: clk.Now})
			ctx := context.Background()
			u, o, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "a@acme.test", Password: "test password", OrgName: "Acme"})
			if err != nil {
				t.Fatal(err)
			}
			a := core.SystemActor(o.ID, "test")
			a.UserID = u.ID
			p, err := svc.CreateProject(ctx, a, service.ProjectInput{Name: service.Some("P"), LicenseFileEncryption: service.Some(true)})
			if err != nil || !p.LicenseFileEncryption {
				t.Fatalf("project %+v, %v", p, err)
			}
			l, err := svc.CreateLicense(ctx, a, p.ID, service.LicenseInput{Title: service.Some("L")})
			if err != nil {
				t.Fatal(err)
			}
			recorded := func() int {
				t.Helper()
				es, err := st.ListAudit(ctx, core.AuditFilter{OrgID: o.ID, Action: "license.checked_out", Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				ev, err := st.ListEvents(ctx, core.EventFilter{OrgID: o.ID, Type: service.EventLicenseCheckedOut, Limit: 10})
				if err != nil || len(ev) != len(es) {
					t.Fatalf("%d audits, %d events, %v", len(es), len(ev), err)
				}
				return len(es)
			}

			boom := errors.New("boom")
			_, err = svc.CheckoutLicenseFile(ctx, a, p.ID, l.ID, service.LicenseFileInput{},
				func(*core.License, *core.Project, string, service.LicenseFileInput) (*service.IssuedLicenseFile, error) {
					return nil, boom
				})
			if !errors.Is(err, boom) || recorded() != 0 {
				t.Fatalf("a failed issue: %v, %d recorded", err, recorded())
			}

			var seen service.LicenseFileInput
			var seenKey string
			var seenEnc bool
			f, err := svc.CheckoutLicenseFile(ctx, a, p.ID, l.ID, service.LicenseFileInput{Identifier: " shop.example.com"},
				func(gl *core.License, gp *core.Project, k string, in service.LicenseFileInput) (*service.IssuedLicenseFile, error) {
					seen, seenKey, seenEnc = in, k, gp.LicenseFileEncryption
					return &service.IssuedLicenseFile{File: "x", ID: "jti", KID: "kid", ExpiresAt: clk.Now().Add(time.Hour)}, nil
				})
			if err != nil || f.ID != "jti" || recorded() != 1 {
				t.Fatalf("checkout %+v, %v", f, err)
			}
			if seenKey != l.UUID || !seenEnc || seen.TTL != int64(service.DefaultLicenseFileTTL/time.Second) {
				t.Fatalf("the issuer saw key %q, encryption %v, input %+v", seenKey, seenEnc, seen)
			}
		})
	}
}
