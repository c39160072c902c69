package service_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// racing wraps a real store: an armed hook runs once, after one of the
// cached reads below has read the database and before it answers, the way
// a write on another request lands in the middle of a cache miss.
type racing struct {
	core.Store
	hook atomic.Pointer[func()]
}

func (r *racing) arm(f func()) { r.hook.Store(&f) }

func (r *racing) fire() {
	if f := r.hook.Swap(nil); f != nil {
		(*f)()
	}
}

func (r *racing) Project(ctx context.Context, id int64) (*core.Project, error) {
	p, err := r.Store.Project(ctx, id)
	r.fire()
	return p, err
}

func (r *racing) License(ctx context.Context, id int64) (*core.License, error) {
	l, err := r.Store.License(ctx, id)
	r.fire()
	return l, err
}

func (r *racing) LicenseByDigest(ctx context.Context, d []byte) (*core.License, error) {
	l, err := r.Store.LicenseByDigest(ctx, d)
	r.fire()
	return l, err
}

func (r *racing) ListInjectables(ctx context.Context, f core.InjectableFilter) ([]core.Injectable, error) {
	is, err := r.Store.ListInjectables(ctx, f)
	r.fire()
	return is, err
}

type raceFixture struct {
	svc   *service.Service
	st    *racing
	v     *service.Validator
	actor *core.Actor
	p     *core.Project
	l     *core.License
	inj   *core.Injectable
}

func newRaceFixture(t *testing.T, b storetest.Backend) *raceFixture {
	t.Helper()
	clock := storetest.NewClock(storetest.T0)
	inner, _ := b.Open(t, clock.Now)
	st := &racing{Store: inner}
	key, _ := secret.FromString("test-secret-0123456789abcdefghijklmnop")
	svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4, Now: clock.Now})
	ctx := context.Background()
	u, org, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "t@example.com", Password: "test password", OrgName: "T"})
	if err != nil {
		t.Fatal(err)
	}
	f := &raceFixture{svc: svc, st: st, actor: core.SystemActor(org.ID, "test")}
	f.actor.UserID = u.ID
	if f.p, err = svc.CreateProject(ctx, f.actor, service.ProjectInput{Name: service.Some("P"), HasPaid: service.Some(true)}); err != nil {
		t.Fatal(err)
	}
	if f.l, err = svc.CreateLicense(ctx, f.actor, f.p.ID, service.LicenseInput{Title: service.Some("old")}); err != nil {
		t.Fatal(err)
	}
	if f.inj, err = svc.CreateInjectable(ctx, f.actor, f.p.ID, service.InjectableInput{Title: service.Some("Banner"),
		Type: service.Some("snippet"), Mode: service.Some("append"), TargetPath: service.Some("a.txt"), Secret: service.Some("s3cret-value"),
		Content: service.Some("old content"), OnlyIfPaid: service.Some(false), IsActive: service.Some(true)}); err != nil {
		t.Fatal(err)
	}
	f.v = svc.NewValidator(service.ValidatorConfig{TTL: time.Hour})
	// Creating warmed caches (a license create reads its project's
	// defaults through the project cache): the races start cold.
	svc.Invalidate(core.Change{Kind: core.ChangeAll})
	return f
}

// For every cache of the service: a write that lands between a miss's
// database read and its answer is seen by the next read. Each row fails if
// its cache stores the raced answer.
func TestCachedReadRacingAWrite(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		read  func(t *testing.T, f *raceFixture) string // what the read path answers now
		write func(t *testing.T, f *raceFixture)        // the racing write
		want  string                                    // the answer after the write
	}{
		{"project", func(t *testing.T, f *raceFixture) string {
			p, err := f.svc.Project(ctx, f.actor, f.p.ID)
			if err != nil {
				t.Fatal(err)
			}
			return p.Name
		}, func(t *testing.T, f *raceFixture) {
			if _, err := f.svc.UpdateProject(ctx, f.actor, f.p.ID, service.ProjectInput{Name: service.Some("renamed")}); err != nil {
				t.Fatal(err)
			}
		}, "renamed"},
		{"license", func(t *testing.T, f *raceFixture) string {
			l, err := f.svc.License(ctx, f.actor, f.p.ID, f.l.ID)
			if err != nil {
				t.Fatal(err)
			}
			return l.Title
		}, func(t *testing.T, f *raceFixture) {
			if _, err := f.svc.UpdateLicense(ctx, f.actor, f.p.ID, f.l.ID, service.LicenseInput{Title: service.Some("new")}); err != nil {
				t.Fatal(err)
			}
		}, "new"},
		{"license snapshot", func(t *testing.T, f *raceFixture) string {
			r, err := f.v.Validate(ctx, service.ValidateInput{Key: f.l.UUID, Identifier: "shop.example.com", IP: netip.MustParseAddr("192.0.2.1")})
			if err != nil {
				t.Fatal(err)
			}
			return r.Code
		}, func(t *testing.T, f *raceFixture) {
			if _, err := f.svc.SuspendLicense(ctx, f.actor, f.p.ID, f.l.ID); err != nil {
				t.Fatal(err)
			}
		}, licensing.CodeSuspended},
		{"injectables", func(t *testing.T, f *raceFixture) string {
			list, err := f.v.Injectables(ctx, f.p.ID, true)
			if err != nil || len(list) != 1 {
				t.Fatal(list, err)
			}
			return list[0].ContentHash
		}, func(t *testing.T, f *raceFixture) {
			if _, err := f.svc.UpdateInjectable(ctx, f.actor, f.p.ID, f.inj.ID, service.InjectableInput{Content: service.Some("new content"), Secret: service.Some("s3cret-value")}); err != nil {
				t.Fatal(err)
			}
		}, ""},
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					f := newRaceFixture(t, b)
					before := tc.read(t, f) // warm, then drop what the write will change
					tc.write(t, f)
					after := tc.read(t, f)
					if after == before {
						t.Fatalf("the write changed nothing the read shows (%q)", before)
					}
					// Start over on a cold cache: the write lands in the
					// middle of the miss.
					f = newRaceFixture(t, b)
					f.st.arm(func() { tc.write(t, f) })
					stale := tc.read(t, f)
					got := tc.read(t, f)
					if got == stale {
						t.Fatalf("the answer read before the write was cached: %q", got)
					}
					if tc.want != "" && got != tc.want {
						t.Fatalf("after the write: %q, want %q", got, tc.want)
					}
				})
			}
		})
	}
}

// The unknown-license cache has the same guard: "no such license", read
// before a license with that key appeared and everything was invalidated
// (a peer's write while this node's listener reconnected), is not kept.
func TestUnknownLicenseRacingItsCreation(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newRaceFixture(t, b)
			key := licensing.NewKey(storetest.T0)
			in := service.ValidateInput{Key: key, Identifier: "shop.example.com", IP: netip.MustParseAddr("192.0.2.1")}
			f.st.arm(func() {
				l := &core.License{ProjectID: f.p.ID, KeyDigest: licensing.KeyDigest(key), KeyEnc: []byte("sealed elsewhere"), UUID: key,
					Title: "late", Status: core.LicenseActive, UserID: f.actor.UserID}
				if err := f.st.CreateLicense(ctx, l); err != nil {
					t.Fatal(err)
				}
				f.svc.Invalidate(core.Change{Kind: core.ChangeAll})
			})
			if r, err := f.v.Validate(ctx, in); err != nil || r.Code != licensing.CodeNotFound {
				t.Fatalf("first: %+v, %v", r, err)
			}
			if r, err := f.v.Validate(ctx, in); err != nil || r.Code != licensing.CodeValid {
				t.Fatalf("the raced \"no such license\" was kept: %+v, %v", r, err)
			}
		})
	}
}
