package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// BenchmarkAuthenticate measures the authentication path of a request with
// a valid, cached key: header parsing, checksum, digest, cache lookup,
// owner and IP checks, rate limit and usage counting. The store is a real
// SQLite database, and the benchmark fails if steady state touches it.
func BenchmarkAuthenticate(b *testing.B) {
	st, _ := storetest.OpenSQLite(b, time.Now)
	key, _ := secret.FromString(storetest.T0.String() + "-benchmark-secret")
	svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4})
	ctx := context.Background()
	u, _, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "b@example.com", Password: "benchmark pw", OrgName: "B"})
	if err != nil {
		b.Fatal(err)
	}
	m, _ := st.ListUserOrganizations(ctx, u.ID)
	_, sk, err := svc.CreateAPIKey(ctx, core.SystemActor(m[0].OrgID, "bench"), u.ID, service.KeyInput{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	counted := &countingStore{OwnerLookup: st}
	lim := ratelimit.New()
	au := &authenticator{
		keys: keys.NewAuthenticator(counted, nil, time.Hour, time.Now), usage: keys.NewUsage(), limiter: lim,
		ip: &ipGuard{limiter: lim, limit: 600, now: time.Now}, keyLimit: 1 << 30, now: time.Now,
	}
	ad := adapter{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := ad.wrap(au.requireKey(func(w http.ResponseWriter, r *http.Request) error {
		if actorFrom(r) == nil {
			b.Fatal("no actor")
		}
		return nil
	}))
	req := httptest.NewRequest("GET", "/api/v1/api-keys", nil)
	req.Header.Set("X-API-KEY", sk)
	req = req.WithContext(core.WithClientIP(req.Context(), netip.MustParseAddr("192.0.2.1")))
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req) // warm the cache
	before := counted.calls
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.status = 0
		h.ServeHTTP(w, req)
		if w.status != 0 && w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
	b.StopTimer()
	if counted.calls != before {
		b.Fatalf("steady state made %d store queries", counted.calls-before)
	}
}

type countingStore struct {
	keys.OwnerLookup
	calls int
}

func (c *countingStore) APIKeyOwnerByDigest(ctx context.Context, d []byte) (*core.KeyOwner, error) {
	c.calls++
	return c.OwnerLookup.APIKeyOwnerByDigest(ctx, d)
}

type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }
