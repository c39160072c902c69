package sdktest_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestRemoteKeySetFollowsRotation verifies proofs of a real node through
// the client's JWK Set while its keys rotate: a proof signed by a key newer
// than the cache verifies after one refetch (once the cooldown allows it),
// a proof of the key rotated out keeps verifying, and once that key is
// retired it stops verifying when the cache expires.
func TestRemoteKeySetFollowsRotation(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, secret := n.CreateKey(t, owner, service.KeyInput{})
			ctx := context.Background()
			vendor := must(client.New(n.URL, secret, client.WithRetries(0)))(t)
			p := must(vendor.Projects.Create(ctx, client.ProjectCreate{Name: "Pro Plugin", HasPaid: client.Ptr(true)}))(t)
			l := must(vendor.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Pro"}))(t)

			copyOfApp := must(client.New(n.URL, "", client.WithRetries(0)))(t)
			ks := copyOfApp.KeySet()
			ks.Now = n.Clock.Now
			v := &client.Verifier{Keys: ks, Now: n.Clock.Now, ProjectID: p.ID, Identifier: "shop.example.com", Issuer: "latchkey"}
			proof := func() string {
				t.Helper()
				res := must(copyOfApp.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "shop.example.com",
					Proof: true, ProofTTL: 24 * time.Hour}))(t)
				if res.Proof == nil {
					t.Fatalf("no proof: %+v", res)
				}
				return res.Proof.Token
			}
			verify := func(token string) (*client.Proof, error) {
				t.Helper()
				return v.Proof(ctx, token)
			}

			first := proof()
			p1 := must(verify(first))(t)
			if p1.LicenseID != l.ID || p1.ProjectID != p.ID || p1.Result != client.CodeValid {
				t.Fatalf("proof %+v", p1)
			}

			rotated, err := n.Service().RotateSigningKey(ctx, core.SystemActor(0, "test"))
			if err != nil {
				t.Fatal(err)
			}
			second := proof()
			// Within the cooldown of the first fetch the new kid is unknown:
			// made-up kids cannot make the verifier hammer the server.
			if _, err := verify(second); !errors.Is(err, client.ErrUnknownKey) {
				t.Fatalf("new kid within the cooldown: %v, want ErrUnknownKey", err)
			}
			n.Clock.Advance(client.KeySetCooldown)
			p2 := must(verify(second))(t)
			if p2.KeyID != rotated.KID || p2.KeyID == p1.KeyID {
				t.Fatalf("second proof signed by %s, want the rotated-in %s", p2.KeyID, rotated.KID)
			}
			must(verify(first))(t) // the key rotated out still verifies

			if err := n.Service().RetireSigningKey(ctx, core.SystemActor(0, "test"), p1.KeyID); err != nil {
				t.Fatal(err)
			}
			must(verify(first))(t) // the cache (max-age=300) still holds it
			n.Clock.Advance(5 * time.Minute)
			if _, err := verify(first); !errors.Is(err, client.ErrUnknownKey) {
				t.Fatalf("retired key after the cache expired: %v, want ErrUnknownKey", err)
			}
			must(verify(second))(t)
			if kids := must(ks.Refresh(ctx))(t).KIDs(); len(kids) != 1 || kids[0] != rotated.KID {
				t.Fatalf("JWK Set after retirement: %v", kids)
			}
		})
	}
}

// jwksServer serves a JWK Set of keys over loopback and counts fetches.
type jwksServer struct {
	URL          string
	fetches      atomic.Int64
	mu           sync.Mutex
	keys         []ed25519.PublicKey
	cacheControl string
	status       int
	// gate, when set, holds each request until it is closed.
	gate chan struct{}
}

func newJWKSServer(t *testing.T, cacheControl string, keys ...ed25519.PublicKey) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys, cacheControl: cacheControl, status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		gate, keys, cc, status := s.gate, s.keys, s.cacheControl, s.status
		s.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if status != http.StatusOK {
			http.Error(w, "down", status)
			return
		}
		set := []map[string]string{}
		for _, k := range keys {
			set = append(set, map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(k),
				"kid": client.KeyID(k), "alg": "EdDSA", "use": "sig"})
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": set})
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/.well-known/jwks.json"
	return s
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func newPub(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestRemoteKeySetCacheLifetime holds the cache to the server's max-age,
// clamped to [MinKeySetAge, MaxKeySetAge].
func TestRemoteKeySetCacheLifetime(t *testing.T) {
	for _, tc := range []struct {
		cacheControl string
		age          time.Duration
	}{
		{"public, max-age=300", 5 * time.Minute},
		{"max-age=120, public", 2 * time.Minute},
		{"", client.MinKeySetAge},
		{"max-age=0", client.MinKeySetAge},
		{"no-store", client.MinKeySetAge},
		{"public, max-age=nonsense", client.MinKeySetAge},
		{"max-age=86400", client.MaxKeySetAge},
		{"max-age=999999999999999999", client.MaxKeySetAge},
	} {
		t.Run(tc.cacheControl, func(t *testing.T) {
			pub := newPub(t)
			srv := newJWKSServer(t, tc.cacheControl, pub)
			clk := storetest.NewClock(time.Unix(1_800_000_000, 0))
			ks := client.NewRemoteKeySet(srv.URL, nil)
			ks.Now = clk.Now
			ctx := context.Background()
			key := func() {
				t.Helper()
				if _, err := ks.Key(ctx, client.KeyID(pub)); err != nil {
					t.Fatal(err)
				}
			}
			key()
			clk.Advance(tc.age - time.Second)
			key()
			if n := srv.fetches.Load(); n != 1 {
				t.Fatalf("%d fetches within the cache lifetime, want 1", n)
			}
			clk.Advance(time.Second)
			key()
			if n := srv.fetches.Load(); n != 2 {
				t.Fatalf("%d fetches once the cache expired, want 2", n)
			}
		})
	}
}

// TestRemoteKeySetUnknownKid refetches on an unknown kid at most once per
// KeySetCooldown, and picks up a key added since.
func TestRemoteKeySetUnknownKid(t *testing.T) {
	oldKey, newKey := newPub(t), newPub(t)
	srv := newJWKSServer(t, "public, max-age=3600", oldKey)
	clk := storetest.NewClock(time.Unix(1_800_000_000, 0))
	ks := client.NewRemoteKeySet(srv.URL, nil)
	ks.Now = clk.Now
	ctx := context.Background()
	if _, err := ks.Key(ctx, client.KeyID(oldKey)); err != nil {
		t.Fatal(err)
	}
	srv.set(func(s *jwksServer) { s.keys = []ed25519.PublicKey{newKey, oldKey} }) // a rotation
	for range 5 {
		if _, err := ks.Key(ctx, client.KeyID(newKey)); !errors.Is(err, client.ErrUnknownKey) {
			t.Fatalf("within the cooldown: %v, want ErrUnknownKey", err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within the cooldown, want 1", n)
	}
	clk.Advance(client.KeySetCooldown)
	got, err := ks.Key(ctx, client.KeyID(newKey))
	if err != nil || !got.Equal(newKey) {
		t.Fatalf("after the cooldown: %v", err)
	}
	if _, err := ks.Key(ctx, "0000000000000000"); !errors.Is(err, client.ErrUnknownKey) {
		t.Fatalf("a made-up kid: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (the made-up kid is within the cooldown)", n)
	}
}

// TestRemoteKeySetFailures: a failed fetch is an error, not retried within
// the cooldown; a bad JWK Set is an error; a stale set is not used.
func TestRemoteKeySetFailures(t *testing.T) {
	pub := newPub(t)
	srv := newJWKSServer(t, "max-age=60", pub)
	clk := storetest.NewClock(time.Unix(1_800_000_000, 0))
	ks := client.NewRemoteKeySet(srv.URL, nil)
	ks.Now = clk.Now
	ctx := context.Background()
	kid := client.KeyID(pub)
	if _, err := ks.Key(ctx, kid); err != nil {
		t.Fatal(err)
	}
	srv.set(func(s *jwksServer) { s.status = http.StatusBadGateway })
	clk.Advance(time.Minute)
	for range 3 {
		if _, err := ks.Key(ctx, kid); err == nil || errors.Is(err, client.ErrUnknownKey) {
			t.Fatalf("server down, cache expired: %v, want the fetch error", err)
		}
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: no retry within the cooldown", n)
	}
	srv.set(func(s *jwksServer) { s.status = http.StatusOK })
	clk.Advance(client.KeySetCooldown)
	if _, err := ks.Key(ctx, kid); err != nil {
		t.Fatalf("server back after the cooldown: %v", err)
	}

	for name, body := range map[string]string{
		"not JSON": `<html>`, "no keys": `{"keys":[]}`, "RSA only": `{"keys":[{"kty":"RSA","n":"x","e":"AQAB"}]}`,
		"kid not its key": `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `","kid":"0000000000000000"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) }))
			defer bad.Close()
			if _, err := client.NewRemoteKeySet(bad.URL, nil).Key(ctx, kid); err == nil || errors.Is(err, client.ErrUnknownKey) {
				t.Fatalf("err = %v, want a parse error", err)
			}
		})
	}
}

// TestRemoteKeySetConcurrent: callers arriving together share one fetch,
// and a caller whose context ends while it waits gives up at once.
func TestRemoteKeySetConcurrent(t *testing.T) {
	pub := newPub(t)
	srv := newJWKSServer(t, "max-age=300", pub)
	gate := make(chan struct{})
	srv.set(func(s *jwksServer) { s.gate = gate })
	ks := client.NewRemoteKeySet(srv.URL, nil)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ks.Key(ctx, client.KeyID(pub))
			errs <- err
		}()
	}
	// Wait for the one fetch to reach the server, then give up on one
	// more caller while it is held.
	for srv.fetches.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ks.Key(cancelled, client.KeyID(pub)); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled caller waiting for the fetch: %v", err)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 20 callers, want 1", n)
	}
}

// TestClientKeySetURL: the client finds the JWK Set at its server's root,
// below any prefix the API is mounted under.
func TestClientKeySetURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://licenses.example.com":                 "https://licenses.example.com/.well-known/jwks.json",
		"https://licenses.example.com/":                "https://licenses.example.com/.well-known/jwks.json",
		"https://licenses.example.com/api/v1":          "https://licenses.example.com/.well-known/jwks.json",
		"https://example.com/licensing/api/v1/":        "https://example.com/licensing/.well-known/jwks.json",
		"http://127.0.0.1:8080/licensing?x=1#fragment": "http://127.0.0.1:8080/licensing/.well-known/jwks.json",
	} {
		c := must(client.New(base, ""))(t)
		if got := c.KeySet().URL; got != want {
			t.Errorf("New(%q).KeySet().URL = %q, want %q", base, got, want)
		}
	}
}

// A copy checks its proof against the server's JWK Set (fetched, cached,
// and fetched again when a proof names a key rotated in since), making
// every claim check: its project and its domain.
func Example_verifier() {
	ctx := context.Background()
	vendor, _ := client.New(baseURL, apiKey)
	p, _ := vendor.Projects.Create(ctx, client.ProjectCreate{Name: "JWKS demo", HasPaid: client.Ptr(true)})
	l, _ := vendor.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Shop"})

	copyOfApp, _ := client.New(baseURL, "")
	v, err := copyOfApp.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "shop.example.com", Proof: true})
	if err != nil {
		log.Fatal(err)
	}
	verifier := &client.Verifier{Keys: copyOfApp.KeySet(), ProjectID: p.ID, Identifier: "shop.example.com"}
	proof, err := verifier.Proof(ctx, v.Proof.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(proof.LicenseID == l.ID, proof.Result, proof.KeyID == v.Proof.KeyID)

	elsewhere := &client.Verifier{Keys: copyOfApp.KeySet(), ProjectID: p.ID, Identifier: "pirate.example.net"}
	_, err = elsewhere.Proof(ctx, v.Proof.Token)
	fmt.Println(errors.Is(err, client.ErrClaims))
	// Output:
	// true VALID true
	// true
}
