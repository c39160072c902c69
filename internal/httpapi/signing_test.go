package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// Signing keys, JWS proofs and the JWK Set (issue 16).

var operatorActor = core.SystemActor(0, "test-operator")

func testSecret(t *testing.T) *secret.Key {
	t.Helper()
	k, err := secret.FromString(apptest.TestSecret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signingFixture is a node with one paid project and an API key.
type signingFixture struct {
	n       *apptest.Node
	owner   apptest.Account
	key     string
	project int64
}

func newSigningFixture(t *testing.T, n *apptest.Node) *signingFixture {
	t.Helper()
	owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, key := n.CreateKey(t, owner, service.KeyInput{})
	p, err := n.Service().CreateProject(context.Background(), owner.Actor(), service.ProjectInput{Name: service.Some("Pro"), HasPaid: service.Some(true), IsActive: service.Some(true)})
	if err != nil {
		t.Fatal(err)
	}
	return &signingFixture{n: n, owner: owner, key: key, project: p.ID}
}

// license creates a license from body and returns its ID and key.
func (f *signingFixture) license(t *testing.T, body map[string]any) (int64, string) {
	t.Helper()
	r := f.n.Do(t, "POST", fmt.Sprintf("/api/v1/project/%d/licenses", f.project), body, apptest.Key(f.key)...)
	if r.Status != 201 {
		t.Fatalf("create license: %d %s", r.Status, r.Body)
	}
	var l struct {
		ID      int64  `json:"id"`
		License string `json:"license"`
		UUID    string `json:"uuid"`
	}
	r.Decode(t, &l)
	if l.License == "" {
		l.License = l.UUID
	}
	return l.ID, l.License
}

// proof asks for a proof of license key at the node's clock.
func (f *signingFixture) proof(t *testing.T, n *apptest.Node, license string, ttl int) string {
	t.Helper()
	r := n.Do(t, "POST", "/api/v1/licenses/validate", map[string]any{"license": license, "domain": "shop.example.com", "proof": true, "proof_ttl": ttl})
	var v struct {
		Code  string `json:"code"`
		Proof *struct {
			Token string `json:"token"`
			KID   string `json:"kid"`
		} `json:"proof"`
	}
	r.Decode(t, &v)
	if v.Proof == nil {
		t.Fatalf("no proof (%s): %s", v.Code, r.Body)
	}
	if h := jwsHeader(t, v.Proof.Token); h["kid"] != v.Proof.KID {
		t.Fatalf("proof kid %q, header %v", v.Proof.KID, h)
	}
	return v.Proof.Token
}

// keySet reads a node's JWK Set and checks the old route agrees with it.
func keySet(t *testing.T, n *apptest.Node) (*client.KeySet, []string) {
	t.Helper()
	r := n.Do(t, "GET", "/.well-known/jwks.json", nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("jwks: %d %v %s", r.Status, r.Header, r.Body)
	}
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
			Alg string `json:"alg"`
			Use string `json:"use"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatalf("jwks %s: %v", r.Body, err)
	}
	var kids []string
	for _, k := range set.Keys {
		if k.Alg != "EdDSA" || k.Use != "sig" {
			t.Fatalf("jwk %+v", k)
		}
		kids = append(kids, k.KID)
	}
	ks, err := client.ParseKeySet(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	old := n.Do(t, "GET", "/api/v1/keys/license-signing", nil)
	var legacy struct {
		KID  string            `json:"kid"`
		Keys []json.RawMessage `json:"keys"`
	}
	old.Decode(t, &legacy)
	if legacy.KID != kids[0] || len(legacy.Keys) != len(kids) {
		t.Fatalf("license-signing names %q with %d keys, the JWK Set %q", legacy.KID, len(legacy.Keys), kids)
	}
	return ks, kids
}

func jwsHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	return jwsPart(t, token, 0)
}

func jwsPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestProofIsAStandardJWS(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		n := apptest.New(t, b, func(c *config.Config) { c.Issuer = "https://licenses.acme.test" })
		f := newSigningFixture(t, n)
		id, key := f.license(t, map[string]any{"title": "Pro", "max_usage_per_day": 100, "allowed_ips": "127.0.0.1,10.0.0.0/8",
			"metadata": map[string]string{"tier": "gold"}, "expires_in": "30d"})
		token := f.proof(t, n, key, 3600)
		h := jwsHeader(t, token)
		if h["alg"] != "EdDSA" || h["typ"] != "license-proof+jwt" || len(h) != 3 {
			t.Fatalf("header %v", h)
		}
		c := jwsPart(t, token, 1)
		now := n.Clock.Now().Unix()
		want := map[string]any{"iss": "https://licenses.acme.test", "sub": strconv.FormatInt(id, 10), "aud": strconv.FormatInt(f.project, 10),
			"iat": float64(now), "nbf": float64(now), "exp": float64(now + 3600), "identifier": "shop.example.com", "result": "VALID",
			"license_exp": float64(n.Clock.Now().Add(30 * 24 * time.Hour).Unix())}
		for k, v := range want {
			if c[k] != v {
				t.Errorf("claim %s = %v, want %v", k, c[k], v)
			}
		}
		if jti, _ := c["jti"].(string); len(jti) != 32 {
			t.Errorf("jti %v", c["jti"])
		}
		if r, _ := c["restrictions"].(map[string]any); r["max_usage_per_day"] != float64(100) || fmt.Sprint(r["allowed_ips"]) != "[127.0.0.1 10.0.0.0/8]" {
			t.Errorf("restrictions %v", c["restrictions"])
		}
		if m, _ := c["metadata"].(map[string]any); m["tier"] != "gold" {
			t.Errorf("metadata %v", c["metadata"])
		}
		ks, _ := keySet(t, n)
		v := &client.Verifier{Keys: ks, Now: n.Clock.Now, Issuer: "https://licenses.acme.test", ProjectID: f.project, Identifier: "shop.example.com"}
		p, err := v.Proof(context.Background(), token)
		if err != nil || p.LicenseID != id || p.Result != "VALID" || p.Metadata["tier"] != "gold" {
			t.Fatalf("verify: %+v, %v", p, err)
		}
		for _, bad := range []struct {
			name string
			v    client.Verifier
			want error
		}{
			{"another issuer", client.Verifier{Keys: ks, Now: n.Clock.Now, Issuer: "latchkey"}, client.ErrClaims},
			{"another project", client.Verifier{Keys: ks, Now: n.Clock.Now, ProjectID: f.project + 1}, client.ErrClaims},
			{"another domain", client.Verifier{Keys: ks, Now: n.Clock.Now, Identifier: "pirate.example"}, client.ErrClaims},
			{"after exp", client.Verifier{Keys: ks, Now: func() time.Time { return n.Clock.Now().Add(time.Hour) }, Skew: -1}, client.ErrProofExpired},
			{"before nbf", client.Verifier{Keys: ks, Now: func() time.Time { return n.Clock.Now().Add(-2 * time.Minute) }}, client.ErrNotYetValid},
			{"other keys", client.Verifier{Keys: client.NewKeySet()}, client.ErrUnknownKey},
		} {
			if _, err := bad.v.Proof(context.Background(), token); !errors.Is(err, bad.want) {
				t.Errorf("%s: %v, want %v", bad.name, err, bad.want)
			}
		}
	})
}

// TestProofNeverOutlivesItsLicense is the boundary: a proof asked for a
// day from a license expiring in ten minutes ends when the license does,
// to the second, and verifies until then.
func TestProofNeverOutlivesItsLicense(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		n := apptest.New(t, b)
		f := newSigningFixture(t, n)
		expires := n.Clock.Now().Add(10 * time.Minute)
		_, key := f.license(t, map[string]any{"title": "Short", "expires_at": expires.Format(time.RFC3339Nano)})
		token := f.proof(t, n, key, 86400)
		if exp := jwsPart(t, token, 1)["exp"]; exp != float64(expires.Unix()) {
			t.Fatalf("exp %v, license expires %d", exp, expires.Unix())
		}
		ks, _ := keySet(t, n)
		at := func(t time.Time) *client.Verifier {
			return &client.Verifier{Keys: ks, Skew: -1, Now: func() time.Time { return t }}
		}
		last := time.Unix(expires.Unix(), 0).Add(-time.Nanosecond)
		if _, err := at(last).Proof(context.Background(), token); err != nil {
			t.Fatalf("a nanosecond before the license's expiry: %v", err)
		}
		if _, err := at(last.Add(time.Nanosecond)).Proof(context.Background(), token); !errors.Is(err, client.ErrProofExpired) {
			t.Fatalf("at the license's expiry: %v", err)
		}
		// One second before it expires, a proof lasts that second.
		n.Clock.Set(expires.Add(-time.Second))
		if exp := jwsPart(t, f.proof(t, n, key, 3600), 1)["exp"]; exp != float64(expires.Unix()) {
			t.Fatalf("exp %v a second before expiry, want %d", exp, expires.Unix())
		}
		n.Clock.Set(expires)
		r := n.Do(t, "POST", "/api/v1/licenses/validate", map[string]any{"license": key, "domain": "shop.example.com", "proof": true})
		if strings.Contains(string(r.Body), `"proof"`) {
			t.Fatalf("an expired license got a proof: %s", r.Body)
		}
	})
}

func TestSigningKeyRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		n := apptest.New(t, b)
		f := newSigningFixture(t, n)
		_, key := f.license(t, map[string]any{"title": "Pro"})
		svc := n.Service()

		_, kids := keySet(t, n)
		first := kids[0]
		if len(kids) != 1 || first != client.KeyID(testSecret(t).SigningKey().Public().(ed25519.PublicKey)) {
			t.Fatalf("a new instance publishes %q", kids)
		}
		old := f.proof(t, n, key, 3600)
		if _, err := svc.RotateSigningKey(ctx, &core.Actor{Type: core.ActorUser, OrgID: f.owner.OrgID, UserID: f.owner.UserID, Role: core.RoleOwner}); !core.IsCode(err, core.EForbidden) {
			t.Fatalf("an owner rotated the instance's keys: %v", err)
		}
		rotated, err := svc.RotateSigningKey(ctx, operatorActor)
		if err != nil {
			t.Fatal(err)
		}
		ks, kids := keySet(t, n)
		if len(kids) != 2 || kids[0] != rotated.KID || kids[1] != first {
			t.Fatalf("after rotation the JWK Set is %q, want [%s %s]", kids, rotated.KID, first)
		}
		fresh := f.proof(t, n, key, 3600)
		if jwsHeader(t, fresh)["kid"] != rotated.KID {
			t.Fatalf("a new proof is signed by %v, want %s", jwsHeader(t, fresh)["kid"], rotated.KID)
		}
		v := &client.Verifier{Keys: ks, Now: n.Clock.Now}
		for _, tok := range []string{old, fresh} {
			if _, err := v.Proof(ctx, tok); err != nil {
				t.Fatalf("before retirement: %v", err)
			}
		}
		if err := svc.RetireSigningKey(ctx, operatorActor, rotated.KID); !core.IsCode(err, core.EConflict) {
			t.Fatalf("retiring the active key: %v", err)
		}
		if err := svc.RetireSigningKey(ctx, operatorActor, first); err != nil {
			t.Fatal(err)
		}
		ks, kids = keySet(t, n)
		if len(kids) != 1 || kids[0] != rotated.KID {
			t.Fatalf("after retirement the JWK Set is %q", kids)
		}
		v = &client.Verifier{Keys: ks, Now: n.Clock.Now}
		if _, err := v.Proof(ctx, old); !errors.Is(err, client.ErrUnknownKey) {
			t.Fatalf("a proof of the retired key: %v", err)
		}
		if _, err := v.Proof(ctx, fresh); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSigningKeysReachEveryNode: a rotation on one node is published by a
// second without a restart, at once through the change feed.
func TestSigningKeysReachEveryNode(t *testing.T) {
	b := postgresOnly(t)
	a := apptest.New(t, b)
	f := newSigningFixture(t, a)
	_, key := f.license(t, map[string]any{"title": "Pro"})
	peer := a.Peer(t)
	_, before := keySet(t, peer) // cached on the peer now
	rotated, err := a.Service().RotateSigningKey(context.Background(), operatorActor)
	if err != nil {
		t.Fatal(err)
	}
	peer.Sync(t, a)
	_, after := keySet(t, peer)
	if len(before) != 1 || len(after) != 2 || after[0] != rotated.KID {
		t.Fatalf("the peer published %q before and %q after the rotation to %s", before, after, rotated.KID)
	}
	if kid := jwsHeader(t, f.proof(t, peer, key, 3600))["kid"]; kid != rotated.KID {
		t.Fatalf("the peer signs with %v", kid)
	}
}

// TestSigningKeysChangedElsewhere: a rotation the node is not told of
// (the admin command on a SQLite file the server has open) is picked up
// once the keyring's cache entry expires.
func TestSigningKeysChangedElsewhere(t *testing.T) {
	n := apptest.New(t, storetest.Backends(t)[0])
	_, before := keySet(t, n)
	other := service.New(service.Config{Store: n.Store, Secret: testSecret(t), Now: n.Clock.Now})
	rotated, err := other.RotateSigningKey(context.Background(), operatorActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, kids := keySet(t, n); len(kids) != 1 || kids[0] != before[0] {
		t.Fatalf("within the cache's life the node publishes %q", kids)
	}
	n.Clock.Advance(31 * time.Second)
	if _, kids := keySet(t, n); len(kids) != 2 || kids[0] != rotated.KID {
		t.Fatalf("after the cache's life the node publishes %q, want %s first", kids, rotated.KID)
	}
}
