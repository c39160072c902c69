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

// accessWorld is two organizations: A with projects a1 and a2, B with b;
// each project has a domain, a license and an injectable.
type accessWorld struct {
	svc     *service.Service
	orgA    int64
	a1, a2  int64
	b       int64
	records map[string]map[int64]int64 // kind → project → record ID
}

func newAccessWorld(t *testing.T, b storetest.Backend) *accessWorld {
	t.Helper()
	clk := storetest.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	st, _ := b.Open(t, clk.Now)
	key, _ := secret.FromString("test-secret-0123456789abcdefghijklmnop")
	svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4, Now: clk.Now})
	ctx := context.Background()
	w := &accessWorld{svc: svc, records: map[string]map[int64]int64{"domain": {}, "license": {}, "injectable": {}}}
	org := func(email, name string) *core.Actor {
		u, o, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: email, Password: "test password", OrgName: name})
		if err != nil {
			t.Fatal(err)
		}
		a := core.SystemActor(o.ID, "test")
		a.UserID = u.ID
		return a
	}
	project := func(a *core.Actor, name string) int64 {
		p, err := svc.CreateProject(ctx, a, service.ProjectInput{Name: service.Some(name), HasPaid: service.Some(true)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := svc.CreateDomain(ctx, a, p.ID, service.DomainInput{Domain: service.Some(name + ".example.com"),
			Environment: service.Some(core.EnvProduction), HasPaid: service.Some(true)})
		if err != nil {
			t.Fatal(err)
		}
		l, err := svc.CreateLicense(ctx, a, p.ID, service.LicenseInput{Title: service.Some("L")})
		if err != nil {
			t.Fatal(err)
		}
		i, err := svc.CreateInjectable(ctx, a, p.ID, service.InjectableInput{Type: service.Some("snippet"), Mode: service.Some("inject"),
			TargetPath: service.Some("x.js"), Secret: service.Some("injectable secret"), Content: service.Some("x"),
			OnlyIfPaid: service.Some(true), IsActive: service.Some(true)})
		if err != nil {
			t.Fatal(err)
		}
		w.records["domain"][p.ID], w.records["license"][p.ID], w.records["injectable"][p.ID] = d.ID, l.ID, i.ID
		return p.ID
	}
	a := org("a@example.com", "A")
	w.orgA = a.OrgID
	w.a1, w.a2 = project(a, "a1"), project(a, "a2")
	w.b = project(org("b@example.com", "B"), "b")
	return w
}

// outcome is what a refusal must be: its code, and its reason when the
// reason tells refusals of one code apart.
type outcome struct {
	code   string
	reason string
}

var (
	ownerMismatch = outcome{core.EForbidden, core.ReasonProjectMismatch}
	notFound      = outcome{core.ENotFound, ""}
	missingScope  = outcome{core.EForbidden, core.ReasonMissingScope}
)

// TestAccessOrder pins, for every service method that takes a project ID
// (and a record of the project), the order of DevPayr's access checks
// (shared/design/devpayr-api.md §2.1): a project-scoped key naming another
// project is refused before any lookup (403); then a missing project is
// 404 and another organization's project 403 "API key does not match
// project owner."; then the scope (403 MISSING_SCOPE); then the record: 404
// when missing, and the method's own answer when it belongs to another
// project. License reads check that the license is the project's first
// (404), before the key.
func TestAccessOrder(t *testing.T) {
	type call func(ctx context.Context, svc *service.Service, a *core.Actor, projectID, id int64) error
	methods := []struct {
		name string
		kind string // the record the method acts on; "" for the project itself
		// notInProject is the answer for a record of another project.
		notInProject outcome
		// licenseFirst marks DevPayr's L-GET order.
		licenseFirst bool
		call         call
	}{
		{name: "Project", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, err := s.Project(ctx, a, p)
			return err
		}},
		{name: "UpdateProject", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, err := s.UpdateProject(ctx, a, p, service.ProjectInput{Name: service.Some("renamed")})
			return err
		}},
		{name: "DeleteProject", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			return s.DeleteProject(ctx, a, p)
		}},
		{name: "ListDomains", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, err := s.ListDomains(ctx, a, p, 0, 10)
			return err
		}},
		{name: "CreateDomain", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, err := s.CreateDomain(ctx, a, p, service.DomainInput{Domain: service.Some("new.example.com"), Environment: service.Some(core.EnvProduction)})
			return err
		}},
		{name: "ListLicenses", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, err := s.ListLicenses(ctx, a, p, core.LicenseFilter{Limit: 10})
			return err
		}},
		{name: "CreateLicense", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, err := s.CreateLicense(ctx, a, p, service.LicenseInput{Title: service.Some("new")})
			return err
		}},
		{name: "LicenseCounts", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, err := s.LicenseCounts(ctx, a, p)
			return err
		}},
		{name: "ListInjectables", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, err := s.ListInjectables(ctx, a, p, 0, 10)
			return err
		}},
		{name: "CreateInjectable", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, err := s.CreateInjectable(ctx, a, p, service.InjectableInput{Type: service.Some("snippet"), Mode: service.Some("inject"),
				TargetPath: service.Some("y.js"), Secret: service.Some("injectable secret"), Content: service.Some("y"),
				OnlyIfPaid: service.Some(true), IsActive: service.Some(true)})
			return err
		}},
		{name: "PaymentStatus", call: func(ctx context.Context, s *service.Service, a *core.Actor, p, _ int64) error {
			_, _, err := s.PaymentStatus(ctx, a, p, "", true, false)
			return err
		}},

		{name: "Domain", kind: "domain", notInProject: outcome{core.EForbidden, core.ReasonDomainNotInProject},
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.Domain(ctx, a, p, id)
				return err
			}},
		{name: "UpdateDomain", kind: "domain", notInProject: notFound,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.UpdateDomain(ctx, a, p, id, service.DomainInput{IsLocked: service.Some(true)})
				return err
			}},
		{name: "DeleteDomain", kind: "domain", notInProject: outcome{core.EForbidden, core.ReasonDomainNotInProject},
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				return s.DeleteDomain(ctx, a, p, id)
			}},
		{name: "License", kind: "license", notInProject: notFound, licenseFirst: true,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.License(ctx, a, p, id)
				return err
			}},
		{name: "LicenseActivations", kind: "license", notInProject: notFound, licenseFirst: true,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.LicenseActivations(ctx, a, p, id)
				return err
			}},
		{name: "ListActivations", kind: "license", notInProject: notFound, licenseFirst: true,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.ListActivations(ctx, a, p, id, 0, 10)
				return err
			}},
		{name: "DeleteActivation", kind: "license", notInProject: notFound,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.DeleteActivation(ctx, a, p, id, 1)
				return err
			}},
		{name: "LicenseUsage", kind: "license", notInProject: notFound, licenseFirst: true,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.LicenseUsage(ctx, a, p, id, 7, nil)
				return err
			}},
		{name: "ListSeats", kind: "license", notInProject: notFound, licenseFirst: true,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.ListSeats(ctx, a, p, id)
				return err
			}},
		{name: "DeleteSeat", kind: "license", notInProject: notFound,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.DeleteSeat(ctx, a, p, id, 1)
				if core.IsCode(err, core.ENotFound) && err.Error() == core.NotFound("Seat").Error() {
					return nil // every check passed; the license has no seat 1
				}
				return err
			}},
		{name: "UpdateLicense", kind: "license", notInProject: notFound,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.UpdateLicense(ctx, a, p, id, service.LicenseInput{Title: service.Some("renamed")})
				return err
			}},
		{name: "RevokeLicense", kind: "license", notInProject: outcome{core.EForbidden, core.ReasonLicenseNotInProject},
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.RevokeLicense(ctx, a, p, id)
				return err
			}},
		{name: "SuspendLicense", kind: "license", notInProject: outcome{core.EForbidden, core.ReasonLicenseNotInProject},
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.SuspendLicense(ctx, a, p, id)
				return err
			}},
		{name: "ReactivateLicense", kind: "license", notInProject: outcome{core.EForbidden, core.ReasonLicenseNotInProject},
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.ReactivateLicense(ctx, a, p, id)
				return err
			}},
		{name: "DeleteLicense", kind: "license", notInProject: outcome{core.EInvalid, ""},
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.DeleteLicense(ctx, a, p, id)
				return err
			}},
		{name: "Injectable", kind: "injectable", notInProject: notFound,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.Injectable(ctx, a, p, id)
				return err
			}},
		{name: "UpdateInjectable", kind: "injectable", notInProject: notFound,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				_, err := s.UpdateInjectable(ctx, a, p, id, service.InjectableInput{Title: service.Some("renamed")})
				return err
			}},
		{name: "DeleteInjectable", kind: "injectable", notInProject: notFound,
			call: func(ctx context.Context, s *service.Service, a *core.Actor, p, id int64) error {
				return s.DeleteInjectable(ctx, a, p, id)
			}},
	}

	const missing = 999_999
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := newAccessWorld(t, b)
			ctx := context.Background()
			full := core.SystemActor(w.orgA, "full")
			// A key of organization A scoped to project a2.
			scoped := &core.Actor{Type: core.ActorAPIKey, OrgID: w.orgA, Role: core.RoleOwner, ProjectID: w.a2,
				Scopes: core.RoleOwner.Scopes(), Label: "scoped"}
			// A key of organization A without any scope.
			bare := &core.Actor{Type: core.ActorAPIKey, OrgID: w.orgA, Role: core.RoleOwner, Label: "bare"}

			for _, m := range methods {
				rec := func(project int64) int64 {
					if m.kind == "" {
						return 0
					}
					return w.records[m.kind][project]
				}
				// orNot is want, unless the method checks that the license
				// is the project's before the key: then a license outside
				// the project named answers 404 first.
				orNot := func(want outcome, inProject bool) outcome {
					if m.licenseFirst && !inProject {
						return notFound
					}
					return want
				}
				situations := []struct {
					name      string
					actor     *core.Actor
					project   int64
					id        int64
					want      outcome
					childOnly bool
				}{
					{"another organization's project", full, w.b, rec(w.b), ownerMismatch, false},
					{"missing project", full, missing, rec(w.a1), orNot(notFound, false), false},
					{"scoped key, another project", scoped, w.a1, rec(w.a1), ownerMismatch, false},
					{"scoped key, missing project", scoped, missing, rec(w.a1), orNot(ownerMismatch, false), false},
					{"missing scope", bare, w.a1, rec(w.a1), missingScope, false},
					{"missing scope, another organization's project", bare, w.b, rec(w.b), ownerMismatch, false},
					{"missing scope, missing project", bare, missing, rec(w.a1), notFound, false},
					{"missing scope, scoped key, another project", &core.Actor{Type: core.ActorAPIKey, OrgID: w.orgA,
						Role: core.RoleOwner, ProjectID: w.a2}, w.a1, rec(w.a1), ownerMismatch, false},
					{"missing record", full, w.a1, missing, notFound, true},
					{"missing scope, missing record", bare, w.a1, missing, orNot(missingScope, false), true},
					{"record of another project", full, w.a1, rec(w.a2), m.notInProject, true},
					{"record of another organization", full, w.a1, rec(w.b), m.notInProject, true},
					{"missing scope, record of another project", bare, w.a1, rec(w.a2), orNot(missingScope, false), true},
					{"scoped key, record of another project", scoped, w.a2, rec(w.a1), m.notInProject, true},
				}
				for _, sit := range situations {
					if sit.childOnly && m.kind == "" {
						continue
					}
					err := m.call(ctx, w.svc, sit.actor, sit.project, sit.id)
					var ce *core.Error
					if !errors.As(err, &ce) {
						t.Errorf("%s, %s: %v, want %s %s", m.name, sit.name, err, sit.want.code, sit.want.reason)
						continue
					}
					if ce.Code != sit.want.code || (sit.want.reason != "" && ce.Reason != sit.want.reason) {
						t.Errorf("%s, %s: %s %s %q, want %s %s", m.name, sit.name, ce.Code, ce.Reason, ce.Message, sit.want.code, sit.want.reason)
					}
					if sit.want == ownerMismatch && ce.Message != "API key does not match project owner." {
						t.Errorf("%s, %s: message %q", m.name, sit.name, ce.Message)
					}
				}
			}
			// Nothing was changed by any refused call.
			for _, p := range []int64{w.a1, w.a2} {
				got, err := w.svc.Project(ctx, full, p)
				if err != nil || got.Name == "renamed" {
					t.Errorf("project %d after the refusals: %+v, %v", p, got, err)
				}
				ls, err := w.svc.ListLicenses(ctx, full, p, core.LicenseFilter{Limit: 10})
				if err != nil || len(ls) != 1 || ls[0].Status != core.LicenseActive || ls[0].Title != "L" {
					t.Errorf("licenses of %d after the refusals: %+v, %v", p, ls, err)
				}
			}
		})
	}
}
